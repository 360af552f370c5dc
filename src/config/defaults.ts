import path from 'node:path';
import { ConfigError } from '../errors';
import type { Config, Role } from './types';

/** `ACTIONHERO_ROLE`: `server`, `worker`, or unset for both (development). */
export function roleFromEnv(env: NodeJS.ProcessEnv): Role {
  const value = env.ACTIONHERO_ROLE;
  if (value === undefined || value === '') return 'all';
  if (value === 'server' || value === 'worker') return value;
  throw new ConfigError(`ACTIONHERO_ROLE must be "server" or "worker" (or unset), got ${JSON.stringify(value)}`, undefined, 'ACTIONHERO_ROLE');
}

export function envBoolean(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  if (/^(true|1|yes|on)$/i.test(value)) return true;
  if (/^(false|0|no|off)$/i.test(value)) return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(value)}`, undefined, name);
}

export function envCount(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value)) throw new ConfigError(`${name} must be a whole number >= 0, got ${JSON.stringify(value)}`, undefined, name);
  return Number(value);
}

function envPort(env: NodeJS.ProcessEnv): number | string | undefined {
  const value = env.PORT;
  if (value === undefined || value === '') return undefined;
  // A number is a TCP port; anything else is a unix socket path.
  return /^\d+$/.test(value) ? Number(value) : value;
}

/**
 * The pid folder `start --pids` chose, passed on to the workers and to `--daemon`'s child. It wins over every
 * layer: a flag on the command line is the most specific setting.
 */
export const PIDS_VARIABLE = 'MYCLUSTER_PIDS';

/** The config keys the built-in defaults take from an env variable, so errors can name the variable. */
export const envVariableOfKey: Readonly<Record<string, string>> = {
  'general.id': 'ACTIONHERO_TITLE',
  'servers.web.enabled': 'ENABLE_WEB_SERVER',
  'servers.web.port': 'PORT',
  'tasks.scheduler': 'SCHEDULER',
  'tasks.minTaskProcessors': 'MIN_TASK_PROCESSORS',
  'tasks.maxTaskProcessors': 'MAX_TASK_PROCESSORS',
  'redis.url': 'REDIS_URL',
};

/** The keys the role presets set, so `mycluster config` can name ACTIONHERO_ROLE as their source. */
export const roleKeys: readonly string[] = ['servers.web.enabled', 'tasks.scheduler', 'tasks.minTaskProcessors', 'tasks.maxTaskProcessors'];

/** Presets per role; explicit env overrides and the project's config files win over them. */
const rolePresets: Record<Role, { web: boolean; scheduler: boolean; minTaskProcessors: number; maxTaskProcessors: number }> = {
  server: { web: true, scheduler: false, minTaskProcessors: 0, maxTaskProcessors: 0 },
  worker: { web: false, scheduler: true, minTaskProcessors: 1, maxTaskProcessors: 10 },
  all: { web: true, scheduler: true, minTaskProcessors: 1, maxTaskProcessors: 2 },
};

/** The built-in defaults: the first layer of every merge. Reads the Procfile-style env overrides. */
export function builtInDefaults(projectRoot: string, env: NodeJS.ProcessEnv, role: Role): Config {
  const preset = rolePresets[role];
  const minTaskProcessors = envCount(env, 'MIN_TASK_PROCESSORS') ?? preset.minTaskProcessors;
  const maxTaskProcessors = envCount(env, 'MAX_TASK_PROCESSORS') ?? Math.max(preset.maxTaskProcessors, minTaskProcessors);
  // Accepted for Procfiles written for ActionHero; mycluster has no TCP or websocket server.
  envBoolean(env, 'ENABLE_TCP_SERVER');
  envBoolean(env, 'ENABLE_WEBSOCKET_SERVER');
  return {
    general: {
      id: env.ACTIONHERO_TITLE || undefined,
      paths: {
        pid: path.join(projectRoot, 'pids'),
        log: path.join(projectRoot, 'log'),
        actions: [path.join(projectRoot, 'actions')],
        tasks: [path.join(projectRoot, 'tasks')],
        public: [path.join(projectRoot, 'public')],
        initializers: [path.join(projectRoot, 'initializers')],
      },
      filteredParams: [],
      pidFileMode: 0o644,
    },
    cluster: {
      workers: 0,
      workerTitlePrefix: 'mycluster-worker-',
      stopTimeout: 30_000,
      unreadyBeforeStop: 0,
      readyTimeout: 30_000,
      workerTimeout: 30_000,
      maxMemory: 0,
      redisDownTimeout: 30_000,
      spareWorker: true,
      stopChildProcesses: true,
      restartBackoff: { min: 200, max: 15_000, resetAfter: 10_000 },
    },
    servers: {
      web: {
        enabled: envBoolean(env, 'ENABLE_WEB_SERVER') ?? preset.web,
        port: envPort(env) ?? 8080,
        bindIP: '0.0.0.0',
        urlPathForActions: 'api',
        bodyLimit: 1024 * 1024,
        keepAliveTimeout: 5_000,
        requestTimeout: 30_000,
        headersTimeout: 10_000,
        drainIdleGrace: 1_000,
        drainRamp: 500,
        socketMode: 0o660,
        staticDotfiles: 'ignore',
        staticMaxAge: 0,
        metadataOptions: { serverInformation: true, requesterInformation: false },
      },
    },
    tasks: {
      scheduler: envBoolean(env, 'SCHEDULER') ?? preset.scheduler,
      queues: ['*'],
      minTaskProcessors,
      maxTaskProcessors,
      timeout: 1_000,
      checkTimeout: 500,
      maxEventLoopDelay: 10,
      stuckWorkerTimeout: 10_000,
      retryStuckJobs: true,
      enqueueReplicas: 0,
      enqueueReplicaTimeout: 1_000,
    },
    redis: {
      url: env.REDIS_URL || undefined,
      host: '127.0.0.1',
      port: 6379,
      db: 0,
      namespace: 'resque',
    },
    logger: { level: 'info' },
    metrics: { enabled: false, port: 9464, bindIP: '127.0.0.1' },
  };
}
