// Bring your own server: Express and Fastify apps through servers.web.handler, an app whose initializer
// starts its own http server, initializer order, and an initializer that throws — all under the real CLI.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  copyFixture,
  isAlive,
  readPid,
  reloadAborted,
  reloadDone,
  repoRoot,
  rollingReloads,
  runMycluster,
  slotPids,
  startMycluster,
} from '../helpers/cluster.mjs';
import { assertNoFailures, startLoad } from '../helpers/load.mjs';
import { freePort } from '../helpers/net.mjs';
import { sleep, waitFor } from '../helpers/wait.mjs';

const started = [];
const dirs = [];
after(async () => {
  for (const cluster of started) await cluster.kill();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Copy a fixture to a temp dir and give it a node_modules/ as an installed app has: express and fastify
 * (symlinks into the repo's node_modules; their own dependencies resolve from there, through the real
 * path) and mycluster itself (a symlink to the repo, so `require('mycluster')` loads dist/index.js).
 */
function prepare(name) {
  const dir = copyFixture(name);
  dirs.push(dir);
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(modules);
  for (const dependency of ['express', 'fastify']) {
    fs.symlinkSync(path.join(repoRoot, 'node_modules', dependency), path.join(modules, dependency), 'dir');
  }
  fs.symlinkSync(repoRoot, path.join(modules, 'mycluster'), 'dir');
  return dir;
}

function start(dir, args, env) {
  const cluster = startMycluster(args, { cwd: dir, env });
  started.push(cluster);
  return cluster;
}

async function getJson(url, init) {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.json() };
}

/** A two-worker cluster of a prepared fixture app on a free PORT, once it reached equilibrium. */
async function startApp(name) {
  const dir = prepare(name);
  const port = await freePort();
  const cluster = start(dir, ['start', '--workers=2'], { PORT: String(port) });
  await cluster.waitForEquilibrium();
  return { dir, port, cluster };
}

const threeReloads = ['SIGUSR2', 'SIGUSR2', 'SIGUSR2'];

for (const { fixture, framework } of [
  { fixture: 'express-app', framework: 'express' },
  { fixture: 'fastify-app', framework: 'fastify' },
]) {
  describe(`${framework} app through servers.web.handler`, () => {
    test('serves its own routes (params, JSON body, errors, 404) from both workers', async () => {
      const dir = prepare(fixture);
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const cluster = start(dir, ['start', '--workers=2'], { PORT: String(port) });
      await cluster.waitForEquilibrium();

      assert.deepEqual(await getJson(`${base}/hello?name=Ada`), { status: 200, body: { message: 'hello Ada', framework } });
      assert.deepEqual(await getJson(`${base}/users/42`), { status: 200, body: { id: '42' } });
      const echoed = await getJson(`${base}/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 1 }) });
      assert.deepEqual(echoed, { status: 201, body: { received: { a: 1 } } });
      assert.equal((await fetch(`${base}/nowhere`, { signal: AbortSignal.timeout(10_000) })).status, 404);
      if (framework === 'express') assert.deepEqual(await getJson(`${base}/fail`), { status: 500, body: { error: 'boom' } });
      if (framework === 'fastify') assert.deepEqual(await getJson(`${base}/plugin/ping`), { status: 200, body: { pong: true } });
      // mycluster's own actions are not mounted: the app gets every path.
      assert.equal((await fetch(`${base}/api/status`, { signal: AbortSignal.timeout(10_000) })).status, 404);

      const workers = slotPids(dir, 2);
      const seen = new Set();
      await waitFor(
        'answers from both workers',
        async () => {
          // A new connection each time, so the master's round robin spreads them over both workers.
          seen.add((await getJson(`${base}/slow?ms=0`, { headers: { connection: 'close' } })).body.pid);
          return workers.every((pid) => seen.has(pid));
        },
        { timeoutMs: 15_000, intervalMs: 10 },
      );
      await cluster.kill();
    });

    test('zero failed requests under keep-alive load across 3 rolling reloads', async () => {
      const { dir, port, cluster } = await startApp(fixture);
      const load = startLoad({ url: `http://127.0.0.1:${port}`, path: '/slow?ms=5', concurrency: 20 });
      try {
        await rollingReloads(cluster, dir, threeReloads);
      } finally {
        await assertNoFailures(load, 100);
      }
      await cluster.kill();
    });

    test('a worker killed with SIGKILL is replaced in its slot and the app keeps serving', async () => {
      const { dir, port, cluster } = await startApp(fixture);
      const [victim, other] = slotPids(dir, 2);
      const from = cluster.lines.length;
      process.kill(victim, 'SIGKILL');
      await cluster.waitForEquilibrium({ from, what: 'equilibrium after the SIGKILL' });
      const replacement = await waitFor('a new worker #1', () => {
        const pid = readPid(path.join(dir, 'pids', 'mycluster-worker-1'));
        return pid && pid !== victim && isAlive(pid) ? pid : null;
      });
      assert.equal(isAlive(victim), false);
      assert.equal(slotPids(dir, 2)[1], other, 'the other slot was left alone');
      assert.ok(
        cluster.lines.slice(from).some((line) => line.workerPid === victim || new RegExp(`pid ${victim}`).test(line.msg ?? '')),
        'the crash was logged',
      );
      assert.notEqual(replacement, victim);
      const load = startLoad({ url: `http://127.0.0.1:${port}`, path: '/slow?ms=5', concurrency: 5 });
      await sleep(500);
      await assertNoFailures(load, 10);
      await cluster.kill();
    });
  });
}

describe('servers.web.handler with a close hook', () => {
  test('close runs in each old worker after its drain on a reload, and in every worker on stop', async () => {
    const dir = prepare('express-app');
    const port = await freePort();
    const overrides = JSON.stringify({ servers: { web: { handler: 'app-with-close.js' } } });
    const cluster = start(dir, ['start', '--workers=2'], { PORT: String(port), ACTIONHERO_CONFIG_OVERRIDES: overrides });
    await cluster.waitForEquilibrium();
    const before = slotPids(dir, 2);
    await rollingReloads(cluster, dir, ['SIGUSR2']);
    const after = slotPids(dir, 2);
    process.kill(cluster.pid, 'SIGTERM');
    assert.equal((await cluster.waitForExit()).code, 0);

    for (const pid of [...before, ...after]) {
      const steps = cluster.lines.filter((line) => line.pid === pid).map((line) => line.msg);
      const order = ['stopping', 'express app closed', 'stopped'].map((step) => steps.findIndex((msg) => msg?.startsWith(step)));
      assert.ok(order[0] >= 0 && order[0] < order[1] && order[1] < order[2], `worker ${pid}: ${steps.join(' | ')}`);
    }
  });
});

describe('initializers', () => {
  test('an initializer running its own http server reloads with zero failed requests; initializers start in name order and stop in reverse', async () => {
    const dir = prepare('own-server-app');
    const port = await freePort();
    const cluster = start(dir, ['start', '--workers=2'], { OWN_SERVER_PORT: String(port) });
    await cluster.waitForEquilibrium();
    const load = startLoad({ url: `http://127.0.0.1:${port}`, path: '/slow?ms=5', concurrency: 20 });
    try {
      await rollingReloads(cluster, dir, threeReloads);
    } finally {
      await assertNoFailures(load, 100);
    }
    process.kill(cluster.pid, 'SIGTERM');
    assert.equal((await cluster.waitForExit()).code, 0);

    const byPid = new Map();
    for (const line of fs.readFileSync(path.join(dir, 'lifecycle.log'), 'utf8').trim().split('\n')) {
      const [pid, step, name] = line.split(' ');
      if (!byPid.has(pid)) byPid.set(pid, []);
      byPid.get(pid).push(`${step} ${name}`);
    }
    // 2 workers at first, 2 more per reload; every one stopped gracefully (by a reload or the final TERM).
    assert.equal(byPid.size, 8, [...byPid.keys()].join(' '));
    const names = ['a-database', 'b-cache', 'c-metrics', 'd-typed', 'own-server'];
    const expected = [...names.map((name) => `start ${name}`), ...[...names].reverse().map((name) => `stop ${name}`)];
    for (const [pid, steps] of byPid) assert.deepEqual(steps, expected, `worker ${pid}`);
  });

  test('an initializer that throws at start fails the boot with exit 1, with the initializer named, though its timer is open', async () => {
    const dir = prepare('broken-initializer-app');
    fs.writeFileSync(path.join(dir, 'BREAK'), '');

    const single = await runMycluster(['start'], { cwd: dir, env: { PORT: String(await freePort()) } });
    assert.equal(single.code, 1, single.stdout + single.stderr);
    assert.match(single.stdout + single.stderr, /initializer payments failed to start: cannot reach the payment gateway/);
    assert.deepEqual(
      fs.readdirSync(path.join(dir, 'pids')).filter((name) => name.startsWith('mycluster-')),
      [],
    );

    const cluster = start(dir, ['start', '--workers=2'], { PORT: String(await freePort()) });
    const { code } = await cluster.waitForExit();
    assert.equal(code, 1);
    const failed = cluster.lines.find((line) => /failed to boot/.test(line.msg ?? ''));
    assert.ok(failed, cluster.lines.map((line) => line.msg).join('\n'));
    assert.match(failed.msg, /initializer payments failed to start: cannot reach the payment gateway/);
  });

  test('a reload whose initializer throws aborts, naming it; the old workers keep serving; the fix then reloads', async () => {
    const { dir, port, cluster } = await startApp('broken-initializer-app');
    const before = slotPids(dir, 2);
    const load = startLoad({ url: `http://127.0.0.1:${port}`, path: '/slow?ms=5', concurrency: 10 });
    try {
      fs.writeFileSync(path.join(dir, 'BREAK'), '');
      let from = cluster.lines.length;
      process.kill(cluster.pid, 'SIGUSR2');
      const aborted = await cluster.waitForLine(reloadAborted, { from, what: 'reload aborted' });
      assert.match(aborted.msg, /initializer payments failed to start: cannot reach the payment gateway/);
      assert.deepEqual(slotPids(dir, 2), before);
      for (const pid of before) assert.ok(isAlive(pid));
      await sleep(300);

      fs.rmSync(path.join(dir, 'BREAK'));
      from = cluster.lines.length;
      process.kill(cluster.pid, 'SIGUSR2');
      await cluster.waitForLine(reloadDone, { from, what: 'reload after the fix' });
      const now = slotPids(dir, 2);
      for (let index = 0; index < 2; index += 1) assert.notEqual(now[index], before[index]);
      await sleep(300);
    } finally {
      await assertNoFailures(load, 50);
    }
    await cluster.kill();
  });
});
