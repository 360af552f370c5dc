/**
 * Entry of a cluster worker (forked by the master): boot the app, report ready, heartbeat, and stop
 * gracefully when the master asks. When the IPC channel closes (the master died, even by kill -9),
 * node:cluster exits the worker at once: no orphans.
 *
 * Forked without a slot, it is a spare: Node and mycluster are loaded (most of a boot's time), with the parts
 * its role will need (see warm-up.ts), the app is not. Given a slot by an `activate` message, it boots the
 * app like any worker, in a few milliseconds.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { errorMessage } from '../errors';
import { EXIT_BOOT_FAILED, isMasterMessage, WORKER_ENV, type WorkerMessage, workerMessage } from '../protocol';
import type { RunningApp } from '../runtime/app';
import { meterHttpServers, workerMeters } from '../runtime/metrics';
import { redisHealth } from '../runtime/redis-health';
import { markRestarting } from '../runtime/restart-intent';
import { reopenLogFile } from '../shared/logger';
import { bootApp, bootstrapLogger } from './boot';
import { warmUpSpare } from './warm-up';

const heartbeatMs = Number(process.env[WORKER_ENV.heartbeatMs]) || 5_000;
const metered = process.env[WORKER_ENV.metrics] === '1';
process.title = process.env[WORKER_ENV.title] ?? 'mycluster-worker';

let log: Logger = bootstrapLogger(null);
let app: RunningApp | undefined;
let booting: Promise<void> | undefined;
let stopping = false;
/** Set by the master's `unready` (cluster.unreadyBeforeStop): the app gets it once booted, if it was not yet. */
let announcedStop: string | null = null;

function send(message: WorkerMessage): void {
  if (process.connected) process.send?.(message);
}

/** Send a last message, then exit; the master learns why even though the process is about to vanish. */
function sendThenExit(message: WorkerMessage, code: number): void {
  if (!process.connected || !process.send) process.exit(code);
  setTimeout(() => process.exit(code), 500).unref();
  process.send?.(message, undefined, {}, () => process.exit(code));
}

const loopDelay = monitorEventLoopDelay({ resolution: 20 });

function heartbeat(): WorkerMessage {
  return workerMessage({
    type: 'heartbeat',
    heartbeat: {
      rss: process.memoryUsage.rss(),
      loopDelayMs: Math.round(loopDelay.max / 1e6),
      redis: redisHealth.snapshot(log),
      ...(metered && { metrics: workerMeters.snapshot() }),
    },
  });
}

function startHeartbeat(): void {
  if (metered) meterHttpServers();
  loopDelay.enable();
  // A blocked event loop sends nothing: the master notices the silence and replaces the worker.
  const beat = (): void => {
    send(heartbeat());
    loopDelay.reset();
    // Read now, sent with the next heartbeat: a heartbeat never waits for Redis.
    if (metered && app?.queueLengths) workerMeters.refreshQueueLengths(app.queueLengths);
  };
  beat(); // at once, so `status` shows the RSS without waiting an interval
  setInterval(beat, heartbeatMs).unref();
}

function die(what: string, error: unknown): void {
  log.fatal({ err: error }, `${what}: ${errorMessage(error)}`);
  sendThenExit(workerMessage({ type: 'fatal', error: `${what}: ${errorMessage(error)}` }), 1);
}

async function stop(reason: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ reason }, `stopping: ${reason}`);
  send(workerMessage({ type: 'stopping', reason }));
  try {
    await booting;
    await app?.stop();
    log.info('stopped');
    // The counts of the drain's requests and jobs reach the master's totals.
    if (metered) sendThenExit(heartbeat(), 0);
    else process.exit(0);
  } catch (error) {
    log.error({ err: error }, `stop failed: ${errorMessage(error)}`);
    process.exit(1);
  }
}

process.on('uncaughtException', (error) => die('uncaught exception', error));
process.on('unhandledRejection', (reason) => die('unhandled rejection', reason));
// Ctrl-C reaches the whole process group; the master decides, and tells each worker over IPC.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('message', (message: unknown) => {
  if (!isMasterMessage(message)) return;
  if (message.type === 'stop') {
    if (message.restart) markRestarting();
    void stop(message.reason);
  } else if (message.type === 'unready') announceStop(message.reason);
  else if (message.type === 'activate' && !booting && !stopping) boot(message.slot, message.title);
  else if (message.type === 'reopen-logs') reopenLogFile();
});

function announceStop(reason: string): void {
  if (announcedStop !== null) return;
  announcedStop = reason;
  log.info({ reason }, `stopping soon (${reason}): the status action answers 503 until then`);
  app?.announceStop(reason);
}

function boot(workerSlot: number, title: string): void {
  process.title = title;
  log = bootstrapLogger(workerSlot);
  booting = bootApp({ workerSlot, clustered: true, onLogger: (booted) => (log = booted) }).then(
    (booted) => {
      app = booted.app;
      if (announcedStop !== null) app.announceStop(announcedStop);
      if (!stopping) send(workerMessage({ type: 'ready' }));
    },
    (error: unknown) => {
      log.fatal({ err: error }, `worker #${workerSlot} failed to boot: ${errorMessage(error)}`);
      sendThenExit(workerMessage({ type: 'boot-failed', error: errorMessage(error) }), EXIT_BOOT_FAILED);
    },
  );
}

startHeartbeat();
const slot = process.env[WORKER_ENV.slot];
if (slot) boot(Number(slot), process.title);
else {
  warmUpSpare(log);
  send(workerMessage({ type: 'spare-ready' }));
}
