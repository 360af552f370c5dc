import type { Redis } from 'ioredis';
import { type Jobs, MultiWorker } from 'node-resque';
import type { Logger } from 'pino';
import type { TasksConfig } from '../../config/types';
import { errorMessage } from '../../errors';
import { workerMeters } from '../metrics';
import type { AppContext, TaskDefinition } from '../types';
import { resqueErrorLogger } from './background-errors';
import { guardMultiWorker } from './multi-worker-guards';
import { popJobsOnce } from './pop-once';

export interface RunningProcessors {
  /** Whether any processor holds a job right now. */
  holdsJobs(): boolean;
  /** Let each processor finish the job it holds, then stop polling. */
  stop(): Promise<void>;
}

/** node-resque jobs that run the task definitions: a job's single argument is the task's params. */
function jobsOf(definitions: Map<string, TaskDefinition>, context: AppContext): Jobs {
  const jobs: Jobs = {};
  for (const task of definitions.values()) {
    jobs[task.name] = { perform: async (params?: Record<string, unknown>) => task.run(params ?? {}, context) };
  }
  return jobs;
}

/** A node-resque MultiWorker: minTaskProcessors..maxTaskProcessors processors polling `tasks.queues` (`*` = all). */
export function startProcessors({
  redis,
  namespace,
  tasks,
  definitions,
  context,
  log,
}: {
  redis: Redis;
  namespace: string;
  tasks: TasksConfig;
  definitions: Map<string, TaskDefinition>;
  context: AppContext;
  log: Logger;
}): RunningProcessors {
  popJobsOnce(redis);
  const multiWorker = new MultiWorker(
    {
      connection: { redis, namespace },
      queues: tasks.queues,
      minTaskProcessors: tasks.minTaskProcessors,
      maxTaskProcessors: tasks.maxTaskProcessors,
      timeout: tasks.timeout,
      checkTimeout: tasks.checkTimeout,
      maxEventLoopDelay: tasks.maxEventLoopDelay,
    },
    jobsOf(definitions, context),
  );
  const reportError = resqueErrorLogger(log, redis, 'task processor');
  multiWorker.on('error', reportError);
  const guards = guardMultiWorker(multiWorker, reportError);
  multiWorker.on('job', (_id, queue, job) => log.debug({ task: job.class, queue }, `task ${job.class} started`));
  multiWorker.on('success', (_id, queue, job, _result, duration) => {
    workerMeters.countJob(queue, false);
    log.debug({ task: job.class, queue, duration }, `task ${job.class} done`);
  });
  multiWorker.on('failure', (_id, queue, job, failure, duration) => {
    workerMeters.countJob(queue, true);
    log.warn({ task: job.class, queue, duration, err: failure }, `task ${job.class} failed: ${errorMessage(failure)}`);
  });
  multiWorker.start();
  return {
    holdsJobs: () => multiWorker.workers.some((processor) => processor.job !== null),
    async stop() {
      guards.beforeEnd();
      await multiWorker.end();
      guards.parkEnded();
    },
  };
}
