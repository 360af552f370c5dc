/** The shape of a fully merged config. Every section is filled by the built-in defaults. */

export type Role = 'server' | 'worker' | 'all';

export interface RedisConfig {
  /** `redis://` or `rediss://` URL; wins over host/port/password/db when set. */
  url?: string;
  host: string;
  port: number;
  password?: string;
  db: number;
  /** Redis Sentinel: a list of sentinels and the name of the monitored master. */
  sentinels?: Array<{ host: string; port: number }>;
  name?: string;
  sentinelPassword?: string;
  /** Key prefix for node-resque (its `namespace`). */
  namespace: string;
  /** Extra ioredis options, passed through as they are. */
  options?: Record<string, unknown>;
}

export interface GeneralConfig {
  /** Title of the single process; names its pidfile `mycluster-<id>`. */
  id?: string;
  paths: {
    pid: string;
    log: string;
    actions: string[];
    tasks: string[];
    public: string[];
    initializers: string[];
  };
  /** Param names whose values are replaced by `[FILTERED]` in logs. */
  filteredParams: string[];
  /** File mode of pidfiles, e.g. 0o644 (less the process's umask); the unix socket has `servers.web.socketMode`. */
  pidFileMode: number;
}

export interface ClusterConfig {
  /** Workers when `--workers` is not given; 0 means CPUs - 1 (at least 1). */
  workers: number;
  workerTitlePrefix: string;
  /** ms a worker may take to drain and exit once asked to stop; then it is killed. */
  stopTimeout: number;
  /**
   * ms between a TERM or INT and the drain: meanwhile the status action answers 503 "stopping" and every other
   * request is served, so load balancers and readiness probes stop sending traffic first. 0: drain at once.
   */
  unreadyBeforeStop: number;
  /** ms a new worker has to report ready; past it the boot counts as failed. */
  readyTimeout: number;
  /** ms without a heartbeat before a worker counts as hung and is replaced. 0 disables. */
  workerTimeout: number;
  /** RSS in bytes above which a worker is replaced (zero downtime). 0 disables. */
  maxMemory: number;
  /**
   * ms one of a worker's Redis connections may stay down while Redis answers a fresh connection from that
   * worker; past it the worker is replaced (zero downtime). An outage (Redis answers nobody) replaces no one. 0 disables.
   */
  redisDownTimeout: number;
  /**
   * Keep one spare worker forked ahead of need (Node and mycluster loaded, not the app), so a crashed
   * worker's slot is serving again within milliseconds. Costs one idle process.
   */
  spareWorker: boolean;
  /**
   * When a worker (or the single process) exits, the processes it started — children and their descendants,
   * found by the tag they inherit in their environment — get SIGTERM, then SIGKILL after stopTimeout.
   * Off for apps that start daemons on purpose.
   */
  stopChildProcesses: boolean;
  /** Crash restart backoff: first restart at once, then min doubling up to max; reset after resetAfter ms up. */
  restartBackoff: { min: number; max: number; resetAfter: number };
}

export interface WebServerConfig {
  enabled: boolean;
  /** TCP port number, or a unix socket path. */
  port: number | string;
  bindIP: string;
  /** URL prefix for actions. */
  urlPathForActions: string;
  /** Module (relative to the project root) whose export is a request handler `(req, res) => void`. */
  handler?: string;
  /** Largest accepted request body in bytes; more is a 413. */
  bodyLimit: number;
  /** ms a keep-alive connection stays idle before the server closes it. */
  keepAliveTimeout: number;
  /** ms to receive a whole request (headers and body); slow clients get a 408. */
  requestTimeout: number;
  headersTimeout: number;
  /** While draining, an idle keep-alive connection is closed once it has been idle this many ms. */
  drainIdleGrace: number;
  /** ms over which a draining worker tells its connections to close, one after another (0: all at once). */
  drainRamp: number;
  /** Unix socket file mode. */
  socketMode: number;
  /** Static files whose path has a name starting with a dot (`/.env`, `/.git/config`): `ignore` (404, but `/.well-known/`) or `allow`. */
  staticDotfiles: 'ignore' | 'allow';
  /** Seconds static files may be cached: `Cache-Control: public, max-age=<n>` (0: revalidate with ETag every time). */
  staticMaxAge: number;
  metadataOptions: { serverInformation: boolean; requesterInformation: boolean };
}

export interface TasksConfig {
  scheduler: boolean;
  queues: string[];
  minTaskProcessors: number;
  maxTaskProcessors: number;
  /** ms between polls of an empty queue. */
  timeout: number;
  checkTimeout: number;
  maxEventLoopDelay: number;
  /** ms after which a node-resque worker without a heartbeat counts as dead and its job is recovered. */
  stuckWorkerTimeout: number;
  /** Re-enqueue (true) or fail (false) a job whose worker died. */
  retryStuckJobs: boolean;
  /**
   * Replicas that must confirm an enqueue (Redis WAIT) before it resolves; 0 = the master's answer suffices.
   * With Sentinel, 1 means an acknowledged job survives the master's death (replication is asynchronous).
   */
  enqueueReplicas: number;
  /** ms to wait for those replicas; an enqueue not confirmed in time rejects. */
  enqueueReplicaTimeout: number;
}

/** Prometheus metrics, served by the master (see docs/metrics.md). Read once, when the master starts. */
export interface MetricsConfig {
  /** Off by default: the master then loads nothing for metrics. */
  enabled: boolean;
  /** TCP port number, or a unix socket path. */
  port: number | string;
  bindIP: string;
}

export interface LoggerConfig {
  level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface Config {
  general: GeneralConfig;
  cluster: ClusterConfig;
  servers: { web: WebServerConfig } & Record<string, unknown>;
  tasks: TasksConfig;
  redis: RedisConfig;
  logger: LoggerConfig;
  metrics: MetricsConfig;
  /** The app's own sections. */
  [section: string]: unknown;
}

/** What a config file's section may contain: any part of Config, values possibly functions of the config so far. */
export type ConfigValue<T> = T | ((config: Config) => T);
export type ConfigSection = {
  [K in keyof Config]?: ConfigValue<DeepPartialConfig<K extends 'general' ? GeneralConfigInput : Config[K]>>;
};
/** In a config file, a single path may stand for a list: `actions: 'src/actions'`. */
type GeneralConfigInput = Omit<GeneralConfig, 'paths'> & {
  paths: Omit<GeneralConfig['paths'], PathListKey> & { [K in PathListKey]: string | string[] };
};
type PathListKey = 'actions' | 'tasks' | 'public' | 'initializers';
type DeepPartialConfig<T> = T extends Array<unknown> ? T : T extends object ? { [K in keyof T]?: ConfigValue<DeepPartialConfig<T[K]>> | null } : T;
