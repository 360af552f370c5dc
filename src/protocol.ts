/**
 * Every message between the master and a worker, over the node:cluster IPC channel.
 * Each carries `mycluster: 1` so it can never be confused with another library's messages.
 */

/** One Redis connection of a worker, as its heartbeat reports it. */
export interface RedisConnectionHealth {
  /** How long the connection has been down, in ms; null while it is up. */
  downMs: number | null;
  /** While down: whether a fresh connection reached Redis at the last probe (null: not probed yet). */
  reachable: boolean | null;
  /**
   * While down: how long fresh connections have reached Redis, in ms, since the first probe that did (null:
   * none has). Not downMs: a connection down through an outage is not dead for the seconds it takes to reconnect.
   */
  reachableMs: number | null;
}

/** The worker's Redis connections that exist so far (each is opened on first use). */
export interface WorkerRedisHealth {
  tasks?: RedisConnectionHealth;
  enqueue?: RedisConnectionHealth;
  app?: RedisConnectionHealth;
}

export interface WorkerHeartbeat {
  /** Resident set size in bytes. */
  rss: number;
  /** Worst event-loop delay since the last heartbeat, in ms. */
  loopDelayMs: number;
  redis: WorkerRedisHealth;
}

/** Worker → master. */
export type WorkerMessage =
  | { mycluster: 1; type: 'ready' }
  /** A spare worker has loaded mycluster and waits to be given a slot. */
  | { mycluster: 1; type: 'spare-ready' }
  | { mycluster: 1; type: 'boot-failed'; error: string }
  | { mycluster: 1; type: 'heartbeat'; heartbeat: WorkerHeartbeat }
  | { mycluster: 1; type: 'stopping'; reason: string }
  | { mycluster: 1; type: 'fatal'; error: string };

/** Master → worker. */
export type MasterMessage =
  /** `restart`: the worker is being replaced (a rolling reload), so its clients should come back (websocket close 1012). */
  | { mycluster: 1; type: 'stop'; reason: string; restart: boolean }
  /** To a spare: take this slot, boot the app (reading the config afresh) and report ready. */
  | { mycluster: 1; type: 'activate'; slot: number; title: string }
  | { mycluster: 1; type: 'reopen-logs' };

export type WorkerMessageType = WorkerMessage['type'];
export type MasterMessageType = MasterMessage['type'];

/** A message without its `mycluster` tag (distributed over the union, so each variant keeps its fields). */
type Untagged<M> = M extends unknown ? Omit<M, 'mycluster'> : never;

export function workerMessage(message: Untagged<WorkerMessage>): WorkerMessage {
  return { mycluster: 1, ...message } as WorkerMessage;
}

export function masterMessage(message: Untagged<MasterMessage>): MasterMessage {
  return { mycluster: 1, ...message } as MasterMessage;
}

function isOurs(value: unknown): value is { mycluster: 1; type: string } {
  return typeof value === 'object' && value !== null && (value as { mycluster?: unknown }).mycluster === 1;
}

const workerTypes: ReadonlySet<string> = new Set<WorkerMessageType>(['ready', 'spare-ready', 'boot-failed', 'heartbeat', 'stopping', 'fatal']);
const masterTypes: ReadonlySet<string> = new Set<MasterMessageType>(['stop', 'activate', 'reopen-logs']);

export function isWorkerMessage(value: unknown): value is WorkerMessage {
  return isOurs(value) && workerTypes.has(value.type);
}

export function isMasterMessage(value: unknown): value is MasterMessage {
  return isOurs(value) && masterTypes.has(value.type);
}

/** Environment the master gives each worker it forks. A spare gets no slot (it is given one on activation). */
export const WORKER_ENV = {
  slot: 'MYCLUSTER_WORKER_SLOT',
  title: 'MYCLUSTER_WORKER_TITLE',
  projectRoot: 'PROJECT_ROOT',
  heartbeatMs: 'MYCLUSTER_HEARTBEAT_MS',
} as const;

/** Exit code of a worker that could not boot (config, listen, initializer): the master must not crash-loop on it. */
export const EXIT_BOOT_FAILED = 3;
