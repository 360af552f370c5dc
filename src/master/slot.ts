import path from 'node:path';
import { removePidfile, writePidfile } from '../pids';
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

/** Each slot's pidfile, `<pid folder>/<workerTitlePrefix><slot>`: it names the worker serving the slot. */
export class SlotPidfiles {
  constructor(
    private readonly folder: string,
    private readonly prefix: string,
    private readonly mode: number,
  ) {}

  write(slot: number, pid: number): void {
    writePidfile(this.pathOf(slot), pid, this.mode);
  }

  /** Only while it still names `pid`: a successor may own it already. */
  remove(slot: number, pid: number): void {
    removePidfile(this.pathOf(slot), pid);
  }

  private pathOf(slot: number): string {
    return path.join(this.folder, `${this.prefix}${slot}`);
  }
}
