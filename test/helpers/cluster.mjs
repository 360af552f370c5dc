// Helpers for integration tests: copy a fixture app to a temp dir, spawn the real bin/mycluster in it,
// read its JSON log lines, wait (always with a timeout), and make sure nothing is left running.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, waitFor, within } from './wait.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..');
export const bin = path.join(repoRoot, 'bin', 'mycluster');
export const fixtures = path.join(repoRoot, 'test', 'fixtures');

/** Copy a fixture app into a fresh temp dir (its own pids/, sockets, …), with the tests' short timings in its config/. */
export function copyFixture(name) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mycluster-${name}-`));
  fs.cpSync(path.join(fixtures, name), dir, { recursive: true });
  fs.copyFileSync(path.join(fixtures, 'test-timings.js'), path.join(dir, 'config', '00-test-timings.js'));
  fs.mkdirSync(path.join(dir, 'pids'), { recursive: true });
  return dir;
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Alive and not a zombie (a process killed after it was reparented stays one until init reaps it). */
export function isRunning(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of the live children of a process (its workers). */
export function childPids(pid) {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((child) => child > 0);
  } catch {
    return [];
  }
}

export function readPid(file) {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Spawn a process whose stdout carries JSON log lines (non-JSON lines become `{ msg, raw: true }`). Returns
 * a handle with the parsed lines, `waitForLine`, `waitForExit`, and `kill()`, which SIGKILLs the process and
 * every child and logged pid it had (call it in finally). `stamp` adds `receivedAt: stamp()` to each line.
 */
export function spawnJsonLogged(command, args, { cwd, env = {}, stamp } = {}) {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let stderr = '';
  let buffered = '';
  let closed = false;
  const waiters = new Set();
  const knownPids = new Set();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const text = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let line;
      try {
        line = JSON.parse(text);
      } catch {
        line = { msg: text, raw: true };
      }
      if (stamp) line.receivedAt = stamp();
      if (typeof line.pid === 'number') knownPids.add(line.pid);
      if (typeof line.workerPid === 'number') knownPids.add(line.workerPid);
      lines.push(line);
    }
    notify();
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  // 'close' comes after the last stdout data: a wait for a line that never came can end there.
  child.once('close', () => {
    closed = true;
    notify();
  });

  const handle = {
    child,
    pid: child.pid,
    lines,
    get stderr() {
      return stderr;
    },
    exited,
    /** Resolve with the first log line (from index `from`) matching `predicate`. */
    waitForLine(predicate, { timeoutMs = 20_000, from = 0, what = 'a log line' } = {}) {
      return new Promise((resolve, reject) => {
        const fail = (why) => {
          cleanup();
          const last = lines
            .slice(-15)
            .map((l) => JSON.stringify(l))
            .join('\n');
          reject(new Error(`${why} waiting for ${what}; last lines:\n${last}\nstderr: ${stderr.slice(-2000)}`));
        };
        const check = () => {
          for (let index = from; index < lines.length; index += 1) {
            if (predicate(lines[index])) {
              cleanup();
              resolve(lines[index]);
              return;
            }
          }
          if (closed) fail(`the process exited (${child.exitCode ?? child.signalCode})`);
        };
        const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    waitForExit(timeoutMs = 20_000) {
      return within(timeoutMs, `the exit of pid ${child.pid}`, exited);
    },
    /** Every pid this process ever logged (a cluster's master and workers). */
    knownPids() {
      return [...knownPids];
    },
    /** SIGKILL the process and any of its processes still alive. Safe to call twice. */
    async kill() {
      const pids = new Set([child.pid, ...childPids(child.pid), ...knownPids]);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await waitFor('processes to die', () => [...pids].every((pid) => !isAlive(pid)), { timeoutMs: 5_000 }).catch(() => undefined);
    },
  };
  return handle;
}

/** Spawn `bin/mycluster <args>` in `cwd`, with JSON logs; see spawnJsonLogged. */
export function startMycluster(args, { cwd, env = {} } = {}) {
  const cluster = spawnJsonLogged(process.execPath, [bin, ...args], { cwd, env: { MYCLUSTER_LOG_FORMAT: 'json', NODE_ENV: 'test', ...env } });
  /** Wait for the master's "cluster equilibrium state reached" line after index `from`. */
  cluster.waitForEquilibrium = (options = {}) =>
    cluster.waitForLine((line) => /cluster equilibrium state reached/.test(line.msg ?? ''), { what: 'cluster equilibrium', ...options });
  return cluster;
}

export const reloadDone = (line) => /rolling reload #\d+ done/.test(line.msg ?? '');
export const reloadAborted = (line) => /rolling reload #\d+ aborted/.test(line.msg ?? '');
/** Master lines that mean a worker was lost and replaced (the crash path), as opposed to a reload. */
export const restartLine = (line) => /restarting in \d+ ms|failed to boot|\bexited: /.test(line.msg ?? '');

/**
 * Send each of `signals` (USR2, HUP) to the master once the previous rolling reload is done; after each, every
 * slot of the two-worker cluster in `dir` has a new pid and its old worker is gone.
 */
export async function rollingReloads(cluster, dir, signals) {
  for (const [round, signal] of signals.entries()) {
    const before = slotPids(dir, 2);
    const from = cluster.lines.length;
    await sleep(300);
    process.kill(cluster.pid, signal);
    await cluster.waitForLine(reloadDone, { from, what: `rolling reload ${round + 1} (${signal})` });
    const now = slotPids(dir, 2);
    for (let index = 0; index < 2; index += 1) {
      assert.notEqual(now[index], before[index], `slot ${index + 1} was not replaced`);
      assert.equal(isAlive(before[index]), false, `old worker ${before[index]} still alive`);
    }
  }
  await sleep(300);
}

/** The pids in the worker pidfiles of slots 1..count (null where there is none). */
export function slotPids(dir, count, prefix = 'mycluster-worker-') {
  return Array.from({ length: count }, (_, index) => readPid(path.join(dir, 'pids', `${prefix}${index + 1}`)));
}

/** Run the CLI to completion and return { code, stdout, stderr }. */
export function runMycluster(args, { cwd, env = {}, timeoutMs = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      cwd,
      env: { ...process.env, MYCLUSTER_LOG_FORMAT: 'json', NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`mycluster ${args.join(' ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    // 'exit' can come before the last of its output was read: resolve on 'close' (stdout and stderr ended),
    // or 2 s after 'exit' should a process it left behind hold them open.
    const done = (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    };
    child.once('close', done);
    child.once('exit', (code, signal) => setTimeout(() => done(code, signal), 2_000).unref());
  });
}
