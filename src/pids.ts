import fs from 'node:fs';
import path from 'node:path';
import { PidfileError } from './errors';
import { pollUntil } from './shared/deadline';

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

/** The pid a pidfile holds; null when it holds no valid pid (garbage is treated as stale); undefined when there is no file. */
function pidIn(file: string): number | null | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new PidfileError(`cannot read pidfile ${file}: ${(error as Error).message}`);
  }
  const match = /^\s*(\d+)\s*$/.exec(text);
  const pid = match ? Number(match[1]) : NaN;
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/** The pid a pidfile holds, or null when it is missing or holds no valid pid. */
export function readPidfile(file: string): number | null {
  return pidIn(file) ?? null;
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

/** How long a claim waits for another start that is replacing a stale pidfile at the same moment. */
const CLAIM_TIMEOUT_MS = 2_000;
const CLAIM_RETRY_MS = 10;

/**
 * Write `pid` to a temp file beside `file`, its mode set with fchmod (writeFile's mode is filtered by the
 * umask). Returns the temp file's path.
 */
function writeTemp(file: string, pid: number, mode: number): string {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    const fd = fs.openSync(temp, 'w', mode);
    try {
      fs.fchmodSync(fd, mode);
      fs.writeSync(fd, `${pid}\n`);
    } finally {
      fs.closeSync(fd);
    }
  } catch (error) {
    throw new PidfileError(`cannot write pidfile ${file}: ${(error as Error).message}`);
  }
  return temp;
}

/** Write a pidfile atomically: a temp file in the same folder, then rename over the target. */
export function writePidfile(file: string, pid: number, mode = 0o644): void {
  fs.renameSync(writeTemp(file, pid, mode), file);
}

/**
 * Create `file` holding `pid` only if it does not exist. link() is the exclusive create (as O_EXCL), and the
 * file appears with its pid already in it: a racer never sees it empty.
 */
function createExclusive(file: string, pid: number, mode: number): boolean {
  const temp = writeTemp(file, pid, mode);
  try {
    fs.linkSync(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new PidfileError(`cannot create pidfile ${file}: ${(error as Error).message}`);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/** Does `holder` (read from a pidfile) name a live mycluster process other than `pid`? */
function isLiveHolder(holder: number | null | undefined, pid: number): holder is number {
  return typeof holder === 'number' && holder !== pid && isAlive(holder) && isMyclusterProcess(holder);
}

/** What a claim says when the pidfile is taken: what runs there, and a hint on how to run another one. */
interface ClaimOf {
  what: string;
  hint?: string;
}

function refuse(file: string, holder: number, { what, hint }: ClaimOf): never {
  throw new PidfileError(`${what} is already running with pid ${holder} (pidfile ${file})${hint ? `; ${hint}` : ''}`);
}

/**
 * Replace a stale pidfile with ours. Racers that all found it stale take turns through `<file>.lock`
 * (created exclusively, held for a few system calls) and each reads the pidfile again under it: the first
 * replaces it, the others find its live pid. Returns false when the lock is taken or the pidfile is gone
 * (the exclusive create gets it then). Nothing but a lock holder removes a stale pidfile, so it cannot
 * change between the read and the rename.
 */
function replaceStale(file: string, pid: number, mode: number, claim: ClaimOf): boolean {
  const lock = `${file}.lock`;
  if (!createExclusive(lock, pid, mode)) {
    // A holder that died between creating and removing the lock would block every start: drop its lock.
    const lockHolder = pidIn(lock);
    if (typeof lockHolder === 'number' && !isLiveHolder(lockHolder, pid)) fs.rmSync(lock, { force: true });
    return false;
  }
  try {
    const holder = pidIn(file);
    if (holder === undefined) return false;
    if (isLiveHolder(holder, pid)) refuse(file, holder, claim);
    writePidfile(file, pid, mode);
    return true;
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/**
 * Claim a pidfile for `pid`, atomically: of several processes claiming it at the same moment exactly one
 * gets it, and the others fail naming its pid. A stale file (process gone, garbage, or a pid reused by
 * something that is not mycluster) is replaced.
 */
export async function claimPidfile(file: string, pid: number, options: ClaimOf & { mode?: number }): Promise<void> {
  const mode = options.mode ?? 0o644;
  await pollUntil(
    () => {
      if (createExclusive(file, pid, mode)) return true;
      const holder = pidIn(file);
      if (isLiveHolder(holder, pid)) refuse(file, holder, options);
      return replaceStale(file, pid, mode, options) || undefined;
    },
    CLAIM_TIMEOUT_MS,
    () => new PidfileError(`cannot claim pidfile ${file}: ${file}.lock stayed in place for ${CLAIM_TIMEOUT_MS} ms; remove it if no mycluster is starting`),
    CLAIM_RETRY_MS,
  );
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

/** Larger files in a pid folder are not pidfiles (the state file); never read them. */
const PIDFILE_MAX_BYTES = 32;

/**
 * Remove every pidfile in `folder` that holds `pid`, a process that has exited: the ones the app wrote under
 * its own names (an ActionHero project's `actionhero-<id>`) that a killed process could not remove. Returns
 * the names removed.
 */
export function removePidfilesOf(folder: string, pid: number): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(folder);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const file = path.join(folder, name);
    try {
      const stat = fs.statSync(file);
      if (!stat.isFile() || stat.size > PIDFILE_MAX_BYTES || pidIn(file) !== pid) continue;
      fs.unlinkSync(file);
      removed.push(name);
    } catch {
      // gone meanwhile, or unreadable: not ours to worry about
    }
  }
  return removed;
}
