// Rolling reloads: zero failed requests under keep-alive load, broken deploys keep the old workers,
// queued USR2, and symlinked releases.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { copyFixture, isAlive, reloadAborted, reloadDone, rollingReloads, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { assertNoFailures, startLoad } from '../helpers/load.mjs';
import { freePort } from '../helpers/net.mjs';
import { sleep, waitFor } from '../helpers/wait.mjs';

/** A GET over `agent` (one keep-alive connection): its status and JSON body. */
function getJson(port, urlPath, agent) {
  return new Promise((resolve, reject) => {
    const request = http.get({ host: '127.0.0.1', port, path: urlPath, agent, timeout: 20_000 }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, body: JSON.parse(body) }));
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${urlPath} timed out`)));
    request.on('error', reject);
  });
}

/** One keep-alive connection (an agent of one socket) per worker pid, found by asking each new one who answers. */
async function connectionsToEachWorker(port, pids) {
  const found = new Map();
  const spare = [];
  for (let attempt = 0; attempt < 200 && found.size < pids.length; attempt += 1) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const { body } = await getJson(port, '/api/version', agent);
    if (pids.includes(body.pid) && !found.has(body.pid)) found.set(body.pid, agent);
    else spare.push(agent);
  }
  for (const agent of spare) agent.destroy();
  assert.equal(found.size, pids.length, `connections reached workers ${[...found.keys()]} of ${pids}`);
  return [...found.values()];
}

const started = [];
after(async () => {
  for (const cluster of started) await cluster.kill();
});

function start(dir, args, env) {
  const cluster = startMycluster(args, { cwd: dir, env });
  started.push(cluster);
  return cluster;
}

/** A cluster of the http-app fixture with `workers` workers, once it reached equilibrium. */
async function startHttpCluster(workers, env = {}) {
  const dir = copyFixture('http-app');
  const port = await freePort();
  const cluster = start(dir, ['start', `--workers=${workers}`], { PORT: String(port), ...env });
  await cluster.waitForEquilibrium();
  return { dir, port, cluster };
}

/** USR2, and the master's log messages until the reload is done. */
async function reloadMessages(cluster, options = {}) {
  const from = cluster.lines.length;
  process.kill(cluster.pid, 'SIGUSR2');
  await cluster.waitForLine(reloadDone, { from, ...options });
  return cluster.lines.slice(from).map((line) => line.msg ?? '');
}

describe('rolling reload', () => {
  test('zero failed requests under concurrent keep-alive load across 3 USR2 reloads and a HUP', async () => {
    const { dir, port, cluster } = await startHttpCluster(2);
    const load = startLoad({ url: `http://127.0.0.1:${port}`, path: '/api/slow?ms=5', concurrency: 20 });
    try {
      await rollingReloads(cluster, dir, ['SIGUSR2', 'SIGUSR2', 'SIGUSR2', 'SIGHUP']);
    } finally {
      await assertNoFailures(load, 100);
    }
    await cluster.kill();
  });

  test('the replacement is ready before the old worker is asked to stop', async () => {
    const { dir, cluster } = await startHttpCluster(1);
    const [old] = slotPids(dir, 1);
    const events = await reloadMessages(cluster);
    const ready = events.findIndex((msg) => /worker #1 \(pid \d+\) ready/.test(msg));
    const stopping = events.findIndex((msg) => /stopping: replaced by pid/.test(msg));
    assert.ok(ready >= 0 && stopping > ready, events.join('\n'));
    assert.equal(isAlive(old), false);
    await cluster.kill();
  });

  test("the next slot's replacement starts once the previous slot's old worker has drained and exited", async () => {
    const { dir, cluster } = await startHttpCluster(2);
    const [old1] = slotPids(dir, 2);
    const from = cluster.lines.length;
    const events = await reloadMessages(cluster);
    const lines = cluster.lines.slice(from);
    const old1Asked = lines.find((line) => (line.pid === old1 || line.workerPid === old1) && /stopping: replaced by pid/.test(line.msg ?? ''));
    const old1Stopped = events.findIndex((msg) => msg.startsWith(`worker #1 (pid ${old1}) stopped`));
    const slot2Starting = events.findIndex((msg) => /^starting worker #2 /.test(msg));
    assert.ok(old1Asked && old1Stopped >= 0 && slot2Starting >= 0, events.join('\n'));
    // Unless its exit took longer than the 2 s bound (a loaded machine), slot 2 started after it.
    const exitMs = lines[old1Stopped].time - old1Asked.time;
    assert.ok(Number.isFinite(exitMs), 'log lines carry their time');
    if (exitMs < 2_000) assert.ok(slot2Starting > old1Stopped, events.join('\n'));
    await cluster.kill();
  });

  test("an old worker still draining a slow request does not hold up the next slot's replacement until it exits", async () => {
    // stopTimeout raised from the fixtures' 5 s, so the slow requests below can outlast the 2 s bound by far.
    const { dir, port, cluster } = await startHttpCluster(2, { ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ cluster: { stopTimeout: 20_000 } }) });
    const [old1] = slotPids(dir, 2);
    // A slow request in flight on each old worker: the kernel, not the master, picks which worker accepts a
    // connection, so open keep-alive connections until one has reached each worker, then send the slow request
    // on it. 8 s: old worker #1 drains for 8 s less the time slot 1's replacement takes to be ready (a fork
    // booting on a loaded machine, when the spare is not standing by yet), well past the 2 s bound.
    const onEachWorker = await connectionsToEachWorker(port, slotPids(dir, 2));
    const slow = onEachWorker.map((agent) => getJson(port, '/api/slow?ms=8000', agent).then(({ status }) => status));
    await sleep(300);
    const events = await reloadMessages(cluster, { timeoutMs: 20_000 });
    const old1Stopped = events.findIndex((msg) => msg.startsWith(`worker #1 (pid ${old1}) stopped`));
    const slot2Starting = events.findIndex((msg) => /^starting worker #2 /.test(msg));
    assert.ok(slot2Starting >= 0 && old1Stopped > slot2Starting, events.join('\n'));
    assert.deepEqual(await Promise.all(slow), [200, 200]);
    for (const agent of onEachWorker) agent.destroy();
    await cluster.kill();
  });

  test('a replacement that fails to boot aborts the reload; the old workers keep serving; the fix then reloads', async () => {
    const { dir, port, cluster } = await startHttpCluster(2);
    const before = slotPids(dir, 2);
    const load = startLoad({ url: `http://127.0.0.1:${port}`, path: '/api/slow', concurrency: 10 });
    try {
      fs.writeFileSync(path.join(dir, 'actions', 'broken.js'), 'module.exports = { name: "broken", run() { ;\n');
      let from = cluster.lines.length;
      process.kill(cluster.pid, 'SIGUSR2');
      const aborted = await cluster.waitForLine(reloadAborted, { from, what: 'reload aborted' });
      assert.match(aborted.msg, /failed to boot/);
      assert.deepEqual(slotPids(dir, 2), before);
      for (const pid of before) assert.ok(isAlive(pid));

      fs.rmSync(path.join(dir, 'actions', 'broken.js'));
      from = cluster.lines.length;
      process.kill(cluster.pid, 'SIGUSR2');
      await cluster.waitForLine(reloadDone, { from });
    } finally {
      await assertNoFailures(load, 0);
    }
    await cluster.kill();
  });

  test('a crashed worker whose code on disk no longer boots waits at the backoff cap; the fix plus USR2 refills its slot', async () => {
    const dir = copyFixture('http-app');
    const overrides = { cluster: { spareWorker: false, restartBackoff: { min: 100, max: 60_000, resetAfter: 3000 } } };
    const cluster = start(dir, ['start', '--workers=2'], { PORT: String(await freePort()), ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify(overrides) });
    await cluster.waitForEquilibrium();
    fs.writeFileSync(path.join(dir, 'actions', 'broken.js'), 'module.exports = { name: "broken", run() { ;\n');
    let from = cluster.lines.length;
    process.kill(slotPids(dir, 2)[0], 'SIGKILL');
    const failed = await cluster.waitForLine((line) => /failed to boot: .*retrying in 60000 ms/.test(line.msg ?? ''), { from });
    assert.equal(failed.slot, 1);
    fs.rmSync(path.join(dir, 'actions', 'broken.js'));
    from = cluster.lines.length;
    process.kill(cluster.pid, 'SIGUSR2');
    await cluster.waitForLine(reloadDone, { from });
    await cluster.waitForEquilibrium({ from });
    assert.ok(isAlive(slotPids(dir, 2)[0]));
    await cluster.kill();
  });

  test('a USR2 during a reload queues exactly one more', async () => {
    const { cluster } = await startHttpCluster(2);
    const from = cluster.lines.length;
    process.kill(cluster.pid, 'SIGUSR2');
    await cluster.waitForLine((line) => /rolling reload #1 \(/.test(line.msg ?? ''), { from });
    // Signals of one kind sent at once merge in the kernel; space them out, all within reload #1.
    for (let index = 0; index < 3; index += 1) {
      process.kill(cluster.pid, 'SIGUSR2');
      await sleep(20);
    }
    await cluster.waitForLine((line) => /rolling reload #2 done/.test(line.msg ?? ''), { from });
    await sleep(1500);
    const reloads = cluster.lines.slice(from).filter((line) => /rolling reload #\d+ \(/.test(line.msg ?? ''));
    assert.equal(reloads.length, 2);
    await cluster.kill();
  });

  test('with PROJECT_ROOT a symlink, moving the link and sending USR2 runs the new release', async () => {
    const releases = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-releases-'));
    const v1 = copyFixture('http-app');
    const v2 = copyFixture('http-app');
    fs.writeFileSync(path.join(v2, 'actions', 'version.js'), "module.exports = { name: 'version', run: () => ({ version: 'v2', pid: process.pid }) };\n");
    const current = path.join(releases, 'current');
    fs.symlinkSync(v1, current);
    // Both releases share one pid folder, as deploy tools share it across releases.
    const shared = path.join(releases, 'pids');
    fs.mkdirSync(shared);
    const port = await freePort();
    const env = { PORT: String(port), PROJECT_ROOT: current, ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ general: { paths: { pid: shared } } }) };
    const cluster = start(releases, ['start', '--workers=2'], env);
    await cluster.waitForEquilibrium();
    const version = async () => (await (await fetch(`http://127.0.0.1:${port}/api/version`)).json()).version;
    assert.equal(await version(), 'v1');

    const next = path.join(releases, 'next');
    fs.symlinkSync(v2, next);
    fs.renameSync(next, current);
    const from = cluster.lines.length;
    process.kill(cluster.pid, 'SIGUSR2');
    await cluster.waitForLine(reloadDone, { from });
    const seen = new Set();
    for (let index = 0; index < 10; index += 1) seen.add(await version());
    assert.deepEqual([...seen], ['v2']);
    await cluster.kill();
  });
});

describe('zero downtime with a unix socket', () => {
  test('serves on a unix socket, removes a stale socket file first, and reloads with zero failed requests', async () => {
    const dir = copyFixture('http-app');
    const socketPath = path.join(dir, 'web.sock');
    // A stale socket file: a server killed with SIGKILL never removed it.
    const previous = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => console.log('up'))`]);
    try {
      await new Promise((resolve) => previous.stdout.once('data', resolve));
    } finally {
      previous.kill('SIGKILL');
    }
    await waitFor('the previous server to die', () => !isAlive(previous.pid));
    assert.ok(fs.existsSync(socketPath));

    const cluster = start(dir, ['start', '--workers=2'], { PORT: socketPath });
    await cluster.waitForEquilibrium();
    const load = startLoad({ socketPath, path: '/api/slow', concurrency: 10 });
    try {
      for (let round = 0; round < 2; round += 1) {
        const from = cluster.lines.length;
        await sleep(200);
        process.kill(cluster.pid, 'SIGUSR2');
        await cluster.waitForLine(reloadDone, { from });
      }
    } finally {
      await assertNoFailures(load, 50);
    }
    process.kill(cluster.pid, 'SIGTERM');
    assert.equal((await cluster.waitForExit()).code, 0);
    await waitFor('socket file removed', () => !fs.existsSync(socketPath), { timeoutMs: 3000 });
  });
});
