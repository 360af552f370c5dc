// What the `action request` line every action logs at `info` (the default level) costs in throughput.
// Two 2-worker clusters of bench/apps/mycluster run side by side with --daemon (logs appended to their
// log/mycluster.log, as in production), one at logger.level info, one at warn (no line per request). wrk
// measures each in turn, interleaved over rounds whose order shifts each round, on two actions: `fast`
// (answers at once: the worst case, the log line is a large share of the work) and `slow` (answers after
// 5 ms, the main bench's action). Prints the median req/s of each, the workers' CPU time per request (read
// from /proc: unlike throughput, it barely moves when other work shares the machine), and the log bytes
// per request.
// Not part of `npm test`. Usage: npm run build && node bench/log-cost.mjs [--rounds 7] [--seconds 4]
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { readPid } from '../test/helpers/cluster.mjs';
import { CLOCK_TICKS, childPids, cpuTicks, freePort, killAll, sleep } from './lib.mjs';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '..', 'bin', 'mycluster');
const { values } = parseArgs({ options: { rounds: { type: 'string', default: '7' }, seconds: { type: 'string', default: '4' } } });
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);

const FAST_ACTION = "module.exports = { name: 'fast', run: () => ({ ok: true }) };\n";

async function startCluster(level) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mycluster-logcost-${level}-`));
  fs.cpSync(path.join(here, 'apps', 'mycluster'), dir, { recursive: true, filter: (source) => path.basename(source) !== 'pids' });
  fs.writeFileSync(path.join(dir, 'actions', 'fast.js'), FAST_ACTION);
  const port = await freePort();
  const env = { ...process.env, PORT: String(port), NODE_ENV: 'production', ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ logger: { level } }) };
  await run(process.execPath, [bin, 'start', '--workers=2', '--daemon'], { cwd: dir, env, timeout: 30_000 });
  const masterPid = readPid(path.join(dir, 'pids', 'cluster_pidfile'));
  return { level, dir, port, masterPid, logFile: path.join(dir, 'log', 'mycluster.log') };
}

async function wrk(port, action, durationS) {
  const { stdout } = await run('wrk', ['-t1', '-c50', `-d${durationS}s`, `http://127.0.0.1:${port}/api/${action}`], { timeout: (durationS + 30) * 1000 });
  const rate = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const total = /(\d+) requests in/.exec(stdout);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(stdout);
  if (!rate || !total) throw new Error(`wrk printed no rate:\n${stdout}`);
  return { rps: Number(rate[1]), requests: Number(total[1]), errors: errors ? errors[0] : null };
}

const median = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

const clusters = [];
try {
  clusters.push(await startCluster('info'), await startCluster('warn'));
  const runs = clusters.flatMap((cluster) => ['fast', 'slow'].map((action) => ({ cluster, action, rps: [], cpuUs: [], bytesPerRequest: [] })));
  const workersCpu = (cluster) => childPids(cluster.masterPid).reduce((sum, pid) => sum + cpuTicks(pid), 0);
  for (const entry of runs) await wrk(entry.cluster.port, entry.action, 1); // warm-up
  for (let round = 0; round < rounds; round += 1) {
    const order = runs.map((_, index) => runs[(index + round) % runs.length]);
    for (const entry of order) {
      const before = fs.statSync(entry.cluster.logFile).size;
      const cpuBefore = workersCpu(entry.cluster);
      const result = await wrk(entry.cluster.port, entry.action, seconds);
      await sleep(200); // the last lines written
      entry.cpuUs.push((((workersCpu(entry.cluster) - cpuBefore) / CLOCK_TICKS) * 1e6) / result.requests);
      if (result.errors) console.error(`${entry.cluster.level} ${entry.action}: ${result.errors}`);
      entry.rps.push(result.rps);
      entry.bytesPerRequest.push((fs.statSync(entry.cluster.logFile).size - before) / result.requests);
    }
    console.error(`round ${round + 1}/${rounds} done`);
  }
  console.log(`Node ${process.version}, ${os.availableParallelism()} CPUs, ${rounds} rounds of ${seconds} s, wrk -t1 -c50\n`);
  console.log('| action | level | req/s median (min–max) | workers CPU µs per request, median (min–max) | log bytes per request |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const entry of runs) {
    const rps = `${Math.round(median(entry.rps))} (${Math.round(Math.min(...entry.rps))}–${Math.round(Math.max(...entry.rps))})`;
    const cpu = `${Math.round(median(entry.cpuUs))} (${Math.round(Math.min(...entry.cpuUs))}–${Math.round(Math.max(...entry.cpuUs))})`;
    console.log(`| ${entry.action} | ${entry.cluster.level} | ${rps} | ${cpu} | ${Math.round(median(entry.bytesPerRequest))} |`);
  }
  // Per round, info against warn measured in the same round: a drift in the machine's load cancels out.
  for (const action of ['fast', 'slow']) {
    const [info, warn] = ['info', 'warn'].map((level) => runs.find((entry) => entry.action === action && entry.cluster.level === level));
    const ratios = info.rps.map((rps, round) => rps / warn.rps[round]);
    const below = (ratio) => `${((1 - ratio) * 100).toFixed(1)} %`;
    const [infoCpu, warnCpu] = [median(info.cpuUs), median(warn.cpuUs)];
    console.log(`\n${action}: req/s at info below warn by ${below(median(ratios))} (median of the rounds' ratios; rounds: ${ratios.map(below).join(', ')})`);
    console.log(
      `${action}: the log line costs ${Math.round(infoCpu - warnCpu)} µs of worker CPU per request, ${(((infoCpu - warnCpu) / infoCpu) * 100).toFixed(1)} % of a request's CPU at info`,
    );
  }
} finally {
  for (const cluster of clusters) {
    const pids = [cluster.masterPid, ...childPids(cluster.masterPid)];
    await run(process.execPath, [bin, 'stop', '--pids', path.join(cluster.dir, 'pids')], { timeout: 30_000 }).catch(() => undefined);
    await killAll(pids);
    fs.rmSync(cluster.dir, { recursive: true, force: true });
  }
}
