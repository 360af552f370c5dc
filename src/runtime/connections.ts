import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/types';
import { errorMessage } from '../errors';
import { withDeadline } from '../shared/deadline';
import type { TaskQueueHandle, TasksReport } from './tasks/queue';
import type { TaskDefinition, TaskQueue } from './types';

/** ms the status action waits for Redis before it reports it unreachable. */
const STATUS_REDIS_TIMEOUT_MS = 1_000;

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

  /**
   * Redis's part of the status action: the queues when the app has a task side (`tasks`), and whether the
   * app's own connection answers once it was used. Opens nothing for an app that uses neither.
   */
  async status({ tasks }: { tasks: boolean }): Promise<{ tasks?: TasksReport | { error: string }; problems?: string[] }> {
    const problems: string[] = [];
    const answer = async <T>(request: () => Promise<T>, unreachable: string): Promise<T | { error: string }> => {
      try {
        return await withDeadline(request(), STATUS_REDIS_TIMEOUT_MS, () => new Error(`no answer within ${STATUS_REDIS_TIMEOUT_MS} ms`));
      } catch (error) {
        const problem = `${unreachable}: ${errorMessage(error)}`;
        problems.push(problem);
        return { error: problem };
      }
    };
    // Reading context.redis is not using it: a connection still waiting for its first command stays unopened.
    const appRedis = this.appRedis?.status === 'wait' ? undefined : this.appRedis;
    const [report] = await Promise.all([
      tasks ? answer(() => this.queue().report(), 'redis unreachable') : undefined,
      appRedis ? answer(() => appRedis.ping(), 'redis unreachable for context.redis') : undefined,
    ]);
    return { ...(report && { tasks: report }), ...(problems.length > 0 && { problems }) };
  }

  /** Close what was opened. */
  async close(): Promise<void> {
    await this.queueHandle?.close().catch((error: unknown) => this.log.warn({ err: error }, `closing the task queue: ${errorMessage(error)}`));
    this.appRedis?.disconnect();
  }
}
