// A real nginx for integration tests: found on the machine, run in the foreground with every file in a temp
// dir, and stopped (QUIT, then KILL, its workers too) by the `stop` it returns.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { childPids, isAlive } from './cluster.mjs';
import { tcpProbe } from './net.mjs';
import { waitFor, within } from './wait.mjs';

function findNginx() {
  for (const candidate of ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx']) {
    if (fs.existsSync(candidate)) return candidate;
  }
  try {
    return execFileSync('sh', ['-c', 'command -v nginx'], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

/** The nginx binary, or null when it is not installed. */
export const NGINX = findNginx();

/** Skip reason for a test that needs nginx (false when it is installed). */
export const skipWithoutNginx = NGINX ? false : 'nginx is not installed (apt-get install nginx; .ci/run installs it)';

/** A complete nginx config around `http` (the inside of the http {} block): foreground, one worker, files in `tmp`. */
export function nginxConfig({ tmp, http }) {
  const runAsRoot = process.getuid?.() === 0;
  return `daemon off;
master_process on;
worker_processes 1;
pid ${tmp}/nginx.pid;
error_log ${tmp}/error.log warn;
${runAsRoot ? 'user root;  # as root, workers would otherwise run as nobody and not reach the 0660 socket' : ''}

events {
  worker_connections 1024;
}

http {
  access_log off;
  client_body_temp_path ${tmp}/client_body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;

${http}
}
`;
}

/** Start nginx in the foreground on `configFile` and wait until it listens on `port`; call `stop()` in after/finally. */
export async function startNginx({ tmp, configFile, port }) {
  const child = spawn(NGINX, ['-c', configFile, '-p', `${tmp}/`, '-e', `${tmp}/error.log`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  let exited = null;
  const exit = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      resolve(exited);
    }),
  );
  const errorLog = () => {
    try {
      return fs.readFileSync(path.join(tmp, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async () => {
    const pids = new Set([child.pid, ...childPids(child.pid)]);
    if (exited === null) {
      child.kill('SIGQUIT');
      const quit = await within(5_000, 'nginx to quit', exit).then(
        () => true,
        () => false,
      );
      if (!quit) child.kill('SIGKILL');
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await waitFor('nginx to exit', () => [...pids].every((pid) => !isAlive(pid)), { timeoutMs: 5_000 }).catch(() => undefined);
  };
  try {
    await waitFor(
      'nginx to listen',
      async () => {
        if (exited) throw new Error(`nginx exited (${JSON.stringify(exited)}): ${output}\n${errorLog()}`);
        return (await tcpProbe(port)).connected;
      },
      { timeoutMs: 10_000 },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { child, errorLog, stop };
}
