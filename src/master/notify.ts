import { type ExecFileException, execFile } from 'node:child_process';
import type { Logger } from 'pino';

export interface NotifySenderOptions {
  /** The service manager's socket, as systemd put it in NOTIFY_SOCKET (a path, or `@name` for the abstract namespace). */
  socket: string;
  log: Logger;
  /** The sender binary; `systemd-notify` from PATH by default. */
  command?: string;
  /** A send that takes longer is killed (systemd-notify waits up to 5 s for the manager's barrier). */
  timeoutMs?: number;
}

const WATCHDOG = 'WATCHDOG=1';

/**
 * Sends sd_notify assignments (`READY=1`, `STATUS=…`) through the `systemd-notify` binary: Node cannot
 * write to a unix datagram socket. One process at a time, in order, never blocking the caller. The binary
 * waits until the manager has read the message (its barrier), so systemd still finds the sender's unit.
 * A missing binary or a failing send is logged once; the cluster carries on either way.
 */
export class NotifySender {
  private readonly queue: string[][] = [];
  private sending = false;
  private disabled = false;
  private warned = false;

  constructor(private readonly options: NotifySenderOptions) {}

  /** Queue one message (its assignments go in one datagram). A watchdog ping already waiting is not queued twice. */
  send(assignments: string[]): void {
    if (this.disabled || assignments.length === 0) return;
    const ping = assignments.length === 1 && assignments[0] === WATCHDOG;
    if (ping && this.queue.some((queued) => queued.length === 1 && queued[0] === WATCHDOG)) return;
    this.queue.push(assignments);
    this.next();
  }

  private next(): void {
    if (this.sending || this.disabled) return;
    const assignments = this.queue.shift();
    if (!assignments) return;
    this.sending = true;
    const { socket, command = 'systemd-notify', timeoutMs = 10_000 } = this.options;
    execFile(command, assignments, { env: { ...process.env, NOTIFY_SOCKET: socket }, timeout: timeoutMs }, (error, _stdout, stderr) => {
      this.sending = false;
      if (error) this.failed(command, error, stderr);
      this.next();
    });
  }

  private failed(command: string, error: ExecFileException, stderr: string): void {
    if (error.code === 'ENOENT') {
      this.disabled = true;
      this.queue.length = 0;
    }
    if (this.warned) return;
    this.warned = true;
    const why = error.code === 'ENOENT' ? `${command} not found (install systemd's systemd-notify, or put it on PATH)` : stderr.trim() || error.message;
    this.options.log.warn(
      { notifySocket: this.options.socket, code: error.code ?? null },
      `systemd notify failed: ${why}; systemd may not see readiness, reloads or watchdog pings (further failures are not logged)`,
    );
  }
}
