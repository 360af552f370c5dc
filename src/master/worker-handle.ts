import type { Worker } from 'node:cluster';
import { masterMessage, type WorkerHeartbeat } from '../protocol';

/** `spare`: forked ahead of need, mycluster loaded, the app not; given a slot when one needs a worker. */
export type WorkerState = 'spare' | 'starting' | 'ready' | 'stopping';

/** How a worker's process ended, for the log and `mycluster status`. */
export interface WorkerExit {
  code: number | null;
  signal: string | null;
  /** Why: 'crashed', 'boot failed', 'stopped', 'hung', 'killed after stopTimeout', … */
  reason: string;
  /** The last error the worker reported before it died, if any. */
  lastError?: string;
}

/** The exit's reason, with the worker's last error if it reported one. */
export function describeExit(exit: WorkerExit): string {
  return exit.lastError ? `${exit.reason} (${exit.lastError})` : exit.reason;
}

/**
 * The master's view of one worker process: its slot, its state and its timers. Runs no app code. Its state
 * changes only through its own methods (as Puma's worker handle); the arbiter asks, never sets.
 */
export class WorkerHandle {
  #state: WorkerState;
  #startedAt = Date.now();
  #readyAt: number | null = null;
  #lastHeardAt = Date.now();
  #heartbeat: WorkerHeartbeat | null = null;
  #stopReason: string | null = null;
  #killReason: string | null = null;
  #lastError: string | undefined;
  #standingBy = false;
  #readyTimer: NodeJS.Timeout | undefined;
  #killTimer: NodeJS.Timeout | undefined;

  constructor(
    /** 0 for a spare until it is given a slot. */
    public slot: number,
    readonly worker: Worker,
    /** What it was forked to run (project root and mycluster entry; see currentWorkerOrigin). */
    readonly origin: string,
    /** Told of every SIGKILL the master sends, with the reason, before it is sent. */
    private readonly onKill: (handle: WorkerHandle, reason: string) => void,
  ) {
    this.#state = slot === 0 ? 'spare' : 'starting';
  }

  get pid(): number {
    return this.worker.process.pid ?? 0;
  }

  get state(): WorkerState {
    return this.#state;
  }

  /** Fork time; for a spare, the time it was given its slot. */
  get startedAt(): number {
    return this.#startedAt;
  }

  get uptimeMs(): number {
    return Date.now() - this.#startedAt;
  }

  /** From start to ready, once ready. */
  get bootMs(): number | null {
    return this.#readyAt === null ? null : this.#readyAt - this.#startedAt;
  }

  /** The last heartbeat's figures (RSS, loop delay), if one came. */
  get heartbeat(): WorkerHeartbeat | null {
    return this.#heartbeat;
  }

  /** Set when the master decided this worker must go: a reason the exit is expected. */
  get stopReason(): string | null {
    return this.#stopReason;
  }

  /** Set when the master killed it (hung, stop timeout, boot timeout): overrides the exit reason. */
  get killReason(): string | null {
    return this.#killReason;
  }

  /** A spare that reported it has loaded and listens for `activate`. */
  get standingBy(): boolean {
    return this.#standingBy;
  }

  /** Any message shows the worker's event loop answers. */
  heard(): void {
    this.#lastHeardAt = Date.now();
  }

  /** How long the worker has said nothing. */
  silentFor(now: number): number {
    return now - this.#lastHeardAt;
  }

  recordHeartbeat(heartbeat: WorkerHeartbeat): void {
    this.#heartbeat = heartbeat;
  }

  /** The error the worker reported before it stops (boot failure, fatal error), for its exit record. */
  recordError(error: string): void {
    this.#lastError = error;
  }

  /** SIGKILL the worker unless it reported ready within `timeoutMs`. */
  startReadyTimer(timeoutMs: number): void {
    this.#readyTimer = setTimeout(() => {
      if (this.#state === 'starting') this.kill(`not ready within readyTimeout (${timeoutMs} ms)`);
    }, timeoutMs);
  }

  /** The worker reported ready; false if it was not starting (a late or repeated message). */
  markReady(): boolean {
    if (this.#state !== 'starting') return false;
    this.#state = 'ready';
    this.#readyAt = Date.now();
    clearTimeout(this.#readyTimer);
    return true;
  }

  markStandingBy(): void {
    this.#standingBy = true;
  }

  /** The worker said it is stopping by itself (a fatal error). */
  markStopping(): void {
    this.#state = 'stopping';
  }

  /**
   * Ask the worker to drain and exit; SIGKILL it if it is still alive after `timeoutMs`. `restart`: it is
   * being replaced, not removed (its websocket clients are told 1012 Service Restart, else 1001 Going Away).
   */
  stop(reason: string, timeoutMs: number, { restart = false }: { restart?: boolean } = {}): void {
    if (this.#stopReason !== null) return;
    this.#stopReason = reason;
    this.#state = 'stopping';
    if (this.worker.isConnected()) {
      this.worker.send(masterMessage({ type: 'stop', reason, restart }));
    } else {
      this.kill(`${reason} (IPC channel closed)`);
      return;
    }
    this.#killTimer = setTimeout(() => this.kill(`did not exit within stopTimeout (${timeoutMs} ms)`), timeoutMs);
  }

  /** SIGKILL at once. */
  kill(reason: string): void {
    if (this.#killReason === null) this.onKill(this, reason);
    this.#killReason ??= reason;
    this.#state = 'stopping';
    try {
      this.worker.process.kill('SIGKILL');
    } catch {
      // Already gone: the exit event will follow.
    }
  }

  /** Give a spare its slot: it boots the app and reports ready like a freshly forked worker. */
  activate(slot: number, title: string): void {
    this.slot = slot;
    this.#state = 'starting';
    this.#startedAt = Date.now();
    this.#lastHeardAt = Date.now();
    this.worker.send(masterMessage({ type: 'activate', slot, title }));
  }

  /** The cluster stops soon: the worker's status action answers 503 from now on (cluster.unreadyBeforeStop). */
  announceStop(reason: string): void {
    if (this.worker.isConnected()) this.worker.send(masterMessage({ type: 'unready', reason }));
  }

  sendReopenLogs(): void {
    if (this.worker.isConnected()) this.worker.send(masterMessage({ type: 'reopen-logs' }));
  }

  /**
   * Called once, from the worker's exit event: how it ended, and whether that was a failed boot (never
   * ready, and not a clean exit: EXIT_BOOT_FAILED, a crash, or killed by the readyTimeout).
   */
  exited(code: number | null, signal: string | null): { exit: WorkerExit; bootFailed: boolean } {
    clearTimeout(this.#readyTimer);
    clearTimeout(this.#killTimer);
    const bootFailed = this.#readyAt === null && (code !== 0 || this.#killReason !== null);
    let reason: string;
    if (this.#killReason) reason = this.#killReason;
    else if (this.#stopReason) reason = this.#stopReason;
    else if (bootFailed) reason = 'boot failed';
    else reason = signal ? `killed by ${signal}` : `exited with code ${code}`;
    return { exit: { code, signal, reason, lastError: this.#lastError }, bootFailed };
  }
}
