import { type BackoffSettings, RestartBackoff } from './backoff';
import type { WorkerExit, WorkerHandle } from './worker-handle';

/** One of the cluster's numbered places for a worker (1..desired): who serves it and how it has fared. */
export interface Slot {
  readonly number: number;
  /** The worker serving this slot. */
  current: WorkerHandle | null;
  /** Its replacement during a rolling reload, until it is ready. */
  replacement: WorkerHandle | null;
  readonly backoff: RestartBackoff;
  restarts: number;
  /** Earliest time the next crash restart may start (backoff). */
  nextStartAt: number;
  lastExit: WorkerExit | null;
}

export function newSlot(number: number, backoff: BackoffSettings): Slot {
  return { number, current: null, replacement: null, backoff: new RestartBackoff(backoff), restarts: 0, nextStartAt: 0, lastExit: null };
}
