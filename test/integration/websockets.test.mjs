// Websockets through reloads and stops, with real `ws` clients: an Express app with a `ws` WebSocketServer
// on the same http.Server (test/fixtures/websocket-app), drained with drainServer in its initializer.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyFixture, isAlive, reloadDone, repoRoot, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { freePort } from '../helpers/net.mjs';
import { within } from '../helpers/wait.mjs';
import { openWebsockets, terminateWebsockets } from '../helpers/websockets.mjs';

// Long, so that a websocket holding a worker until it is killed shows as a reload this long.
const STOP_TIMEOUT = 30_000;

describe('websockets of an Express + ws app in a 2-worker cluster', () => {
  let dir;
  let url;
  let cluster;
  const opened = [];

  before(async () => {
    dir = copyFixture('websocket-app');
    const modules = path.join(dir, 'node_modules');
    fs.mkdirSync(modules);
    for (const name of ['express', 'ws']) fs.symlinkSync(path.join(repoRoot, 'node_modules', name), path.join(modules, name), 'dir');
    fs.symlinkSync(repoRoot, path.join(modules, 'mycluster'), 'dir');
    const port = await freePort();
    url = `ws://127.0.0.1:${port}`;
    cluster = startMycluster(['start', '--workers=2'], {
      cwd: dir,
      env: { OWN_SERVER_PORT: String(port), ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ cluster: { stopTimeout: STOP_TIMEOUT } }) },
    });
    await cluster.waitForEquilibrium({ timeoutMs: 30_000 });
  });

  after(async () => {
    for (const clients of opened) terminateWebsockets(clients);
    await cluster?.kill();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function open(count, options) {
    const clients = await openWebsockets(url, count, options);
    opened.push(clients);
    return clients;
  }

  test('a reload closes every websocket, busy or idle, with 1012, far within stopTimeout, and each client reconnects to a new worker', async (t) => {
    const oldPids = slotPids(dir, 2);
    const clients = [...(await open(10, { intervalMs: 20 })), ...(await open(10))];
    assert.deepEqual(new Set(clients.map((client) => client.pid)), new Set(oldPids), 'the websockets are spread over both workers');
    const from = cluster.lines.length;
    process.kill(cluster.pid, 'SIGUSR2');
    const done = await cluster.waitForLine(reloadDone, { from, timeoutMs: STOP_TIMEOUT + 30_000, what: 'the end of the reload' });
    t.diagnostic(done.msg);
    const closes = await within(10_000, 'every websocket to close', Promise.all(clients.map((client) => client.closed)));
    assert.deepEqual(
      closes.map(({ code, reason }) => ({ code, reason })),
      Array(20).fill({ code: 1012, reason: 'server restarting' }),
    );
    assert.ok(done.durationMs < STOP_TIMEOUT / 3, `${done.msg}: the websockets held the old workers (stopTimeout ${STOP_TIMEOUT} ms)`);
    assert.ok(!oldPids.some(isAlive), 'the old workers are gone');

    const newPids = slotPids(dir, 2);
    const reconnected = await open(20);
    for (const client of reconnected) assert.ok(newPids.includes(client.pid), `reconnected to ${client.pid}, not a new worker (${newPids})`);
  });

  test('a stop closes every websocket with 1001 and the cluster exits 0', async () => {
    const clients = [...(await open(5, { intervalMs: 20 })), ...(await open(5))];
    process.kill(cluster.pid, 'SIGTERM');
    const closes = await within(10_000, 'every websocket to close', Promise.all(clients.map((client) => client.closed)));
    assert.deepEqual(
      closes.map(({ code, reason }) => ({ code, reason })),
      Array(10).fill({ code: 1001, reason: 'server going away' }),
    );
    assert.equal((await cluster.waitForExit(10_000)).code, 0);
  });
});
