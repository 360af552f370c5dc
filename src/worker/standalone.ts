/**
 * `mycluster start` without --workers: the app in this one process, in the foreground, with its own
 * pidfile `mycluster-<id>`.
 */
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { loadConfig } from '../config';
import { errorMessage } from '../errors';
import { claimPidfile, preparePidFolder, removePidfile } from '../pids';
import type { RunningApp } from '../runtime/app';
import { APP_PROCESS_TAG_ENV, stopAppProcesses } from '../shared/app-processes';
import { Interrupts } from '../shared/interrupts';
import { reopenLogFile } from '../shared/logger';
import { procfileProcessName, watchProcfileRunner } from '../shared/procfile-runner';
import { resolveProjectRoot } from '../shared/project';
import { bootApp } from './boot';

/**
 * The process id: `ACTIONHERO_TITLE`, else config.general.id, else the Procfile runner's process name
 * (`web.1`: two Procfile lines in one checkout must not share a pidfile), else the host's first external
 * IPv4 (or its hostname) and the pid, so that two untitled processes in one checkout never collide either.
 */
export function processId(configuredId: string | undefined, env: NodeJS.ProcessEnv = process.env, pid = process.pid): string {
  if (configuredId) return configuredId;
  const procfileName = procfileProcessName(env);
  if (procfileName) return procfileName.replace(/[^\w.@-]/g, '_');
  return `${externalIPv4() ?? os.hostname()}-${pid}`;
}

function externalIPv4(): string | undefined {
  for (const addresses of Object.values(os.networkInterfaces())) {
    const external = addresses?.find((address) => address.family === 'IPv4' && !address.internal);
    if (external) return external.address;
  }
  return undefined;
}

export async function runSingleProcess(): Promise<void> {
  const projectRoot = resolveProjectRoot();
  const config = await loadConfig({ projectRoot });
  preparePidFolder(config.general.paths.pid);
  const id = processId(process.env.ACTIONHERO_TITLE || config.general.id);
  const pidfile = path.join(config.general.paths.pid, `mycluster-${id}`);
  await claimPidfile(pidfile, process.pid, { mode: config.general.pidFileMode, what: `mycluster ${id}` });
  process.title = `mycluster ${id}`;
  // Every process the app starts inherits this tag, and goes with this one (cluster.stopChildProcesses).
  const tag = String(process.pid);
  if (config.cluster.stopChildProcesses) process.env[APP_PROCESS_TAG_ENV] = tag;

  let log: Logger | undefined;
  let app: RunningApp | undefined;
  let stopping = false;
  const interrupts = new Interrupts();
  const exit = async (code: number, graceMs = config.cluster.stopTimeout): Promise<never> => {
    if (config.cluster.stopChildProcesses && log) {
      await stopAppProcesses(tag, { owner: `mycluster ${id}`, graceMs, log, exclude: [process.pid] });
    }
    removePidfile(pidfile, process.pid);
    process.exit(code);
  };
  // A terminal's Ctrl-C under Ruby foreman brings INT from the terminal and TERM from foreman: one stop.
  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const unreadyMs = config.cluster.unreadyBeforeStop;
    if (app && unreadyMs > 0) {
      log?.info({ reason, unreadyBeforeStop: unreadyMs }, `stopping (${reason}): status answers 503 for ${unreadyMs} ms, then drain`);
      app.announceStop(reason);
      await sleep(unreadyMs);
    }
    log?.info({ reason }, `stopping (${reason})`);
    try {
      await app?.stop();
      log?.info('stopped');
      await exit(0);
    } catch (error) {
      log?.error({ err: error }, `stop failed: ${errorMessage(error)}`);
      await exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => {
    const interrupt = interrupts.next();
    if (interrupt === 'force') void exit(1, 0);
    if (interrupt === 'stop') void stop('SIGINT');
  });
  watchProcfileRunner((runnerPid) => {
    log?.warn({ runnerPid }, `the Procfile runner (parent pid ${runnerPid}) exited without stopping this line: stopping`);
    void stop('Procfile runner gone');
  });
  for (const signal of ['SIGUSR2', 'SIGHUP'] as const) {
    process.on(signal, () => log?.warn(`${signal} ignored: rolling reloads need cluster mode (mycluster start --workers=N)`));
  }
  process.on('SIGUSR1', reopenLogFile);
  const die = (what: string, error: unknown): void => {
    log?.fatal({ err: error }, `${what}: ${errorMessage(error)}`);
    void exit(1);
  };
  process.on('uncaughtException', (error) => die('uncaught exception', error));
  process.on('unhandledRejection', (reason) => die('unhandled rejection', reason));

  try {
    const booted = await bootApp({ workerSlot: null, clustered: false, config, onLogger: (created) => (log = created) });
    app = booted.app;
    booted.log.info({ pidfile }, `mycluster ${id} ready (pid ${process.pid})`);
  } catch (error) {
    if (config.cluster.stopChildProcesses && log)
      await stopAppProcesses(tag, { owner: `mycluster ${id}`, graceMs: config.cluster.stopTimeout, log, exclude: [process.pid] });
    removePidfile(pidfile, process.pid);
    throw error;
  }
}
