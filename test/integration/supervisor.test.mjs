// The supervisor, end to end: the real CLI, real signals, real HTTP, a web-only fixture app.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { childPids, copyFixture, isAlive, isRunning, readPid, runMycluster, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { freePort } from '../helpers/net.mjs';
import { sleep, waitFor } from '../helpers/wait.mjs';

const started = [];
after(async () => {
  for (const cluster of started) await cluster.kill();
});

async function startCluster(workers = 2, env = {}) {
  const dir = copyFixture('http-app');
  const port = await freePort();
  const cluster = startMycluster(['start', `--workers=${workers}`], { cwd: dir, env: { PORT: String(port), ...env } });
  started.push(cluster);
  await cluster.waitForEquilibrium();
  return { dir, port, cluster, pids: path.join(dir, 'pids') };
}

async function get(port, pathname) {
  const response = await fetch(`http://127.0.0.1:${port}${pathname}`);
  return { status: response.status, body: await response.json().catch(() => null), headers: response.headers };
}

describe('mycluster start --workers=2', () => {
  test('writes the cluster pidfile and one pidfile per worker slot, and serves requests', async () => {
    const { cluster, dir, port, pids } = await startCluster(2);
    assert.equal(readPid(path.join(pids, 'cluster_pidfile')), cluster.pid);
    const workers = slotPids(dir, 2);
    for (const pid of workers) assert.ok(pid && isAlive(pid), `worker pid ${pid} alive`);
    const { status, body } = await get(port, '/api/slow');
    assert.equal(status, 200);
    assert.ok(workers.includes(body.pid));
    await cluster.kill();
  });

  test('replaces a worker killed with SIGKILL in the same slot', async () => {
    const { cluster, dir, pids } = await startCluster(2);
    const [first] = slotPids(dir, 2);
    const from = cluster.lines.length;
    process.kill(first, 'SIGKILL');
    await cluster.waitForEquilibrium({ from });
    const replaced = await waitFor('a new pid in slot 1', () => {
      const pid = readPid(path.join(pids, 'mycluster-worker-1'));
      return pid && pid !== first ? pid : null;
    });
    assert.ok(isAlive(replaced));
    assert.ok(cluster.lines.some((line) => line.role === 'master' && line.slot === 1 && /SIGKILL/.test(line.msg ?? '')));
    await cluster.kill();
  });

  test('the spare worker takes a SIGKILLed slot at once, and a new spare stands by again', async () => {
    const { cluster, dir, pids } = await startCluster(2);
    const state = async () => JSON.parse((await runMycluster(['status', '--json'], { cwd: dir })).stdout);
    const standingBy = async () => {
      const { spare } = await state();
      return spare?.standingBy ? spare : null;
    };
    const spare = (await waitFor('a spare worker standing by', standingBy)).pid;
    const [first] = slotPids(dir, 2);
    const from = cluster.lines.length;
    process.kill(first, 'SIGKILL');
    const ready = await cluster.waitForLine((line) => /worker #1 \(pid \d+\) ready/.test(line.msg ?? ''), { from });
    assert.equal(ready.workerPid, spare, 'the spare became worker #1');
    assert.equal(readPid(path.join(pids, 'mycluster-worker-1')), spare);
    const next = await waitFor('a new spare', async () => (await state()).spare, { timeoutMs: 10_000 });
    assert.notEqual(next.pid, spare);
    await cluster.kill();
  });

  test('with cluster.spareWorker false there is no spare process', async () => {
    const { cluster, dir } = await startCluster(1, { ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ cluster: { spareWorker: false } }) });
    await sleep(500);
    const state = JSON.parse((await runMycluster(['status', '--json'], { cwd: dir })).stdout);
    assert.equal(state.spare, null);
    assert.equal(childPids(cluster.pid).length, 1);
    await cluster.kill();
  });

  test('replaces a worker that dies of an uncaught exception or an unhandled rejection, logging the stack at fatal', async () => {
    const { cluster, port } = await startCluster(1);
    for (const kind of ['throw', 'reject']) {
      const from = cluster.lines.length;
      const { body } = await get(port, `/api/crash?kind=${kind}`);
      const fatal = await cluster.waitForLine((line) => line.level === 60 && line.pid === body.crashing, { from, what: `fatal line for ${kind}` });
      assert.match(fatal.err?.stack ?? '', /fixture (uncaught exception|unhandled rejection)/);
      await cluster.waitForEquilibrium({ from });
    }
    const { status } = await get(port, '/api/slow');
    assert.equal(status, 200);
    await cluster.kill();
  });

  test('a thrown action error is a 500 with { error } and the worker keeps serving', async () => {
    const { cluster, port } = await startCluster(1);
    const failed = await get(port, '/api/fail');
    assert.equal(failed.status, 500);
    assert.equal(failed.body.error, 'this action failed on purpose');
    assert.equal((await get(port, '/api/slow')).status, 200);
    assert.equal(cluster.lines.filter((line) => /starting worker/.test(line.msg ?? '')).length, 1);
    await cluster.kill();
  });

  test('TERM stops every worker gracefully, removes the pidfiles and exits 0', async () => {
    const { cluster, dir, pids } = await startCluster(2);
    const workers = slotPids(dir, 2);
    process.kill(cluster.pid, 'SIGTERM');
    const { code } = await cluster.waitForExit();
    assert.equal(code, 0);
    for (const pid of workers) assert.equal(isAlive(pid), false);
    assert.deepEqual(fs.readdirSync(pids), []);
  });

  test('after kill -9 of the master, every worker is gone within seconds', async () => {
    const { cluster, dir } = await startCluster(2);
    const workers = slotPids(dir, 2);
    process.kill(cluster.pid, 'SIGKILL');
    // isRunning, not isAlive: an orphan that exited stays a zombie until init reaps it.
    await waitFor('orphaned workers to exit', () => workers.every((pid) => !isRunning(pid)), { timeoutMs: 5_000 });
  });

  test('TTIN adds a worker, TTOU removes one', async () => {
    const { cluster, pids } = await startCluster(1);
    let from = cluster.lines.length;
    process.kill(cluster.pid, 'SIGTTIN');
    await cluster.waitForLine((line) => /equilibrium state reached with 2 workers/.test(line.msg ?? ''), { from });
    assert.ok(readPid(path.join(pids, 'mycluster-worker-2')));
    from = cluster.lines.length;
    const second = readPid(path.join(pids, 'mycluster-worker-2'));
    process.kill(cluster.pid, 'SIGTTOU');
    await waitFor('worker 2 to stop', () => !isAlive(second));
    await waitFor('pidfile of worker 2 removed', () => !fs.existsSync(path.join(pids, 'mycluster-worker-2')));
    await cluster.kill();
  });

  test('a live cluster pidfile makes a second start exit 1 naming the running pid', async () => {
    const { cluster, dir, port } = await startCluster(1);
    const second = startMycluster(['start', '--workers=1'], { cwd: dir, env: { PORT: String(port) } });
    started.push(second);
    const { code } = await second.waitForExit();
    assert.equal(code, 1);
    assert.match(second.stderr, new RegExp(`already running with pid ${cluster.pid}`));
    assert.equal(readPid(path.join(dir, 'pids', 'cluster_pidfile')), cluster.pid);
    await cluster.kill();
  });

  test('of 4 simultaneous starts exactly one runs; the other 3 exit 1 naming its pid', async () => {
    const dir = copyFixture('http-app');
    const env = { PORT: String(await freePort()) };
    const starts = Array.from({ length: 4 }, () => startMycluster(['start', '--workers=1'], { cwd: dir, env }));
    started.push(...starts);
    const winner = await waitFor('a cluster pidfile', () => readPid(path.join(dir, 'pids', 'cluster_pidfile')), { timeoutMs: 20_000 });
    const running = starts.find((start) => start.pid === winner);
    assert.ok(running, `the pidfile names pid ${winner}, none of the 4 starts`);
    for (const loser of starts.filter((start) => start !== running)) {
      const { code } = await loser.waitForExit();
      assert.equal(code, 1, loser.stderr);
      assert.match(loser.stderr, new RegExp(`already running with pid ${winner}\\b`));
    }
    await running.waitForEquilibrium();
    const pids = running.knownPids();
    process.kill(winner, 'SIGTERM');
    assert.equal((await running.waitForExit()).code, 0);
    await waitFor('every process of the cluster to exit', () => pids.every((pid) => !isAlive(pid)), { timeoutMs: 10_000 });
    assert.deepEqual(fs.readdirSync(path.join(dir, 'pids')), []);
  });

  test('a stale cluster pidfile (dead pid, or a live pid that is not mycluster) is replaced', async () => {
    const unrelated = spawn('sleep', ['30'], { stdio: 'ignore' });
    after(() => unrelated.kill('SIGKILL'));
    for (const stalePid of [2 ** 22 - 1, unrelated.pid]) {
      const dir = copyFixture('http-app');
      fs.writeFileSync(path.join(dir, 'pids', 'cluster_pidfile'), `${stalePid}\n`);
      const cluster = startMycluster(['start', '--workers=1'], { cwd: dir, env: { PORT: String(await freePort()) } });
      started.push(cluster);
      await cluster.waitForEquilibrium();
      assert.equal(readPid(path.join(dir, 'pids', 'cluster_pidfile')), cluster.pid);
      await cluster.kill();
    }
  });

  test('--workerTitlePrefix names the worker pidfiles and process titles', async () => {
    const dir = copyFixture('http-app');
    const cluster = startMycluster(['start', '--workers=2', '--workerTitlePrefix=api-'], { cwd: dir, env: { PORT: String(await freePort()) } });
    started.push(cluster);
    await cluster.waitForEquilibrium();
    for (const slot of [1, 2]) {
      const pid = readPid(path.join(dir, 'pids', `api-${slot}`));
      assert.ok(pid && isAlive(pid));
      assert.equal(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim(), `api-${slot}`);
    }
    await cluster.kill();
  });

  test('--silent prints no log line; filteredParams are redacted in the logs', async () => {
    const dir = copyFixture('http-app');
    const port = await freePort();
    const silent = startMycluster(['start', '--workers=1', '--silent'], { cwd: dir, env: { PORT: String(port) } });
    started.push(silent);
    await waitFor('the silent cluster to answer', async () => (await fetch(`http://127.0.0.1:${port}/api/slow`).catch(() => null))?.status === 200);
    process.kill(silent.pid, 'SIGTERM');
    assert.equal((await silent.waitForExit()).code, 0);
    assert.deepEqual(silent.lines, []);

    const { cluster: logged, port: loggedPort } = await startCluster(1);
    await fetch(`http://127.0.0.1:${loggedPort}/api/slow?password=hunter2&ms=1`);
    const line = await logged.waitForLine((entry) => entry.action === 'slow' && entry.params?.ms === '1');
    assert.equal(line.params.password, '[FILTERED]');
    assert.ok(!logged.lines.some((entry) => JSON.stringify(entry).includes('hunter2')));
    await logged.kill();
  });

  test('a second SIGINT kills the workers at once', async () => {
    const { cluster, dir, port } = await startCluster(1, {});
    const workers = slotPids(dir, 1);
    // Hold a request open so the graceful stop cannot finish by itself.
    const pending = fetch(`http://127.0.0.1:${port}/api/slow?ms=8000&started=slow-started`).catch(() => null);
    await waitFor('the slow request to reach the worker', () => fs.existsSync(path.join(dir, 'slow-started')), { timeoutMs: 10_000 });
    process.kill(cluster.pid, 'SIGINT');
    await cluster.waitForLine((line) => /^stopping cluster \(SIGINT\)/.test(line.msg ?? ''), { what: 'the stop' });
    // An INT within 1 s of the first is taken for a runner's copy of the same Ctrl-C: this is a second press.
    await sleep(1_100);
    process.kill(cluster.pid, 'SIGINT');
    const { code } = await cluster.waitForExit(4_000);
    assert.equal(code, 1);
    assert.equal(isAlive(workers[0]), false);
    await pending;
  });
});
