/**
 * An ActionHero (>= 22) project in a mycluster worker: its own `Process` runs instead of mycluster's runtime,
 * with mycluster's guarantees around it. Ready once ActionHero's servers listen; its web server accepts on the
 * master's socket and is drained by mycluster's drain (websockets closed with a close frame) before
 * ActionHero stops; jobs its dead predecessors left claimed are recovered.
 */
import type { Logger } from 'pino';
import type { Config, Role } from '../../config/types';
import { BootError, errorMessage } from '../../errors';
import { inheritedListenerFd } from '../../shared/listener-spec';
import type { RunningApp } from '../app';
import { resqueErrorLogger } from '../tasks/background-errors';
import { guardMultiWorker, type MultiWorkerGuards } from '../tasks/multi-worker-guards';
import { drainServer } from '../web/drain';
import { ACTIONHERO_OVERRIDES_VARIABLE, actionheroOverrides, withUserOverrides } from './overrides';
import { type ActionheroResque, startActionheroRecovery } from './recovery';
import { type ActionheroWebServer, adoptWebServer } from './web';

/** The parts of the `actionhero` package mycluster uses. */
interface ActionheroModule {
  Process: new () => ActionheroProcess;
  api: {
    servers?: { servers?: Record<string, unknown> };
    resque?: ActionheroResque;
  };
  config: { tasks?: { scheduler?: boolean; maxTaskProcessors?: number } };
}

interface ActionheroProcess {
  initialize(): Promise<void>;
  start(): Promise<void>;
  stop(reasons?: string | string[]): Promise<void>;
}

export interface ActionheroAppOptions {
  config: Config;
  log: Logger;
  role: Role;
  projectRoot: string;
  /** In a node:cluster worker: accept on the master's listening socket. */
  clustered: boolean;
  /** Cluster slot, or null for a single process. */
  workerSlot: number | null;
}

/** Where the project's own `actionhero` is. A BootError saying what to install when it has none. */
export function resolveActionhero(projectRoot: string): string {
  try {
    return require.resolve('actionhero', { paths: [projectRoot] });
  } catch (error) {
    throw new BootError(
      `this project runs ActionHero, but actionhero cannot be loaded from ${projectRoot} (${errorMessage(error).split('\n')[0]}): run npm install, or set MYCLUSTER_APP=mycluster`,
      { cause: error },
    );
  }
}

export async function startActionheroApp({ config, log, role, projectRoot, clustered, workerSlot }: ActionheroAppOptions): Promise<RunningApp> {
  const entry = resolveActionhero(projectRoot);
  // ActionHero's process id (its pidfile's name, its server id in Redis) must differ between workers.
  if (process.env.ACTIONHERO_TITLE && workerSlot !== null) process.env.ACTIONHERO_TITLE = `${process.env.ACTIONHERO_TITLE}-${workerSlot}`;
  // ActionHero reads its config (and these overrides) once, when it is first required.
  const ours = actionheroOverrides({ role, env: process.env, port: config.servers.web.port, pidFolder: config.general.paths.pid });
  process.env[ACTIONHERO_OVERRIDES_VARIABLE] = JSON.stringify(withUserOverrides(ours, process.env[ACTIONHERO_OVERRIDES_VARIABLE]));
  const actionhero = require(entry) as ActionheroModule;
  const ah = new actionhero.Process();
  // ActionHero's own signal handlers (registerProcessSignals) are not installed: mycluster's worker decides.
  await ah.initialize();
  const web = actionhero.api.servers?.servers?.web as ActionheroWebServer | undefined;
  const fd = clustered ? inheritedListenerFd(config.servers.web) : undefined;
  if (web) adoptWebServer(web, fd);
  else if (fd !== undefined) {
    log.warn(
      { port: config.servers.web.port },
      `the master listens on ${config.servers.web.port} but ActionHero's web server is off in its config: connections wait unanswered; set ENABLE_WEB_SERVER=false (or servers.web.enabled: false in mycluster/) so the master does not listen`,
    );
  }
  await ah.start();

  const tasks = actionhero.config.tasks;
  const processesTasks = Boolean(tasks?.scheduler) || (tasks?.maxTaskProcessors ?? 0) > 0;
  const stopRecovery = processesTasks && actionhero.api.resque ? startActionheroRecovery(actionhero.api.resque, config.tasks, log) : () => undefined;
  const processors = guardActionheroProcessors(actionhero.api.resque, log);
  log.info({ actionhero: entry, web: Boolean(web?.server), processesTasks }, 'actionhero started');

  let stopped: Promise<void> | undefined;
  return {
    announceStop: () => undefined,
    stop: () => {
      stopped ??= (async () => {
        stopRecovery();
        const server = web?.server;
        // ActionHero's web server stop() destroys every socket: drained first, it finds none left.
        if (server?.listening) await drainServer(server, { idleGrace: config.servers.web.drainIdleGrace, ramp: config.servers.web.drainRamp });
        processors?.beforeEnd();
        await ah.stop('mycluster stop');
        processors?.parkEnded();
      })();
      return stopped;
    },
  };
}

/** mycluster's guards on ActionHero's task processors: at its stop, a processor polling on would crash the process. */
function guardActionheroProcessors(resque: ActionheroResque | undefined, log: Logger): MultiWorkerGuards | undefined {
  const redis = resque?.queue?.connection?.redis;
  if (!resque?.multiWorker || !redis) return undefined;
  return guardMultiWorker(resque.multiWorker, resqueErrorLogger(log, redis, 'ActionHero task processor'));
}
