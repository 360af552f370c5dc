// `mycluster upgrade`: the master itself is replaced, its listening socket handed to the new one by file
// descriptor, under load and through every fault the new master can meet. (Through nginx on the unix socket:
// nginx.test.mjs.)

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { copyFixture, isAlive, isRunning, readPid, runMycluster, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { assertNoFailures, startLoad } from '../helpers/load.mjs';
import { freePort } from '../helpers/net.mjs';
import { waitFor } from '../helpers/wait.mjs';

const started = [];
after(async () => {
  for (const cluster of started) await cluster.kill();
});

async function startCluster() {
  const dir = copyFixture('http-app');
  const port = await freePort();
  const cluster = startMycluster(['start', '--workers=2'], { cwd: dir, env: { PORT: String(port) } });
  started.push(cluster);
  await cluster.waitForEquilibrium();
  return { dir, port, cluster, pidfile: path.join(dir, 'pids', 'cluster_pidfile') };
}

/** `mycluster upgrade` in the project; `--pids` so the CLI itself does not read a config a test broke. */
const upgrade = (dir, args = []) => runMycluster(['upgrade', '--pids', path.join(dir, 'pids'), ...args], { cwd: dir, timeoutMs: 60_000 });

const upgrading = (line) => /^upgrading: starting a new master/.test(line.msg ?? '');

/** The new master an upgrade started: the line it logged first carries its pid. */
async function newMasterPid(cluster, from) {
  const line = await cluster.waitForLine((entry) => /^mycluster master started/.test(entry.msg ?? '') && entry.upgradedFrom, { from, what: 'the new master' });
  return line.pid;
}

/** No process of this cluster (master, keeper, workers, spare: every pid it logged) is left. */
async function assertNothingLeft(cluster) {
  await waitFor('every process of the cluster gone', () => (cluster.knownPids().every((pid) => !isAlive(pid)) ? true : null), { timeoutMs: 15_000 });
}

describe('mycluster upgrade', () => {
  test('three upgrades under keep-alive load: 0 failed requests, pidfiles name the new master and workers, the first process keeps forwarding signals', async () => {
    const { dir, port, cluster, pidfile } = await startCluster();
    const load = startLoad({ url: `http://127.0.0.1:${port}`, path: '/api/slow?ms=5', concurrency: 20 });
    const masters = [cluster.pid];
    try {
      for (let round = 1; round <= 3; round += 1) {
        const result = await upgrade(dir);
        assert.equal(result.code, 0, result.stdout + result.stderr);
        assert.match(result.stdout, new RegExp(`^upgraded in \\d+ ms: master pid ${masters.at(-1)} \\(\\S+\\) → (\\d+)`));
        masters.push(readPid(pidfile));
      }
    } finally {
      await assertNoFailures(load, 100);
    }
    assert.equal(new Set(masters).size, 4, `four masters in turn: ${masters}`);
    const status = JSON.parse((await runMycluster(['status', '--json'], { cwd: dir })).stdout);
    assert.equal(status.master.pid, masters.at(-1));
    assert.equal(status.master.upgrades, 3);
    assert.deepEqual(status.master.upgradedFrom, { pid: masters[2], drained: true });
    // A newer mycluster installed in the project than the one running: status says so.
    fs.mkdirSync(path.join(dir, 'node_modules', 'mycluster'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'node_modules', 'mycluster', 'package.json'), '{"version":"99.0.0"}');
    const text = await runMycluster(['status'], { cwd: dir });
    assert.match(text.stdout, /^master pid \d+ \(mycluster \S+, 3 upgrades\)/);
    assert.match(text.stderr, /warning: mycluster 99\.0\.0 is installed, the master runs \S+: run mycluster upgrade/);
    const workers = slotPids(dir, 2);
    for (const pid of workers) assert.equal(Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]), masters.at(-1));

    // The process the test started (a platform's process) is a keeper now: its TERM stops the cluster, exit 0.
    process.kill(cluster.pid, 'SIGTERM');
    assert.equal((await cluster.waitForExit(30_000)).code, 0);
    await assertNothingLeft(cluster);
    assert.deepEqual(
      fs.readdirSync(path.join(dir, 'pids')).filter((name) => !name.startsWith('.')),
      [],
    );
  });

  test('a port changed in the config: the new master listens on the new one; the old port is refused once the old master drained', async () => {
    const { dir, port, cluster } = await startCluster();
    const newPort = await freePort();
    fs.writeFileSync(path.join(dir, 'config', 'zz-port.js'), `exports.default = { servers: { web: { port: ${newPort} } } };\n`);
    const result = await upgrade(dir);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    assert.equal((await fetch(`http://127.0.0.1:${newPort}/api/version`, { signal: AbortSignal.timeout(5_000) })).status, 200);
    const old = await fetch(`http://127.0.0.1:${port}/api/version`, { signal: AbortSignal.timeout(5_000) }).catch((error) => error);
    assert.equal(old.cause?.code, 'ECONNREFUSED', String(old.cause ?? old));
    process.kill(cluster.pid, 'SIGTERM');
    assert.equal((await cluster.waitForExit(30_000)).code, 0);
  });

  test('with --daemon the old master exits once its workers are gone; cluster_pidfile names the new one', async () => {
    const dir = copyFixture('http-app');
    const pidfile = path.join(dir, 'pids', 'cluster_pidfile');
    const env = { PORT: String(await freePort()) };
    let masters = [];
    try {
      const started = await runMycluster(['start', '--workers=2', '--daemon'], { cwd: dir, env });
      assert.equal(started.code, 0, started.stderr);
      masters = [readPid(pidfile)];
      const result = await upgrade(dir);
      assert.equal(result.code, 0, result.stdout + result.stderr);
      masters.push(readPid(pidfile));
      assert.notEqual(masters[1], masters[0]);
      // isRunning: a process reparented to an init that does not reap stays a zombie, gone all the same.
      await waitFor('the old master gone', () => (isRunning(masters[0]) ? null : true), { timeoutMs: 10_000 });
      assert.equal((await runMycluster(['stop'], { cwd: dir })).code, 0);
      assert.equal(isRunning(masters[1]), false);
    } finally {
      for (const pid of masters) if (pid && isRunning(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  test('a new master that cannot serve changes nothing: broken config, broken install, workers that do not boot, the new master SIGKILLed', async () => {
    const { dir, port, cluster, pidfile } = await startCluster();
    const workers = slotPids(dir, 2);
    const load = startLoad({ url: `http://127.0.0.1:${port}`, path: '/api/slow?ms=5', concurrency: 10 });
    const refused = async (reason) => {
      const result = await upgrade(dir);
      assert.equal(result.code, 1, result.stdout + result.stderr);
      assert.match(result.stderr, reason);
      assert.equal(result.stderr.trim().split('\n').at(-1).startsWith('mycluster: upgrade failed: '), true, result.stderr);
      assert.equal(readPid(pidfile), cluster.pid, 'cluster_pidfile still names the old master');
      assert.deepEqual(slotPids(dir, 2), workers, 'the worker pidfiles name the old workers again');
      for (const pid of workers) assert.ok(isAlive(pid));
    };
    try {
      const broken = path.join(dir, 'config', 'zz-broken.js');
      fs.writeFileSync(broken, 'exports.default = {\n');
      await refused(/could not start: .*zz-broken\.js/);
      fs.rmSync(broken);

      const install = path.join(dir, 'node_modules', 'mycluster', 'bin');
      fs.mkdirSync(install, { recursive: true });
      fs.writeFileSync(path.join(install, 'mycluster'), '#!/usr/bin/env node\nthrow new Error("a broken install");\n', { mode: 0o755 });
      await refused(/exited \(code 1\) before it was ready/);
      fs.rmSync(path.join(dir, 'node_modules'), { recursive: true });

      const handler = path.join(dir, 'config', 'zz-handler.js');
      fs.writeFileSync(handler, "exports.default = { servers: { web: { handler: 'missing.js' } } };\n");
      await refused(/exited \(code 1\) before it was ready/);
      fs.rmSync(handler);

      fs.writeFileSync(path.join(dir, 'SLOW_BOOT'), '3000');
      const from = cluster.lines.length;
      const pending = upgrade(dir);
      process.kill(await newMasterPid(cluster, from), 'SIGKILL');
      const killed = await pending;
      assert.equal(killed.code, 1, killed.stdout + killed.stderr);
      assert.match(killed.stderr, /exited \(SIGKILL\) before it was ready/);
      assert.equal(readPid(pidfile), cluster.pid);
      fs.rmSync(path.join(dir, 'SLOW_BOOT'));

      // The old master still upgrades once the new install is whole.
      assert.equal((await upgrade(dir)).code, 0);
    } finally {
      await assertNoFailures(load, 50);
    }
  });

  test('the old master SIGKILLed mid-upgrade: the new master takes over alone; one master, its workers, pidfiles that match', async () => {
    const { dir, cluster, pidfile } = await startCluster();
    fs.writeFileSync(path.join(dir, 'SLOW_BOOT'), '1500');
    const from = cluster.lines.length;
    const pending = upgrade(dir);
    const successor = await newMasterPid(cluster, from);
    process.kill(cluster.pid, 'SIGKILL');
    const result = await pending;
    assert.equal(result.code, 1, result.stdout + result.stderr);
    assert.match(result.stderr, /(exited|died) during the upgrade/);
    await waitFor('the new master in cluster_pidfile', () => (readPid(pidfile) === successor ? true : null), { timeoutMs: 15_000 });
    const status = JSON.parse((await runMycluster(['status', '--json', '--timeout', '10'], { cwd: dir })).stdout);
    assert.equal(status.master.pid, successor);
    assert.equal(status.equilibrium, true);
    assert.deepEqual(
      status.slots.map((slot) => slot.worker.pid),
      slotPids(dir, 2),
    );
    assert.equal((await runMycluster(['stop'], { cwd: dir })).code, 0);
    await assertNothingLeft(cluster);
  });

  test('TERM during an upgrade stops both masters and every worker; a second upgrade waits for the first; a reload is refused', async () => {
    const { dir, cluster } = await startCluster();
    fs.writeFileSync(path.join(dir, 'SLOW_BOOT'), '1500');
    let from = cluster.lines.length;
    const first = upgrade(dir);
    await cluster.waitForLine(upgrading, { from, what: 'the upgrade under way' });
    const [second, reload] = await Promise.all([upgrade(dir), runMycluster(['reload'], { cwd: dir })]);
    assert.equal(reload.code, 1);
    assert.match(reload.stderr, /reload aborted: an upgrade of the master is in progress/);
    assert.equal(second.code, 0, second.stderr);
    assert.equal((await first).code, 0);
    const masters = (result) => result.stdout.match(/master pid \d+ .*→ \d+/)?.[0];
    assert.equal(masters(second), masters(await first), 'both report the same upgrade');

    from = cluster.lines.length;
    const third = upgrade(dir);
    await cluster.waitForLine(upgrading, { from, what: 'the next upgrade under way' });
    process.kill(cluster.pid, 'SIGTERM');
    assert.equal((await cluster.waitForExit(30_000)).code, 0);
    assert.equal((await third).code, 1);
    await assertNothingLeft(cluster);
    assert.deepEqual(
      fs.readdirSync(path.join(dir, 'pids')).filter((name) => !name.startsWith('.')),
      [],
    );
  });
});
