import type { Logger } from 'pino';
import { stopAppProcesses } from '../shared/app-processes';
import type { ForkedWorker } from './fork';

export interface ChildProcessesOptions {
  /** cluster.stopChildProcesses */
  enabled: boolean;
  /** cluster.stopTimeout: SIGTERM, then SIGKILL after this many ms. */
  graceMs: number;
  log: Logger;
}

/**
 * What a worker started goes with it: when a worker process exits (crash, hung kill, reload, memory swap,
 * stop), the processes carrying its tag get SIGTERM, then SIGKILL. The master exits only once that is done.
 */
export class ChildProcesses {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly options: ChildProcessesOptions) {}

  /** Follow a freshly forked worker; returns it unchanged. */
  follow(forked: ForkedWorker): ForkedWorker {
    if (!this.options.enabled) return forked;
    const pid = forked.worker.process.pid;
    forked.worker.once('exit', () => {
      const stopping = stopAppProcesses(forked.tag, { owner: `worker pid ${pid}`, graceMs: this.options.graceMs, log: this.options.log }).finally(() =>
        this.pending.delete(stopping),
      );
      this.pending.add(stopping);
    });
    return forked;
  }

  /** Resolves once the processes of every worker that exited so far are gone. */
  async settled(): Promise<void> {
    await Promise.all(this.pending);
  }
}
