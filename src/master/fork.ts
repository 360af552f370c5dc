import cluster, { type Worker } from 'node:cluster';
import { WORKER_ENV } from '../protocol';
import { resolveProjectRoot, resolveWorkerEntry } from '../shared/project';

export interface ForkSettings {
  titlePrefix: string;
  heartbeatMs: number;
}

/**
 * Fork the worker for a slot, or a spare (slot null) that waits to be given one. The project root and the
 * worker entry are resolved anew at every fork, so after a symlinked release moved, the new worker runs
 * the new release's code and config.
 */
export function forkWorker(slot: number | null, settings: ForkSettings): { worker: Worker; projectRoot: string } {
  const projectRoot = resolveProjectRoot();
  cluster.setupPrimary({ exec: resolveWorkerEntry(projectRoot), cwd: projectRoot, args: [] });
  const worker = cluster.fork({
    [WORKER_ENV.slot]: slot === null ? '' : String(slot),
    [WORKER_ENV.title]: `${settings.titlePrefix}${slot ?? 'spare'}`,
    [WORKER_ENV.projectRoot]: projectRoot,
    [WORKER_ENV.heartbeatMs]: String(settings.heartbeatMs),
  });
  return { worker, projectRoot };
}
