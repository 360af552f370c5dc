import fs from 'node:fs';
import path from 'node:path';
import { PidfileError } from './errors';

/** The master's pidfile name. */
export const CLUSTER_PIDFILE = 'cluster_pidfile';

/** Is a process with this pid alive? EPERM means it exists but is someone else's. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Is this live pid one of ours? After a reboot a stale pidfile may name a pid reused by an unrelated
 * process: its command line then does not mention mycluster.
 */
export function isMyclusterProcess(pid: number): boolean {
  let commandLine: string;
  try {
    commandLine = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch (error) {
    // No /proc (macOS) or the process just ended: trust liveness alone.
    return (error as NodeJS.ErrnoException).code !== 'ENOENT' || !fs.existsSync('/proc/self');
  }
  return commandLine.includes('mycluster');
}

/** The pid a pidfile holds, or null when it is missing or holds no valid pid (garbage is treated as stale). */
export function readPidfile(file: string): number | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new PidfileError(`cannot read pidfile ${file}: ${(error as Error).message}`);
  }
  const match = /^\s*(\d+)\s*$/.exec(text);
  const pid = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Make sure the pid folder exists and is safe to write pidfiles into: a world-writable folder without
 * the sticky bit would let any local user plant a pidfile that makes `stop` signal their chosen pid.
 */
export function preparePidFolder(folder: string): void {
  try {
    fs.mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw new PidfileError(`cannot create pid folder ${folder}: ${(error as Error).message}`);
  }
  const stat = fs.statSync(folder);
  if (!stat.isDirectory()) throw new PidfileError(`pid folder ${folder} is not a directory`);
  const worldWritable = (stat.mode & 0o002) !== 0;
  const sticky = (stat.mode & 0o1000) !== 0;
  if (worldWritable && !sticky) {
    throw new PidfileError(`pid folder ${folder} is world-writable; run chmod o-w ${folder}`);
  }
}

/** Write a pidfile atomically: a temp file in the same folder, then rename over the target. */
export function writePidfile(file: string, pid: number, mode = 0o644): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temp, `${pid}\n`, { mode });
  fs.renameSync(temp, file);
}

/**
 * Claim a pidfile for `pid`: refuse if a live mycluster process holds it, replace it if stale
 * (missing process, garbage content, or a pid reused by something that is not mycluster).
 */
export function claimPidfile(file: string, pid: number, options: { mode?: number; what: string }): void {
  const holder = readPidfile(file);
  if (holder !== null && holder !== pid && isAlive(holder) && isMyclusterProcess(holder)) {
    throw new PidfileError(`${options.what} is already running with pid ${holder} (pidfile ${file})`);
  }
  writePidfile(file, pid, options.mode);
}

/** Remove a pidfile, but only while it still holds `pid` (a newer process may own it now). */
export function removePidfile(file: string, pid: number): void {
  if (readPidfile(file) !== pid) return;
  try {
    fs.unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}
