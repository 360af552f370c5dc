import type { Logger } from 'pino';
import type { ClusterEvent } from './events';
import { NotifySender } from './notify';
import type { ClusterState, ReloadResult } from './state';

/** Sends one sd_notify message (its assignments, in one datagram). */
export type SendNotify = (assignments: string[]) => void;

export interface SystemdNotifierOptions {
  send: SendNotify;
  /** The pid systemd is to follow as the service's main process, sent with the first READY=1. */
  mainPid: number;
  /** CLOCK_MONOTONIC in µs, for RELOADING=1's MONOTONIC_USEC (process.hrtime is CLOCK_MONOTONIC on Linux). */
  monotonicUsec?: () => bigint;
}

/**
 * The arbiter's events in systemd's notify protocol: READY=1 when every worker is first ready, RELOADING=1
 * and READY=1 around each rolling reload, STOPPING=1, and a STATUS line for `systemctl status`. Events only
 * queue their message: the arbiter publishes its state at the end of the tick that emitted them, and the
 * last message goes out with the STATUS line of that state.
 */
export class SystemdNotifier {
  private pending: string[][] = [];
  private ready = false;
  private reloading = false;
  private stopping = false;
  private lastStatus: string | null = null;

  constructor(private readonly options: SystemdNotifierOptions) {}

  onEvent(event: ClusterEvent): void {
    switch (event.type) {
      case 'equilibrium':
        if (this.ready || this.stopping) return;
        this.ready = true;
        this.pending.push(['READY=1', `MAINPID=${this.options.mainPid}`]);
        return;
      case 'reload-started':
        // A reload during start-up is part of starting: READY=1 comes with the first equilibrium.
        if (!this.ready || this.stopping) return;
        this.reloading = true;
        this.pending.push(['RELOADING=1', `MONOTONIC_USEC=${(this.options.monotonicUsec ?? monotonicUsec)()}`]);
        return;
      case 'reload-finished':
        if (!this.reloading || this.stopping) return;
        this.reloading = false;
        this.pending.push(['READY=1']);
        return;
      case 'stopping':
        if (this.stopping) return;
        this.stopping = true;
        this.pending.push(['STOPPING=1']);
        return;
    }
  }

  onState(state: ClusterState): void {
    const status = `STATUS=${statusLine(state, this.ready)}`;
    if (this.pending.length === 0 && status === this.lastStatus) return;
    const messages = this.pending.length > 0 ? this.pending : [[]];
    this.pending = [];
    this.lastStatus = status;
    messages.at(-1)?.push(status);
    for (const message of messages) this.options.send(message);
  }
}

/** What `systemctl status` shows: "2/2 workers ready · reload #3 done in 0.7 s". */
export function statusLine(state: ClusterState, started: boolean): string {
  if (state.stopping) {
    const left = state.slots.filter((slot) => slot.worker).length + state.draining.length;
    return `stopping: ${left} ${left === 1 ? 'worker' : 'workers'} finishing`;
  }
  const ready = state.slots.filter((slot) => slot.worker?.state === 'ready').length;
  const workers = `${ready}/${state.desiredWorkers} workers ready`;
  if (!started) return `starting: ${workers}`;
  const parts = [workers];
  if (state.reload) parts.push(`reload #${state.reload.id} (${state.reload.reason}) running`);
  else if (state.lastReload) parts.push(describeReload(state.lastReload));
  if (state.reloadQueued) parts.push('another reload queued');
  return parts.join(' · ');
}

function describeReload(reload: ReloadResult): string {
  if (reload.ok) return `reload #${reload.id} done in ${((reload.finishedAt - reload.startedAt) / 1000).toFixed(1)} s`;
  const error = (reload.error ?? 'aborted').replace(/\s+/g, ' ');
  return `reload #${reload.id} failed: ${error.length > 120 ? `${error.slice(0, 119)}…` : error}`;
}

function monotonicUsec(): bigint {
  return process.hrtime.bigint() / 1000n;
}

/**
 * How often to send WATCHDOG=1: every half WATCHDOG_USEC, as sd_watchdog_enabled(3) advises; null when
 * systemd asked for no watchdog, or asked it of another process (WATCHDOG_PID).
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!env.WATCHDOG_USEC || !Number.isSafeInteger(usec) || usec <= 0) return null;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(1, Math.floor(usec / 2000));
}

/**
 * The master's side of systemd's notify protocol, when systemd gave it a socket (NOTIFY_SOCKET); null
 * otherwise, and then nothing is spawned and no timer runs. The variables are taken out of the
 * environment, as sd_notify(3)'s unset_environment does: the workers inherit the master's environment,
 * and the master alone speaks for the service.
 */
export function startSystemdNotify(log: Logger, env: NodeJS.ProcessEnv = process.env): SystemdNotifier | null {
  const socket = env.NOTIFY_SOCKET;
  const watchdogMs = watchdogIntervalMs(env, process.pid);
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  if (!socket) return null;
  const sender = new NotifySender({ socket, log });
  const send: SendNotify = (assignments) => sender.send(assignments);
  // The timer runs on the master's event loop: a loop stuck for WATCHDOG_USEC stops the pings, and systemd acts.
  if (watchdogMs !== null) setInterval(() => send(['WATCHDOG=1']), watchdogMs).unref();
  log.info({ notifySocket: socket, watchdogMs }, 'systemd notify socket set: telling systemd about readiness, reloads and stops');
  return new SystemdNotifier({ send, mainPid: process.pid });
}
