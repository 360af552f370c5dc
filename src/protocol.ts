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
  /** Only when the master serves metrics (WORKER_ENV.metrics). */
  metrics?: WorkerMetrics;
}

/** Upper bounds, in seconds, of the HTTP request-duration histogram's buckets (then +Inf). */
export const HTTP_DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A worker's counters since its process started: cumulative, so a lost heartbeat loses nothing. */
export interface WorkerMetrics {
  /** User + system CPU time of the process, in seconds. */
  cpuSeconds: number;
  /** HTTP responses by status class: index 0 counts 1xx, … index 4 counts 5xx. */
  httpResponses: number[];
  /** Responses per duration bucket (HTTP_DURATION_BUCKETS, then one past the last bound); not cumulative. */
  httpDurationCounts: number[];
  /** Sum of the response durations, in seconds. */
  httpDurationSum: number;
  /** Task jobs by queue: `processed` succeeded, `failed` failed (as resque's stat:processed and stat:failed). */
  jobs: Record<string, { processed: number; failed: number }>;
  /** Queue lengths as last read on the worker's task connection (only a worker that processes tasks). */
  queueLengths?: Record<string, number>;
}

/** Worker → master. */
export type WorkerMessage =
  | { mycluster: 1; type: 'ready' }
  /** A spare worker has loaded mycluster and waits to be given a slot. */
  | { mycluster: 1; type: 'spare-ready' }
  | { mycluster: 1; type: 'boot-failed'; error: string }
  /** Every heartbeatMs, and once more after a graceful stop's drain (so the drain's requests count). */
  | { mycluster: 1; type: 'heartbeat'; heartbeat: WorkerHeartbeat }
  | { mycluster: 1; type: 'stopping'; reason: string }
  | { mycluster: 1; type: 'fatal'; error: string };

/** Master → worker. */
export type MasterMessage =
  /** `restart`: the worker is being replaced (a rolling reload), so its clients should come back (websocket close 1012). */
  | { mycluster: 1; type: 'stop'; reason: string; restart: boolean }
  /** The cluster stops soon (cluster.unreadyBeforeStop): the status action answers 503 from now on; serve the rest as usual. */
  | { mycluster: 1; type: 'unready'; reason: string }
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
const masterTypes: ReadonlySet<string> = new Set<MasterMessageType>(['stop', 'unready', 'activate', 'reopen-logs']);

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
  /** '1' when the master serves metrics: the worker then counts and reports them. */
  metrics: 'MYCLUSTER_METRICS',
  /** JSON `[{ address, fd }]`: the master's listening sockets, inherited at these fds (src/master/listeners.ts). */
  listeners: 'MYCLUSTER_LISTENERS',
} as const;

/** Exit code of a worker that could not boot (config, listen, initializer): the master must not crash-loop on it. */
export const EXIT_BOOT_FAILED = 3;

/**
 * Between the two masters of an upgrade (`mycluster upgrade`), over the IPC channel of the new master, which
 * the old one spawned. The new master learns what it takes over from `UPGRADE_ENV`.
 */
export type SuccessorMessage =
  /**
   * New → old: all its workers are ready and `cluster_pidfile` names it; the old master may drain and leave.
   * `adopted`: the addresses of the old master's listeners it serves on (a changed port or path is not among them).
   */
  | { mycluster: 1; type: 'successor-ready'; adopted: string[] }
  /** New → old: it could not start (config, listen); it exits. */
  | { mycluster: 1; type: 'successor-failed'; error: string };

/** Old → new: its workers are gone; the upgrade is complete. */
export type PredecessorMessage = { mycluster: 1; type: 'predecessor-drained' };

const successorTypes: ReadonlySet<string> = new Set<SuccessorMessage['type']>(['successor-ready', 'successor-failed']);

export function isSuccessorMessage(value: unknown): value is SuccessorMessage {
  return isOurs(value) && successorTypes.has(value.type);
}

export function isPredecessorMessage(value: unknown): value is PredecessorMessage {
  return isOurs(value) && value.type === 'predecessor-drained';
}

/** Environment variable (JSON `UpgradeHandoff`) that makes a starting master the successor of a running one. */
export const UPGRADE_ENV = 'MYCLUSTER_UPGRADE';

export interface UpgradeHandoff {
  /** The old master's pid. */
  from: number;
  /** How many upgrades the cluster has been through, this one included. */
  upgrades: number;
  /** The old master's listening sockets, open in the new master at these fds. */
  listeners: Array<{ address: string; fd: number }>;
}
