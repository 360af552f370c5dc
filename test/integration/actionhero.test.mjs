// An ActionHero 29 project (test/fixtures/actionhero-app, the real `actionhero` package) under
// `mycluster start --workers=2`, no other setup: reloads and an upgrade under keep-alive load lose nothing,
// ActionHero's websockets are closed politely and come back, a SIGKILLed worker is replaced and leaves no
// pidfile, and a stop leaves no process and no pidfile.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyActionheroFixture, openPrimusClients, terminatePrimusClients } from '../helpers/actionhero.mjs';
import { isRunning, reloadDone, rollingReloads, runMycluster, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { assertNoFailures, startLoad } from '../helpers/load.mjs';
import { freePort } from '../helpers/net.mjs';
import { startRedis } from '../helpers/redis.mjs';
import { waitFor, within } from '../helpers/wait.mjs';

/** ActionHero's id of a clustered process without ACTIONHERO_TITLE, as its pidfile name has it: `<ip>-<pid>`. */
function ahIdOf(pid) {
  const external = Object.values(os.networkInterfaces())
    .flat()
    .find((address) => address?.family === 'IPv4' && !address.internal);
  return `${external?.address ?? 'actionhero'}-${pid}`;
}

describe('an ActionHero 29 project in a 2-worker cluster', () => {
  let redis;
  let dir;
  let port;
  let cluster;
  const opened = [];

  before(async () => {
    redis = await startRedis();
    dir = copyActionheroFixture();
    port = await freePort();
    cluster = startMycluster(['start', '--workers=2'], { cwd: dir, env: { PORT: String(port), REDIS_URL: redis.url } });
    await cluster.waitForEquilibrium({ timeoutMs: 30_000 });
  });

  after(async () => {
    for (const clients of opened) terminatePrimusClients(clients);
    await cluster?.kill();
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('ActionHero serves its actions on the port mycluster binds, from both workers', async () => {
    const workers = slotPids(dir, 2);
    const seen = new Set();
    await waitFor('both workers to answer', async () => {
      const response = await fetch(`http://127.0.0.1:${port}/api/hello`, { headers: { connection: 'close' } });
      seen.add((await response.json()).pid);
      return workers.every((pid) => seen.has(pid));
    });
  });

  test('two rolling reloads under keep-alive load: 0 failed requests', async () => {
    const load = startLoad({ url: `http://127.0.0.1:${port}`, path: '/api/hello', concurrency: 20 });
    try {
      await rollingReloads(cluster, dir, ['SIGUSR2', 'SIGUSR2']);
    } finally {
      const result = await assertNoFailures(load, 100);
      assert.ok(result.ok > 0);
    }
  });

  test('a reload closes 10 websockets of ActionHero (primus) with 1012, and each client reconnects to a new worker', async () => {
    const oldPids = slotPids(dir, 2);
    const clients = await openPrimusClients(`http://127.0.0.1:${port}`, 10);
    opened.push(clients);
    const from = cluster.lines.length;
    process.kill(cluster.pid, 'SIGUSR2');
    await cluster.waitForLine(reloadDone, { from, timeoutMs: 30_000, what: 'the end of the reload' });
    const closes = await within(10_000, 'every websocket to close', Promise.all(clients.map((client) => client.closed)));
    assert.deepEqual(closes, Array(10).fill({ code: 1012, reason: 'server restarting' }));
    const again = await openPrimusClients(`http://127.0.0.1:${port}`, 10);
    opened.push(again);
    for (const client of again) assert.ok(!oldPids.includes(client.pid), `reconnected to old worker ${client.pid}`);
    terminatePrimusClients(again);
  });

  test('a SIGKILLed worker is replaced in its slot, and its ActionHero pidfile goes with it', async () => {
    const [victim, other] = slotPids(dir, 2);
    assert.ok(fs.existsSync(path.join(dir, 'pids', `actionhero-${ahIdOf(victim)}`)), 'ActionHero wrote its pidfile');
    const from = cluster.lines.length;
    process.kill(victim, 'SIGKILL');
    await cluster.waitForEquilibrium({ from, timeoutMs: 30_000 });
    const [replacement] = slotPids(dir, 2);
    assert.ok(replacement !== victim && isRunning(replacement));
    assert.equal(slotPids(dir, 2)[1], other);
    const left = fs.readdirSync(path.join(dir, 'pids')).filter((name) => name.endsWith(`-${victim}`));
    assert.deepEqual(left, []);
  });

  test('mycluster upgrade (a new master on the same socket) under keep-alive load: 0 failed requests', async () => {
    const load = startLoad({ url: `http://127.0.0.1:${port}`, path: '/api/hello', concurrency: 20 });
    try {
      const result = await runMycluster(['upgrade'], { cwd: dir, timeoutMs: 60_000 });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      assert.match(result.stdout, /^upgraded in \d+ ms/);
    } finally {
      await assertNoFailures(load, 100);
    }
  });

  test('a stop closes the websockets with 1001 and leaves no process and no pidfile (mycluster’s or ActionHero’s)', async () => {
    assert.ok(
      fs.readdirSync(path.join(dir, 'pids')).some((name) => name.startsWith('actionhero-')),
      'ActionHero wrote its pidfiles',
    );
    const clients = await openPrimusClients(`http://127.0.0.1:${port}`, 2);
    opened.push(clients);
    const result = await runMycluster(['stop'], { cwd: dir });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const closes = await within(10_000, 'the websockets to close', Promise.all(clients.map((client) => client.closed)));
    assert.deepEqual(closes, Array(2).fill({ code: 1001, reason: 'server going away' }));
    await waitFor('every process of the cluster gone', () => cluster.knownPids().every((pid) => !isRunning(pid)), { timeoutMs: 15_000 });
    assert.deepEqual(fs.readdirSync(path.join(dir, 'pids')), []);
  });
});
