import path from 'node:path';
import type { Logger } from 'pino';
import type { Config, Role } from '../config/types';
import { errorMessage } from '../errors';
import { LazyConnections } from './connections';
import { loadInitializers, startInitializers } from './initializers';
import type { TaskProcessing } from './tasks';
import { loadTaskDefinitions } from './tasks/definitions';
import type { AppContext } from './types';
import { loadActions, startWebServer, type WebServer } from './web';
import { loadOwnHandler, type OwnHandler } from './web/own-handler';

export interface AppOptions {
  config: Config;
  log: Logger;
  role: Role;
  projectRoot: string;
  /** Cluster slot, or null for a single process. */
  workerSlot: number | null;
  /** True in a node:cluster worker (the master owns the listening socket). */
  clustered: boolean;
}

export interface RunningApp {
  /** From now on the status action answers 503 "stopping" (`reason`); everything else is served as before. */
  announceStop(reason: string): void;
  /** Stop accepting, finish in-flight requests and the job in hand, stop initializers, close Redis. */
  stop(): Promise<void>;
  /** Queue lengths, read on the task connection; only an app that processes tasks has one. */
  queueLengths?: () => Promise<Record<string, number>>;
}

/** ms an initializer's start() or stop() may take. */
const INITIALIZER_TIMEOUT_MS = 30_000;

/**
 * Boot the app runtime in this process: Redis and the task queue (connected lazily), the user's
 * initializers, the web server, then task processing. Resolves once every enabled part has started:
 * the moment the worker may report ready.
 */
export async function startApp(options: AppOptions): Promise<RunningApp> {
  const { config, log } = options;
  const definitions = await loadTaskDefinitions(config.general.paths.tasks);
  const connections = new LazyConnections(config, definitions, log);
  const context: AppContext = {
    config,
    log,
    tasks: connections.tasks,
    get redis() {
      return connections.redis;
    },
    role: options.role,
    workerSlot: options.workerSlot,
    projectRoot: options.projectRoot,
  };
  // With no role set (development), a process works only the tasks its app defines, so an app without
  // tasks needs no Redis. With ACTIONHERO_ROLE set, the config decides: a worker polls for what others enqueue.
  const processesTasks = (config.tasks.maxTaskProcessors > 0 || config.tasks.scheduler) && (definitions.size > 0 || options.role !== 'all');

  let stoppingReason: string | null = null;
  let stopInitializers: (() => Promise<void>) | undefined;
  let webServer: WebServer | undefined;
  let ownHandler: OwnHandler | undefined;
  let processing: TaskProcessing | undefined;
  const logStopError = (error: unknown): void => log.error({ err: error }, `while stopping: ${errorMessage(error)}`);
  // The web server and the task processors drain side by side; initializers stop after both.
  const teardown = async (): Promise<void> => {
    const drainWeb = async (): Promise<void> => {
      await webServer?.drain();
      await ownHandler?.close?.();
    };
    await Promise.all([drainWeb().catch(logStopError), processing?.stop().catch(logStopError)]);
    await stopInitializers?.().catch(logStopError);
    await connections.close();
  };

  try {
    stopInitializers = await startInitializers(await loadInitializers(config.general.paths.initializers), context, INITIALIZER_TIMEOUT_MS);

    const web = config.servers.web;
    if (web.enabled) {
      ownHandler = web.handler ? await loadOwnHandler(path.resolve(options.projectRoot, web.handler), context) : undefined;
      const actions = ownHandler ? new Map() : await loadActions(config.general.paths.actions, log);
      webServer = await startWebServer({
        config,
        context,
        actions,
        handler: ownHandler?.listener,
        log,
        clustered: options.clustered,
        statusReport: () => connections.status({ tasks: definitions.size > 0 || processesTasks }),
        stoppingReason: () => stoppingReason,
      });
    }

    if (processesTasks) {
      const { startTaskProcessing } = await import('./tasks/index.js');
      processing = await startTaskProcessing({ config, context, definitions, log });
    }
  } catch (error) {
    await teardown();
    throw error;
  }
  const running = processing;
  return {
    announceStop: (reason) => {
      stoppingReason ??= reason;
    },
    stop: teardown,
    ...(running && { queueLengths: () => running.queueLengths() }),
  };
}
