import type { Logger } from 'pino';
import type { ClusterEventListener } from './events';
import type { Slot } from './slot';
import type { ClusterState, ReloadResult } from './state';
import type { WorkerHandle } from './worker-handle';

/** During a reload, how long the next slot waits for the previous slot's old worker to finish draining. */
const RETIRE_OVERLAP_MS = 2_000;

export interface ReloadOptions {
  /** The arbiter's slots, by number (read live). */
  slots: ReadonlyMap<number, Slot>;
  /** Start a worker for the slot (the spare, or a fork). */
  spawn: (slot: Slot) => WorkerHandle;
  /** Record the slot's serving pid. */
  writePidfile: (slot: number, pid: number) => void;
  stopTimeout: number;
  /** Ask the arbiter for a tick. */
  wakeup: () => void;
  log: Logger;
  emit: ClusterEventListener;
}

interface PendingReload {
  reason: string;
  requestedAt: number;
  /** Only these slots (maxMemory); all of them when absent. */
  slots?: number[];
}

interface ReloadRun {
  id: number;
  reason: string;
  requestedAt: number;
  startedAt: number;
  /** Slots still to replace, in order. */
  remaining: number[];
  /** The slot whose replacement is booting now. */
  slot: number | null;
  /** Old workers asked to stop; the reload is done when they are gone. */
  retiring: Set<WorkerHandle>;
  /** When the last old worker was asked to stop. */
  retiringSince: number;
  /** Wakes the loop when the next slot may start although an old worker is still draining. */
  overlapTimer?: NodeJS.Timeout;
}

/**
 * The rolling reload (Puma's phased restart): one slot at a time, a replacement boots beside the old
 * worker, takes its slot once ready, and the old worker drains. A replacement that fails aborts the
 * reload; the old workers keep serving. A request during a reload queues exactly one more.
 */
export class RollingReload {
  private run: ReloadRun | null = null;
  private pending: PendingReload | null = null;
  private last: ReloadResult | null = null;
  private counter = 0;

  constructor(private readonly options: ReloadOptions) {}

  get running(): boolean {
    return this.run !== null;
  }

  /** Running or queued. */
  get busy(): boolean {
    return this.run !== null || this.pending !== null;
  }

  request(reason: string, slots?: number[]): void {
    // During a reload, this queues one more to run after it, however many requests arrive meanwhile.
    if (this.busy) this.options.log.info({ reason }, 'reload requested during a reload: queued to run after it');
    this.pending = { reason, requestedAt: Date.now(), slots };
  }

  /** A reload that cannot run now: recorded as failed at once, for `mycluster reload` to report. */
  refuse(reason: string, error: string): void {
    const now = Date.now();
    this.counter += 1;
    this.last = { id: this.counter, reason, ok: false, error, requestedAt: now, startedAt: now, finishedAt: now };
    this.options.log.warn({ reason, error }, `reload refused: ${error}`);
  }

  /** The cluster stops: abort the running reload and forget the queued one. */
  cancel(failure: string): void {
    if (this.run) this.finish(false, failure);
    this.pending = null;
  }

  /** Move the reload on as far as it can go now; called on every tick. */
  advance(): void {
    const run = this.run ?? this.startPending();
    if (!run) return;
    while (this.promoteIfReady(run) && !this.waitForRetiring(run)) {
      const slot = this.nextSlot(run);
      if (!slot) {
        if (run.retiring.size === 0) this.finish(true);
        return;
      }
      slot.replacement = this.options.spawn(slot);
      run.slot = slot.number;
    }
  }

  /** A replacement died before it was ready. */
  replacementFailed(slot: number, failure: string): void {
    if (this.run?.slot === slot) this.finish(false, failure);
  }

  /** A worker's process ended: if it was an old one draining, one less to wait for. */
  exited(handle: WorkerHandle): void {
    this.run?.retiring.delete(handle);
  }

  /** The slot was scaled away: nothing left to replace there. */
  slotRemoved(number: number): void {
    const run = this.run;
    if (!run) return;
    run.remaining = run.remaining.filter((remaining) => remaining !== number);
    if (run.slot === number) run.slot = null;
  }

  /** The reload's part of the published state. */
  summary(): Pick<ClusterState, 'reload' | 'reloadQueued' | 'lastReload'> {
    const run = this.run;
    return {
      reload: run ? { id: run.id, reason: run.reason, startedAt: run.startedAt, slot: run.slot, remaining: [...run.remaining] } : null,
      reloadQueued: this.pending !== null,
      lastReload: this.last,
    };
  }

  private startPending(): ReloadRun | null {
    if (!this.pending) return null;
    const { reason, requestedAt, slots } = this.pending;
    this.pending = null;
    this.counter += 1;
    const remaining = slots ?? [...this.options.slots.keys()].sort((a, b) => a - b);
    this.run = { id: this.counter, reason, requestedAt, startedAt: Date.now(), remaining, slot: null, retiring: new Set(), retiringSince: 0 };
    this.options.log.info(
      { reloadId: this.run.id, reason, slots: remaining },
      `rolling reload #${this.run.id} (${reason}): replacing ${remaining.length} workers one at a time`,
    );
    this.options.emit({ type: 'reload-started', id: this.run.id, reason, slots: [...remaining] });
    return this.run;
  }

  /**
   * True when no replacement is booting any more: none was, it was gone, or it was ready and now serves
   * its slot (the old worker asked to drain). False while it is still booting.
   */
  private promoteIfReady(run: ReloadRun): boolean {
    if (run.slot === null) return true;
    const slot = this.options.slots.get(run.slot);
    const replacement = slot?.replacement;
    if (slot && replacement) {
      if (replacement.state !== 'ready') return false;
      const old = slot.current;
      slot.current = replacement;
      slot.replacement = null;
      this.options.writePidfile(slot.number, replacement.pid);
      if (old) {
        run.retiring.add(old);
        run.retiringSince = Date.now();
        old.stop(`replaced by pid ${replacement.pid} (reload #${run.id})`, this.options.stopTimeout, { restart: true });
      }
    }
    run.slot = null;
    return true;
  }

  /**
   * The next replacement boots once the old worker last asked to stop is gone, or RETIRE_OVERLAP_MS after
   * it was asked: its drain moves its clients to the other workers, and a fork booting meanwhile would take
   * their CPU. The bound keeps a long drain (a slow request, a long job) from stretching the whole reload.
   */
  private waitForRetiring(run: ReloadRun): boolean {
    if (run.retiring.size === 0) return false;
    const wait = run.retiringSince + RETIRE_OVERLAP_MS - Date.now();
    if (wait <= 0) return false;
    run.overlapTimer ??= setTimeout(() => {
      run.overlapTimer = undefined;
      this.options.wakeup();
    }, wait);
    return true;
  }

  /** The next slot to replace, skipping slots scaled away. */
  private nextSlot(run: ReloadRun): Slot | null {
    for (let number = run.remaining.shift(); number !== undefined; number = run.remaining.shift()) {
      const slot = this.options.slots.get(number);
      if (slot?.current) return slot;
      if (slot) {
        // Waiting out a crash backoff (perhaps the old code did not boot): start it now, from the new code.
        slot.nextStartAt = 0;
        this.options.wakeup();
      }
    }
    return null;
  }

  private finish(ok: boolean, failure?: string): void {
    const run = this.run;
    if (!run) return;
    this.run = null;
    clearTimeout(run.overlapTimer);
    // A reload queued meanwhile starts on the next tick.
    if (this.pending) this.options.wakeup();
    const finishedAt = Date.now();
    this.last = { id: run.id, reason: run.reason, ok, error: failure, requestedAt: run.requestedAt, startedAt: run.startedAt, finishedAt };
    const log = this.options.log;
    this.options.emit({ type: 'reload-finished', id: run.id, ok, durationMs: finishedAt - run.startedAt, error: failure });
    if (ok) {
      log.info({ reloadId: run.id, durationMs: finishedAt - run.startedAt }, `rolling reload #${run.id} done in ${finishedAt - run.startedAt} ms`);
      return;
    }
    // The replacement that failed is gone; the old workers keep serving.
    for (const number of [run.slot, ...run.remaining]) {
      const slot = number === null ? undefined : this.options.slots.get(number);
      const replacement = slot?.replacement;
      if (slot && replacement) {
        slot.replacement = null;
        replacement.kill('reload aborted');
      }
    }
    log.error({ reloadId: run.id, error: failure }, `rolling reload #${run.id} aborted: ${failure}; the old workers keep serving`);
  }
}
