import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { TaskDefinition } from '../types';
import { encodeJob, resqueKey } from './keys';

/**
 * Enqueue a periodic task for one period, atomically with a per-period marker: whoever runs this (a new
 * scheduler leader after a failover, a second host) enqueues each period at most once.
 * KEYS: period marker, queue list, queues set. ARGV: marker ttl (ms), job, queue name.
 */
const enqueueOncePerPeriodScript = `
if not redis.call('set', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
redis.call('sadd', KEYS[3], ARGV[3])
redis.call('rpush', KEYS[2], ARGV[2])
return 1`;

/** Whole periods since the epoch; every host agrees on it (up to clock skew). */
function periodNumber(now: number, frequency: number): number {
  return Math.floor(now / frequency);
}

/**
 * Called by the scheduler leader at each poll: enqueues every periodic task (frequency > 0) whose current
 * period has not been enqueued yet. A period shorter than the scheduler's poll interval runs once per poll.
 */
export async function enqueueDuePeriodicTasks({
  redis,
  namespace,
  definitions,
  log,
  now = Date.now(),
}: {
  redis: Redis;
  namespace: string;
  definitions: Iterable<TaskDefinition>;
  log: Logger;
  now?: number;
}): Promise<void> {
  for (const task of definitions) {
    if (!task.frequency || task.frequency <= 0) continue;
    const period = periodNumber(now, task.frequency);
    const marker = resqueKey(namespace, 'mycluster', 'periodic', task.name, String(period));
    const enqueued = await redis.eval(
      enqueueOncePerPeriodScript,
      3,
      marker,
      resqueKey(namespace, 'queue', task.queue),
      resqueKey(namespace, 'queues'),
      String(Math.max(task.frequency * 2, 1_000)),
      encodeJob(task.queue, task.name, [{}]),
      task.queue,
    );
    if (enqueued === 1) log.debug({ task: task.name, queue: task.queue, period }, `enqueued periodic task ${task.name}`);
  }
}
