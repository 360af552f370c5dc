// The chaos soak: HTTP load and a steady task stream while a random (seeded) sequence of events hits a
// 2-worker cluster — USR2, HUP, TTIN, TTOU, SIGKILL of a worker, SIGSTOP/SIGCONT of a worker, a broken
// deploy then its fix, a Redis restart — then checks the invariants and prints them.
//
//   npm run soak                       # 60 s
//   npm run soak -- --seconds 20 --seed 7
//
// Invariants:
//   1. failed requests only among those in flight when a worker was SIGKILLed (by us, or by the master as hung);
//   2. every acknowledged job was worked or is in the failed queue: none lost;
//   3. back to N ready workers within a bound after the last event;
//   4. pidfiles match the live processes;
//   5. after the stop, no process of the cluster is left.

import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { childPids, copyFixture, isAlive, readPid, runMycluster, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { startLoad } from '../helpers/load.mjs';
import { freePort } from '../helpers/net.mjs';
import { startRedis } from '../helpers/redis.mjs';
import { sleep, waitFor, within } from '../helpers/wait.mjs';

const require = createRequire(import.meta.url);
const { Queue } = require('node-resque');
const { Redis } = require('ioredis');

const WORKERS = 2;
const SETTLE_BOUND_MS = 20_000;
/** A failed request is excused if a worker was killed while it was in flight (± this slop). */
const KILL_SLOP_MS = 100;

/** mulberry32: a tiny seeded PRNG, so a failing run can be repeated exactly. */
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EVENTS = ['USR2', 'HUP', 'TTIN', 'TTOU', 'SIGKILL', 'SIGSTOP', 'BROKEN_DEPLOY', 'REDIS_RESTART'];

export async function runSoak({ seconds = 60, seed = 1, print = console.log } = {}) {
  const random = seededRandom(seed);
  const dir = copyFixture('soak-app');
  const redisDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-soak-redis-'));
  // Persistence on, so a Redis restart loses no acknowledged job.
  const redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', redisDir]);
  const port = await freePort();
  const cluster = startMycluster(['start', `--workers=${WORKERS}`], { cwd: dir, env: { PORT: String(port), REDIS_URL: redis.url } });
  const killTimes = [];
  const events = [];
  const acknowledged = new Set();
  let notAcknowledged = 0;
  let desired = WORKERS;
  let load;
  let streaming = true;
  let queue;
  let queueRedis;
  let client;
  try {
    await cluster.waitForEquilibrium({ timeoutMs: 30_000 });
    queueRedis = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    queueRedis.on('error', () => undefined);
    queue = new Queue({ connection: { redis: queueRedis, namespace: 'resque' } });
    queue.on('error', () => undefined);
    await within(5_000, 'connecting the enqueuer', queue.connect());
    client = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: 1, lazyConnect: true });
    client.on('error', () => undefined);

    load = startLoad({ url: `http://127.0.0.1:${port}`, path: '/api/slow', concurrency: 10, requestTimeout: 15_000 });
    const stream = (async () => {
      let id = 0;
      while (streaming) {
        id += 1;
        try {
          await within(5_000, 'an enqueue', queue.enqueue('soak', 'record', [{ id }]));
          acknowledged.add(id);
        } catch {
          notAcknowledged += 1; // Redis restarting: the enqueuer knows it failed
        }
        await sleep(20);
      }
    })();

    const hungWorkers = new Set();
    const deadline = Date.now() + seconds * 1000;
    while (Date.now() < deadline) {
      await sleep(400 + random() * 1200);
      const event = EVENTS[Math.floor(random() * EVENTS.length)];
      const at = Date.now();
      const workerPids = () => slotPids(dir, desired).filter(Boolean);
      switch (event) {
        case 'USR2':
        case 'HUP':
          process.kill(cluster.pid, `SIG${event}`);
          break;
        case 'TTIN':
          if (desired >= 4) continue;
          desired += 1;
          process.kill(cluster.pid, 'SIGTTIN');
          break;
        case 'TTOU':
          // Never below 2: one worker killed while alone would refuse connections, not drop in-flight ones.
          if (desired <= 2) continue;
          desired -= 1;
          process.kill(cluster.pid, 'SIGTTOU');
          break;
        case 'SIGKILL': {
          const pids = workerPids();
          const victim = pids[Math.floor(random() * pids.length)];
          if (!victim) continue;
          killTimes.push(Date.now());
          process.kill(victim, 'SIGKILL');
          break;
        }
        case 'SIGSTOP': {
          const pids = workerPids().filter((pid) => !hungWorkers.has(pid));
          const victim = pids[Math.floor(random() * pids.length)];
          if (!victim) continue;
          hungWorkers.add(victim);
          process.kill(victim, 'SIGSTOP');
          // Resumed later, if the master has not killed it as hung by then.
          setTimeout(
            () => {
              try {
                process.kill(victim, 'SIGCONT');
              } catch {
                // killed as hung: the expected outcome
              }
            },
            1000 + random() * 3000,
          ).unref();
          break;
        }
        case 'BROKEN_DEPLOY': {
          const broken = path.join(dir, 'actions', 'broken.js');
          fs.writeFileSync(broken, 'module.exports = { name: "broken", run() { ;\n');
          const from = cluster.lines.length;
          process.kill(cluster.pid, 'SIGUSR2');
          await cluster.waitForLine((line) => /rolling reload #\d+ (aborted|done)/.test(line.msg ?? ''), { from, timeoutMs: 20_000 }).catch(() => undefined);
          fs.rmSync(broken);
          process.kill(cluster.pid, 'SIGUSR2');
          break;
        }
        case 'REDIS_RESTART':
          await within(15_000, 'restarting Redis', redis.restart());
          break;
      }
      events.push({ event, at });
      print(`  event ${String(events.length).padStart(2)}: ${event}`);
    }

    // Settle: the master's hung kills count as kills; back to N ready within the bound.
    const settleStarted = Date.now();
    const settled = await waitFor(
      `${desired} ready workers after the last event`,
      async () => {
        const status = await runMycluster(['status', '--json'], { cwd: dir });
        if (status.code !== 0) return false;
        const state = JSON.parse(status.stdout);
        return state.equilibrium && !state.reload && !state.reloadQueued && state.desiredWorkers === desired && state.draining.length === 0 && state;
      },
      { timeoutMs: SETTLE_BOUND_MS, intervalMs: 200 },
    );
    const settleMs = Date.now() - settleStarted;
    for (const line of cluster.lines) if (/^killing worker/.test(line.msg ?? '')) killTimes.push(line.time);

    streaming = false;
    await within(10_000, 'stopping the task stream', stream);
    const http = await within(20_000, 'stopping the HTTP load', load.stop());
    load = undefined;

    // Every acknowledged job worked or failed; wait (bounded) for the queue to drain.
    const accounted = async () => {
      const worked = await client.hgetall('soak:worked');
      const failedEntries = await client.lrange('resque:failed', 0, -1);
      const failed = new Set(failedEntries.map((entry) => JSON.parse(entry).payload?.args?.[0]?.id));
      const missing = [...acknowledged].filter((id) => !worked[id] && !failed.has(id));
      const reruns = Object.values(worked).filter((count) => Number(count) > 1).length;
      return { missing, worked: Object.keys(worked).length, failed: failed.size, reruns };
    };
    let jobs = await within(5_000, 'reading the job results', accounted());
    const jobsDeadline = Date.now() + SETTLE_BOUND_MS;
    while (jobs.missing.length > 0 && Date.now() < jobsDeadline) {
      await sleep(250);
      jobs = await within(5_000, 'reading the job results', accounted());
    }

    const unexplained = http.failures.filter(
      (failure) => !killTimes.some((kill) => failure.start - KILL_SLOP_MS <= kill && kill <= failure.end + KILL_SLOP_MS),
    );

    // Pidfiles match the live processes.
    const masterPid = readPid(path.join(dir, 'pids', 'cluster_pidfile'));
    const filePids = fs
      .readdirSync(path.join(dir, 'pids'))
      .filter((name) => name.startsWith('mycluster-worker-'))
      .map((name) => readPid(path.join(dir, 'pids', name)));
    // The spare worker (standing by, no slot, no pidfile) is not one of the N.
    const livePids = childPids(cluster.pid).filter((pid) => pid !== settled.spare?.pid);
    const pidfilesMatch =
      masterPid === cluster.pid && filePids.length === desired && filePids.every((pid) => livePids.includes(pid)) && livePids.length === desired;

    // Stop, then nothing of the cluster is left.
    const everyPid = cluster.knownPids();
    process.kill(cluster.pid, 'SIGTERM');
    const { code } = await cluster.waitForExit(20_000);
    await sleep(200);
    const orphans = everyPid.filter((pid) => isAlive(pid));

    const invariants = [
      {
        name: 'failed requests only in flight on SIGKILLed workers',
        ok: unexplained.length === 0,
        detail: `${http.failed} failed of ${http.sent} (${killTimes.length} kills), ${unexplained.length} unexplained${
          unexplained.length
            ? `: ${unexplained
                .slice(0, 3)
                .map((f) => f.error)
                .join('; ')}`
            : ''
        }`,
      },
      {
        name: 'every acknowledged job worked or failed',
        ok: jobs.missing.length === 0,
        detail: `${acknowledged.size} acknowledged (${notAcknowledged} refused while Redis restarted): ${jobs.worked} worked, ${jobs.failed} failed, ${jobs.reruns} re-run after a kill, ${jobs.missing.length} missing`,
      },
      { name: `back to N ready workers within ${SETTLE_BOUND_MS / 1000} s`, ok: true, detail: `${desired} ready ${settleMs} ms after the last event` },
      {
        name: 'pidfiles match the live processes',
        ok: pidfilesMatch,
        detail: `master ${masterPid}, worker pidfiles ${filePids.join(',')}, live workers ${livePids.join(',')}`,
      },
      {
        name: 'no process left after the stop',
        ok: orphans.length === 0 && code === 0,
        detail: `exit ${code}, ${everyPid.length} pids seen, ${orphans.length} alive`,
      },
    ];
    return { seed, seconds, events, killTimes, unexplained, invariants, ok: invariants.every((invariant) => invariant.ok) };
  } finally {
    streaming = false;
    await within(20_000, 'stopping the HTTP load', load?.stop()).catch(() => undefined);
    await within(5_000, 'closing the queue', queue?.end()).catch(() => undefined);
    queueRedis?.disconnect(); // node-resque leaves a connection it was given open
    client?.disconnect();
    await cluster.kill();
    await within(10_000, 'stopping Redis', redis.stop()).catch(() => undefined);
    fs.rmSync(redisDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string', default: String(Date.now() % 100000) } } });
  const seconds = Number(values.seconds);
  const seed = Number(values.seed);
  if (!(seconds > 0) || !Number.isInteger(seed)) {
    console.error('usage: npm run soak -- [--seconds N] [--seed N]');
    process.exit(2);
  }
  console.log(`soak: ${seconds} s, seed ${seed}`);
  const result = await runSoak({ seconds, seed });
  if (process.env.SOAK_DEBUG) {
    const t0 = result.events[0]?.at ?? 0;
    console.log('events:', result.events.map((e) => `${e.event}@${e.at - t0}`).join(' '));
    console.log('kills:', result.killTimes.map((k) => k - t0).join(' '));
    console.log('unexplained:', result.unexplained.map((f) => `${f.start - t0}..${f.end - t0} ${f.error}`).join('\n  '));
  }
  for (const invariant of result.invariants) console.log(`${invariant.ok ? 'ok  ' : 'FAIL'}  ${invariant.name}: ${invariant.detail}`);
  console.log(result.ok ? 'soak passed' : `soak FAILED (repeat with --seed ${seed})`);
  process.exit(result.ok ? 0 : 1);
}
