import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../../config/types';
import { errorMessage } from '../../errors';
import { abandonRedisClient, closeRedisClient, createRedisClient, describeRedisAddress, whenRedisReady } from '../redis';
import type { AppContext, TaskDefinition } from '../types';
import { resqueKey } from './keys';
import { enqueueDuePeriodicTasks } from './periodic';
import { type RunningProcessors, startProcessors } from './processors';
import { recoverStuckJobs } from './recovery';
import { type RunningScheduler, startScheduler } from './scheduler';

export { loadTaskDefinitions } from './definitions';
export { createTaskQueue, TaskQueueError, type TaskQueueHandle, type TasksReport } from './queue';

export interface TaskProcessing {
  /** Let each processor finish the job it holds, give up scheduler leadership, close the connection. */
  stop(): Promise<void>;
  /** The length of every queue node-resque knows, read on the `tasks` connection. */
  queueLengths(): Promise<Record<string, number>>;
}

/**
 * Start the processors (when maxTaskProcessors > 0) and the scheduler (when tasks.scheduler), on their own
 * `tasks` Redis connection. Resolves once they poll, or as soon as Redis turns out to be unreachable: they
 * then start by themselves when Redis answers (the client logs the outage once). Never throws for Redis.
 */
export async function startTaskProcessing({
  config,
  context,
  definitions,
  log,
}: {
  config: Config;
  context: AppContext;
  definitions: Map<string, TaskDefinition>;
  log: Logger;
}): Promise<TaskProcessing> {
  const { tasks } = config;
  const { namespace } = config.redis;
  if (tasks.maxTaskProcessors === 0 && !tasks.scheduler) return { stop: async () => undefined, queueLengths: async () => ({}) };

  const redis = createRedisClient(config.redis, 'tasks', log);
  const recovery = { redis, namespace, stuckWorkerTimeout: tasks.stuckWorkerTimeout, retryStuckJobs: tasks.retryStuckJobs, log };
  const cancelled = new AbortController();
  let processors: RunningProcessors | undefined;
  let scheduler: RunningScheduler | undefined;

  const started = (async () => {
    await whenRedisReady(redis, cancelled.signal);
    // Before claiming anything: jobs a dead process of this host (a SIGKILLed predecessor) left claimed.
    await recoverStuckJobs(recovery, { atBoot: true }).catch((error: unknown) =>
      log.warn({ err: error }, `stuck job recovery at boot failed: ${errorMessage(error)}`),
    );
    if (tasks.maxTaskProcessors > 0) {
      processors = startProcessors({ redis, namespace, tasks, definitions, context, log });
    }
    if (tasks.scheduler) {
      scheduler = startScheduler({
        redis,
        namespace,
        interval: tasks.timeout,
        // A killed leader is replaced within the time its processors' jobs take to count as stuck.
        leaderLockTimeout: Math.max(Math.ceil(tasks.stuckWorkerTimeout / 1000), Math.ceil((3 * tasks.timeout) / 1000)),
        onLeaderPoll: async () => {
          await enqueueDuePeriodicTasks({ redis, namespace, definitions: definitions.values(), log });
          await recoverStuckJobs(recovery);
        },
        log,
      });
    }
    log.info(
      { queues: tasks.queues, minTaskProcessors: tasks.minTaskProcessors, maxTaskProcessors: tasks.maxTaskProcessors, scheduler: tasks.scheduler },
      'task processing started',
    );
  })();
  started.catch(() => undefined); // only rejects when stop() cancels the wait for Redis

  let onRedisError = (): void => undefined;
  const redisFailed = new Promise<void>((resolve) => {
    onRedisError = resolve;
    redis.once('error', onRedisError);
  });
  await Promise.race([started, redisFailed]);
  redis.off('error', onRedisError);

  return {
    queueLengths: () => readQueueLengths(redis, namespace),
    async stop() {
      cancelled.abort();
      const orderly = (async () => {
        await started.catch(() => undefined);
        await processors?.stop();
        await scheduler?.stop();
        return 'stopped' as const;
      })();
      const settled = new AbortController();
      const outcome = await Promise.race([orderly, untilIdleWithoutRedis(redis, () => processors?.holdsJobs() ?? false, settled.signal)]);
      settled.abort();
      if (outcome !== 'redis-down') return closeRedisClient(redis);
      log.warn(
        { redis: describeRedisAddress(config.redis) },
        'stopped task processing while redis is down: its worker records stay in redis until the scheduler leader removes them',
      );
      abandonRedisClient(redis);
    },
  };
}

async function readQueueLengths(redis: Redis, namespace: string): Promise<Record<string, number>> {
  const names = (await redis.smembers(resqueKey(namespace, 'queues'))).sort();
  const lengths = await Promise.all(names.map((name) => redis.llen(resqueKey(namespace, 'queue', name))));
  return Object.fromEntries(names.map((name, index) => [name, lengths[index]]));
}

/**
 * Resolves 'redis-down' once Redis is down (between two reconnect attempts) and no processor holds a job:
 * the orderly stop needs Redis for its clean-up, and waiting for it would only delay the exit.
 */
async function untilIdleWithoutRedis(redis: Redis, holdsJobs: () => boolean, settled: AbortSignal): Promise<'redis-down' | 'settled'> {
  while (!settled.aborted) {
    if (redis.status === 'reconnecting' && !holdsJobs()) return 'redis-down';
    await sleep(100, undefined, { signal: settled }).catch(() => undefined);
  }
  return 'settled';
}
