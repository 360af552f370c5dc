// The drain and upgraded connections: websockets (the real `ws` package, and a bare handshake written by
// hand) get a close frame at their turn in the ramp and never hold a drain; long-lived responses learn
// the drain reached them through drainSignal.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { markRestarting } from '../../dist/runtime/restart-intent.js';
import { drainServer, drainSignal, trackConnections } from '../../dist/runtime/web/index.js';
import { sleep, waitFor, within } from '../helpers/wait.mjs';
import { request, startTestServer } from '../helpers/web-server.mjs';
import { openWebsockets, terminateWebsockets } from '../helpers/websockets.mjs';

/** A tracked http.Server answering plain requests with "plain", listening on 127.0.0.1. */
async function trackedServer(listener = (_req, res) => res.end('plain')) {
  const server = http.createServer(listener);
  trackConnections(server);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `ws://127.0.0.1:${server.address().port}` };
}

/** A `ws` server on `server` that greets each websocket with this pid and echoes its messages. */
function echoWebsockets(server) {
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket, request) => {
    // A connection the drain destroys while its client still writes may end in a reset on either side: expected.
    request.socket.on('error', () => undefined);
    socket.on('error', () => undefined);
    socket.send(JSON.stringify({ pid: process.pid }));
    socket.on('message', (data) => socket.send(data));
  });
  return wss;
}

/** What a websocket client gets for a request that is not upgraded: the status, or 'opened'. */
function upgradeAnswer(url) {
  return within(
    5_000,
    `an answer to the upgrade request to ${url}`,
    new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      socket.once('unexpected-response', (_request, response) => {
        resolve(response.statusCode);
        socket.terminate();
      });
      socket.once('open', () => {
        resolve('opened');
        socket.terminate();
      });
      socket.once('error', reject);
    }),
  );
}

const acceptKey = (key) => createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
const textFrame = (text) => Buffer.concat([Buffer.from([0x81, Buffer.byteLength(text)]), Buffer.from(text)]);

test('every websocket of a ws server, idle or busy, gets close 1001 on a drain, and the drain resolves', async () => {
  const { server, url } = await trackedServer();
  const wss = echoWebsockets(server);
  const idle = await openWebsockets(url, 5);
  const busy = await openWebsockets(url, 5, { intervalMs: 10 });
  try {
    await waitFor('messages flowing on the busy websockets', () => busy.every((client) => client.received > 1), { timeoutMs: 5_000, intervalMs: 10 });
    await within(5_000, 'the drain', drainServer(server, { idleGrace: 300 }));
    const closes = await within(5_000, 'every websocket to close', Promise.all([...idle, ...busy].map((client) => client.closed)));
    assert.deepEqual(
      closes.map(({ code, reason }) => ({ code, reason })),
      Array(10).fill({ code: 1001, reason: 'server going away' }),
    );
  } finally {
    terminateWebsockets([...idle, ...busy]);
    wss.close();
    server.closeAllConnections();
  }
});

test('a websocket client that never answers the close frame is destroyed after idleGrace: it does not hold the drain', async () => {
  const { server, url } = await trackedServer();
  const wss = echoWebsockets(server);
  const { port } = new URL(url);
  const socket = net.connect(Number(port), '127.0.0.1');
  // Destroyed while it still writes, the connection may end with a reset: the end this test expects.
  socket.on('error', () => undefined);
  let timer;
  try {
    await within(5_000, 'connect', once(socket, 'connect'));
    socket.write(
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    await within(5_000, 'the handshake', once(socket, 'data'));
    // Masked (client to server) text frames, all the time; the server's close frame is never answered.
    timer = setInterval(() => socket.write(Buffer.concat([Buffer.from([0x81, 0x84, 0, 0, 0, 0]), Buffer.from('ping')])), 10);
    await sleep(100);
    // Not events.once: it would reject on the reset this test expects.
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await within(5_000, 'the drain', drainServer(server, { idleGrace: 300 }));
    await within(5_000, 'the socket to close', closed);
  } finally {
    clearInterval(timer);
    socket.destroy();
    wss.close();
    server.closeAllConnections();
  }
});

test('a websocket of another library gets a close frame written on its socket, with the closeCode given', async () => {
  const { server, url } = await trackedServer();
  // A bare websocket server: the handshake and one greeting frame, nothing else (it never answers a close).
  server.on('upgrade', (request, socket) => {
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(request.headers['sec-websocket-key'])}\r\n\r\n`,
    );
    socket.write(textFrame(JSON.stringify({ pid: process.pid })));
  });
  const clients = await openWebsockets(url, 3);
  try {
    await within(5_000, 'the drain', drainServer(server, { idleGrace: 300, closeCode: 1012 }));
    const closes = await within(5_000, 'every websocket to close', Promise.all(clients.map((client) => client.closed)));
    assert.deepEqual(
      closes.map(({ code, reason }) => ({ code, reason })),
      Array(3).fill({ code: 1012, reason: 'server restarting' }),
    );
  } finally {
    terminateWebsockets(clients);
    server.closeAllConnections();
  }
});

test('a keep-alive connection upgraded while the drain waits for it to go idle gets its close frame once upgraded', async () => {
  const { server, url } = await trackedServer();
  const wss = echoWebsockets(server);
  const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
  socket.on('error', () => undefined); // a reset when the drain ends it is an expected end
  let received = Buffer.alloc(0);
  socket.on('data', (chunk) => (received = Buffer.concat([received, chunk])));
  try {
    await within(5_000, 'connect', once(socket, 'connect'));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor('the plain answer', () => received.includes('plain'), { timeoutMs: 5_000, intervalMs: 10 });
    const drained = drainServer(server, { idleGrace: 60_000 });
    socket.write(
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    // 101, the greeting, then a close frame with 1001 (0x03e9).
    await waitFor('the close frame', () => received.includes('HTTP/1.1 101') && received.includes(Buffer.from([0x88, 19, 0x03, 0xe9])), {
      timeoutMs: 5_000,
      intervalMs: 10,
    });
    socket.destroy();
    await within(5_000, 'the drain once the client closed', drained);
  } finally {
    socket.destroy();
    wss.close();
    server.closeAllConnections();
  }
});

test('with a ramp, websockets are told to close one after another', async () => {
  const { server, url } = await trackedServer();
  const wss = echoWebsockets(server);
  const clients = await openWebsockets(url, 4, { intervalMs: 10 });
  try {
    // A ramp far longer than the test: the first websocket is reached at once, the others much later.
    const drained = drainServer(server, { idleGrace: 300, ramp: 60_000 });
    assert.equal((await within(5_000, 'the first websocket to close', clients[0].closed)).code, 1001);
    await sleep(100);
    assert.deepEqual(
      clients.map((client) => client.socket.readyState),
      [WebSocket.CLOSED, WebSocket.OPEN, WebSocket.OPEN, WebSocket.OPEN],
    );
    terminateWebsockets(clients);
    await within(5_000, 'the drain once the clients closed', drained);
  } finally {
    terminateWebsockets(clients);
    wss.close();
    server.closeAllConnections();
  }
});

test('a tracked server with no upgrade listener answers an upgrade request as a plain request, before and after a ws server', async () => {
  const { server, url } = await trackedServer();
  try {
    assert.equal(await upgradeAnswer(url), 200);
    const wss = echoWebsockets(server);
    assert.equal(await upgradeAnswer(url), 'opened');
    await new Promise((resolve) => wss.close(resolve));
    assert.equal(await upgradeAnswer(url), 200);
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test("mycluster's own web server answers a websocket upgrade request as a plain request, not 101 and not left hanging", async () => {
  const web = await startTestServer();
  const url = web.address.replace(/^http/, 'ws');
  try {
    assert.equal(await upgradeAnswer(`${url}/api/status`), 200);
    assert.equal(await upgradeAnswer(`${url}/nowhere`), 404);
  } finally {
    await within(5_000, 'the drain', web.drain());
  }
});

test('drainSignal aborts when the drain reaches a server-sent event stream, so the app can end it', async () => {
  const { server, url } = await trackedServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const timer = setInterval(() => res.write('data: tick\n\n'), 10);
    drainSignal(req).addEventListener('abort', () => {
      clearInterval(timer);
      res.end('data: bye\n\n');
    });
  });
  const response = await fetch(url.replace(/^ws/, 'http'), { signal: AbortSignal.timeout(10_000) });
  const body = response.text();
  await sleep(50);
  await within(5_000, 'the drain', drainServer(server, { idleGrace: 300 }));
  assert.match(await within(5_000, 'the end of the stream', body), /data: tick\n\n(.|\n)*data: bye\n\n$/);
});

test('a long-polling action learns from connection.drainSignal that the drain reached it, and answers', async () => {
  let polling;
  const started = new Promise((resolve) => (polling = resolve));
  const poll = {
    name: 'poll',
    async run({ connection }) {
      polling();
      await new Promise((resolve) => connection.drainSignal.addEventListener('abort', resolve));
      return { events: [], retry: true };
    },
  };
  const web = await startTestServer({ actions: new Map([['poll', poll]]) });
  const answer = request(web.address, { path: '/api/poll' });
  await within(5_000, 'the long poll to start', started);
  await within(5_000, 'the drain', web.drain());
  const response = await within(5_000, 'the answer', answer);
  assert.equal(response.status, 200);
  assert.deepEqual({ ...response.json, serverInformation: undefined }, { events: [], retry: true, serverInformation: undefined });
  assert.equal(response.headers.connection, 'close');
});

// Last: marks this whole test process as being replaced by a reload.
test('in a worker replaced by a reload, websockets get 1012 Service Restart by default', async () => {
  markRestarting();
  const { server, url } = await trackedServer();
  const wss = echoWebsockets(server);
  const clients = await openWebsockets(url, 3, { intervalMs: 10 });
  try {
    await within(5_000, 'the drain', drainServer(server, { idleGrace: 300 }));
    const closes = await within(5_000, 'every websocket to close', Promise.all(clients.map((client) => client.closed)));
    assert.deepEqual(
      closes.map(({ code }) => code),
      [1012, 1012, 1012],
    );
  } finally {
    terminateWebsockets(clients);
    wss.close();
    server.closeAllConnections();
  }
});
