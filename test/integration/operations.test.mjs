// Operating a running cluster: status/reload/stop commands, hung workers, the memory guard, USR1, --daemon, --watch.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { copyFixture, isAlive, readPid, runMycluster, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { startLoad } from '../helpers/load.mjs';
import { freePort } from '../helpers/net.mjs';
import { sleep, waitFor } from '../helpers/wait.mjs';

const started = [];
const daemons = [];
after(async () => {
  for (const cluster of started) await cluster.kill();
  for (const pid of daemons) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
});

async function startCluster(workers, env = {}) {
  const dir = copyFixture('http-app');
  const port = await freePort();
  const cluster = startMycluster(['start', `--workers=${workers}`], { cwd: dir, env: { PORT: String(port), ...env } });
  started.push(cluster);
  await cluster.waitForEquilibrium();
  return { dir, port, cluster };
}

describe('mycluster status', () => {
  test('--json reports the master, each slot and the reload state, field by field', async () => {
    const { dir, cluster } = await startCluster(2);
    const state = await waitFor('status to show equilibrium', async () => {
      const { code, stdout, stderr } = await runMycluster(['status', '--json'], { cwd: dir });
      assert.equal(code, 0, stderr);
      const published = JSON.parse(stdout);
      return published.equilibrium ? published : null;
    });
    assert.equal(state.master.pid, cluster.pid);
    assert.equal(typeof state.master.uptimeMs, 'number');
    assert.equal(state.desiredWorkers, 2);
    assert.equal(state.reload, null);
    assert.equal(state.equilibrium, true);
    assert.equal(state.slots.length, 2);
    for (const [index, slot] of state.slots.entries()) {
      assert.equal(slot.slot, index + 1);
      assert.equal(slot.worker.pid, readPid(path.join(dir, 'pids', `mycluster-worker-${index + 1}`)));
      assert.equal(slot.worker.state, 'ready');
      assert.equal(typeof slot.worker.uptimeMs, 'number');
      assert.equal(slot.restarts, 0);
      assert.equal(slot.lastExit, null);
    }
    // RSS arrives with the first heartbeat.
    await waitFor('rss in status', async () => {
      const again = JSON.parse((await runMycluster(['status', '--json'], { cwd: dir })).stdout);
      return again.slots.every((slot) => slot.worker.rss > 0);
    });

    const killed = state.slots[0].worker.pid;
    process.kill(killed, 'SIGKILL');
    const from = cluster.lines.length;
    await cluster.waitForEquilibrium({ from });
    // The state file trails the log by up to its write interval, more on a loaded machine.
    const after = await waitFor('status to show the restart', async () => {
      const published = JSON.parse((await runMycluster(['status', '--json'], { cwd: dir })).stdout);
      return published.slots[0].restarts > 0 ? published : null;
    });
    assert.equal(after.slots[0].restarts, 1);
    assert.equal(after.slots[0].lastExit.signal, 'SIGKILL');

    const table = await runMycluster(['status'], { cwd: dir });
    assert.equal(table.code, 0);
    assert.match(table.stdout, new RegExp(`master pid ${cluster.pid}`));
    assert.match(table.stdout, /#1 .*ready/);
    await cluster.kill();
  });

  test('--timeout waits for a starting cluster to publish its state', async () => {
    const dir = copyFixture('http-app');
    const cluster = startMycluster(['start', '--workers=1'], { cwd: dir, env: { PORT: String(await freePort()) } });
    started.push(cluster);
    await waitFor('the master pidfile', () => readPid(path.join(dir, 'pids', 'cluster_pidfile')) === cluster.pid, { timeoutMs: 10_000 });
    const { code, stdout, stderr } = await runMycluster(['status', '--json', '--timeout', '20'], { cwd: dir });
    assert.equal(code, 0, stderr);
    assert.equal(JSON.parse(stdout).master.pid, cluster.pid);
    await cluster.kill();
  });
});

describe('mycluster reload and stop', () => {
  test('reload exits 0 when every slot was replaced, 1 with the reason when the new code does not boot', async () => {
    const { dir, cluster } = await startCluster(2);
    const good = await runMycluster(['reload'], { cwd: dir });
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /reload #1 done/);

    fs.writeFileSync(path.join(dir, 'actions', 'broken.js'), 'module.exports = { name: "broken", run() { ;\n');
    const before = slotPids(dir, 2);
    const bad = await runMycluster(['reload', '--pids', path.join(dir, 'pids')], { cwd: '/' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /reload aborted: worker #1 failed to boot/);
    assert.match(bad.stderr, /broken\.js/);
    for (const pid of before) assert.ok(isAlive(pid));
    await cluster.kill();
  });

  test('stop sends TERM and waits until the master is gone', async () => {
    const { dir, cluster } = await startCluster(2);
    const { code, stdout } = await runMycluster(['stop'], { cwd: dir });
    assert.equal(code, 0);
    assert.match(stdout, new RegExp(`stopped \\(pid ${cluster.pid}\\)`));
    assert.equal(isAlive(cluster.pid), false);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'pids')), []);
    const again = await runMycluster(['stop'], { cwd: dir });
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no cluster is running/);
  });
});

describe('mycluster scale, and --json results', () => {
  test('scale +1 and -1 on a 1-worker cluster wait for the workers; scale, reload and stop --json print their result', async () => {
    const { dir, cluster } = await startCluster(1);
    const [first] = slotPids(dir, 1);
    const up = await runMycluster(['scale', '+1'], { cwd: dir });
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout, '2 workers ready (was 1)\n');
    const [, second] = slotPids(dir, 2);
    assert.ok(second && isAlive(second));

    const down = await runMycluster(['scale', '-1', '--json'], { cwd: dir });
    assert.equal(down.code, 0, down.stderr);
    const scaled = JSON.parse(down.stdout);
    assert.equal(scaled.durationMs >= 0, true);
    assert.deepEqual(
      { ...scaled, durationMs: 0 },
      {
        ok: true,
        command: 'scale',
        masterPid: cluster.pid,
        from: 2,
        to: 1,
        durationMs: 0,
        workers: [{ slot: 1, pid: first }],
        slots: [{ slot: 2, event: 'stopped', pid: second }],
      },
    );
    assert.equal(isAlive(second), false);
    assert.equal(fs.existsSync(path.join(dir, 'pids', 'mycluster-worker-2')), false);

    const reloaded = JSON.parse((await runMycluster(['reload', '--json'], { cwd: dir })).stdout);
    const [replacement] = slotPids(dir, 1);
    assert.deepEqual(
      { ...reloaded, reload: { ...reloaded.reload, durationMs: 0 } },
      {
        ok: true,
        command: 'reload',
        masterPid: cluster.pid,
        reload: { id: 1, reason: 'SIGUSR2', durationMs: 0 },
        slots: [{ slot: 1, event: 'replaced', pid: replacement, previousPid: first }],
      },
    );

    const stopped = await runMycluster(['stop', '--json'], { cwd: dir });
    assert.equal(stopped.code, 0, stopped.stderr);
    const result = JSON.parse(stopped.stdout);
    assert.deepEqual(
      { ...result, durationMs: 0 },
      {
        ok: true,
        command: 'stop',
        masterPid: cluster.pid,
        durationMs: 0,
        slots: [{ slot: 1, event: 'stopped', pid: replacement }],
      },
    );
    const again = await runMycluster(['scale', '2', '--json'], { cwd: dir });
    assert.equal(again.code, 1);
    assert.equal(JSON.parse(again.stdout).ok, false);
    assert.match(again.stderr, /no cluster is running/);
  });
});

describe('guards', () => {
  test('a worker whose event loop is blocked past workerTimeout is killed as hung and replaced', async () => {
    const { dir, cluster } = await startCluster(1);
    const pid = readPid(path.join(dir, 'pids', 'mycluster-worker-1'));
    const from = cluster.lines.length;
    process.kill(pid, 'SIGSTOP'); // as hung as a process gets; SIGKILL still works on it
    const hung = await cluster.waitForLine((line) => /is hung/.test(line.msg ?? ''), { from, timeoutMs: 15_000 });
    assert.equal(hung.workerPid, pid);
    await cluster.waitForEquilibrium({ from });
    const replacement = readPid(path.join(dir, 'pids', 'mycluster-worker-1'));
    assert.notEqual(replacement, pid);
    assert.equal(isAlive(pid), false);
    await cluster.kill();
  });

  test('a busy-looping action also counts as hung', async () => {
    const { port, cluster } = await startCluster(1);
    const from = cluster.lines.length;
    fetch(`http://127.0.0.1:${port}/api/block?ms=20000`).catch(() => undefined);
    await cluster.waitForLine((line) => /is hung/.test(line.msg ?? ''), { from, timeoutMs: 15_000 });
    await cluster.waitForEquilibrium({ from });
    await cluster.kill();
  });

  test('a worker above maxMemory is replaced with a zero-downtime swap of its slot', async () => {
    const { dir, port, cluster } = await startCluster(2, {
      ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ cluster: { maxMemory: 200 * 1024 * 1024 } }),
    });
    const load = startLoad({ url: `http://127.0.0.1:${port}`, path: '/api/slow', concurrency: 10 });
    let leaking;
    try {
      const from = cluster.lines.length;
      const response = await (await fetch(`http://127.0.0.1:${port}/api/leak?mb=250`)).json();
      leaking = response.pid;
      const guard = await cluster.waitForLine((line) => /above maxMemory/.test(line.msg ?? ''), { from, timeoutMs: 10_000 });
      assert.equal(guard.workerPid, leaking);
      await cluster.waitForLine((line) => /rolling reload #\d+ \(maxMemory\)/.test(line.msg ?? ''), { from });
      await cluster.waitForLine((line) => /rolling reload #\d+ done/.test(line.msg ?? ''), { from });
      assert.equal(isAlive(leaking), false);
      const slot = guard.slot;
      assert.notEqual(readPid(path.join(dir, 'pids', `mycluster-worker-${slot}`)), leaking);
    } finally {
      const result = await load.stop();
      assert.deepEqual(result.errors, []);
    }
    await cluster.kill();
  });
});

describe('--daemon and logs', () => {
  test('--daemon returns once ready, logs to log/mycluster.log, and USR1 reopens it after a rotation', async () => {
    const dir = copyFixture('http-app');
    const port = await freePort();
    const { code, stdout, stderr } = await runMycluster(['start', '--workers=2', '--daemon'], { cwd: dir, env: { PORT: String(port) } });
    const masterPid = readPid(path.join(dir, 'pids', 'cluster_pidfile'));
    if (masterPid) daemons.push(masterPid, ...slotPids(dir, 2).filter(Boolean));
    assert.equal(code, 0, stderr);
    assert.match(stdout, /started in the background/);
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/slow`)).status, 200);
    const logFile = path.join(dir, 'log', 'mycluster.log');
    const lines = fs
      .readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.ok(lines.some((line) => line.role === 'master' && /equilibrium/.test(line.msg)));
    assert.ok(lines.some((line) => line.slot === 1));

    fs.renameSync(logFile, `${logFile}.1`);
    process.kill(masterPid, 'SIGUSR1');
    await waitFor('the master to reopen its log', () => fs.existsSync(logFile), { timeoutMs: 5_000 });
    // The workers reopen theirs a moment after the master: a request answered before that logs to the old file.
    await waitFor('a worker to log to the new file', async () => {
      await (await fetch(`http://127.0.0.1:${port}/api/slow`)).text();
      return /action request/.test(fs.readFileSync(logFile, 'utf8'));
    });

    const stop = await runMycluster(['stop'], { cwd: dir });
    assert.equal(stop.code, 0);
  });

  test('--daemon exits 1 with the reason when the cluster does not come up', async () => {
    const dir = copyFixture('http-app');
    fs.writeFileSync(path.join(dir, 'actions', 'broken.js'), 'module.exports = { name: "broken", run() { ;\n');
    const { code, stderr } = await runMycluster(['start', '--workers=1', '--daemon'], { cwd: dir, env: { PORT: String(await freePort()) } });
    assert.equal(code, 1);
    assert.match(stderr, /did not come up/);
    assert.match(stderr, /broken\.js/);
    await waitFor('the failed master to clean up', () => !readPid(path.join(dir, 'pids', 'cluster_pidfile')), { timeoutMs: 10_000 });
  });
});

describe('--watch', () => {
  test('a changed file triggers a rolling reload; a change that breaks boot keeps the old workers and says why', async () => {
    const dir = copyFixture('http-app');
    const port = await freePort();
    const cluster = startMycluster(['start', '--workers=1', '--watch'], { cwd: dir, env: { PORT: String(port) } });
    started.push(cluster);
    await cluster.waitForEquilibrium();
    await cluster.waitForLine((line) => /--watch: watching/.test(line.msg ?? ''));
    let from = cluster.lines.length;
    fs.writeFileSync(path.join(dir, 'actions', 'version.js'), "module.exports = { name: 'version', run: () => ({ version: 'v2' }) };\n");
    await cluster.waitForLine((line) => /rolling reload #1 done/.test(line.msg ?? ''), { from });
    assert.equal((await (await fetch(`http://127.0.0.1:${port}/api/version`)).json()).version, 'v2');

    from = cluster.lines.length;
    const serving = readPid(path.join(dir, 'pids', 'mycluster-worker-1'));
    fs.writeFileSync(path.join(dir, 'actions', 'version.js'), 'module.exports = { name: ;\n');
    const aborted = await cluster.waitForLine((line) => /rolling reload #2 aborted/.test(line.msg ?? ''), { from });
    assert.match(aborted.msg, /version\.js/);
    assert.ok(isAlive(serving));
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/version`)).status, 200);

    // Files under pids/ and log/ never trigger a reload.
    from = cluster.lines.length;
    fs.writeFileSync(path.join(dir, 'pids', 'note'), 'x');
    await sleep(1_000);
    assert.ok(!cluster.lines.slice(from).some((line) => /--watch: .* changed/.test(line.msg ?? '')));
    fs.rmSync(path.join(dir, 'pids', 'note'));
    await cluster.kill();
  });
});
