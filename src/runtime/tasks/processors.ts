import type { Redis } from 'ioredis';
import { type Jobs, MultiWorker, type Worker } from 'node-resque';
import type { Logger } from 'pino';
import type { TasksConfig } from '../../config/types';
import { errorMessage } from '../../errors';
import { workerMeters } from '../metrics';
import type { AppContext, TaskDefinition } from '../types';
import { resqueErrorLogger } from './background-errors';
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
  const started = new Set<Worker>();
  const parked = new Set<Worker>();
  multiWorker.on('start', () => {
    for (const processor of multiWorker.workers) started.add(processor);
  });
  // Processors the MultiWorker ended (scale-down, stop) are parked, and parked again at the next check
  // if node-resque restarted them meanwhile (see parkProcessor); forgotten once they stayed stopped.
  const parkEnded = (): void => {
    for (const processor of parked) if (!processor.running) parked.delete(processor);
    for (const processor of started) {
      if (multiWorker.workers.includes(processor)) continue;
      started.delete(processor);
      parked.add(processor);
    }
    for (const processor of parked) parkProcessor(processor, reportError);
  };
  multiWorker.on('multiWorkerAction', parkEnded);
  multiWorker.on('job', (_id, queue, job) => log.debug({ task: job.class, queue }, `task ${job.class} started`));
  multiWorker.on('success', (_id, queue, job, _result, duration) => {
    workerMeters.countJob(queue, false);
    log.debug({ task: job.class, queue, duration }, `task ${job.class} done`);
  });
  multiWorker.on('failure', (_id, queue, job, failure, duration) => {
    workerMeters.countJob(queue, true);
    log.warn({ task: job.class, queue, duration, err: failure }, `task ${job.class} failed: ${errorMessage(failure)}`);
  });
  guardCheckLoop(multiWorker, tasks.checkTimeout, reportError);
  multiWorker.start();
  return {
    holdsJobs: () => multiWorker.workers.some((processor) => processor.job !== null),
    async stop() {
      // node-resque ends each processor inside an async Promise executor with no catch: a Redis error there
      // would be an unhandled rejection, and that processor's stop would never resolve. Catch it here.
      for (const processor of multiWorker.workers) {
        const end = processor.end.bind(processor);
        processor.end = () => end().catch(reportError);
      }
      await multiWorker.end();
      parkEnded();
    },
  };
}

/**
 * node-resque's MultiWorker runs its processor-count check from a timer as an async function without a
 * catch: a Redis error there ("Connection is closed." while a Sentinel failover reconnects) would be an
 * unhandled rejection, which kills the worker process. Report it instead, and keep the loop going.
 */
function guardCheckLoop(multiWorker: MultiWorker, checkTimeout: number, reportError: (error: unknown) => void): void {
  const loop = multiWorker as unknown as { checkWrapper: () => Promise<void>; checkTimer: NodeJS.Timeout | null; running: boolean };
  const check = loop.checkWrapper.bind(multiWorker);
  loop.checkWrapper = async () => {
    try {
      await check();
    } catch (error) {
      reportError(error);
      if (loop.running) loop.checkTimer = setTimeout(() => void loop.checkWrapper(), checkTimeout);
    }
  };
}

/**
 * Make sure an ended processor stays stopped. node-resque's Worker.end() can land while a `*` processor
 * refreshes its queue list, whose track() sets `running` again: that processor would poll on after end(),
 * without an 'error' listener, and its next failed poll would be an unhandled rejection.
 */
function parkProcessor(processor: Worker, reportError: (error: unknown) => void): void {
  processor.running = false;
  if (processor.pollTimer) clearTimeout(processor.pollTimer);
  if (processor.pingTimer) clearInterval(processor.pingTimer);
  if (processor.listenerCount('error') === 0) processor.on('error', reportError);
}
