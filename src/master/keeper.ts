/**
 * In the foreground (a terminal, foreman, a Procfile platform, a container's PID 1), the process the platform
 * started must not vanish when the master is upgraded: the old master stays on as a keeper. It runs nothing;
 * it forwards the signals it gets to the current master (the pid in `cluster_pidfile`, which a later upgrade
 * changes again) and exits with its successor's exit code.
 */
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Logger } from 'pino';
import { readPidfile } from '../pids';

const FORWARDED = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGTTIN', 'SIGTTOU', 'SIGURG'] as const;

export function keep(successor: ChildProcess, pidfile: string, log: Logger): void {
  process.title = `mycluster keeper (master pid ${successor.pid})`;
  log.info({ successor: successor.pid }, `staying on as a keeper: signals to pid ${process.pid} go to the master in ${pidfile}`);
  for (const signal of FORWARDED) {
    process.on(signal, () => {
      const master = readPidfile(pidfile) ?? successor.pid;
      if (master === undefined || master === process.pid) return;
      try {
        process.kill(master, signal);
      } catch {
        // Gone: its exit (below) ends this process too.
      }
    });
  }
  successor.once('exit', (code, signal) => {
    log.info({ code, signal }, `the master (pid ${successor.pid}) exited; the keeper exits too`);
    process.exit(code ?? 128 + (signal ? constants.signals[signal] : 0));
  });
}
