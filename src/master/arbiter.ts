import type { Worker } from 'node:cluster';
import path from 'node:path';
import type { Logger } from 'pino';
import type { ClusterConfig } from '../config/types';
import { EXIT_BOOT_FAILED, isWorkerMessage, type WorkerMessage } from '../protocol';
import { removePidfile, writePidfile } from '../pids';
import { reopenLogFile } from '../shared/logger';
import { RestartBackoff } from './backoff';
import { redisReplacementReason } from './redis-health';
import { SignalQueue, type MasterSignal } from './signals';
import { Spare } from './spare';
import type { ClusterState, ReloadResult } from './state';
import { WorkerHandle, type WorkerExit } from './worker-handle';

export interface ArbiterOptions {
  workers: number;
  cluster: ClusterConfig;
  pidFolder: string;
  pidFileMode: number;
  log: Logger;
  /** Fork the worker process for a slot, or a spare (null); says what it runs (its origin). */
  fork: (slot: number | null) => { worker: Worker; origin: string };
  /** The origin a fork would have now: a spare forked under another one is stale. */
  currentOrigin: () => string;
  /** Called on every state change (throttled by the receiver). */
  publish: (state: ClusterState) => void;
  /** Called once, when every worker is gone after a stop. */
  exit: (code: number) => void;
}

interface Slot {
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

/** During a reload, how long the next slot waits for the previous slot's old worker to finish draining. */
const RETIRE_OVERLAP_MS = 2_000;
const HEARTBEAT_CHECK_MS = 1_000;
const HEARTBEAT_PUBLISH_MS = 1_000;

/**
 * The supervisor: a state (desired count, slots, one worker per slot) and one loop, `tick`, that moves it
 * toward the goal. Events (signals, worker messages, exits, timers) only update the state and wake the loop.
 */
export class Arbiter {
  private desired: number;
  private readonly slots = new Map<number, Slot>();
  /** Every live worker process: current ones, replacements and old ones draining. */
  private readonly handles = new Set<WorkerHandle>();
  private readonly signals = new SignalQueue(() => this.wakeup());
  private reload: ReloadRun | null = null;
  private readonly spare: Spare;
  private pendingReload: { reason: string; requestedAt: number; slots?: number[] } | null = null;
  private lastReload: ReloadResult | null = null;
  private reloadCounter = 0;
  private stopping: { code: number } | null = null;
  private interrupts = 0;
  private everReady = false;
  private inEquilibrium = false;
  private tickScheduled = false;
  private wakeupTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private publishTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();

  private readonly signalHandlers: Record<MasterSignal, () => void> = {
    SIGTERM: () => this.beginStop('SIGTERM', 0),
    SIGINT: () => this.interrupt(),
    SIGUSR2: () => this.requestReload('SIGUSR2'),
    SIGHUP: () => this.requestReload('SIGHUP'),
    SIGTTIN: () => this.scale(+1),
    SIGTTOU: () => this.scale(-1),
    SIGUSR1: () => this.reopenLogs(),
  };

  constructor(private readonly options: ArbiterOptions) {
    this.desired = options.workers;
    this.spare = new Spare({
      enabled: options.cluster.spareWorker,
      fork: () => this.forkHandle(0),
      currentOrigin: options.currentOrigin,
      stopTimeout: options.cluster.stopTimeout,
      wakeup: () => this.wakeup(),
      log: options.log,
    });
  }

  private get log(): Logger {
    return this.options.log;
  }

  start(): void {
    this.signals.install();
    this.heartbeatTimer = setInterval(() => this.murderHungWorkers(), HEARTBEAT_CHECK_MS);
    this.log.info({ workers: this.desired }, `starting cluster with ${this.desired} workers`);
    this.wakeup();
  }

  /** Run `tick` soon, once, however many events asked for it. */
  wakeup(): void {
    if (this.tickScheduled) return;
    this.tickScheduled = true;
    setImmediate(() => {
      this.tickScheduled = false;
      this.tick();
    });
  }

  /** A rolling reload requested from outside the signal path (--watch). */
  triggerReload(reason: string): void {
    this.requestReload(reason);
    this.wakeup();
  }

  /** A stop requested from outside the signal path (e.g. a fatal master error). */
  shutdown(reason: string, code: number): void {
    this.beginStop(reason, code);
    this.wakeup();
  }

  private tick(): void {
    for (const signal of this.signals.drain()) this.signalHandlers[signal]();
    if (this.stopping) {
      if (this.handles.size === 0) this.finish();
      this.publish();
      return;
    }
    this.manageWorkers();
    this.advanceReload();
    this.checkEquilibrium();
    // A reload's first replacement takes the spare; the next spare waits for the cluster to be at rest.
    this.spare.maintain(this.inEquilibrium && !this.reload && !this.pendingReload);
    this.publish();
  }

  // ---- signals -------------------------------------------------------------------------------

  private interrupt(): void {
    this.interrupts += 1;
    if (this.interrupts === 1) {
      this.beginStop('SIGINT', 0);
      return;
    }
    this.log.warn('second SIGINT: killing every worker now');
    for (const handle of this.handles) handle.kill('killed by a second SIGINT');
    this.stopping = { code: 1 };
  }

  private beginStop(reason: string, code: number): void {
    if (this.stopping) return;
    this.stopping = { code };
    this.log.info({ reason }, `stopping cluster (${reason}): draining ${this.handles.size} workers`);
    if (this.reload) this.finishReload(false, `cluster stopping (${reason})`);
    this.pendingReload = null;
    clearTimeout(this.wakeupTimer);
    for (const handle of this.handles) handle.stop('cluster stopping', this.options.cluster.stopTimeout);
  }

  private requestReload(reason: string, slots?: number[]): void {
    if (this.stopping) return;
    // During a reload, this queues one more to run after it, however many signals arrive meanwhile.
    if (this.reload || this.pendingReload) this.log.info({ reason }, 'reload requested during a reload: queued to run after it');
    this.pendingReload = { reason, requestedAt: Date.now(), slots };
  }

  private scale(delta: number): void {
    if (this.stopping) return;
    const desired = Math.max(1, this.desired + delta);
    if (desired === this.desired) {
      this.log.warn('SIGTTOU ignored: the cluster keeps at least one worker');
      return;
    }
    this.desired = desired;
    this.log.info({ workers: desired }, `scaling to ${desired} workers`);
  }

  private reopenLogs(): void {
    this.log.info('SIGUSR1: reopening log files');
    reopenLogFile();
    for (const handle of this.handles) handle.sendReopenLogs();
  }

  // ---- workers -------------------------------------------------------------------------------

  /** Reconcile: one worker per slot 1..desired (respecting crash backoff); slots above desired go. */
  private manageWorkers(): void {
    const now = Date.now();
    let nextWake = Infinity;
    for (let number = 1; number <= this.desired; number += 1) {
      const slot = this.slotFor(number);
      if (slot.current || slot.replacement) continue;
      if (now >= slot.nextStartAt) {
        slot.current = this.spawn(slot);
      } else {
        nextWake = Math.min(nextWake, slot.nextStartAt);
      }
    }
    for (const slot of this.slots.values()) {
      if (slot.number <= this.desired) continue;
      this.slots.delete(slot.number);
      for (const handle of [slot.current, slot.replacement]) handle?.stop('scaled down', this.options.cluster.stopTimeout);
      if (this.reload) {
        this.reload.remaining = this.reload.remaining.filter((number) => number !== slot.number);
        if (this.reload.slot === slot.number) this.reload.slot = null;
      }
    }
    if (nextWake !== Infinity) {
      clearTimeout(this.wakeupTimer);
      this.wakeupTimer = setTimeout(() => this.wakeup(), nextWake - now);
    }
  }

  private slotFor(number: number): Slot {
    let slot = this.slots.get(number);
    if (!slot) {
      slot = {
        number,
        current: null,
        replacement: null,
        backoff: new RestartBackoff(this.options.cluster.restartBackoff),
        restarts: 0,
        nextStartAt: 0,
        lastExit: null,
      };
      this.slots.set(number, slot);
    }
    return slot;
  }

  private pidfileOf(slot: number): string {
    return path.join(this.options.pidFolder, `${this.options.cluster.workerTitlePrefix}${slot}`);
  }

  /** A worker for the slot: the spare when one is standing by (a boot of milliseconds), else a fresh fork. */
  private spawn(slot: Slot): WorkerHandle {
    const handle = this.spare.take(slot.number, `${this.options.cluster.workerTitlePrefix}${slot.number}`) ?? this.forkHandle(slot.number);
    this.inEquilibrium = false;
    this.log.info({ workerSlot: slot.number, workerPid: handle.pid }, `starting worker #${slot.number} (pid ${handle.pid})`);
    if (!slot.current) writePidfile(this.pidfileOf(slot.number), handle.pid, this.options.pidFileMode);
    handle.readyTimer = setTimeout(() => {
      if (handle.state === 'starting') handle.kill(`not ready within readyTimeout (${this.options.cluster.readyTimeout} ms)`);
    }, this.options.cluster.readyTimeout);
    return handle;
  }

  /** Fork a process (slot 0: a spare) and follow its messages and its exit. */
  private forkHandle(slot: number): WorkerHandle {
    const { worker, origin } = this.options.fork(slot === 0 ? null : slot);
    const handle = new WorkerHandle(slot, worker, origin, (killed, reason) =>
      this.log.warn({ workerSlot: killed.slot, workerPid: killed.pid, reason }, `killing worker #${killed.slot} (pid ${killed.pid}): ${reason}`),
    );
    this.handles.add(handle);
    worker.on('message', (message: unknown) => {
      if (isWorkerMessage(message)) this.onMessage(handle, message);
    });
    worker.on('error', (error) => this.log.warn({ workerSlot: handle.slot, err: error }, 'worker IPC error'));
    worker.once('exit', (code: number | null, signal: string | null) => {
      clearTimeout(handle.readyTimer);
      this.reap(handle, code, signal);
    });
    return handle;
  }

  private onMessage(handle: WorkerHandle, message: WorkerMessage): void {
    handle.lastHeartbeatAt = Date.now();
    switch (message.type) {
      case 'ready':
        if (handle.state !== 'starting') return;
        handle.state = 'ready';
        handle.readyAt = Date.now();
        this.everReady = true;
        this.log.info(
          { workerSlot: handle.slot, workerPid: handle.pid, bootMs: handle.readyAt - handle.startedAt },
          `worker #${handle.slot} (pid ${handle.pid}) ready`,
        );
        if (this.slots.get(handle.slot)?.current === handle) {
          writePidfile(this.pidfileOf(handle.slot), handle.pid, this.options.pidFileMode);
        }
        break;
      case 'heartbeat':
        handle.heartbeat = message.heartbeat;
        this.guardMemory(handle);
        this.guardRedis(handle);
        // Nothing to reconcile: only the published RSS changed, and the state file catches up within a second.
        this.publishSoon();
        return;
      case 'spare-ready':
        handle.standingBy = true;
        this.publishSoon();
        return;
      case 'boot-failed':
      case 'fatal':
        handle.lastError = message.error;
        break;
      case 'stopping':
        handle.state = 'stopping';
        break;
    }
    this.wakeup();
  }

  /** A worker process ended: update its slot, log why, and schedule what replaces it. */
  private reap(handle: WorkerHandle, code: number | null, signal: string | null): void {
    this.handles.delete(handle);
    if (handle.slot === 0) {
      this.spare.exited(handle, code, signal, this.stopping !== null);
      this.wakeup();
      return;
    }
    this.inEquilibrium = false;
    // Never ready, and did not exit cleanly (EXIT_BOOT_FAILED, a crash, or killed by the readyTimeout).
    const bootFailed = handle.readyAt === null && (code !== 0 || handle.killReason !== null);
    const exit = handle.exited(code, signal, bootFailed);
    const details = { workerSlot: handle.slot, workerPid: handle.pid, code, signal, reason: exit.reason, lastError: exit.lastError };
    removePidfile(this.pidfileOf(handle.slot), handle.pid);
    const slot = this.slots.get(handle.slot);
    this.reload?.retiring.delete(handle);

    if (this.stopping || (handle.stopReason !== null && handle.killReason === null)) {
      this.log.info(details, `worker #${handle.slot} (pid ${handle.pid}) stopped: ${exit.reason}`);
    } else if (slot && slot.replacement === handle) {
      slot.replacement = null;
      this.log.error(details, `replacement worker #${handle.slot} (pid ${handle.pid}) failed to boot: ${describe(exit)}`);
      if (this.reload?.slot === slot.number) this.finishReload(false, `worker #${slot.number} failed to boot: ${describe(exit)}`);
    } else if (slot && slot.current === handle) {
      slot.current = null;
      slot.lastExit = exit;
      slot.restarts += 1;
      if (bootFailed && !this.everReady) {
        this.log.fatal(details, `worker #${handle.slot} failed to boot: ${describe(exit)}; stopping the cluster`);
        this.beginStop('boot failure', 1);
      } else if (code === EXIT_BOOT_FAILED) {
        // The code on disk does not boot: retrying fast would only spin. Retry at the backoff's cap until fixed.
        const delay = slot.backoff.maxDelay();
        slot.nextStartAt = Date.now() + delay;
        this.log.error({ ...details, restartInMs: delay }, `worker #${handle.slot} (pid ${handle.pid}) failed to boot: ${describe(exit)}; retrying in ${delay} ms (fix the code, then reload)`);
      } else {
        const delay = slot.backoff.nextDelay(handle.uptimeMs);
        slot.nextStartAt = Date.now() + delay;
        const level = handle.killReason ? 'warn' : 'error';
        this.log[level]({ ...details, restartInMs: delay }, `worker #${handle.slot} (pid ${handle.pid}) ${describe(exit)}; restarting in ${delay} ms`);
      }
    } else {
      this.log.info(details, `worker #${handle.slot} (pid ${handle.pid}) exited: ${exit.reason}`);
    }
    this.wakeup();
  }

  /** Kill workers whose event loop has not answered for workerTimeout ms; the crash path replaces them. */
  private murderHungWorkers(): void {
    const timeout = this.options.cluster.workerTimeout;
    if (timeout <= 0 || this.stopping) return;
    const now = Date.now();
    for (const handle of this.handles) {
      if (handle.state !== 'ready' || handle.killReason) continue;
      const silentFor = now - handle.lastHeartbeatAt;
      if (silentFor > timeout) {
        this.log.error({ workerSlot: handle.slot, workerPid: handle.pid, silentFor }, `worker #${handle.slot} (pid ${handle.pid}) is hung: no heartbeat for ${silentFor} ms`);
        handle.kill(`hung: no heartbeat for ${silentFor} ms`);
      }
    }
  }

  /** A worker above maxMemory is replaced like a one-slot rolling reload: its successor is ready first. */
  private guardMemory(handle: WorkerHandle): void {
    const limit = this.options.cluster.maxMemory;
    if (limit <= 0 || !handle.heartbeat || handle.heartbeat.rss <= limit) return;
    const slot = this.slots.get(handle.slot);
    if (!slot || slot.current !== handle || handle.state !== 'ready' || this.reload || this.pendingReload || this.stopping) return;
    this.log.warn(
      { workerSlot: handle.slot, workerPid: handle.pid, rss: handle.heartbeat.rss, maxMemory: limit },
      `worker #${handle.slot} (pid ${handle.pid}) uses ${handle.heartbeat.rss} bytes, above maxMemory ${limit}: replacing it`,
    );
    this.pendingReload = { reason: 'maxMemory', requestedAt: Date.now(), slots: [handle.slot] };
    this.wakeup();
  }

  /** A worker with a dead Redis connection (see redis-health.ts) is replaced the same way. */
  private guardRedis(handle: WorkerHandle): void {
    const reason = redisReplacementReason(handle.heartbeat?.redis, this.options.cluster.redisDownTimeout);
    const slot = this.slots.get(handle.slot);
    if (!reason || !slot || slot.current !== handle || handle.state !== 'ready' || this.reload || this.pendingReload || this.stopping) return;
    this.log.error({ workerSlot: handle.slot, workerPid: handle.pid }, `worker #${handle.slot} (pid ${handle.pid}): ${reason}: replacing it`);
    this.pendingReload = { reason: 'redisDownTimeout', requestedAt: Date.now(), slots: [handle.slot] };
    this.wakeup();
  }

  // ---- rolling reload ------------------------------------------------------------------------

  private advanceReload(): void {
    if (!this.reload && this.pendingReload) {
      const { reason, requestedAt, slots } = this.pendingReload;
      this.pendingReload = null;
      this.reloadCounter += 1;
      const remaining = slots ?? [...this.slots.keys()].sort((a, b) => a - b);
      this.reload = { id: this.reloadCounter, reason, requestedAt, startedAt: Date.now(), remaining, slot: null, retiring: new Set(), retiringSince: 0 };
      this.log.info({ reloadId: this.reload.id, reason, slots: remaining }, `rolling reload #${this.reload.id} (${reason}): replacing ${remaining.length} workers one at a time`);
    }
    const reload = this.reload;
    if (!reload) return;
    for (;;) {
      if (reload.slot === null) {
        if (this.waitForRetiring(reload)) return;
        const next = reload.remaining.shift();
        if (next === undefined) break;
        const slot = this.slots.get(next);
        if (!slot) continue;
        if (!slot.current) {
          // Waiting out a crash backoff (perhaps the old code did not boot): start it now, from the new code.
          slot.nextStartAt = 0;
          this.wakeup();
          continue;
        }
        slot.replacement = this.spawn(slot);
        reload.slot = next;
      }
      const slot = this.slots.get(reload.slot);
      const replacement = slot?.replacement;
      if (!slot || !replacement) {
        reload.slot = null;
        continue;
      }
      if (replacement.state !== 'ready') return;
      const old = slot.current;
      slot.current = replacement;
      slot.replacement = null;
      writePidfile(this.pidfileOf(slot.number), replacement.pid, this.options.pidFileMode);
      if (old) {
        reload.retiring.add(old);
        reload.retiringSince = Date.now();
        old.stop(`replaced by pid ${replacement.pid} (reload #${reload.id})`, this.options.cluster.stopTimeout);
      }
      reload.slot = null;
    }
    if (reload.retiring.size === 0) this.finishReload(true);
  }

  /**
   * The next replacement boots once the old worker last asked to stop is gone, or RETIRE_OVERLAP_MS after
   * it was asked: its drain moves its clients to the other workers, and a fork booting meanwhile would take
   * their CPU. The bound keeps a long drain (a slow request, a long job) from stretching the whole reload.
   */
  private waitForRetiring(reload: ReloadRun): boolean {
    if (reload.retiring.size === 0) return false;
    const wait = reload.retiringSince + RETIRE_OVERLAP_MS - Date.now();
    if (wait <= 0) return false;
    reload.overlapTimer ??= setTimeout(() => {
      reload.overlapTimer = undefined;
      this.wakeup();
    }, wait);
    return true;
  }

  private finishReload(ok: boolean, failure?: string): void {
    const reload = this.reload;
    if (!reload) return;
    this.reload = null;
    clearTimeout(reload.overlapTimer);
    // A reload queued meanwhile starts on the next tick.
    if (this.pendingReload) this.wakeup();
    const finishedAt = Date.now();
    this.lastReload = { id: reload.id, reason: reload.reason, ok, error: failure, requestedAt: reload.requestedAt, startedAt: reload.startedAt, finishedAt };
    if (ok) {
      this.log.info({ reloadId: reload.id, durationMs: finishedAt - reload.startedAt }, `rolling reload #${reload.id} done in ${finishedAt - reload.startedAt} ms`);
      return;
    }
    // The replacement that failed is gone; the old workers keep serving.
    for (const number of [reload.slot, ...reload.remaining]) {
      const slot = number === null ? undefined : this.slots.get(number);
      const replacement = slot?.replacement;
      if (slot && replacement) {
        slot.replacement = null;
        replacement.kill('reload aborted');
      }
    }
    this.log.error({ reloadId: reload.id, error: failure }, `rolling reload #${reload.id} aborted: ${failure}; the old workers keep serving`);
  }

  private checkEquilibrium(): void {
    if (this.inEquilibrium) return;
    for (let number = 1; number <= this.desired; number += 1) {
      const slot = this.slots.get(number);
      if (!slot?.current || slot.current.state !== 'ready' || slot.replacement) return;
    }
    if (this.reload) return;
    this.inEquilibrium = true;
    this.log.info({ workers: this.desired }, `cluster equilibrium state reached with ${this.desired} workers`);
  }

  // ---- the end -------------------------------------------------------------------------------

  private finish(): void {
    if (this.heartbeatTimer === undefined) return;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    clearTimeout(this.wakeupTimer);
    clearTimeout(this.publishTimer);
    this.spare.close();
    this.signals.uninstall();
    const code = this.stopping?.code ?? 0;
    this.log.info({ code }, 'cluster stopped');
    this.options.exit(code);
  }

  snapshot(): ClusterState {
    const now = Date.now();
    const slots = [...this.slots.values()].sort((a, b) => a.number - b.number);
    const describeHandle = (handle: WorkerHandle) => ({
      pid: handle.pid,
      state: handle.state,
      startedAt: handle.startedAt,
      uptimeMs: now - handle.startedAt,
      rss: handle.heartbeat?.rss ?? null,
      redis: handle.heartbeat?.redis ?? null,
    });
    return {
      master: { pid: process.pid, startedAt: this.startedAt, uptimeMs: now - this.startedAt },
      desiredWorkers: this.desired,
      stopping: this.stopping !== null,
      equilibrium: this.inEquilibrium,
      reload: this.reload
        ? { id: this.reload.id, reason: this.reload.reason, startedAt: this.reload.startedAt, slot: this.reload.slot, remaining: [...this.reload.remaining] }
        : null,
      reloadQueued: this.pendingReload !== null,
      lastReload: this.lastReload,
      slots: slots.map((slot) => ({
        slot: slot.number,
        worker: slot.current ? describeHandle(slot.current) : null,
        replacement: slot.replacement ? describeHandle(slot.replacement) : null,
        restarts: slot.restarts,
        lastExit: slot.lastExit,
      })),
      spare: this.spare.current ? { pid: this.spare.current.pid, startedAt: this.spare.current.startedAt, standingBy: this.spare.current.standingBy } : null,
      draining: [...this.handles]
        .filter((handle) => handle.slot !== 0 && this.slots.get(handle.slot)?.current !== handle && this.slots.get(handle.slot)?.replacement !== handle)
        .map((handle) => ({ slot: handle.slot, ...describeHandle(handle) })),
      updatedAt: now,
    };
  }

  private publish(): void {
    clearTimeout(this.publishTimer);
    this.publishTimer = undefined;
    this.options.publish(this.snapshot());
  }

  /** Publish within a second: for heartbeats, which change nothing but RSS figures. */
  private publishSoon(): void {
    this.publishTimer ??= setTimeout(() => this.publish(), HEARTBEAT_PUBLISH_MS);
  }
}

function describe(exit: WorkerExit): string {
  return exit.lastError ? `${exit.reason} (${exit.lastError})` : exit.reason;
}
