import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { type ParsedJob, Scheduler } from 'node-resque';
import type { Logger } from 'pino';
import { errorMessage } from '../../errors';
import { resqueErrorLogger } from './background-errors';

export interface RunningScheduler {
  stop(): Promise<void>;
}

export interface SchedulerOptions {
  redis: Redis;
  namespace: string;
  /** ms between two polls. */
  interval: number;
  /** Seconds the leader lock outlives a leader that stopped refreshing it (killed). */
  leaderLockTimeout: number;
  /** Work only the leader does, after each of its polls (periodic tasks, stuck job recovery). */
  onLeaderPoll(): Promise<void>;
  log: Logger;
}

/**
 * node-resque's Scheduler, driven by our own loop instead of its `start()`: node-resque stops polling for
 * good after one failed poll (an OOM answer, a lost connection); this loop logs it and polls again.
 * Only the elected leader (one cluster-wide) moves delayed jobs and runs `onLeaderPoll`.
 */
export function startScheduler(options: SchedulerOptions): RunningScheduler {
  const { redis, namespace, interval, leaderLockTimeout, onLeaderPoll, log } = options;
  const scheduler = new Scheduler({
    connection: { redis, namespace },
    timeout: interval,
    leaderLockTimeout,
    // Stuck jobs are recovered by onLeaderPoll (recovery.ts), which also catches processors that died before their first heartbeat.
    stuckWorkerTimeout: 0,
  });
  const reportError = resqueErrorLogger(log, redis, 'task scheduler');
  scheduler.on('error', reportError);
  scheduler.on('leader', () => log.info({ scheduler: scheduler.name }, 'this process is now the task scheduler leader'));
  scheduler.on('transferredJob', (_timestamp, transferred) => {
    const job = transferred as unknown as ParsedJob; // typed as a Job definition, but it is the parsed job
    log.debug({ task: job.class, queue: job.queue }, `moved delayed task ${job.class} to its queue`);
  });

  const stopping = new AbortController();

  async function pollOnce(): Promise<void> {
    try {
      await scheduler.poll();
    } catch (error) {
      scheduler.processing = false;
      reportError(error);
    }
    if (!scheduler.leader || stopping.signal.aborted) return;
    try {
      await onLeaderPoll();
    } catch (error) {
      reportError(new Error(`leader work failed: ${errorMessage(error)}`, { cause: error }));
    }
  }

  const loop = (async () => {
    await scheduler.connect();
    while (!stopping.signal.aborted) {
      await pollOnce();
      await sleep(interval, undefined, { signal: stopping.signal }).catch(() => undefined);
    }
  })();

  return {
    async stop() {
      stopping.abort();
      await loop;
      // Gives up the leader lock, so another process takes over at its next poll.
      await scheduler.end();
    },
  };
}
