import type { Worker } from 'node:cluster';
import type { Logger } from 'pino';
import type { ClusterConfig } from '../config/types';
import { EXIT_BOOT_FAILED, isWorkerMessage, type WorkerHeartbeat, type WorkerMessage } from '../protocol';
import { Interrupts, REPEAT_WINDOW_MS } from '../shared/interrupts';
import { reopenLogFile } from '../shared/logger';
import type { ClusterEventListener } from './events';
import { findHealthProblem } from './health';
import { RollingReload } from './reload';
import { type MasterSignal, SignalQueue, type SignalSource } from './signals';
import { newSlot, type Slot, SlotPidfiles } from './slot';
import { Spare } from './spare';
import { type ClusterState, snapshot } from './state';
import { describeExit, type WorkerExit, WorkerHandle } from './worker-handle';

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
  /** Where signals come from; the master process's own by default (tests deliver them in-process). */
  signals?: SignalSource;
  /** Told what happens to the cluster (systemd notify, metrics); never changes it. */
  onEvent?: ClusterEventListener;
  /** The master's own upgrade (SIGURG, `mycluster upgrade`): started elsewhere, refused here when the cluster is busy. */
  upgrade?: { request(refusal: string | null): void; readonly running: boolean };
}

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
  private readonly signals: SignalQueue;
  private readonly reload: RollingReload;
  private readonly spare: Spare;
  private readonly pidfiles: SlotPidfiles;
  private stopping: { code: number } | null = null;
  private readonly interrupts = new Interrupts();
  private everReady = false;
  private inEquilibrium = false;
  private tickScheduled = false;
  private wakeupTimer: NodeJS.Timeout | undefined;
  private unreadyTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private publishTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();

  private readonly signalHandlers: Record<MasterSignal, () => void> = {
    SIGTERM: () => this.beginStop('SIGTERM', 0, this.options.cluster.unreadyBeforeStop),
    SIGINT: () => this.interrupt(),
    SIGUSR2: () => this.requestReload('SIGUSR2'),
    SIGHUP: () => this.requestReload('SIGHUP'),
    SIGTTIN: () => this.scale(+1),
    SIGTTOU: () => this.scale(-1),
    SIGUSR1: () => this.reopenLogs(),
    SIGURG: () => this.requestUpgrade(),
  };

  constructor(private readonly options: ArbiterOptions) {
    this.desired = options.workers;
    const { stopTimeout } = options.cluster;
    const wakeup = (): void => this.wakeup();
    this.pidfiles = new SlotPidfiles(options.pidFolder, options.cluster.workerTitlePrefix, options.pidFileMode);
    this.signals = new SignalQueue(wakeup, options.signals);
    this.spare = new Spare({
      enabled: options.cluster.spareWorker,
      fork: () => this.forkHandle(0),
      currentOrigin: options.currentOrigin,
      stopTimeout,
      wakeup,
      log: options.log,
    });
    this.reload = new RollingReload({
      slots: this.slots,
      spawn: (slot) => this.spawn(slot),
      writePidfile: (slot, pid) => this.pidfiles.write(slot, pid),
      stopTimeout,
      wakeup,
      log: options.log,
      emit: this.emit,
    });
  }

  private readonly emit: ClusterEventListener = (event) => this.options.onEvent?.(event);

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

  /**
   * A stop requested from outside the signal path (a fatal master error; an upgrade's handover, where
   * `restart` tells the workers' clients to come back: their new workers are already serving).
   */
  shutdown(reason: string, code: number, { restart = false }: { restart?: boolean } = {}): void {
    this.beginStop(reason, code, 0, restart);
    this.wakeup();
  }

  /** The loop: handle queued signals, then reconcile the workers, move the reload on, and publish. */
  private tick(): void {
    for (const signal of this.signals.drain()) this.signalHandlers[signal]();
    if (this.stopping) {
      if (this.handles.size === 0) this.finish();
      this.publish();
      return;
    }
    this.manageWorkers();
    this.reload.advance();
    this.checkEquilibrium();
    // A reload's first replacement takes the spare; the next spare waits for the cluster to be at rest.
    this.spare.maintain(this.inEquilibrium && !this.reload.busy);
    this.publish();
  }

  // ---- signals -------------------------------------------------------------------------------

  private interrupt(): void {
    const interrupt = this.interrupts.next();
    if (interrupt === 'stop') {
      this.beginStop('SIGINT', 0, this.options.cluster.unreadyBeforeStop);
      return;
    }
    if (interrupt === 'copy') {
      this.log.info(`SIGINT again within ${REPEAT_WINDOW_MS} ms: the same interrupt (a runner passing on Ctrl-C), still draining`);
      return;
    }
    this.log.warn('second SIGINT: killing every worker now');
    clearTimeout(this.unreadyTimer);
    for (const handle of this.handles) handle.kill('killed by a second SIGINT');
    this.stopping = { code: 1 };
  }

  /**
   * Stop every worker. With `unreadyMs`, the workers first answer the status action with 503 for that long (load
   * balancers take the host out) while serving everything else; the drain, and its stopTimeout, start after.
   */
  private beginStop(reason: string, code: number, unreadyMs = 0, restart = false): void {
    if (this.stopping) return;
    this.stopping = { code };
    this.emit({ type: 'stopping', reason });
    this.reload.cancel(`cluster stopping (${reason})`);
    clearTimeout(this.wakeupTimer);
    const drain = (): void => {
      this.emit({ type: 'draining' });
      this.log.info({ reason }, `stopping cluster (${reason}): draining ${this.handles.size} workers`);
      for (const handle of this.handles) handle.stop(restart ? reason : 'cluster stopping', this.options.cluster.stopTimeout, { restart });
    };
    if (unreadyMs <= 0) {
      drain();
      return;
    }
    this.log.info({ reason, unreadyBeforeStop: unreadyMs }, `stopping cluster (${reason}): status answers 503 for ${unreadyMs} ms, then drain`);
    // The spare serves nothing: it is only stopped.
    for (const handle of this.handles) if (handle.slot !== 0) handle.announceStop(reason);
    this.unreadyTimer = setTimeout(drain, unreadyMs);
  }

  private requestReload(reason: string, slots?: number[]): void {
    if (this.stopping) return;
    if (this.options.upgrade?.running) this.reload.refuse(reason, 'an upgrade of the master is in progress; reload after it');
    else this.reload.request(reason, slots);
  }

  private requestUpgrade(): void {
    if (this.stopping) return;
    this.options.upgrade?.request(this.reload.busy ? 'a rolling reload is running; upgrade after it' : null);
  }

  /**
   * After a failed upgrade: the slot pidfiles name this master's workers again (the new master's had replaced
   * them). Only workers still running: during a stop a slot keeps its exited worker, whose pidfile is gone.
   */
  rewritePidfiles(): void {
    for (const slot of this.slots.values()) if (slot.current && this.handles.has(slot.current)) this.pidfiles.write(slot.number, slot.current.pid);
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

  // ---- worker events: messages, exits, hung and unhealthy workers ----------------------------

  private onMessage(handle: WorkerHandle, message: WorkerMessage): void {
    handle.heard();
    switch (message.type) {
      case 'ready':
        if (!handle.markReady()) return;
        this.everReady = true;
        this.log.info({ slot: handle.slot, workerPid: handle.pid, bootMs: handle.bootMs }, `worker #${handle.slot} (pid ${handle.pid}) ready`);
        if (this.slots.get(handle.slot)?.current === handle) this.pidfiles.write(handle.slot, handle.pid);
        break;
      case 'heartbeat':
        handle.recordHeartbeat(message.heartbeat);
        this.emit({ type: 'worker-heartbeat', worker: handle.worker.id, slot: handle.slot, heartbeat: message.heartbeat });
        this.checkHealth(handle, message.heartbeat);
        // Nothing to reconcile: only the published RSS changed, and the state file catches up within a second.
        this.publishSoon();
        return;
      case 'spare-ready':
        handle.markStandingBy();
        this.publishSoon();
        return;
      case 'boot-failed':
      case 'fatal':
        handle.recordError(message.error);
        break;
      case 'stopping':
        handle.markStopping();
        break;
    }
    this.wakeup();
  }

  /** A worker process ended: update its slot, log why, and schedule what replaces it. */
  private reap(handle: WorkerHandle, code: number | null, signal: string | null): void {
    this.handles.delete(handle);
    this.emit({ type: 'worker-exit', worker: handle.worker.id, slot: handle.slot, pid: handle.pid });
    const { exit, bootFailed } = handle.exited(code, signal);
    if (handle.slot === 0) {
      this.spare.exited(handle, code, signal, this.stopping !== null);
      this.wakeup();
      return;
    }
    this.inEquilibrium = false;
    this.pidfiles.remove(handle.slot, handle.pid);
    const slot = this.slots.get(handle.slot);
    this.reload.exited(handle);

    const details = exitDetails(handle, exit);
    if (this.stopping || (handle.stopReason !== null && handle.killReason === null)) {
      this.log.info(details, `worker #${handle.slot} (pid ${handle.pid}) stopped: ${exit.reason}`);
    } else if (slot && slot.replacement === handle) {
      slot.replacement = null;
      this.log.error(details, `replacement worker #${handle.slot} (pid ${handle.pid}) failed to boot: ${describeExit(exit)}`);
      this.reload.replacementFailed(slot.number, `worker #${slot.number} failed to boot: ${describeExit(exit)}`);
    } else if (slot && slot.current === handle) {
      this.servingWorkerDied(slot, handle, exit, bootFailed);
    } else {
      this.log.info(details, `worker #${handle.slot} (pid ${handle.pid}) exited: ${exit.reason}`);
    }
    this.wakeup();
  }

  /**
   * The worker serving a slot died unasked. A boot failure before any worker was ever ready stops the cluster;
   * EXIT_BOOT_FAILED is retried at the backoff's cap (a bad deploy must not restart-loop); a crash after the
   * slot's backoff.
   */
  private servingWorkerDied(slot: Slot, handle: WorkerHandle, exit: WorkerExit, bootFailed: boolean): void {
    slot.current = null;
    slot.lastExit = exit;
    slot.restarts += 1;
    const details = exitDetails(handle, exit);
    const cause = bootFailed || exit.code === EXIT_BOOT_FAILED ? 'boot-failure' : handle.killReason ? 'hung' : 'crash';
    this.emit({ type: 'worker-restart', slot: slot.number, reason: cause });
    if (bootFailed && !this.everReady) {
      this.log.fatal(details, `worker #${handle.slot} failed to boot: ${describeExit(exit)}; stopping the cluster`);
      this.beginStop('boot failure', 1);
    } else if (exit.code === EXIT_BOOT_FAILED) {
      const delay = slot.backoff.maxDelay();
      slot.nextStartAt = Date.now() + delay;
      this.log.error(
        { ...details, restartInMs: delay },
        `worker #${handle.slot} (pid ${handle.pid}) failed to boot: ${describeExit(exit)}; retrying in ${delay} ms (fix the code, then reload)`,
      );
    } else {
      const delay = slot.backoff.nextDelay(handle.uptimeMs);
      slot.nextStartAt = Date.now() + delay;
      const level = handle.killReason ? 'warn' : 'error';
      this.log[level]({ ...details, restartInMs: delay }, `worker #${handle.slot} (pid ${handle.pid}) ${describeExit(exit)}; restarting in ${delay} ms`);
    }
  }

  /** Kill workers whose event loop has not answered for workerTimeout ms; the crash path replaces them. */
  private murderHungWorkers(): void {
    const timeout = this.options.cluster.workerTimeout;
    if (timeout <= 0 || this.stopping) return;
    const now = Date.now();
    for (const handle of this.handles) {
      if (handle.state !== 'ready' || handle.killReason) continue;
      const silentFor = handle.silentFor(now);
      if (silentFor > timeout) {
        this.log.error(
          { slot: handle.slot, workerPid: handle.pid, silentFor },
          `worker #${handle.slot} (pid ${handle.pid}) is hung: no heartbeat for ${silentFor} ms`,
        );
        handle.kill(`hung: no heartbeat for ${silentFor} ms`);
      }
    }
  }

  /** A serving worker whose heartbeat shows a problem (above maxMemory, a dead Redis connection) is replaced, its successor ready first. */
  private checkHealth(handle: WorkerHandle, heartbeat: WorkerHeartbeat): void {
    const problem = findHealthProblem(heartbeat, this.options.cluster);
    if (!problem) return;
    if (this.slots.get(handle.slot)?.current !== handle || handle.state !== 'ready' || this.reload.busy || this.stopping) return;
    this.log[problem.level](
      { slot: handle.slot, workerPid: handle.pid, ...problem.details },
      `worker #${handle.slot} (pid ${handle.pid}) ${problem.description}: replacing it`,
    );
    this.emit({ type: 'worker-unhealthy', slot: handle.slot, reason: problem.reason });
    this.requestReload(problem.reason, [handle.slot]);
    this.wakeup();
  }

  // ---- reconcile: one worker per slot --------------------------------------------------------

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
      this.reload.slotRemoved(slot.number);
    }
    if (nextWake !== Infinity) {
      clearTimeout(this.wakeupTimer);
      this.wakeupTimer = setTimeout(() => this.wakeup(), nextWake - now);
    }
  }

  private slotFor(number: number): Slot {
    let slot = this.slots.get(number);
    if (!slot) {
      slot = newSlot(number, this.options.cluster.restartBackoff);
      this.slots.set(number, slot);
    }
    return slot;
  }

  /** A worker for the slot: the spare when one is standing by (a boot of milliseconds), else a fresh fork. */
  private spawn(slot: Slot): WorkerHandle {
    const handle = this.spare.take(slot.number, `${this.options.cluster.workerTitlePrefix}${slot.number}`) ?? this.forkHandle(slot.number);
    this.inEquilibrium = false;
    this.log.info({ slot: slot.number, workerPid: handle.pid }, `starting worker #${slot.number} (pid ${handle.pid})`);
    if (!slot.current) this.pidfiles.write(slot.number, handle.pid);
    handle.startReadyTimer(this.options.cluster.readyTimeout);
    return handle;
  }

  /** Fork a process (slot 0: a spare) and follow its messages and its exit. */
  private forkHandle(slot: number): WorkerHandle {
    const { worker, origin } = this.options.fork(slot === 0 ? null : slot);
    const handle = new WorkerHandle(slot, worker, origin, (killed, reason) =>
      this.log.warn({ slot: killed.slot, workerPid: killed.pid, reason }, `killing worker #${killed.slot} (pid ${killed.pid}): ${reason}`),
    );
    this.handles.add(handle);
    worker.on('message', (message: unknown) => {
      if (isWorkerMessage(message)) this.onMessage(handle, message);
    });
    worker.on('error', (error) => this.log.warn({ slot: handle.slot, err: error }, 'worker IPC error'));
    worker.once('exit', (code: number | null, signal: string | null) => this.reap(handle, code, signal));
    return handle;
  }

  private checkEquilibrium(): void {
    if (this.inEquilibrium) return;
    for (let number = 1; number <= this.desired; number += 1) {
      const slot = this.slots.get(number);
      if (slot?.current?.state !== 'ready' || slot.replacement) return;
    }
    if (this.reload.running) return;
    this.inEquilibrium = true;
    this.emit({ type: 'equilibrium', workers: this.desired });
    this.log.info({ workers: this.desired }, `cluster equilibrium state reached with ${this.desired} workers`);
  }

  // ---- the end -------------------------------------------------------------------------------

  private finish(): void {
    if (this.heartbeatTimer === undefined) return;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    clearTimeout(this.wakeupTimer);
    clearTimeout(this.unreadyTimer);
    clearTimeout(this.publishTimer);
    this.spare.close();
    this.signals.uninstall();
    const code = this.stopping?.code ?? 0;
    this.log.info({ code }, 'cluster stopped');
    this.options.exit(code);
  }

  snapshot(): ClusterState {
    return snapshot({
      master: { pid: process.pid, startedAt: this.startedAt },
      desiredWorkers: this.desired,
      stopping: this.stopping !== null,
      equilibrium: this.inEquilibrium,
      reload: this.reload.summary(),
      slots: this.slots.values(),
      spare: this.spare.current,
      handles: this.handles,
    });
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

/** The log fields of a worker's exit. */
function exitDetails(handle: WorkerHandle, exit: WorkerExit) {
  return { slot: handle.slot, workerPid: handle.pid, code: exit.code, signal: exit.signal, reason: exit.reason, lastError: exit.lastError };
}
