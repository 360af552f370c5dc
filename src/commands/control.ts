/** `mycluster status`, `reload` and `stop`: act on a running cluster through its pidfile and state file. */
import path from 'node:path';
import { loadConfig } from '../config';
import { MyclusterError } from '../errors';
import { describeRedisHealth } from '../master/redis-health';
import { type ClusterState, readStateFile, STATE_FILE } from '../master/state';
import { CLUSTER_PIDFILE, isAlive, readPidfile } from '../pids';
import { resolveProjectRoot } from '../shared/project';
import { pollUntil } from './poll';
import { formatTable } from './table';

interface LocateOptions {
  pids?: string;
  timeout?: number;
}

const DEFAULT_TIMEOUT_S = { reload: 300, stop: 120 };

async function pidFolderOf(options: LocateOptions): Promise<string> {
  if (options.pids) return path.resolve(options.pids);
  const config = await loadConfig({ projectRoot: resolveProjectRoot() });
  return config.general.paths.pid;
}

/** The running master's pid, or a clear error when no cluster runs there. */
function runningMaster(pidFolder: string): number {
  const pidfile = path.join(pidFolder, CLUSTER_PIDFILE);
  const pid = readPidfile(pidfile);
  if (pid === null || !isAlive(pid)) throw new MyclusterError(`no cluster is running (no live pid in ${pidfile})`);
  return pid;
}

/** Poll until `check` returns a value, or fail with `what` after the timeout. */
function waitFor<T>(check: () => T | undefined, timeoutS: number, what: string): Promise<T> {
  return pollUntil(check, timeoutS * 1000, () => new MyclusterError(`timed out after ${timeoutS} s waiting for ${what}`));
}

/** The state the running master published, or undefined before it has (or while the file is an older master's). */
function publishedState(pidFolder: string, masterPid: number): ClusterState | undefined {
  const state = readStateFile(path.join(pidFolder, STATE_FILE));
  return state && state.master.pid === masterPid ? state : undefined;
}

/** Print the cluster's state; with `timeout`, wait up to that many seconds for a starting master to publish it. */
export async function status(options: LocateOptions & { json?: boolean }): Promise<void> {
  const pidFolder = await pidFolderOf(options);
  const masterPid = runningMaster(pidFolder);
  const state =
    options.timeout === undefined
      ? publishedState(pidFolder, masterPid)
      : await waitFor(
          () => {
            if (!isAlive(masterPid)) throw new MyclusterError(`the cluster (pid ${masterPid}) exited before it published its state`);
            return publishedState(pidFolder, masterPid);
          },
          options.timeout,
          `the cluster (pid ${masterPid}) to publish its state`,
        );
  if (!state) throw new MyclusterError(`the cluster (pid ${masterPid}) has not published its state yet; try again, or wait for it with --timeout`);
  process.stdout.write(options.json ? `${JSON.stringify(state, null, 2)}\n` : formatStatus(state));
}

function formatDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h${Math.floor((seconds % 3600) / 60)}m`;
}

function formatStatus(state: ClusterState): string {
  const age = Date.now() - state.updatedAt;
  const lines = [
    `master pid ${state.master.pid}, up ${formatDuration(state.master.uptimeMs + age)}, ${state.desiredWorkers} workers` +
      (state.reload ? `, reload #${state.reload.id} under way` : '') +
      (state.stopping ? ', stopping' : ''),
  ];
  const rows = [['slot', 'pid', 'state', 'uptime', 'restarts', 'rss', 'redis', 'last exit']];
  for (const slot of state.slots) {
    const worker = slot.worker;
    rows.push([
      `#${slot.slot}`,
      worker ? String(worker.pid) : '-',
      worker ? worker.state : 'restarting',
      worker ? formatDuration(worker.uptimeMs + age) : '-',
      String(slot.restarts),
      worker?.rss ? `${Math.round(worker.rss / 1048576)} MB` : '-',
      describeRedisHealth(worker?.redis ?? undefined),
      slot.lastExit ? slot.lastExit.reason : '-',
    ]);
    if (slot.replacement)
      rows.push([
        `#${slot.slot}`,
        String(slot.replacement.pid),
        `${slot.replacement.state} (replacement)`,
        formatDuration(slot.replacement.uptimeMs + age),
        '',
        '',
        '',
        '',
      ]);
  }
  for (const worker of state.draining)
    rows.push([`#${worker.slot}`, String(worker.pid), 'stopping (old)', formatDuration(worker.uptimeMs + age), '', '', '', '']);
  if (state.spare)
    rows.push([
      'spare',
      String(state.spare.pid),
      state.spare.standingBy ? 'standing by' : 'starting',
      formatDuration(Date.now() - state.spare.startedAt),
      '',
      '',
      '',
      '',
    ]);
  lines.push(formatTable(rows));
  return `${lines.join('\n')}\n`;
}

export async function reload(options: LocateOptions): Promise<void> {
  const pidFolder = await pidFolderOf(options);
  const masterPid = runningMaster(pidFolder);
  const stateFile = path.join(pidFolder, STATE_FILE);
  const requestedAt = Date.now();
  process.kill(masterPid, 'SIGUSR2');
  const result = await waitFor(
    () => {
      if (!isAlive(masterPid)) throw new MyclusterError(`the cluster (pid ${masterPid}) exited during the reload`);
      const last = readStateFile(stateFile)?.lastReload;
      return last && last.requestedAt >= requestedAt ? last : undefined;
    },
    options.timeout ?? DEFAULT_TIMEOUT_S.reload,
    `the reload of the cluster (pid ${masterPid}) to finish`,
  );
  if (!result.ok) throw new MyclusterError(`reload aborted: ${result.error}`);
  process.stdout.write(`reload #${result.id} done in ${result.finishedAt - result.startedAt} ms\n`);
}

export async function stop(options: LocateOptions): Promise<void> {
  const pidFolder = await pidFolderOf(options);
  const masterPid = runningMaster(pidFolder);
  process.kill(masterPid, 'SIGTERM');
  await waitFor(() => (isAlive(masterPid) ? undefined : true), options.timeout ?? DEFAULT_TIMEOUT_S.stop, `the cluster (pid ${masterPid}) to stop`);
  process.stdout.write(`stopped (pid ${masterPid})\n`);
}
