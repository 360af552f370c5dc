import cluster, { type Worker } from 'node:cluster';
import { WORKER_ENV } from '../protocol';
import { resolveProjectRoot, resolveWorkerEntry } from '../shared/project';

export interface ForkSettings {
  titlePrefix: string;
  heartbeatMs: number;
}

/**
 * Fork the worker for a slot. The project root and the worker entry are resolved anew at every fork,
 * so after a symlinked release moved, the new worker runs the new release's code and config.
 */
export function forkWorker(slot: number, settings: ForkSettings): Worker {
  const projectRoot = resolveProjectRoot();
  cluster.setupPrimary({ exec: resolveWorkerEntry(projectRoot), cwd: projectRoot, args: [] });
  return cluster.fork({
    [WORKER_ENV.slot]: String(slot),
    [WORKER_ENV.title]: `${settings.titlePrefix}${slot}`,
    [WORKER_ENV.projectRoot]: projectRoot,
    [WORKER_ENV.heartbeatMs]: String(settings.heartbeatMs),
  });
}
