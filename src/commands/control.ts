/** `mycluster status`, `reload` and `stop`: act on a running cluster through its pidfile and state file. */
import fs from 'node:fs';
import path from 'node:path';
import { MyclusterError } from '../errors';
import { describeRedisHealth } from '../master/redis-health';
import { type ClusterState, readStateFile, STATE_FILE } from '../master/state';
import { isAlive } from '../pids';
import { resolveProjectRoot } from '../shared/project';
import { type LocateOptions, locateCluster, publishedState, waitFor } from './locate';
import { reportResult } from './progress';
import { formatTable } from './table';

const DEFAULT_TIMEOUT_S = { reload: 300, stop: 120 };

/** Print the cluster's state; with `timeout`, wait up to that many seconds for a starting master to publish it. */
export async function status(options: LocateOptions & { json?: boolean }): Promise<void> {
  const cluster = await locateCluster(options);
  const { masterPid } = cluster;
  const state =
    options.timeout === undefined
      ? publishedState(cluster)
      : await waitFor(
          () => {
            if (!isAlive(masterPid)) throw new MyclusterError(`the cluster (pid ${masterPid}) exited before it published its state`);
            return publishedState(cluster);
          },
          options.timeout,
          `the cluster (pid ${masterPid}) to publish its state`,
        );
  if (!state) throw new MyclusterError(`the cluster (pid ${masterPid}) has not published its state yet; try again, or wait for it with --timeout`);
  process.stdout.write(options.json ? `${JSON.stringify(state, null, 2)}\n` : formatStatus(state));
  const installed = installedVersion();
  if (!options.json && installed && state.master.version && installed !== state.master.version) {
    process.stderr.write(`warning: mycluster ${installed} is installed, the master runs ${state.master.version}: run mycluster upgrade\n`);
  }
}

/** The version of the mycluster the project has installed now (what an upgrade would start), if it has one. */
function installedVersion(): string | undefined {
  const file = path.join(resolveProjectRoot(), 'node_modules', 'mycluster', 'package.json');
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
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
    `master pid ${state.master.pid}${state.master.version ? ` (mycluster ${state.master.version}${state.master.upgrades ? `, ${state.master.upgrades} upgrade${state.master.upgrades === 1 ? '' : 's'}` : ''})` : ''}, up ${formatDuration(state.master.uptimeMs + age)}, ${state.desiredWorkers} workers` +
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

/** USR2, then wait for the reload's result; each slot's replacement is reported as it happens. */
export async function reload(options: LocateOptions & { json?: boolean }): Promise<void> {
  await reportResult('reload', options.json, async (progress) => {
    const cluster = await locateCluster(options);
    const { masterPid } = cluster;
    const stateFile = path.join(cluster.pidFolder, STATE_FILE);
    progress.start(publishedState(cluster));
    const requestedAt = Date.now();
    process.kill(masterPid, 'SIGUSR2');
    const [state, last] = await waitFor(
      () => {
        if (!isAlive(masterPid)) throw new MyclusterError(`the cluster (pid ${masterPid}) exited during the reload`);
        const state = readStateFile(stateFile);
        if (state) progress.observe(state);
        const last = state?.lastReload;
        return state && last && last.requestedAt >= requestedAt ? ([state, last] as const) : undefined;
      },
      options.timeout ?? DEFAULT_TIMEOUT_S.reload,
      `the reload of the cluster (pid ${masterPid}) to finish`,
    );
    progress.observe(state);
    if (!last.ok) throw new MyclusterError(`reload aborted: ${last.error}`);
    const durationMs = last.finishedAt - last.startedAt;
    return { result: { masterPid, reload: { id: last.id, reason: last.reason, durationMs } }, text: `reload #${last.id} done in ${durationMs} ms\n` };
  });
}

/** TERM, then wait until the master is gone; each worker is reported as it stops. */
export async function stop(options: LocateOptions & { json?: boolean }): Promise<void> {
  await reportResult('stop', options.json, async (progress) => {
    const cluster = await locateCluster(options);
    const { masterPid } = cluster;
    progress.start(publishedState(cluster));
    const requestedAt = Date.now();
    process.kill(masterPid, 'SIGTERM');
    await waitFor(
      () => {
        progress.observeStop();
        return isAlive(masterPid) ? undefined : true;
      },
      options.timeout ?? DEFAULT_TIMEOUT_S.stop,
      `the cluster (pid ${masterPid}) to stop`,
    );
    progress.observeStop();
    return { result: { masterPid, durationMs: Date.now() - requestedAt }, text: `stopped (pid ${masterPid})\n` };
  });
}
