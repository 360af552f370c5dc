// Real redis-server processes for tests: each on a free port, no persistence, stopped by pid.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, tcpProbe } from './net.mjs';
import { waitFor } from './wait.mjs';

/**
 * The absolute path of `name` on the PATH; an error saying how to install it when it is missing. Resolved once,
 * by the first test that starts a server.
 */
function onPath(name, install) {
  for (const folder of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(folder, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this folder
    }
  }
  throw new Error(`${name} is not on the PATH (${process.env.PATH ?? ''}): ${install}`);
}

let redisServerPath;
/** The redis-server binary (also started as a sentinel with `--sentinel`). */
export function redisServerBinary() {
  redisServerPath ??= onPath('redis-server', 'install Redis (apt-get install redis-server; .ci/run installs it)');
  return redisServerPath;
}

/** Resolves once `PING` on 127.0.0.1:port answers (`+PONG`, or `-NOAUTH` with requirepass); rejects after timeoutMs. */
export async function waitForPing(port, timeoutMs = 5_000) {
  await waitFor(
    `redis on port ${port} to answer PING`,
    async () => /^(\+PONG|-NOAUTH)/.test((await tcpProbe(port, { send: 'PING\r\n', timeoutMs: 500 })).reply ?? ''),
    {
      timeoutMs,
    },
  );
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
 * Start a redis-server on a free port (or `options.port`), without persistence, in its own temp folder (unless
 * `extraArgs` name a `--dir`): a redis-server loads any dump.rdb in its folder at start, and a replica's full sync
 * writes one there, so a shared folder would hand one test's data to the next.
 * Returns { port, url, pid, output, stop(), restart() }: stop/restart wait for the process; restart keeps the port
 * and the folder (the data of a master is gone: no persistence).
 */
export async function startRedis(extraArgs = [], { port } = {}) {
  const redisPort = port ?? (await freePort());
  const ownDir = extraArgs.includes('--dir') ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-redis-'));
  let child;
  let output = '';
  const launch = async () => {
    output = '';
    // A replica that (re)joins gets its full sync at once: Redis 7 waits repl-diskless-sync-delay (5 s) first, for more
    // replicas to share the transfer.
    const args = [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--repl-diskless-sync-delay',
      '0',
      ...(ownDir ? ['--dir', ownDir] : []),
      ...extraArgs,
    ];
    child = spawn(redisServerBinary(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (data) => (output += data));
    child.stderr.on('data', (data) => (output += data));
    try {
      await waitForPing(redisPort);
    } catch (error) {
      await stopChild(child);
      throw new Error(`${error.message}\n${output}`);
    }
  };
  try {
    await launch();
  } catch (error) {
    if (ownDir) fs.rmSync(ownDir, { recursive: true, force: true });
    throw error;
  }
  return {
    port: redisPort,
    url: `redis://127.0.0.1:${redisPort}`,
    get pid() {
      return child.pid;
    },
    get output() {
      return output;
    },
    async stop() {
      await stopChild(child);
      if (ownDir) fs.rmSync(ownDir, { recursive: true, force: true });
    },
    async restart() {
      await stopChild(child);
      await launch();
    },
  };
}
