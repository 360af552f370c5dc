import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { rawExchange } from '../helpers/net.mjs';
import { within } from '../helpers/wait.mjs';
import { request, startTestServer, testConfig } from '../helpers/web-server.mjs';

async function tempDir(t) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mycluster-web-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A process listening on socketPath, killed with SIGKILL: its socket file stays behind. */
async function leaveStaleSocket(socketPath) {
  const script = `require('node:net').createServer().listen(process.argv[1], () => console.log('listening'))`;
  const child = spawn(process.execPath, ['-e', script, socketPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  await within(5_000, 'the socket owner listening', once(child.stdout, 'data'));
  child.kill('SIGKILL');
  await within(5_000, 'the socket owner exiting', once(child, 'exit'));
}

test('listens on a TCP port and reports its address', async () => {
  const web = await startTestServer();
  try {
    assert.match(web.address, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal((await request(web.address, { path: '/api/status' })).status, 200);
  } finally {
    await web.drain();
  }
});

test('a port in use is a BootError naming the address and the usual cause', async () => {
  const first = await startTestServer();
  try {
    const port = Number(new URL(first.address).port);
    await assert.rejects(startTestServer({ config: testConfig({ port }) }), (error) => {
      assert.equal(error.name, 'BootError');
      assert.equal(
        error.message,
        `cannot listen on 127.0.0.1:${port}: address already in use (if your app starts its own server on this port, set servers.web.enabled: false)`,
      );
      return true;
    });
  } finally {
    await first.drain();
  }
});

test('listens on a unix socket with socketMode, and removes the socket file when drained', async (t) => {
  const socketPath = path.join(await tempDir(t), 'web.sock');
  const web = await startTestServer({ config: testConfig({ port: socketPath, socketMode: 0o600 }) });
  try {
    assert.equal(web.address, socketPath);
    assert.equal((await stat(socketPath)).mode & 0o777, 0o600);
    const response = await request({ socketPath }, { path: '/api/status' });
    assert.equal(response.json.status, 'ok');
  } finally {
    await web.drain();
  }
  await assert.rejects(stat(socketPath), { code: 'ENOENT' });
});

test('a stale unix socket file (no server behind it) is replaced', async (t) => {
  const socketPath = path.join(await tempDir(t), 'stale.sock');
  await leaveStaleSocket(socketPath);
  await stat(socketPath);
  const web = await startTestServer({ config: testConfig({ port: socketPath }) });
  try {
    assert.equal((await request({ socketPath }, { path: '/api/status' })).status, 200);
  } finally {
    await web.drain();
  }
});

test('a unix socket a live server answers on is refused', async (t) => {
  const socketPath = path.join(await tempDir(t), 'live.sock');
  const live = await startTestServer({ config: testConfig({ port: socketPath }) });
  try {
    await assert.rejects(startTestServer({ config: testConfig({ port: socketPath }) }), (error) => {
      assert.equal(error.name, 'BootError');
      assert.equal(error.message, `unix socket ${socketPath} is in use by a running server`);
      return true;
    });
    assert.equal((await request({ socketPath }, { path: '/api/status' })).status, 200);
  } finally {
    await live.drain();
  }
});

test('a regular file at the socket path is not removed', async (t) => {
  const socketPath = path.join(await tempDir(t), 'not-a-socket');
  await writeFile(socketPath, 'keep me');
  await assert.rejects(startTestServer({ config: testConfig({ port: socketPath }) }), /exists and is not a socket/);
  assert.equal((await stat(socketPath)).isFile(), true);
});

test('with a handler, every request goes to it (no actions, no static files)', async () => {
  const web = await startTestServer({
    handler: (req, res) => {
      if (req.url === '/boom') throw new Error('handler broke');
      if (req.url === '/async-boom') return Promise.reject(new Error('async handler broke'));
      res.end(`handled ${req.url}`);
    },
  });
  try {
    assert.equal((await request(web.address, { path: '/api/status' })).text, 'handled /api/status');
    assert.equal((await request(web.address, { path: '/' })).text, 'handled /');
    assert.equal((await request(web.address, { path: '/boom' })).status, 500);
    assert.equal((await request(web.address, { path: '/async-boom' })).status, 500);
    assert.equal((await request(web.address, { path: '/still-up' })).text, 'handled /still-up');
  } finally {
    await web.drain();
  }
});

test('a malformed request gets a 400 and the server keeps answering', async () => {
  const web = await startTestServer();
  try {
    const { text: answer } = await rawExchange(web.address, 'THIS IS NOT HTTP\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\nConnection: close\r\n/);
    assert.equal((await request(web.address, { path: '/api/status' })).status, 200);
  } finally {
    await web.drain();
  }
});

test('oversized headers get a 431', async () => {
  const web = await startTestServer();
  try {
    const { text: answer } = await rawExchange(web.address, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.match(answer, /^HTTP\/1\.1 431 /);
  } finally {
    await web.drain();
  }
});
