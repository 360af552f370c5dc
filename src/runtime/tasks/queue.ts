import { Queue } from 'node-resque';
import type { Logger } from 'pino';
import type { Config } from '../../config/types';
import { errorMessage, MyclusterError } from '../../errors';
import { closeRedisClient, createRedisClient } from '../redis';
import type { TaskDefinition, TaskQueue } from '../types';
import { resqueErrorLogger } from './background-errors';
import { replicaConfirmer } from './replica-wait';

/** An enqueue that was refused: unknown task, bad time, or Redis did not acknowledge it. */
export class TaskQueueError extends MyclusterError {}

/** Queue lengths and failed count, for the status action. */
export interface TasksReport {
  queues: Record<string, number>;
  failed: number;
}

export interface TaskQueueHandle {
  queue: TaskQueue;
  report(): Promise<TasksReport>;
  close(): Promise<void>;
}

/** The handle actions, tasks and initializers enqueue with, on its own `enqueue` Redis connection. */
export function createTaskQueue({ config, definitions, log }: { config: Config; definitions: Map<string, TaskDefinition>; log: Logger }): TaskQueueHandle {
  const redis = createRedisClient(config.redis, 'enqueue', log);
  const resque = new Queue({ connection: { redis, namespace: config.redis.namespace } });
  resque.on('error', resqueErrorLogger(log, redis, 'task queue'));
  // Connected on first use: a web worker that never enqueues never needs Redis.
  // Never rejects: node-resque reports a failed connection test as an 'error' event; ioredis keeps reconnecting.
  let connected: Promise<void> | undefined;
  const connect = (): Promise<void> => (connected ??= resque.connect());

  function taskNamed(taskName: string): TaskDefinition {
    const task = definitions.get(taskName);
    if (!task) {
      const known = [...definitions.keys()].sort().join(', ') || 'none';
      throw new TaskQueueError(`cannot enqueue unknown task "${taskName}" (known tasks: ${known})`);
    }
    return task;
  }

  // Counts (re)connections: a WAIT on a connection that reconnected after the write would confirm nothing.
  let connection = 0;
  redis.on('ready', () => (connection += 1));
  const { enqueueReplicas, enqueueReplicaTimeout } = config.tasks;
  const confirmReplicas = replicaConfirmer(redis, enqueueReplicas);

  async function acknowledged(taskName: string, write: () => Promise<unknown>): Promise<void> {
    // One budget for the whole enqueue, the write included: it may have queued behind another's WAIT.
    const deadline = Date.now() + enqueueReplicaTimeout;
    await connect();
    const writtenOn = connection;
    try {
      await write();
    } catch (error) {
      throw new TaskQueueError(`enqueue of task "${taskName}" failed: ${errorMessage(error)}`, { cause: error });
    }
    if (enqueueReplicas === 0) return;
    const confirmed = await confirmReplicas(deadline);
    if (confirmed < enqueueReplicas || connection !== writtenOn) {
      throw new TaskQueueError(
        `enqueue of task "${taskName}" was not confirmed by ${enqueueReplicas} replica(s) within ${enqueueReplicaTimeout} ms (tasks.enqueueReplicas): it may be lost in a failover, or still be worked; retry it (tasks must be idempotent)`,
      );
    }
  }

  const queue: TaskQueue = {
    async enqueue(taskName, params = {}, queueName) {
      const task = taskNamed(taskName);
      await acknowledged(taskName, () => resque.enqueue(queueName ?? task.queue, taskName, [params]));
    },
    async enqueueIn(delayMs, taskName, params = {}, queueName) {
      if (!Number.isFinite(delayMs) || delayMs < 0) {
        throw new TaskQueueError(`enqueueIn of task "${taskName}" needs a delay in ms >= 0, got ${String(delayMs)}`);
      }
      await queue.enqueueAt(Date.now() + delayMs, taskName, params, queueName);
    },
    async enqueueAt(time, taskName, params = {}, queueName) {
      const task = taskNamed(taskName);
      const timestamp = time instanceof Date ? time.getTime() : time;
      if (!Number.isFinite(timestamp)) {
        throw new TaskQueueError(`enqueueAt of task "${taskName}" needs a Date or ms since the epoch, got ${String(time)}`);
      }
      await acknowledged(taskName, () => resque.enqueueAt(timestamp, queueName ?? task.queue, taskName, [params]));
    },
  };

  return {
    queue,
    async report() {
      await connect();
      const names = (await resque.queues()).sort();
      const lengths = await Promise.all(names.map((name) => resque.length(name)));
      return {
        queues: Object.fromEntries(names.map((name, index) => [name, lengths[index]])),
        failed: await resque.failedCount(),
      };
    },
    async close() {
      if (connected) {
        await connected;
        await resque.end();
      }
      await closeRedisClient(redis);
    },
  };
}
