// What a reload costs beyond the requests it serves: a 2-worker cluster of bench/apps/mycluster (the shared
// handler, or its action) under `wrk -t1 -c50`, 10 s steady, then 10 s with a signal at 2 s and 5.5 s (USR2 by default).
// The CPU time of the master and of every worker (reaped ones included, through the master's children's
// times) over the run with signals, minus the steady run's CPU per request times its requests, is the
// extra CPU; halved, per signal. Variants run in turn, `rounds` times, each with a cluster of its own.
//
//   node bench/reload-cost.mjs [rounds] [variants as JSON]
//   node bench/reload-cost.mjs 2 '[{"name":"reload"},{"name":"ttin+ttou","signals":["SIGTTIN","SIGTTOU"]},
//     {"name":"ramp 250","env":{"MYCLUSTER_CONFIG_OVERRIDES":"{\"servers\":{\"web\":{\"drainRamp\":250}}}"}}]'
//
// A variant: { name, env?, signals? (two), execArgv? (node options for the whole cluster), bin? (another
// checkout's bin/mycluster, to compare builds), action? (true: the same answer as the app's `slow` action
// instead of the shared handler) }. Prints one line per run.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childPids, freePort, reap, sleep, spawnLogged } from './lib.mjs';
import { runWrk } from './wrk.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const rounds = Number(process.argv[2]) || 2;
const variants = JSON.parse(process.argv[3] ?? '[{"name":"reload"},{"name":"ttin+ttou","signals":["SIGTTIN","SIGTTOU"]}]');

/** utime + stime (+ the reaped children's, for the master) in ms. */
function cpuMs(pid, withChildren) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]) + (withChildren ? Number(fields[13]) + Number(fields[14]) : 0);
    return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

const clusterCpuMs = (masterPid) => cpuMs(masterPid, true) + childPids(masterPid).reduce((sum, pid) => sum + cpuMs(pid, false), 0);

async function measure(variant) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-reload-cost-'));
  fs.cpSync(path.join(here, 'apps', 'mycluster'), dir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'pids'), { recursive: true });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/${variant.action ? 'api/slow' : ''}`;
  const app = variant.action ? {} : { BENCH_HANDLER: path.join(here, 'apps', 'handler.js') };
  const master = spawnLogged(
    process.execPath,
    [...(variant.execArgv ?? []), variant.bin ?? path.join(here, '..', 'bin', 'mycluster'), 'start', '--workers=2'],
    {
      cwd: dir,
      env: { ...variant.env, ...app, PORT: String(port), MYCLUSTER_LOG_FORMAT: 'json', NODE_ENV: 'production' },
    },
  );
  const masterPid = master.child.pid;
  try {
    await master.waitForLine((line) => /equilibrium/.test(line.msg ?? ''), { timeoutMs: 15_000, what: 'equilibrium' });
    await runWrk({ url, seconds: 2 });
    let before = clusterCpuMs(masterPid);
    const steady = await runWrk({ url, seconds: 10 });
    const perRequest = (clusterCpuMs(masterPid) - before) / steady.requests;
    await sleep(1_500);
    before = clusterCpuMs(masterPid);
    const [first, second] = variant.signals ?? ['SIGUSR2', 'SIGUSR2'];
    const signals = (async () => {
      await sleep(2_000);
      process.kill(masterPid, first);
      await sleep(3_500);
      process.kill(masterPid, second);
    })();
    const loaded = await runWrk({ url, seconds: 10 });
    await signals;
    await sleep(1_500); // the spare re-forked after the last reload counts too
    const extraMs = clusterCpuMs(masterPid) - before - perRequest * loaded.requests;
    const reloads = master.lines.filter((line) => /rolling reload #\d+ done/.test(line.msg ?? '')).map((line) => line.durationMs);
    return { steady, loaded, perRequestUs: perRequest * 1000, extraMsPerSignal: extraMs / 2, reloads };
  } finally {
    process.kill(masterPid, 'SIGTERM');
    await reap([masterPid, ...childPids(masterPid)], 10_000);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

for (let round = 0; round < rounds; round += 1) {
  for (const variant of variants) {
    const r = await measure(variant);
    console.log(
      `${variant.name.padEnd(14)} steady ${r.steady.requests} req, p99 ${r.steady.p99} ms, ${r.perRequestUs.toFixed(0)} µs CPU/req | with signals ${r.loaded.requests} req ` +
        `(ratio ${(r.loaded.requests / r.steady.requests).toFixed(3)}), p99 ${r.loaded.p99} ms (ratio ${(r.loaded.p99 / r.steady.p99).toFixed(2)}), ` +
        `extra CPU per signal ${r.extraMsPerSignal.toFixed(0)} ms${r.reloads.length ? `, reloads ${r.reloads.join(', ')} ms` : ''}; errors ${r.loaded.socketErrors + r.loaded.non2xx}`,
    );
  }
}
