// Hostile input: malformed and oversized requests, slow clients, random CLI arguments, bad config,
// unsafe pid folders, garbage pidfiles, a unix socket or a TCP port already in use. A clear error or a 4xx; nothing crashes.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyFixture, isAlive, readPid, runMycluster, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { freePort, rawExchange } from '../helpers/net.mjs';
import { within } from '../helpers/wait.mjs';

const started = [];
after(async () => {
  for (const cluster of started) await cluster.kill();
});

const statusOf = (response) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);

describe('malformed and oversized HTTP requests', () => {
  let dir;
  let port;
  let cluster;
  let workers;
  const overrides = { servers: { web: { bodyLimit: 1024, requestTimeout: 1500, headersTimeout: 1000 } } };

  // One cluster with a 1 KiB body limit and short request timeouts for every test of this group.
  before(async () => {
    dir = copyFixture('http-app');
    port = await freePort();
    cluster = startMycluster(['start', '--workers=2'], { cwd: dir, env: { PORT: String(port), ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify(overrides) } });
    started.push(cluster);
    await cluster.waitForEquilibrium();
    workers = slotPids(dir, 2);
  });

  test('bad JSON is a 400 with { error }', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/api/slow`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"ms": ' });
    assert.equal(response.status, 400);
    assert.ok((await response.json()).error);
  });

  test('a body over the limit is a 413', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/api/slow`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pad: 'x'.repeat(5000) }),
    });
    assert.equal(response.status, 413);
  });

  test('huge headers are a 431', async () => {
    const { text } = await rawExchange(port, `GET /api/slow HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assert.equal(statusOf(text), 431);
  });

  test('garbage instead of HTTP is a 400', async () => {
    const { text } = await rawExchange(port, '\x16\x03\x01 not http at all\r\n\r\n');
    assert.equal(statusOf(text), 400);
  });

  test('a slow client (headers trickling in) gets a 408 and is disconnected', async () => {
    const { text, closed } = await rawExchange(port, ['GET /api/slow HTTP/1.1\r\n', 'Host: x\r\n', 'X-A: 1\r\n', 'X-B: 1\r\n', 'X-C: 1\r\n'], {
      gapMs: 800,
      timeoutMs: 8_000,
    });
    assert.equal(statusOf(text), 408);
    assert.equal(closed, true, 'the server closed the connection');
  });

  test('a path traversal attempt does not leave public/', async () => {
    for (const target of ['/../config/config.js', '/%2e%2e/config/config.js', '/..%2fconfig%2fconfig.js']) {
      const { text } = await rawExchange(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      assert.ok([400, 403, 404].includes(statusOf(text)), `${target}: ${text.slice(0, 40)}`);
      assert.doesNotMatch(text, /filteredParams/);
    }
  });

  test('after all of it, no worker crashed', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${port}/api/slow`)).status, 200);
    for (const pid of workers) assert.ok(isAlive(pid));
    assert.deepEqual(slotPids(dir, 2), workers, 'no worker was replaced');
    assert.ok(!cluster.lines.some((line) => line.level >= 60), 'no fatal line');
  });
});

describe('the status action reveals no secrets', () => {
  test('no env, tokens or config values in /api/status', async () => {
    const dir = copyFixture('http-app');
    const port = await freePort();
    const secret = 's3cr3t-token-value';
    const cluster = startMycluster(['start', '--workers=1'], {
      cwd: dir,
      env: { PORT: String(port), API_TOKEN: secret, ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ redis: { password: secret }, app: { apiKey: secret } }) },
    });
    started.push(cluster);
    await cluster.waitForEquilibrium();
    const body = await (await fetch(`http://127.0.0.1:${port}/api/status`)).text();
    assert.doesNotMatch(body, new RegExp(secret));
    assert.doesNotMatch(body, /password|apiKey|API_TOKEN|PATH/);
    await cluster.kill();
  });
});

describe('random and bad CLI arguments', () => {
  // A seeded generator: the same arguments on every run.
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const pick = (items) => items[Math.floor(random() * items.length)];
  const invalid = [
    '--workers=0',
    '--workers=-3',
    '--workers=1e3',
    '--workers=0x10',
    '--workers= 2',
    '--nope',
    '-x',
    '--workers',
    'clusterr',
    '--workerTitlePrefix=a/b',
    '--pids',
    '--timeout=-1',
    '💥',
    '--workers=2 --workers=abc',
  ];
  const valid = ['start', 'status', 'reload', 'stop', 'queues', '--silent', '--json', 'cluster'];

  for (let round = 0; round < 12; round += 1) {
    const args = [pick(valid), ...Array.from({ length: 1 + Math.floor(random() * 3) }, () => pick(random() < 0.5 ? invalid : valid)), pick(invalid)];
    test(`mycluster ${args.join(' ')} → a one-line error, exit 1 or 2`, async () => {
      const { code, stderr, stdout } = await runMycluster(args, { cwd: copyFixture('http-app'), timeoutMs: 15_000 });
      assert.ok(code === 1 || code === 2, `exit ${code}; ${stderr}${stdout}`);
      assert.equal(stderr.trim().split('\n').length, 1, stderr);
      assert.doesNotMatch(stderr, /\n\s+at /);
    });
  }
});

describe('bad config, pid folders and pidfiles', () => {
  test('a config value of the wrong type stops start with the file and key named', async () => {
    const dir = copyFixture('http-app');
    fs.writeFileSync(path.join(dir, 'config', 'web.js'), 'exports.default = { servers: { web: { port: true } } };\n');
    const { code, stderr } = await runMycluster(['start', '--workers=1'], { cwd: dir });
    assert.equal(code, 1);
    assert.match(stderr, /config\/web\.js/);
    assert.match(stderr, /servers\.web\.port/);
  });

  test('a world-writable pid folder is refused; a symlinked pid folder to a safe one works', async () => {
    const dir = copyFixture('http-app');
    fs.rmSync(path.join(dir, 'pids'), { recursive: true });
    const open = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-open-'));
    fs.chmodSync(open, 0o777);
    fs.symlinkSync(open, path.join(dir, 'pids'));
    const refused = await runMycluster(['start', '--workers=1'], { cwd: dir, env: { PORT: String(await freePort()) } });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /world-writable/);

    fs.chmodSync(open, 0o755);
    const port = await freePort();
    const cluster = startMycluster(['start', '--workers=1'], { cwd: dir, env: { PORT: String(port) } });
    started.push(cluster);
    await cluster.waitForEquilibrium();
    assert.equal(readPid(path.join(open, 'cluster_pidfile')), cluster.pid);
    await cluster.kill();
  });

  test('a pidfile with garbage in it is treated as stale and replaced', async () => {
    const dir = copyFixture('http-app');
    fs.writeFileSync(path.join(dir, 'pids', 'cluster_pidfile'), 'not a pid\n\0\0');
    const cluster = startMycluster(['start', '--workers=1'], { cwd: dir, env: { PORT: String(await freePort()) } });
    started.push(cluster);
    await cluster.waitForEquilibrium();
    assert.equal(readPid(path.join(dir, 'pids', 'cluster_pidfile')), cluster.pid);
    await cluster.kill();
  });

  test('a unix socket path used by a live server: exit 1 naming it, and the live server keeps serving', async () => {
    const dir = copyFixture('http-app');
    const socketPath = path.join(dir, 'taken.sock');
    const owner = spawn(process.execPath, [
      '-e',
      `require('http').createServer((q, s) => s.end('mine')).listen(${JSON.stringify(socketPath)}, () => console.log('up'))`,
    ]);
    try {
      await within(5_000, 'the socket owner listening', new Promise((resolve) => owner.stdout.once('data', resolve)));
      for (const args of [['start', '--workers=1'], ['start']]) {
        const { code, stderr } = await runMycluster(args, { cwd: dir, env: { PORT: socketPath } });
        assert.equal(code, 1, stderr);
        assert.ok(stderr.includes(`unix socket ${socketPath} is in use by a running server`), stderr);
      }
      const answer = await within(
        5_000,
        'an answer from the live server',
        new Promise((resolve, reject) => {
          const socket = net.connect(socketPath, () => socket.end('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
          let data = '';
          socket.on('data', (chunk) => (data += chunk));
          socket.on('end', () => resolve(data));
          socket.on('error', reject);
        }),
      );
      assert.match(answer, /mine$/);
    } finally {
      owner.kill('SIGKILL');
    }
  });

  test('a TCP port used by another server: exit 1 naming it, no worker listens elsewhere, and the server keeps serving', async () => {
    const dir = copyFixture('http-app');
    const owner = http.createServer((_request, response) => response.end('mine'));
    await new Promise((resolve) => owner.listen(0, '127.0.0.1', resolve));
    const { port } = owner.address();
    try {
      for (const args of [['start', '--workers=1'], ['start']]) {
        const { code, stdout, stderr } = await runMycluster(args, { cwd: dir, env: { PORT: String(port) }, timeoutMs: 20_000 });
        assert.equal(code, 1, `${args.join(' ')}: ${stderr}`);
        assert.equal(stderr.trim().split('\n').length, 1, stderr);
        assert.match(stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`));
        assert.doesNotMatch(stdout, /ready/, 'no worker became ready');
      }
      assert.deepEqual(
        fs.readdirSync(path.join(dir, 'pids')).filter((name) => name !== '.gitkeep'),
        [],
        'no pidfile left',
      );
      const answer = await within(
        5_000,
        'an answer from the other server',
        fetch(`http://127.0.0.1:${port}/`).then((response) => response.text()),
      );
      assert.equal(answer, 'mine');
    } finally {
      await new Promise((resolve) => owner.close(resolve));
    }
  });

  test('the unix socket gets servers.web.socketMode (default 0660)', async () => {
    const dir = copyFixture('http-app');
    const socketPath = path.join(dir, 'web.sock');
    const cluster = startMycluster(['start', '--workers=1'], { cwd: dir, env: { PORT: socketPath } });
    started.push(cluster);
    await cluster.waitForEquilibrium();
    assert.equal(fs.statSync(socketPath).mode & 0o777, 0o660);
    await cluster.kill();
  });
});
