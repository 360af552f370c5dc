/**
 * The signals the master acts on. Handlers only queue the signal and wake the arbiter's loop;
 * all the work happens there (as in Gunicorn's arbiter).
 */
export const MASTER_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGUSR2', 'SIGHUP', 'SIGTTIN', 'SIGTTOU', 'SIGUSR1', 'SIGURG'] as const;
export type MasterSignal = (typeof MASTER_SIGNALS)[number];

/** Where signals come from: subscribe a listener, get back the unsubscribe. */
export type SignalSource = (listener: (signal: MasterSignal) => void) => () => void;

/** The master process's own signals. */
export const processSignals: SignalSource = (listener) => {
  const handlers = MASTER_SIGNALS.map((signal) => {
    const handler = (): void => listener(signal);
    process.on(signal, handler);
    return { signal, handler };
  });
  return () => {
    for (const { signal, handler } of handlers) process.removeListener(signal, handler);
  };
};

export class SignalQueue {
  private readonly queue: MasterSignal[] = [];
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly wakeup: () => void,
    private readonly source: SignalSource = processSignals,
  ) {}

  install(): void {
    this.unsubscribe = this.source((signal) => {
      this.queue.push(signal);
      this.wakeup();
    });
  }

  uninstall(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Take every queued signal, oldest first. */
  drain(): MasterSignal[] {
    return this.queue.splice(0, this.queue.length);
  }
}
