// Real redis-server processes for tests: each on a free port, no persistence, stopped by pid.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const REDIS_SERVER = '/usr/bin/redis-server';

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once `PING` on host:port answers (`+PONG`, or `-NOAUTH` with requirepass); rejects after timeoutMs. */
export async function waitForPing(port, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pingOnce(port)) return;
    await sleep(50);
  }
  throw new Error(`redis on port ${port} did not answer PING within ${timeoutMs} ms`);
}

function pingOnce(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (data) => done(/^(\+PONG|-NOAUTH)/.test(data.toString())));
  });
}

function exited(child, timeoutMs) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server pid ${child.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Stop a child: SIGTERM, then SIGKILL if it is still there after timeoutMs. */
async function stopChild(child, timeoutMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  try {
    await exited(child, timeoutMs);
  } catch {
    child.kill('SIGKILL');
    await exited(child, timeoutMs);
  }
}

/**
 * Start a redis-server on a free port (or `options.port`), without persistence.
 * Returns { port, url, pid, stop(), restart(), kill() }: stop/restart wait for the process; restart keeps the port
 * (the data is gone: no persistence).
 */
export async function startRedis(extraArgs = [], { port } = {}) {
  const redisPort = port ?? (await freePort());
  let child;
  let output = '';
  const launch = async () => {
    output = '';
    child = spawn(REDIS_SERVER, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (data) => (output += data));
    child.stderr.on('data', (data) => (output += data));
    try {
      await waitForPing(redisPort);
    } catch (error) {
      await stopChild(child);
      throw new Error(`${error.message}\n${output}`);
    }
  };
  await launch();
  return {
    port: redisPort,
    url: `redis://127.0.0.1:${redisPort}`,
    get pid() {
      return child.pid;
    },
    get output() {
      return output;
    },
    stop: () => stopChild(child),
    async restart() {
      await stopChild(child);
      await launch();
    },
  };
}
