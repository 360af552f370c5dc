import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from 'pino';
import { loadConfig } from '../config';
import type { Config } from '../config/types';
import { errorMessage } from '../errors';
import { CLUSTER_PIDFILE, claimPidfile, preparePidFolder, removePidfile, removePidfilesOf, writePidfile } from '../pids';
import { createLogger } from '../shared/logger';
import { watchProcfileRunner } from '../shared/procfile-runner';
import { resolveProjectRoot } from '../shared/project';
import { Arbiter } from './arbiter';
import { ChildProcesses } from './child-processes';
import { currentWorkerOrigin, forkWorker } from './fork';
import { keep } from './keeper';
import { bindListener, type Listener } from './listeners';
import type { MetricsService } from './metrics';
import { STATE_FILE, StateFileWriter } from './state';
import { checkPidfileForTakeover, Predecessor, successorListeners, takeHandoff } from './successor';
import { startSystemdNotify } from './systemd';
import { Upgrade, type UpgradeResult } from './upgrade';
import { watchProject } from './watch';

export interface ClusterOptions {
  /** From --workers; else config.cluster.workers; else CPUs - 1 (at least 1). */
  workers?: number;
  workerTitlePrefix?: string;
  /** Rolling reload when project files change (development). */
  watch?: boolean;
}

/**
 * Workers heartbeat every sixth of workerTimeout, at most every 5 s: a hang is seen within the timeout, and
 * an idle master handles few messages (each leaves garbage that refills the heap between collections).
 */
function heartbeatInterval(workerTimeout: number): number {
  return workerTimeout > 0 ? Math.min(5_000, Math.max(250, Math.round(workerTimeout / 6))) : 5_000;
}

/** A worker is gone: so are the pidfiles its app wrote under its own names (ActionHero's `actionhero-<id>`). */
function removeAppPidfiles(pidFolder: string, pid: number, log: Logger): void {
  const removed = removePidfilesOf(pidFolder, pid);
  if (removed.length > 0) log.debug({ pid, removed }, `removed the pidfiles of exited worker ${pid}: ${removed.join(', ')}`);
}

export function defaultWorkerCount(config: Config): number {
  return config.cluster.workers > 0 ? config.cluster.workers : Math.max(1, os.availableParallelism() - 1);
}

/** Beyond readyTimeout, the time a new master has to load, read its config and fork before it counts as failed. */
const UPGRADE_MARGIN_MS = 15_000;

/** The running mycluster package's version, for `status` and upgrades. */
const VERSION = (require('../../package.json') as { version: string }).version;

/**
 * Start the master: read the config once for its own settings, claim the pidfile (or, started by
 * `mycluster upgrade`, take over from the running master), then let the arbiter fork and supervise the
 * workers. Throws (before anything is started) on a bad config or a live pidfile.
 */
export async function runCluster(options: ClusterOptions): Promise<void> {
  const handoff = takeHandoff();
  let arbiter: Arbiter | undefined;
  // The old master's last word (its workers are gone) is published with the next state.
  const predecessor = handoff ? new Predecessor(handoff, () => arbiter?.wakeup()) : null;
  try {
    await startMaster(options, predecessor, (started) => (arbiter = started));
  } catch (error) {
    predecessor?.failed(errorMessage(error));
    throw error;
  }
}

async function startMaster(options: ClusterOptions, predecessor: Predecessor | null, started: (arbiter: Arbiter) => void): Promise<void> {
  const handoff = predecessor?.handoff ?? null;
  const projectRoot = resolveProjectRoot();
  const config = await loadConfig({ projectRoot });
  if (options.workerTitlePrefix !== undefined) config.cluster.workerTitlePrefix = options.workerTitlePrefix;
  const workers = options.workers ?? defaultWorkerCount(config);

  const pidFolder = config.general.paths.pid;
  preparePidFolder(pidFolder);
  const pidfile = path.join(pidFolder, CLUSTER_PIDFILE);
  // A new master started by an upgrade takes the pidfile over once it serves; until then it names the old one.
  if (handoff) checkPidfileForTakeover(pidfile, handoff);
  else {
    await claimPidfile(pidfile, process.pid, {
      mode: config.general.pidFileMode,
      what: 'a mycluster cluster',
      hint: 'a second cluster in this checkout needs a pid folder of its own: start it with --pids <dir>',
    });
  }

  const logFile = process.env.MYCLUSTER_LOG_FILE || undefined;
  const log = createLogger({ level: config.logger.level, role: 'master', file: logFile });
  const stateFile = new StateFileWriter(path.join(pidFolder, STATE_FILE));
  let listeners: Listener[];
  let metrics: MetricsService | undefined;
  const startMetricsServer = async (): Promise<void> => {
    if (!config.metrics.enabled) return;
    // Required only when on: with metrics off the master loads none of it.
    const { startMetrics } = require('./metrics/index.js') as typeof import('./metrics/index.js');
    metrics = await startMetrics(config.metrics, config.servers.web.socketMode);
    log.info({ address: metrics.address }, `serving metrics on ${metrics.address}`);
  };
  try {
    const web = config.servers.web;
    listeners = handoff ? await successorListeners(web, handoff) : web.enabled ? [await bindListener(web)] : [];
    // The old master serves metrics until it hands over: a new master opens its metrics server after taking over.
    if (!handoff) await startMetricsServer();
  } catch (error) {
    if (!handoff) removePidfile(pidfile, process.pid);
    throw error;
  }
  const closeListeners = (): void => {
    for (const listener of listeners.splice(0)) listener.close();
  };

  process.title = `mycluster master ${projectRoot}`;
  // systemd's variables, before startSystemdNotify takes them out of the environment: a new master gets them.
  const systemdEnv = { NOTIFY_SOCKET: process.env.NOTIFY_SOCKET, WATCHDOG_USEC: process.env.WATCHDOG_USEC };
  const childProcesses = new ChildProcesses({ enabled: config.cluster.stopChildProcesses, graceMs: config.cluster.stopTimeout, log });
  const systemd = startSystemdNotify(log);
  /** This master owns cluster_pidfile and the state file: from the start, or once an upgrade's new master serves. */
  let serving = !handoff;
  let successor: ChildProcess | null = null;
  let adoptedBySuccessor = new Set<string>();
  let lastUpgrade: UpgradeResult | null = null;
  const upgrades = handoff?.upgrades ?? 0;

  const upgrade = new Upgrade({
    log,
    pidFolder,
    listeners: () => listeners,
    upgrades,
    timeoutMs: config.cluster.readyTimeout + UPGRADE_MARGIN_MS,
    env: Object.fromEntries(Object.entries(systemdEnv).filter(([, value]) => value !== undefined)),
    handOver: (child, adopted) => {
      successor = child;
      adoptedBySuccessor = new Set(adopted);
      metrics?.close();
      arbiter.shutdown(`handed over to the new master (pid ${child.pid})`, 0, { restart: true });
    },
    finished: (result) => {
      lastUpgrade = result;
      if (!result.ok) arbiter.rewritePidfiles();
      arbiter.wakeup();
    },
  });

  /** An upgrade's new master: all its workers are ready; take the pidfile and let the old master go. */
  const takeOver = (): void => {
    if (serving || !predecessor) return;
    serving = true;
    writePidfile(pidfile, process.pid, config.general.pidFileMode);
    log.info({ from: predecessor.handoff.from, upgrades }, `took over from the old master (pid ${predecessor.handoff.from}): this master serves now`);
    predecessor.ready(listeners);
    void startMetricsServer().catch((error: unknown) => log.error({ err: error }, `cannot serve metrics: ${errorMessage(error)}`));
  };

  const arbiter = new Arbiter({
    workers,
    cluster: config.cluster,
    pidFolder,
    pidFileMode: config.general.pidFileMode,
    log,
    fork: (slot) =>
      childProcesses.follow(
        forkWorker(slot, {
          titlePrefix: config.cluster.workerTitlePrefix,
          heartbeatMs: heartbeatInterval(config.cluster.workerTimeout),
          metrics: config.metrics.enabled,
          listeners,
        }),
      ),
    currentOrigin: currentWorkerOrigin,
    publish: (state) => {
      // Before an upgrade's new master takes over, and after an old master handed over, the other one publishes.
      if (!serving || successor) return;
      const published = {
        ...state,
        master: {
          ...state.master,
          version: VERSION,
          upgrades,
          upgradedFrom: predecessor ? { pid: predecessor.handoff.from, drained: predecessor.drained } : null,
        },
        lastUpgrade,
        ...(logFile && { logFile }),
      };
      stateFile.publish(published);
      systemd?.onState(state);
      metrics?.publish(published);
    },
    onEvent: (event) => {
      if (event.type === 'equilibrium') takeOver();
      if (event.type === 'stopping') upgrade.abort();
      if (event.type === 'worker-exit') removeAppPidfiles(pidFolder, event.pid, log);
      if (successor) return; // handed over: the new master speaks for the cluster
      if (event.type === 'draining') closeListeners();
      systemd?.onEvent(event);
      metrics?.record(event);
    },
    upgrade: {
      request: (refusal) => {
        if (upgrade.running) {
          log.info('upgrade requested during an upgrade: it is answered by the one under way');
        } else if (refusal) {
          log.warn({ error: refusal }, `upgrade refused: ${refusal}`);
          lastUpgrade = { ok: false, error: refusal, from: process.pid, to: null, requestedAt: Date.now(), finishedAt: Date.now() };
        } else {
          upgrade.start();
        }
      },
      get running() {
        return upgrade.running;
      },
    },
    exit: (code) => {
      metrics?.close();
      void (async () => {
        // The cluster is stopped once what its workers started is gone too, and a new master that did not take over.
        await Promise.all([childProcesses.settled(), upgrade.settled()]);
        if (successor) {
          upgrade.predecessorDrained();
          log.info(`the workers of this master (pid ${process.pid}) are gone: upgrade complete`);
          // The process a platform started stays, unless a daemon's pidfile or systemd (MAINPID) follows the new master.
          if (!logFile && !systemdEnv.NOTIFY_SOCKET) {
            // A listener the new master does not serve on (its config changed the port or path) closes now; one
            // it serves on stays open here unless it is TCP: closing a bound unix socket would remove its file.
            for (const listener of listeners) if (!adoptedBySuccessor.has(listener.address) || !listener.socketPath) listener.close();
            keep(successor, pidfile, log);
            return;
          }
        } else {
          stateFile.remove();
          removePidfile(pidfile, process.pid);
          // An inherited unix socket was not bound by this process: closing it did not remove its file.
          for (const socketPath of adoptedSocketPaths) fs.rmSync(socketPath, { force: true });
        }
        process.exit(code);
      })();
    },
  });
  started(arbiter);
  const adoptedSocketPaths = handoff ? listeners.flatMap((listener) => (listener.socketPath ? [listener.socketPath] : [])) : [];
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, `master error: ${error.message}; stopping the cluster`);
    arbiter.shutdown('master error', 1);
  });
  log.info({ projectRoot, pidfile, version: VERSION, upgradedFrom: handoff?.from }, `mycluster master started (pid ${process.pid})`);
  arbiter.start();
  // A new master's parent is the old master (then its keeper), not the Procfile runner.
  if (!handoff) {
    watchProcfileRunner((runnerPid) => {
      log.warn({ runnerPid }, `the Procfile runner (parent pid ${runnerPid}) exited without stopping this line: stopping the cluster`);
      arbiter.shutdown('Procfile runner gone', 0);
    });
  }
  if (options.watch) await watchProject(projectRoot, log, (reason) => arbiter.triggerReload(reason));
}
