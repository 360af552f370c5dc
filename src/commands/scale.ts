/** `mycluster scale N | +N | -N`: set the worker count through TTIN/TTOU and wait until it holds. */
import { MyclusterError, UsageError } from '../errors';
import type { ClusterState } from '../master/state';
import { isAlive } from '../pids';
import { pollUntil } from '../shared/deadline';
import { type Located, type LocateOptions, locateCluster, publishedState } from './locate';
import { reportResult } from './progress';

const DEFAULT_TIMEOUT_S = 120;

/** A worker count (`3`) or a change to the current one (`+2`, `-1`). */
export type ScaleTarget = { count: number } | { delta: number };

export function targetCount(target: ScaleTarget, current: number): number {
  const count = 'count' in target ? target.count : current + target.delta;
  if (count < 1) throw new UsageError(`cannot scale to ${count} workers: the cluster runs ${current} and keeps at least one`);
  return count;
}

/** Is the cluster at `count` ready workers, at rest, with the workers of removed slots gone? */
export function scaledTo(state: ClusterState, count: number): boolean {
  return state.desiredWorkers === count && state.equilibrium && state.slots.length === count && !state.draining.some((worker) => worker.slot > count);
}

/** Why the cluster is not at `count` ready workers yet: one short clause per slot that is not ready. */
export function notReadyReason(state: ClusterState | undefined, count: number): string {
  if (!state) return 'the cluster has published no state';
  if (state.desiredWorkers !== count) return `the master still wants ${state.desiredWorkers} workers`;
  const slots = state.slots
    .filter((slot) => slot.worker?.state !== 'ready' || slot.replacement)
    .map((slot) => `slot ${slot.slot} ${slot.worker?.state ?? 'restarting'}${slot.lastExit ? ` (last exit: ${slot.lastExit.reason})` : ''}`);
  const draining = state.draining.filter((worker) => worker.slot > count).map((worker) => `slot ${worker.slot} (pid ${worker.pid}) still stopping`);
  return [...slots, ...draining].join(', ') || (state.reload ? `reload #${state.reload.id} under way` : 'not at rest yet');
}

export async function scale(target: ScaleTarget, options: LocateOptions & { json?: boolean }): Promise<void> {
  await reportResult('scale', options.json, async (progress) => {
    const cluster = await locateCluster(options);
    const { masterPid } = cluster;
    const timeoutS = options.timeout ?? DEFAULT_TIMEOUT_S;
    const startedAt = Date.now();
    const deadline = startedAt + timeoutS * 1000;
    let count = 0;
    let last: ClusterState | undefined;
    const poll = (check: (state: ClusterState) => boolean, what: string): Promise<ClusterState> =>
      pollUntil(
        () => {
          last = currentState(cluster);
          return last && check(last) ? last : undefined;
        },
        deadline - Date.now(),
        () => new MyclusterError(`timed out after ${timeoutS} s waiting for ${what}: ${notReadyReason(last, count)}`),
      );

    let state = await poll(() => true, 'the cluster to publish its state');
    progress.start(state);
    const reporting =
      (check: (state: ClusterState) => boolean) =>
      (now: ClusterState): boolean => {
        progress.observe(now);
        return check(now);
      };
    const from = state.desiredWorkers;
    count = targetCount(target, from);
    // One signal at a time, each seen in the state before the next: the kernel merges a signal sent
    // again before the master took the first, and someone else may scale meanwhile.
    while (state.desiredWorkers !== count) {
      const desired = state.desiredWorkers;
      process.kill(masterPid, desired < count ? 'SIGTTIN' : 'SIGTTOU');
      state = await poll(
        reporting((now) => now.desiredWorkers !== desired),
        `the master to take the change to ${desired < count ? desired + 1 : desired - 1} workers`,
      );
    }
    state = await poll(
      reporting((now) => scaledTo(now, count)),
      `${count} ready workers`,
    );
    const workers = state.slots.map((slot) => ({ slot: slot.slot, pid: slot.worker?.pid }));
    return {
      result: { masterPid, from, to: count, durationMs: Date.now() - startedAt, workers },
      text: `${count} worker${count === 1 ? '' : 's'} ready (was ${from})\n`,
    };
  });
}

/** The published state, failing when the master is gone or stopping. */
function currentState(cluster: Located): ClusterState | undefined {
  if (!isAlive(cluster.masterPid)) throw new MyclusterError(`the cluster (pid ${cluster.masterPid}) exited`);
  const state = publishedState(cluster);
  if (state?.stopping) throw new MyclusterError(`the cluster (pid ${cluster.masterPid}) is stopping`);
  return state;
}
