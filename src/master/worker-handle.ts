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

/** The master's view of one worker process: its slot, its state and its timers. Runs no app code. */
export class WorkerHandle {
  state: WorkerState;
  /** Fork time; for a spare, the time it was given its slot. */
  startedAt = Date.now();
  readyAt: number | null = null;
  lastHeartbeatAt = Date.now();
  heartbeat: WorkerHeartbeat | null = null;
  /** Set when the master decided this worker must go: a reason the exit is expected. */
  stopReason: string | null = null;
  /** Set when the master killed it (hung, stop timeout, boot timeout): overrides the exit reason. */
  killReason: string | null = null;
  lastError: string | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  /** A spare that reported it has loaded and listens for `activate`. */
  standingBy = false;
  /** Set by the arbiter: the readyTimeout of a booting worker. */
  readyTimer: NodeJS.Timeout | undefined;

  constructor(
    /** 0 for a spare until it is given a slot. */
    public slot: number,
    readonly worker: Worker,
    /** What it was forked to run (project root and mycluster entry; see currentWorkerOrigin). */
    readonly origin: string,
    /** Told of every SIGKILL the master sends, with the reason, before it is sent. */
    private readonly onKill: (handle: WorkerHandle, reason: string) => void,
  ) {
    this.state = slot === 0 ? 'spare' : 'starting';
  }

  get pid(): number {
    return this.worker.process.pid ?? 0;
  }

  get uptimeMs(): number {
    return Date.now() - this.startedAt;
  }

  /** Ask the worker to drain and exit; SIGKILL it if it is still alive after `timeoutMs`. */
  stop(reason: string, timeoutMs: number): void {
    if (this.stopReason !== null) return;
    this.stopReason = reason;
    this.state = 'stopping';
    if (this.worker.isConnected()) {
      this.worker.send(masterMessage({ type: 'stop', reason }));
    } else {
      this.kill(`${reason} (IPC channel closed)`);
      return;
    }
    this.killTimer = setTimeout(() => this.kill(`did not exit within stopTimeout (${timeoutMs} ms)`), timeoutMs);
  }

  /** SIGKILL at once. */
  kill(reason: string): void {
    if (this.killReason === null) this.onKill(this, reason);
    this.killReason ??= reason;
    this.state = 'stopping';
    try {
      this.worker.process.kill('SIGKILL');
    } catch {
      // Already gone: the exit event will follow.
    }
  }

  /** Give a spare its slot: it boots the app and reports ready like a freshly forked worker. */
  activate(slot: number, title: string): void {
    this.slot = slot;
    this.state = 'starting';
    this.startedAt = Date.now();
    this.lastHeartbeatAt = Date.now();
    this.worker.send(masterMessage({ type: 'activate', slot, title }));
  }

  sendReopenLogs(): void {
    if (this.worker.isConnected()) this.worker.send(masterMessage({ type: 'reopen-logs' }));
  }

  /** Called once, from the worker's exit event. */
  exited(code: number | null, signal: string | null, bootFailed: boolean): WorkerExit {
    clearTimeout(this.killTimer);
    let reason: string;
    if (this.killReason) reason = this.killReason;
    else if (this.stopReason) reason = this.stopReason;
    else if (bootFailed) reason = 'boot failed';
    else reason = signal ? `killed by ${signal}` : `exited with code ${code}`;
    return { code, signal, reason, lastError: this.lastError };
  }
}
