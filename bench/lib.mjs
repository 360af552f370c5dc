// Small helpers shared by the peers and scenarios: waits (always bounded), ports, /proc, processes.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { isAlive, spawnJsonLogged } from '../test/helpers/cluster.mjs';
import { waitFor } from '../test/helpers/wait.mjs';
import { now } from './load.mjs';

// The same small helpers the integration tests use.
export { childPids, isAlive } from '../test/helpers/cluster.mjs';
export { freePort } from '../test/helpers/net.mjs';
export { sleep, waitFor } from '../test/helpers/wait.mjs';
export { now };

/**
 * Wait (bounded) for processes that were asked to stop to be gone; SIGKILL those still alive after
 * `graceMs`. Resolves the pids that had to be killed (the "leftovers").
 */
export async function reap(pids, graceMs = 5_000) {
  const all = [...new Set(pids)].filter(Boolean);
  await waitFor('processes to exit', () => all.every((pid) => !isAlive(pid)), { timeoutMs: graceMs }).catch(() => undefined);
  return killAll(all);
}

/** SIGKILL every pid still alive and wait (bounded) until they are gone. */
export async function killAll(pids) {
  const alive = [...new Set(pids)].filter((pid) => pid && isAlive(pid));
  for (const pid of alive) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitFor('processes to die', () => alive.every((pid) => !isAlive(pid)), { timeoutMs: 5_000 }).catch(() => undefined);
  return alive;
}

/** VmRSS of a process, in MiB (2^20 bytes, as ps and top count). */
export function rssMb(pid) {
  const match = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round((Number(match[1]) / 1024) * 10) / 10 : null;
}

/** utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
export function cpuTicks(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3 (state)
  return Number(fields[11]) + Number(fields[12]);
}

export const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** Spawn a process whose stdout carries JSON log lines; each parsed line gets `receivedAt` (now()). */
export function spawnLogged(command, args, { cwd, env } = {}) {
  return spawnJsonLogged(command, args, { cwd, env, stamp: now });
}

/** Run a command to completion (bounded); resolves { code, stdout, stderr, durationMs }. */
export function run(command, args, { env, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const started = now();
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, durationMs: now() - started });
    });
  });
}
