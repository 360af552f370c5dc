import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { drainServer, trackConnections } from '../../dist/runtime/web/index.js';
import { startLoad } from '../helpers/load.mjs';
import { sleep, waitFor, within } from '../helpers/wait.mjs';
import { request, startTestServer, testConfig } from '../helpers/web-server.mjs';

/** An action that stays in flight until `open()` is called. */
function gatedAction() {
  let open;
  const opened = new Promise((resolve) => (open = resolve));
  let started;
  const running = new Promise((resolve) => (started = resolve));
  const action = {
    name: 'gated',
    async run() {
      started();
      await opened;
      return { ok: true };
    },
  };
  return { action, open, running };
}

const slowAction = { name: 'slow', run: () => sleep(5).then(() => ({ ok: true })) };

/** A raw keep-alive connection: send a request, read one whole response. */
async function keepAliveConnection(address) {
  const { hostname, port } = new URL(address);
  const socket = net.connect({ host: hostname, port: Number(port) });
  await within(5_000, 'connect', once(socket, 'connect'));
  const closed = once(socket, 'close');
  let buffered = '';
  socket.on('data', (chunk) => (buffered += chunk));
  return {
    socket,
    closed,
    async get(path) {
      buffered = '';
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await waitFor(`a response to ${path}`, () => completeResponse(buffered), { timeoutMs: 5_000, intervalMs: 10 });
      return buffered;
    },
  };
}

function completeResponse(text) {
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) return false;
  const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? 0);
  return text.length >= end + 4 + length;
}

/** Drain `web` (serving slowAction) under 20 keep-alive loops to `target` once 200 requests were answered; no request may fail. */
async function assertDrainFailsNoRequest(web, target) {
  const load = startLoad({ ...target, path: '/api/slow', concurrency: 20, stopOnConnectionClose: true });
  let result;
  try {
    await waitFor('200 answered requests before the drain', () => load.snapshot().ok >= 200, { timeoutMs: 10_000, intervalMs: 10 });
    await within(10_000, 'the drain', web.drain());
  } finally {
    result = await load.stop();
  }
  assert.deepEqual(result.errors, []);
  assert.equal(result.failed, 0);
  assert.equal(result.ok, result.sent);
  assert.ok(result.ok >= 200);
}

test('a drain under concurrent keep-alive load fails no request', async () => {
  const web = await startTestServer({ config: testConfig({ drainIdleGrace: 500 }), actions: new Map([['slow', slowAction]]) });
  await assertDrainFailsNoRequest(web, { url: web.address });
});

test('a request in flight when the drain begins is answered, with Connection: close', async () => {
  const gated = gatedAction();
  const web = await startTestServer({ actions: new Map([['gated', gated.action]]) });
  const pending = request(web.address, { path: '/api/gated', headers: { connection: 'keep-alive' } });
  await within(5_000, 'the gated action starting', gated.running);
  const drained = web.drain();
  gated.open();
  const response = await pending;
  assert.equal(response.status, 200);
  assert.equal(response.headers.connection, 'close');
  await within(5_000, 'the drain', drained);
});

test('once draining, new connections are refused', async () => {
  const gated = gatedAction();
  const web = await startTestServer({ actions: new Map([['gated', gated.action]]) });
  const pending = request(web.address, { path: '/api/gated' });
  await within(5_000, 'the gated action starting', gated.running);
  const drained = web.drain();
  try {
    await assert.rejects(request(web.address, { path: '/api/gated' }), { code: 'ECONNREFUSED' });
  } finally {
    gated.open();
    await pending;
    await within(5_000, 'the drain', drained);
  }
});

test('a request sent on an idle keep-alive connection during the grace is answered, then the connection closes', async () => {
  const web = await startTestServer({ config: testConfig({ drainIdleGrace: 2_000 }), actions: new Map([['slow', slowAction]]) });
  const connection = await keepAliveConnection(web.address);
  try {
    assert.match(await connection.get('/api/slow'), /^HTTP\/1\.1 200 [\s\S]*Connection: keep-alive/i);
    const drained = web.drain();
    const answer = await connection.get('/api/slow');
    assert.match(answer, /^HTTP\/1\.1 200 [\s\S]*Connection: close/i);
    await within(5_000, 'the connection closing', connection.closed);
    await within(5_000, 'the drain', drained);
  } finally {
    connection.socket.destroy();
  }
});

test('an idle keep-alive connection is closed once the grace has passed, and the drain resolves', async () => {
  const web = await startTestServer({ config: testConfig({ drainIdleGrace: 100, keepAliveTimeout: 60_000 }) });
  const connection = await keepAliveConnection(web.address);
  try {
    await connection.get('/api/status');
    const drained = web.drain();
    await within(5_000, 'the idle connection closing', connection.closed);
    await within(5_000, 'the drain', drained);
  } finally {
    connection.socket.destroy();
  }
});

test("drainServer drains an app's own http.Server the same way", async () => {
  const server = http.createServer((_req, res) => setTimeout(() => res.end('ok'), 5));
  trackConnections(server);
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `http://127.0.0.1:${server.address().port}`;
  const load = startLoad({ url: address, path: '/', concurrency: 10, stopOnConnectionClose: true });
  const idle = await keepAliveConnection(address);
  let result;
  try {
    await idle.get('/');
    await waitFor('100 answered requests before the drain', () => load.snapshot().ok >= 100, { timeoutMs: 10_000, intervalMs: 10 });
    await within(10_000, 'the drain', drainServer(server, { idleGrace: 100 }));
    await within(5_000, 'the idle connection closing', idle.closed);
  } finally {
    result = await load.stop();
    idle.socket.destroy();
    server.closeAllConnections();
  }
  assert.deepEqual(result.errors, []);
  assert.equal(result.ok, result.sent);
});

test('drain resolves with no connections, and a second drain is the same drain', async () => {
  const web = await startTestServer();
  const first = web.drain();
  const second = web.drain();
  assert.equal(second, first, 'the second drain() returned another promise');
  assert.equal(drainServer(web.server, { idleGrace: 0 }), first, 'drainServer on the same server returned another promise');
  await within(5_000, 'the drain', first);
  assert.equal(web.server.listening, false);
});

test('a drain of a unix socket server under keep-alive load fails no request', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mycluster-drain-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const socketPath = path.join(dir, 'web.sock');
  const web = await startTestServer({ config: testConfig({ port: socketPath, drainIdleGrace: 500 }), actions: new Map([['slow', slowAction]]) });
  await assertDrainFailsNoRequest(web, { socketPath });
});

test('with a ramp, connections are told to close one after another, and still no request fails', async () => {
  const server = http.createServer((_req, res) => setTimeout(() => res.end('ok'), 5));
  trackConnections(server);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = `http://127.0.0.1:${server.address().port}`;
  const connections = await Promise.all(Array.from({ length: 4 }, () => keepAliveConnection(address)));
  try {
    for (const connection of connections) await connection.get('/');
    // A ramp far longer than the test: the last connection is reached long after the first.
    const drained = drainServer(server, { idleGrace: 60_000, ramp: 60_000 });
    const [first, ...others] = await Promise.all(connections.map((connection) => connection.get('/')));
    assert.match(first, /connection: close/i);
    for (const response of others) assert.doesNotMatch(response, /connection: close/i);
    for (const connection of connections) connection.socket.destroy();
    await within(5_000, 'the drain once the clients closed', drained);
  } finally {
    for (const connection of connections) connection.socket.destroy();
    server.closeAllConnections();
  }
});
