// `npm run bench`: the same 5 ms HTTP app under mycluster, PM2 7 (cluster mode), a plain node:cluster
// master and one plain process, one after the other in one run, with the same load (bench/load.mjs: 50
// keep-alive connections on loopback, in its own process); then all of them at once for the interleaved
// throughput rounds. Prints a Markdown table (rows: metrics, columns: peers) and writes the full results
// to bench/results/<timestamp>.json. Nothing is asserted.
//
// A peer adapter (bench/peers/*.mjs; mycluster.mjs has two) is { id, label, urlPath, start({ port, workers }) }; start resolves
// { masterPid, readyMs, workerPids(), reload(), killWorker(), stop() }. A scenario (bench/scenarios/*.mjs)
// exports { name, run({ peer, url, port }) } and resolves a plain object of metrics. The reloads scenario
// (bench/scenarios/reloads.mjs) runs across peers instead, in interleaved rounds, and also writes an SVG:
// bench/results/<timestamp>-reloads.svg, copied to docs/reloads.svg.
//
//   npm run bench                              # everything
//   npm run bench -- --only reloads --rounds 1 # some scenarios; --rounds: how many reload rounds (3)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './lib.mjs';
import { mycluster, myclusterHandler } from './peers/mycluster.mjs';
import * as naive from './peers/naive.mjs';
import * as pm2 from './peers/pm2.mjs';
import * as single from './peers/single.mjs';
import * as idle from './scenarios/idle.mjs';
import * as reload from './scenarios/reload.mjs';
import * as reloads from './scenarios/reloads.mjs';
import * as sigkill from './scenarios/sigkill.mjs';
import * as throughput from './scenarios/throughput.mjs';
import * as upgrade from './scenarios/upgrade.mjs';
import { benchTasks } from './tasks.mjs';

const WORKERS = 2;

// Which scenarios each peer runs, in order (idle first, while the master has never seen load).
// mycluster's jobs/s scenario goes here: add its module to mycluster's list (and a row to METRICS).
const FULL_PLAN = [
  { adapter: mycluster, scenarios: [idle, throughput, reload, sigkill, upgrade] },
  // The same handler code as the other peers (no action layer): throughput and reloads only.
  { adapter: myclusterHandler, scenarios: [throughput, reload] },
  { adapter: pm2, scenarios: [idle, throughput, reload, sigkill, upgrade] },
  { adapter: naive, scenarios: [idle, throughput, reload, sigkill, upgrade] },
  { adapter: single, scenarios: [throughput] },
];

// `npm run bench -- --only upgrade,reload`: just those scenarios, for the peers that run them (no
// interleaved throughput rounds, no tasks).
const onlyArg = process.argv.indexOf('--only');
const ONLY = onlyArg === -1 ? null : new Set(process.argv[onlyArg + 1]?.split(',') ?? []);
const PLAN = ONLY
  ? FULL_PLAN.map((entry) => ({ ...entry, scenarios: entry.scenarios.filter((scenario) => ONLY.has(scenario.name)) })).filter(
      (entry) => entry.scenarios.length > 0,
    )
  : FULL_PLAN;

// The reloads scenario's peers and rounds (each round: about 3 minutes).
const RELOAD_PEERS = [mycluster, myclusterHandler, pm2, naive];
const RELOAD_ROUNDS = roundsOption();
const RUN_RELOADS = !ONLY || ONLY.has(reloads.name);
const RUN_TIMEOUT_MS = (10 + (RUN_RELOADS ? 4 * RELOAD_ROUNDS : 0)) * 60_000;

function roundsOption() {
  const index = process.argv.indexOf('--rounds');
  if (index === -1) return 3;
  const value = process.argv[index + 1];
  if (!/^[1-9]\d*$/.test(value ?? '')) {
    console.error(`--rounds takes a whole number of 1 or more, got ${JSON.stringify(value ?? '')}`);
    process.exit(2);
  }
  return Number(value);
}

// Throughput compared: every peer up at once, each measured in turn (ROUND_MS after a warm-up), for ROUNDS
// rounds, the order shifted by one each round. A drift in the machine's load over the run (it is shared)
// then hits every peer alike, instead of favouring whichever peer ran first.
const ROUNDS = 5;
const ROUND_WARMUP_MS = 500;
const ROUND_MS = 3_000;

// The table's rows: a label and how to read the value from one peer's results.
const METRICS = [
  ['start → all workers ready (ms)¹', (r) => r.startup?.readyMs],
  ['idle master RSS (MiB), 4 s / 30 s after ready', (r) => r.idle && `${r.idle.masterRssMb} / ${r.idle.masterRssLateMb}`],
  ['idle master CPU time over 3 s (ms)', (r) => r.idle?.masterCpuMs],
  [`throughput (req/s): median of ${ROUNDS} interleaved rounds (min–max)`, (r) => r.rounds && `${r.rounds.median} (${r.rounds.min}–${r.rounds.max})`],
  ['steady p50 / p99 (ms)', (r) => r.throughput && `${r.throughput.p50} / ${r.throughput.p99}`],
  ['failed requests, steady', (r) => r.throughput?.failed],
  ['failed requests, 3 reloads (of sent)', (r) => r.reload && `${r.reload.failed} (of ${r.reload.sent})`],
  ['p99 before / during reloads (ms)', (r) => r.reload && `${r.reload.p99Before} / ${r.reload.p99Reload}`],
  ['throughput during reloads (req/s)', (r) => r.reload?.rpsReload],
  ['reload duration (ms, each)²', (r) => r.reload?.durationsMs?.join(', ')],
  ['failed requests, SIGKILL of 1 worker (of sent)', (r) => r.sigkill && `${r.sigkill.failed} (of ${r.sigkill.sent})`],
  ['SIGKILL → new worker listening (ms)³', (r) => r.sigkill?.newWorkerMs],
  [
    'failed requests, 3 upgrades of the supervisor (of sent)⁵',
    (r) => (r.upgrade?.sent === undefined ? undefined : `${r.upgrade.failed} (of ${r.upgrade.sent})`),
  ],
  ['p99 before / during upgrades (ms)', (r) => (r.upgrade?.sent === undefined ? undefined : `${r.upgrade.p99Before} / ${r.upgrade.p99Upgrade}`)],
  ['upgrade duration (ms, each)', (r) => r.upgrade?.durationsMs?.join(', ')],
  [
    'wrk: socket errors + non-2xx, 3 upgrades',
    (r) => r.upgrade?.wrk && `${r.upgrade.wrk.upgrades.socketErrors} + ${r.upgrade.wrk.upgrades.non2xx} (of ${r.upgrade.wrk.upgrades.requests})`,
  ],
  ['wrk: p99 steady / with 3 upgrades (ms)', (r) => r.upgrade?.wrk && `${r.upgrade.wrk.steady.p99} / ${r.upgrade.wrk.upgrades.p99}`],
  ['processes left after stop⁴', (r) => r.stop && r.stop.leftovers.length + (r.rounds?.leftovers?.length ?? 0)],
];

const FOOTNOTES = `
¹ from spawning the start command (PM2: \`pm2 start\`, daemon start included) to the last worker ready/listening.
² mycluster: its \`rolling reload #N done in X ms\` line; PM2: how long \`pm2 reload\` ran; baseline: its own log line.
³ mycluster: the \`worker #k (pid P) ready\` line's time; the others: the app's own "listening" line (PM2: in its log files).
⁴ still alive after the peer's own stop (mycluster and baseline: SIGTERM; PM2: \`pm2 kill\`), then SIGKILLed by the bench; both of its runs (alone, and in the interleaved rounds).
⁵ mycluster: \`mycluster upgrade\` (a new master takes the listening socket over, then the old one drains); PM2: \`pm2 update\` (save, kill the daemon, restore) until its workers listen again; naive: stop (TERM) and start again until its workers listen.
Reload windows run from the trigger to the end the peer reports; failed requests count the whole load run.`;

const live = new Set(); // started peers not yet stopped: the watchdog and signals stop them

/** Start a peer on a free port; until stopPeer, the watchdog and signals know to stop it. */
async function startPeer(adapter, purpose = '') {
  const port = await freePort();
  log(`${adapter.label}: starting on port ${port}${purpose}`);
  const peer = await adapter.start({ port, workers: WORKERS });
  live.add(peer);
  return { peer, port, url: `http://127.0.0.1:${port}${adapter.urlPath}` };
}

/** The peer's own stop; resolves what it returns ({ leftovers }). A stop that threw leaves it to stopAll. */
async function stopPeer(peer) {
  const stopped = await peer.stop();
  live.delete(peer);
  return stopped;
}

async function benchPeer({ adapter, scenarios }) {
  const results = {};
  let peer;
  try {
    const started = await startPeer(adapter);
    peer = started.peer;
    const { port, url } = started;
    results.startup = { readyMs: Math.round(peer.readyMs) };
    for (const scenario of scenarios) {
      log(`${adapter.label}: ${scenario.name}`);
      try {
        results[scenario.name] = await scenario.run({ peer, url, port });
      } catch (error) {
        results[scenario.name] = { error: error.message };
        log(`${adapter.label}: ${scenario.name} failed: ${error.message}`);
      }
    }
  } catch (error) {
    results.error = error.message;
    log(`${adapter.label}: ${error.message}`);
  } finally {
    if (peer) results.stop = await stopPeer(peer);
  }
  return results;
}

/** Start every peer, then measure their throughput in interleaved rounds (see ROUNDS). */
async function interleavedThroughput(adapters) {
  const running = [];
  const results = {};
  try {
    for (const adapter of adapters) {
      const { peer, url } = await startPeer(adapter, ' for the interleaved rounds');
      running.push({ adapter, peer, url, rps: [] });
    }
    for (let round = 0; round < ROUNDS; round += 1) {
      log(`throughput round ${round + 1} of ${ROUNDS}`);
      for (let index = 0; index < running.length; index += 1) {
        const entry = running[(index + round) % running.length];
        const { rps } = await throughput.run({ url: entry.url, warmupMs: ROUND_WARMUP_MS, measureMs: ROUND_MS });
        entry.rps.push(rps);
      }
    }
    for (const { adapter, rps } of running) {
      const sorted = [...rps].sort((a, b) => a - b);
      results[adapter.id] = { rps, median: sorted[Math.floor(sorted.length / 2)], min: sorted[0], max: sorted.at(-1) };
    }
  } catch (error) {
    log(`interleaved throughput failed: ${error.message}`);
    for (const { adapter } of running) results[adapter.id] = { error: error.message };
  } finally {
    for (const { adapter, peer } of running) {
      const { leftovers } = await stopPeer(peer);
      results[adapter.id] = { ...results[adapter.id], leftovers };
    }
  }
  return results;
}

function table(labels, results) {
  const cell = (value) => (value === undefined || value === null || value === '' ? '–' : String(value));
  const rows = [
    `| metric | ${labels.join(' | ')} |`,
    `| --- | ${labels.map(() => '---:').join(' | ')} |`,
    ...METRICS.map(([label, read]) => `| ${label} | ${results.map((result) => cell(read(result))).join(' | ')} |`),
  ];
  return rows.join('\n');
}

/** Tasks: 2 workers × 5 task processors, a no-op task, one redis-server of its own. */
function tasksTable(tasks) {
  if (tasks.error) return `Tasks benchmark failed: ${tasks.error}`;
  const jobs = (value) => (value === undefined ? '–' : Math.round(value).toString());
  return [
    '| tasks (no-op job, 2 workers × 5 processors) | mycluster | bare node-resque MultiWorker |',
    '| --- | ---: | ---: |',
    `| jobs/s | ${jobs(tasks.mycluster?.jobsPerSecond)} | ${jobs(tasks.bareMultiWorker?.jobsPerSecond)} |`,
    `| SIGKILL of the worker holding a job → job re-run (ms) | ${jobs(tasks.sigkillToRerunMs)} | – |`,
  ].join('\n');
}

function log(message) {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

async function stopAll() {
  await Promise.all([...live].map((peer) => peer.stop().catch(() => undefined)));
}

async function main() {
  const watchdog = setTimeout(async () => {
    log(`the run took more than ${RUN_TIMEOUT_MS / 1000} s: stopping everything`);
    await stopAll();
    process.exit(1);
  }, RUN_TIMEOUT_MS);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, async () => {
      log(`${signal}: stopping everything`);
      await stopAll();
      process.exit(130);
    });
  }

  const startedAt = new Date();
  const peers = {};
  for (const entry of PLAN) peers[entry.adapter.id] = await benchPeer(entry);
  let tasks = null;
  if (!ONLY) {
    const rounds = await interleavedThroughput(PLAN.map((entry) => entry.adapter));
    for (const [id, result] of Object.entries(rounds)) peers[id].rounds = result;
    log('tasks: jobs/s under mycluster vs. a bare node-resque MultiWorker; SIGKILL to re-run');
    tasks = await benchTasks().catch((error) => ({ error: error.message }));
  }
  let reloadRounds = null;
  if (RUN_RELOADS) {
    reloadRounds = await reloads
      .runRounds({ adapters: RELOAD_PEERS, rounds: RELOAD_ROUNDS, workers: WORKERS, startPeer, stopPeer, log })
      .catch((error) => ({ error: error.message }));
  }
  clearTimeout(watchdog);

  const report = {
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
    machine: {
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.type()} ${os.release()}`,
    },
    setup: {
      workers: WORKERS,
      concurrency: 50,
      appDelayMs: 5,
      steadySeconds: 5,
      throughputRounds: { rounds: ROUNDS, warmupMs: ROUND_WARMUP_MS, measureMs: ROUND_MS },
      reloads: 3,
      idleSeconds: 3,
      idleLateReadingSeconds: 30,
    },
    peers,
    tasks,
    reloads: reloadRounds,
  };
  const here = path.dirname(fileURLToPath(import.meta.url));
  const file = path.join(here, 'results', `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

  const labels = PLAN.map((entry) => entry.adapter.label);
  console.log(`\n${WORKERS} workers, 50 keep-alive connections, a 5 ms endpoint; ${report.machine.cpus} CPUs, Node ${process.version}\n`);
  if (PLAN.length) {
    console.log(
      table(
        labels,
        PLAN.map((entry) => peers[entry.adapter.id]),
      ),
    );
    console.log(FOOTNOTES);
  }
  if (tasks) console.log(`\n${tasksTable(tasks)}`);
  if (reloadRounds?.error) console.log(`\nReloads failed: ${reloadRounds.error}`);
  else if (reloadRounds) {
    const svg = file.replace(/\.json$/, '-reloads.svg');
    fs.writeFileSync(svg, reloads.chart(reloadRounds));
    fs.copyFileSync(svg, path.join(here, '..', 'docs', 'reloads.svg'));
    console.log(`\n${RELOAD_ROUNDS} reload rounds (15 s with reloads at 3, 7, 11 s; 5 s steady):\n\n${reloads.table(reloadRounds)}`);
    console.log(`\nPicture: ${path.relative(process.cwd(), svg)} (copied to docs/reloads.svg)`);
  }
  const errors = [];
  for (const [id, result] of Object.entries(peers)) {
    if (result.error) errors.push(`- ${id}: ${result.error}`);
    for (const [scenario, value] of Object.entries(result)) {
      if (value?.error) errors.push(`- ${id} ${scenario}: ${value.error}`);
      else if (Object.keys(value?.errors ?? {}).length) errors.push(`- ${id} ${scenario}: ${JSON.stringify(value.errors)}`);
    }
  }
  if (errors.length) console.log(`\nFailed requests by kind, and errors:\n${errors.join('\n')}`);
  console.log(`\nFull results: ${path.relative(process.cwd(), file)}`);
  // Last, one worker's boot and memory against a bare http app (bench/boot.mjs, which also runs alone).
  if (!ONLY) spawnSync(process.execPath, [path.join(here, 'boot.mjs')], { stdio: 'inherit' });
}

main().catch(async (error) => {
  console.error(error);
  await stopAll();
  process.exit(1);
});
