// What a worker started goes with it: an action spawns a child, a grandchild, a detached child and a child
// that ignores SIGTERM; after the worker is SIGKILLed, after a rolling reload, after `mycluster stop` and
// after a single process's stop, none of them is left. cluster.stopChildProcesses: false leaves them.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe, test } from 'node:test';
import { copyFixture, isRunning, runMycluster, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { freePort } from '../helpers/net.mjs';
import { waitFor } from '../helpers/wait.mjs';

// The grace between SIGTERM and SIGKILL is stopTimeout: short here, so the TERM-ignoring child is killed soon.
const STOP_TIMEOUT_MS = 1_500;
const started = [];
const spawned = [];
const dirs = [];
after(async () => {
  for (const cluster of started) await cluster.kill();
  for (const pid of spawned) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

async function startApp(args, overrides = {}) {
  const dir = copyFixture('http-app');
  dirs.push(dir);
  const port = await freePort();
  const config = { cluster: { stopTimeout: STOP_TIMEOUT_MS, ...overrides } };
  const cluster = startMycluster(args, { cwd: dir, env: { PORT: String(port), ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify(config) } });
  started.push(cluster);
  return { dir, port, cluster };
}

/** Ask a worker to spawn its processes; the sleeps' command lines carry a number unique to this call. */
let calls = 0;
async function spawnProcesses(port) {
  calls += 1;
  const seconds = 7_000 + process.pid + calls;
  const response = await fetch(`http://127.0.0.1:${port}/api/spawn?seconds=${seconds}`, {
    headers: { connection: 'close' },
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(response.status, 200);
  const { worker, pids } = await response.json();
  const all = sleepsOf(seconds).concat(pids);
  spawned.push(...all);
  assert.ok(all.length >= 6, `the children and the grandchildren are running: ${all}`);
  return { worker, pids: [...new Set(all)] };
}

/** The live `sleep <seconds>` processes (the grandchildren among them). */
function sleepsOf(seconds) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8') === `sleep\0${seconds}\0` && isRunning(Number(entry))) found.push(Number(entry));
    } catch {}
  }
  return found;
}

const allGone = (pids) => (pids.some(isRunning) ? null : true);
const GONE_WITHIN = { timeoutMs: STOP_TIMEOUT_MS + 5_000 };

describe('processes the app starts', () => {
  test('go with their worker when it is SIGKILLed, when a reload replaces it, and when the cluster stops', async () => {
    const { dir, port, cluster } = await startApp(['start', '--workers=2']);
    await cluster.waitForEquilibrium();

    const killed = await spawnProcesses(port);
    const from = cluster.lines.length;
    process.kill(killed.worker, 'SIGKILL');
    await waitFor('the SIGKILLed worker’s processes gone', () => allGone(killed.pids), GONE_WITHIN);
    await cluster.waitForLine((line) => /ignored SIGTERM for \d+ ms: sending SIGKILL/.test(line.msg ?? ''), {
      from,
      what: 'the SIGKILL of the TERM-ignoring child',
    });
    await cluster.waitForEquilibrium({ from, what: 'equilibrium after the SIGKILL' });

    const reloaded = await spawnProcesses(port);
    assert.equal((await runMycluster(['reload'], { cwd: dir })).code, 0);
    await waitFor('the replaced worker’s processes gone', () => allGone(reloaded.pids), GONE_WITHIN);

    const stopped = await spawnProcesses(port);
    const stop = await runMycluster(['stop'], { cwd: dir });
    assert.equal(stop.code, 0, stop.stdout + stop.stderr);
    assert.deepEqual(stopped.pids.filter(isRunning), [], 'none left once the master has exited');
  });

  test('go with a single process when it stops', async () => {
    const { dir, port, cluster } = await startApp(['start']);
    await cluster.waitForLine((line) => /ready \(pid \d+\)/.test(line.msg ?? ''), { what: 'ready' });
    const { pids } = await spawnProcesses(port);
    process.kill(cluster.pid, 'SIGTERM');
    assert.equal((await cluster.waitForExit()).code, 0);
    assert.deepEqual(pids.filter(isRunning), []);
    assert.deepEqual(
      fs.readdirSync(`${dir}/pids`).filter((name) => name.startsWith('mycluster-')),
      [],
    );
  });

  test('stay when cluster.stopChildProcesses is false (apps that start daemons on purpose)', async () => {
    const { dir, port, cluster } = await startApp(['start', '--workers=1'], { stopChildProcesses: false });
    await cluster.waitForEquilibrium();
    const { worker, pids } = await spawnProcesses(port);
    const from = cluster.lines.length;
    process.kill(worker, 'SIGKILL');
    await cluster.waitForEquilibrium({ from, what: 'equilibrium after the SIGKILL' });
    assert.notDeepEqual(slotPids(dir, 1), [worker]);
    assert.deepEqual(pids.filter(isRunning), pids, 'every process is still running');
  });
});
