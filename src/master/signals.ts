/**
 * The signals the master acts on. Handlers only queue the signal and wake the arbiter's loop;
 * all the work happens there (as in Gunicorn's arbiter).
 */
export const MASTER_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGUSR2', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1'] as const;
export type MasterSignal = (typeof MASTER_SIGNALS)[number];

export class SignalQueue {
  private readonly queue: MasterSignal[] = [];
  private readonly listeners = new Map<MasterSignal, () => void>();

  constructor(private readonly wakeup: () => void) {}

  install(): void {
    for (const signal of MASTER_SIGNALS) {
      const listener = (): void => {
        this.queue.push(signal);
        this.wakeup();
      };
      this.listeners.set(signal, listener);
      process.on(signal, listener);
    }
  }

  uninstall(): void {
    for (const [signal, listener] of this.listeners) process.removeListener(signal, listener);
    this.listeners.clear();
  }

  /** Take every queued signal, oldest first. */
  drain(): MasterSignal[] {
    return this.queue.splice(0, this.queue.length);
  }
}
