import cluster, { type Worker } from 'node:cluster';
import fs from 'node:fs';
import { WORKER_ENV } from '../protocol';
import { APP_PROCESS_TAG_ENV } from '../shared/app-processes';
import type { ListenerSpec } from '../shared/listener-spec';
import { resolveProjectRoot, resolveWorkerEntry } from '../shared/project';

export interface ForkedWorker {
  worker: Worker;
  /** What it runs (see currentWorkerOrigin). */
  origin: string;
  /** In its environment, inherited by every process it starts (src/shared/app-processes.ts). */
  tag: string;
}

export interface ForkSettings {
  titlePrefix: string;
  heartbeatMs: number;
  /** The master serves metrics: workers count them and send them with each heartbeat. */
  metrics: boolean;
  /** The master's listening sockets: each worker inherits them and accepts from them itself. */
  listeners: readonly ListenerSpec[];
}

/** A forked worker's fds: stdin, stdout, stderr, the IPC channel, then the listeners. */
const FIRST_LISTENER_FD = 4;

/**
 * Fork the worker for a slot, or a spare (slot null) that waits to be given one. The project root and the
 * worker entry are resolved anew at every fork, so after a symlinked release moved, the new worker runs
 * the new release's code and config.
 */
let forks = 0;

export function forkWorker(slot: number | null, settings: ForkSettings): ForkedWorker {
  const projectRoot = resolveProjectRoot();
  forks += 1;
  const tag = `${process.pid}.${forks}`;
  const entry = resolveWorkerEntry(projectRoot);
  const stdio = [0, 1, 2, 'ipc', ...settings.listeners.map((listener) => listener.fd)];
  const inherited = settings.listeners.map((listener, index) => ({ address: listener.address, fd: FIRST_LISTENER_FD + index }));
  cluster.setupPrimary({ exec: entry, cwd: projectRoot, args: [], stdio });
  const worker = cluster.fork({
    [WORKER_ENV.slot]: slot === null ? '' : String(slot),
    [WORKER_ENV.title]: `${settings.titlePrefix}${slot ?? 'spare'}`,
    [WORKER_ENV.projectRoot]: projectRoot,
    [WORKER_ENV.heartbeatMs]: String(settings.heartbeatMs),
    [WORKER_ENV.listeners]: JSON.stringify(inherited),
    [APP_PROCESS_TAG_ENV]: tag,
    [WORKER_ENV.metrics]: settings.metrics ? '1' : '',
  });
  return { worker, origin: workerOrigin(projectRoot, entry), tag };
}

/**
 * What a worker forked now would run: the project root and the mycluster worker entry, stamped with the
 * entry's mtime and size. A spare forked under another origin (a moved symlink, mycluster reinstalled in
 * place by `npm ci`) is stale: it would run the old mycluster.
 */
export function currentWorkerOrigin(): string {
  const projectRoot = resolveProjectRoot();
  return workerOrigin(projectRoot, resolveWorkerEntry(projectRoot));
}

function workerOrigin(projectRoot: string, entry: string): string {
  let stamp = 'missing';
  try {
    const stat = fs.statSync(entry);
    stamp = `${stat.mtimeMs}:${stat.size}`;
  } catch {
    // The fork itself will fail and say why.
  }
  return `${projectRoot}|${entry}|${stamp}`;
}
