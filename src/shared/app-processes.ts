/**
 * The processes an app started (children, grandchildren, …) go with the process that started them.
 * Node has no process groups of its own nor a subreaper, and a child outliving its parent is reparented to
 * init, so the tree cannot be walked after the fact. Instead every app process carries a tag in its
 * environment, which its descendants inherit; when it exits, whatever still carries the tag gets SIGTERM,
 * then SIGKILL after a grace period. Each process is identified by its pid and its start time, so a pid
 * reused meanwhile by an unrelated process is never signalled. Linux only (/proc).
 */
// fs.promises, not node:fs/promises: it loads when a worker's processes are first looked for, not with the
// master (node:fs/promises and what it loads hold about 0.5 MiB).
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';

/** The environment variable that tags an app process and everything it starts. */
export const APP_PROCESS_TAG_ENV = 'MYCLUSTER_PROCESS_TAG';

const POLL_MS = 100;
/** After SIGKILL: how long to wait for the processes to be gone, and how often to look. */
const KILLED_GONE_MS = 2_000;
const KILLED_POLL_MS = 10;

interface TaggedProcess {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot; with the pid, unique for the machine's uptime. */
  startTime: string;
}

export interface StopAppProcessesOptions {
  /** What the processes belonged to, for the log ("worker #2 (pid 123)"). */
  owner: string;
  /** SIGTERM, then SIGKILL after this many ms. */
  graceMs: number;
  log: Logger;
  /** Never signal these (the owner itself, while it is still alive). */
  exclude?: number[];
}

let unsupportedWarned = false;

/**
 * SIGTERM every live process carrying `tag`, then SIGKILL the ones still there after `graceMs`. Resolves
 * once none is left (or up to KILLED_GONE_MS after the SIGKILL), with how many there were.
 */
export async function stopAppProcesses(tag: string, options: StopAppProcessesOptions): Promise<number> {
  const { owner, graceMs, log, exclude = [] } = options;
  let found: TaggedProcess[];
  try {
    found = (await findTagged(tag)).filter((process) => !exclude.includes(process.pid));
  } catch (error) {
    if (!unsupportedWarned) {
      unsupportedWarned = true;
      log.warn({ err: error }, 'cannot list processes (/proc): processes the app starts are not stopped with it on this system');
    }
    return 0;
  }
  if (found.length === 0) return 0;
  const pids = found.map((process) => process.pid);
  log.info({ pids }, `${owner} left ${found.length} process${found.length === 1 ? '' : 'es'} it started: sending SIGTERM`);
  for (const process of found) await signalIfSame(process, 'SIGTERM');

  const alive = await stillRunningAt(found, Date.now() + graceMs, POLL_MS);
  if (alive.length > 0) {
    log.warn({ pids: alive.map((process) => process.pid), graceMs }, `processes ${owner} started ignored SIGTERM for ${graceMs} ms: sending SIGKILL`);
    for (const process of alive) await signalIfSame(process, 'SIGKILL');
    // A killed process is gone once the kernel has run its exit, a moment later on a loaded machine: whoever
    // stops next (the master, exiting) must not leave it behind.
    await stillRunningAt(alive, Date.now() + KILLED_GONE_MS, KILLED_POLL_MS);
  }
  return found.length;
}

/** Those of `processes` still running at `deadline`, looked at every `pollMs`; none as soon as all are gone. */
async function stillRunningAt(processes: TaggedProcess[], deadline: number, pollMs: number): Promise<TaggedProcess[]> {
  let alive = processes;
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
    alive = await filterAsync(alive, isSameAndRunning);
  }
  return alive;
}

/** Every process whose environment carries `tag` (those of other users cannot be read, nor signalled). */
async function findTagged(tag: string): Promise<TaggedProcess[]> {
  const needle = Buffer.from(`${APP_PROCESS_TAG_ENV}=${tag}\0`);
  const entries = await fs.promises.readdir('/proc');
  const found: TaggedProcess[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry)) return;
      const pid = Number(entry);
      const environ = await fs.promises.readFile(`/proc/${pid}/environ`).catch(() => null);
      if (!environ || !hasVariable(environ, needle)) return;
      const stat = await readStat(pid);
      if (stat && stat.state !== 'Z') found.push({ pid, startTime: stat.startTime });
    }),
  );
  return found;
}

/** The environment holds `NAME=value\0` as a whole entry (at the start, or after another entry's NUL). */
function hasVariable(environ: Buffer, needle: Buffer): boolean {
  for (let at = environ.indexOf(needle); at !== -1; at = environ.indexOf(needle, at + 1)) {
    if (at === 0 || environ[at - 1] === 0) return true;
  }
  return false;
}

async function readStat(pid: number): Promise<{ state: string; startTime: string } | null> {
  const stat = await fs.promises.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (!stat) return null;
  // The command name (field 2) is in parentheses and may hold spaces or parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', startTime: fields[19] ?? '' };
}

async function isSameAndRunning(process: TaggedProcess): Promise<boolean> {
  const stat = await readStat(process.pid);
  return stat !== null && stat.startTime === process.startTime && stat.state !== 'Z';
}

async function signalIfSame(target: TaggedProcess, signal: NodeJS.Signals): Promise<void> {
  if (!(await isSameAndRunning(target))) return;
  try {
    process.kill(target.pid, signal);
  } catch {
    // Gone between the check and the signal.
  }
}

async function filterAsync<T>(items: T[], keep: (item: T) => Promise<boolean>): Promise<T[]> {
  const verdicts = await Promise.all(items.map(keep));
  return items.filter((_, index) => verdicts[index]);
}
