import type { Redis } from 'ioredis';
import type { MultiWorker } from 'node-resque';
import type { Logger } from 'pino';
import type { TasksConfig } from '../../config/types';
import { errorMessage } from '../../errors';
import { type RecoveryOptions, recoverStuckJobs } from '../tasks/recovery';

/** The parts of ActionHero's `api.resque` mycluster uses (node-resque's Queue, Scheduler and MultiWorker). */
export interface ActionheroResque {
  queue?: { connection?: { redis?: Redis; options?: { namespace?: string } } } | null;
  scheduler?: { leader?: boolean } | null;
  multiWorker?: MultiWorker | null;
}

/**
 * mycluster's stuck-job recovery on ActionHero's node-resque connection: once now (the jobs a dead
 * predecessor on this host left claimed are re-run within seconds of its replacement's boot, not after
 * ActionHero's stuckWorkerTimeout), then every `tasks.timeout` ms while this process's scheduler leads.
 * Returns a function that stops it.
 */
export function startActionheroRecovery(resque: ActionheroResque, tasks: TasksConfig, log: Logger): () => void {
  const connection = resque.queue?.connection;
  if (!connection?.redis) return () => undefined;
  const options: RecoveryOptions = {
    redis: connection.redis,
    namespace: connection.options?.namespace ?? 'resque',
    stuckWorkerTimeout: tasks.stuckWorkerTimeout,
    retryStuckJobs: tasks.retryStuckJobs,
    log,
  };
  let sweeping = false;
  const sweep = async (): Promise<void> => {
    if (sweeping) return;
    sweeping = true;
    try {
      await recoverStuckJobs(options);
    } catch (error) {
      log.warn({ err: error }, `stuck job recovery failed: ${errorMessage(error)}`);
    } finally {
      sweeping = false;
    }
  };
  void sweep();
  const timer = setInterval(() => {
    if (resque.scheduler?.leader) void sweep();
  }, tasks.timeout);
  timer.unref();
  return () => clearInterval(timer);
}
