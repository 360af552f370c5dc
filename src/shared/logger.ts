import pino, { type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** `master`, `server`, `worker` or `all`: the process's role, on every line. */
  role: string;
  /** Worker slot, on every line of a cluster worker. */
  slot?: number;
  /** Param names to redact wherever a line carries `params`. */
  filteredParams?: string[];
  /** A file to append to instead of stdout (daemon mode); reopened on USR1. */
  file?: string;
}

let destination: (pino.DestinationStream & { reopen?: (file?: string) => void }) | undefined;

/** One pino logger per process: JSON lines on stdout, pretty on a terminal, quiet with --silent. */
export function createLogger(options: LoggerOptions): Logger {
  const level = process.env.MYCLUSTER_SILENT === '1' ? 'silent' : options.level;
  const base: Record<string, unknown> = { pid: process.pid, role: options.role };
  if (options.slot !== undefined) base.slot = options.slot;
  const redact = options.filteredParams?.length
    ? { paths: options.filteredParams.map((name) => `params[${JSON.stringify(name)}]`), censor: '[FILTERED]' }
    : undefined;
  // `time` is pino's default, epoch milliseconds: an ISO string would cost every line a Date formatting, and
  // the master ~0.8 MB of ICU time-zone data that V8 reads for toISOString().
  const settings: pino.LoggerOptions = { level, base, redact };

  if (options.file) {
    destination = pino.destination({ dest: options.file, append: true, mkdir: true, sync: true });
  } else if (process.stdout.isTTY && process.env.MYCLUSTER_LOG_FORMAT !== 'json') {
    // Loaded only on a terminal: production (a pipe, a file, journald) never pays for it.
    const pretty = require('pino-pretty') as typeof import('pino-pretty');
    destination = pretty.build({ sync: true, colorize: true, ignore: 'hostname', translateTime: 'HH:MM:ss.l' });
  } else {
    destination = pino.destination({ dest: 1, sync: true });
  }
  return pino(settings, destination);
}

/** Reopen the log file (after logrotate moved it): USR1. A no-op when logging to stdout. */
export function reopenLogFile(): void {
  destination?.reopen?.();
}
