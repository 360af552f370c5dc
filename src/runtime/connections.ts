import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/types';
import { errorMessage } from '../errors';
import type { TaskQueueHandle, TasksReport } from './tasks/queue';
import type { TaskDefinition, TaskQueue } from './types';

/**
 * The app's Redis connection and task queue, created on first use: a web worker that never enqueues
 * neither loads ioredis and node-resque (a faster boot, so a replacement listens sooner) nor needs Redis.
 */
export class LazyConnections {
  private appRedis: Redis | undefined;
  private queueHandle: TaskQueueHandle | undefined;
  readonly tasks: TaskQueue;

  constructor(
    private readonly config: Config,
    private readonly definitions: Map<string, TaskDefinition>,
    private readonly log: Logger,
  ) {
    const queue = (): TaskQueue => this.queue().queue;
    this.tasks = {
      enqueue: (...args) => queue().enqueue(...args),
      enqueueIn: (...args) => queue().enqueueIn(...args),
      enqueueAt: (...args) => queue().enqueueAt(...args),
    };
  }

  get redis(): Redis {
    if (!this.appRedis) {
      const { createRedisClient } = require('./redis') as typeof import('./redis');
      this.appRedis = createRedisClient(this.config.redis, 'app', this.log);
    }
    return this.appRedis;
  }

  private queue(): TaskQueueHandle {
    if (!this.queueHandle) {
      const { createTaskQueue } = require('./tasks/queue') as typeof import('./tasks/queue');
      this.queueHandle = createTaskQueue({ config: this.config, definitions: this.definitions, log: this.log });
    }
    return this.queueHandle;
  }

  /** Queue lengths and failed count (for the status action). */
  report(): Promise<TasksReport> {
    return this.queue().report();
  }

  /** Close what was opened. */
  async close(): Promise<void> {
    await this.queueHandle?.close().catch((error: unknown) => this.log.warn({ err: error }, `closing the task queue: ${errorMessage(error)}`));
    this.appRedis?.disconnect();
  }
}
