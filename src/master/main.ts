import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config';
import type { Config } from '../config/types';
import { CLUSTER_PIDFILE, claimPidfile, preparePidFolder, removePidfile } from '../pids';
import { createLogger } from '../shared/logger';
import { watchProcfileRunner } from '../shared/procfile-runner';
import { resolveProjectRoot } from '../shared/project';
import { clearStaleSocket } from '../shared/unix-socket';
import { Arbiter } from './arbiter';
import { ChildProcesses } from './child-processes';
import { currentWorkerOrigin, forkWorker } from './fork';
import type { MetricsService } from './metrics';
import { STATE_FILE, StateFileWriter } from './state';
import { startSystemdNotify } from './systemd';
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

export function defaultWorkerCount(config: Config): number {
  return config.cluster.workers > 0 ? config.cluster.workers : Math.max(1, os.availableParallelism() - 1);
}

/**
 * Start the master: read the config once for its own settings, claim the pidfile, then let the arbiter
 * fork and supervise the workers. Throws (before anything is started) on a bad config or a live pidfile.
 */
export async function runCluster(options: ClusterOptions): Promise<void> {
  const projectRoot = resolveProjectRoot();
  const config = await loadConfig({ projectRoot });
  if (options.workerTitlePrefix !== undefined) config.cluster.workerTitlePrefix = options.workerTitlePrefix;
  const workers = options.workers ?? defaultWorkerCount(config);

  const pidFolder = config.general.paths.pid;
  preparePidFolder(pidFolder);
  const pidfile = path.join(pidFolder, CLUSTER_PIDFILE);
  await claimPidfile(pidfile, process.pid, {
    mode: config.general.pidFileMode,
    what: 'a mycluster cluster',
    hint: 'a second cluster in this checkout needs a pid folder of its own: start it with --pids <dir>',
  });

  const logFile = process.env.MYCLUSTER_LOG_FILE || undefined;
  const log = createLogger({ level: config.logger.level, role: 'master', file: logFile });
  const stateFile = new StateFileWriter(path.join(pidFolder, STATE_FILE));
  let metrics: MetricsService | undefined;
  try {
    const web = config.servers.web;
    // The master owns the listening socket in node:cluster, so the stale-socket check happens here, once.
    if (web.enabled && typeof web.port === 'string') await clearStaleSocket(web.port);
    if (config.metrics.enabled) {
      // Required only when on: with metrics off the master loads none of it.
      const { startMetrics } = require('./metrics/index.js') as typeof import('./metrics/index.js');
      metrics = await startMetrics(config.metrics, config.servers.web.socketMode);
      log.info({ address: metrics.address }, `serving metrics on ${metrics.address}`);
    }
  } catch (error) {
    removePidfile(pidfile, process.pid);
    throw error;
  }

  process.title = `mycluster master ${projectRoot}`;
  const childProcesses = new ChildProcesses({ enabled: config.cluster.stopChildProcesses, graceMs: config.cluster.stopTimeout, log });
  const systemd = startSystemdNotify(log);
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
        }),
      ),
    currentOrigin: currentWorkerOrigin,
    publish: (state) => {
      stateFile.publish(logFile ? { ...state, logFile } : state);
      systemd?.onState(state);
      metrics?.publish(state);
    },
    onEvent: (event) => {
      systemd?.onEvent(event);
      metrics?.record(event);
    },
    exit: (code) => {
      metrics?.close();
      // The cluster is stopped once what its workers started is gone too.
      void childProcesses.settled().then(() => {
        stateFile.remove();
        removePidfile(pidfile, process.pid);
        process.exit(code);
      });
    },
  });
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, `master error: ${error.message}; stopping the cluster`);
    arbiter.shutdown('master error', 1);
  });
  log.info({ projectRoot, pidfile }, `mycluster master started (pid ${process.pid})`);
  arbiter.start();
  watchProcfileRunner((runnerPid) => {
    log.warn({ runnerPid }, `the Procfile runner (parent pid ${runnerPid}) exited without stopping this line: stopping the cluster`);
    arbiter.shutdown('Procfile runner gone', 0);
  });
  if (options.watch) await watchProject(projectRoot, log, (reason) => arbiter.triggerReload(reason));
}
