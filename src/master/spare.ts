import type { Logger } from 'pino';
import type { WorkerHandle } from './worker-handle';

/** After a spare died by itself, wait this long before forking the next (spares must not crash-loop). */
const SPARE_RETRY_MS = 5_000;

export interface SpareOptions {
  enabled: boolean;
  /** Fork a spare: a worker process with no slot. */
  fork: () => WorkerHandle;
  /** The origin a fork would have now: a spare forked under another one is stale. */
  currentOrigin: () => string;
  stopTimeout: number;
  /** Ask the arbiter for a tick (when the retry delay has passed). */
  wakeup: () => void;
  log: Logger;
}

/**
 * The spare worker (cluster.spareWorker): one process forked ahead of need, Node and mycluster loaded but
 * not the app, which the next slot that needs a worker gets — a boot of milliseconds instead of a fork's ~100.
 */
export class Spare {
  private handle: WorkerHandle | null = null;
  private diedAt = 0;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: SpareOptions) {}

  get current(): WorkerHandle | null {
    return this.handle;
  }

  /** The spare, given this slot, if it stands by and is not stale (a moved root, a reinstalled mycluster). */
  take(slot: number, title: string): WorkerHandle | null {
    const spare = this.handle;
    // Only once it said so: before that, an `activate` could arrive before it listens for messages.
    if (!spare?.standingBy || spare.state !== 'spare' || !spare.worker.isConnected()) return null;
    this.handle = null;
    if (spare.origin !== this.options.currentOrigin()) {
      spare.stop('stale: the project root or mycluster changed since it was forked', this.options.stopTimeout);
      return null;
    }
    spare.activate(slot, title);
    return spare;
  }

  /** Fork a spare if there is none and the cluster is at rest (while workers boot, it would take their CPU). */
  maintain(atRest: boolean): void {
    if (!this.options.enabled || this.handle || !atRest) return;
    const wait = this.diedAt + SPARE_RETRY_MS - Date.now();
    if (wait > 0) {
      this.retryTimer ??= setTimeout(() => {
        this.retryTimer = undefined;
        this.options.wakeup();
      }, wait);
      return;
    }
    this.handle = this.options.fork();
    this.options.log.debug({ workerPid: this.handle.pid }, `spare worker forked (pid ${this.handle.pid})`);
  }

  /** A spare's process ended (it never served: nothing to replace). */
  exited(handle: WorkerHandle, code: number | null, signal: string | null, stopping: boolean): void {
    if (this.handle === handle) this.handle = null;
    if (!handle.stopReason) this.diedAt = Date.now();
    const level = handle.stopReason || stopping ? 'debug' : 'warn';
    this.options.log[level]({ workerPid: handle.pid, code, signal }, `spare worker (pid ${handle.pid}) exited`);
  }

  close(): void {
    clearTimeout(this.retryTimer);
  }
}
