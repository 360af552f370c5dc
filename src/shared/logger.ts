import os from 'node:os';
import pino, { type Logger } from 'pino';
import { formatLogLine } from './log-format';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** `master`, `server`, `worker` or `all`: the process's role, on every line. */
  role: string;
  /** Worker slot, on every line of a cluster worker. */
  slot?: number;
  /** A cluster worker forked as a spare, not yet given a slot: `spare: true` on its lines. */
  spare?: boolean;
  /** Param names to redact wherever a line carries `params`. */
  filteredParams?: string[];
  /** A file to append to instead of stdout (daemon mode); reopened on USR1. */
  file?: string;
}

let destination: (pino.DestinationStream & { reopen?: (file?: string) => void }) | undefined;

/** Pretty (one line per event) on a terminal unless MYCLUSTER_LOG_FORMAT=json; MYCLUSTER_LOG_FORMAT=pretty forces it in a pipe. */
function wantsPretty(): boolean {
  const format = process.env.MYCLUSTER_LOG_FORMAT;
  return format === 'pretty' || (format !== 'json' && process.stdout.isTTY === true);
}

/** pino's JSON lines, each rewritten as one human line (see log-format.ts) on its way to stdout. */
function prettyStdout(): pino.DestinationStream {
  const stdout = pino.destination({ dest: 1, sync: true });
  const colors = process.stdout.isTTY === true && process.stdout.hasColors();
  return { write: (line: string) => stdout.write(`${formatLogLine(line.trimEnd(), { colors })}\n`) };
}

/** One pino logger per process: JSON lines on stdout, one readable line per event on a terminal, quiet with --silent. */
export function createLogger(options: LoggerOptions): Logger {
  const level = process.env.MYCLUSTER_SILENT === '1' ? 'silent' : options.level;
  const base: Record<string, unknown> = { pid: process.pid, hostname: os.hostname(), role: options.role };
  if (options.slot !== undefined) base.slot = options.slot;
  else if (options.spare) base.spare = true;
  const redact = options.filteredParams?.length
    ? { paths: options.filteredParams.map((name) => `params[${JSON.stringify(name)}]`), censor: '[FILTERED]' }
    : undefined;
  // `time` is pino's default, epoch milliseconds: an ISO string would cost every line a Date formatting, and
  // the master ~0.8 MB of ICU time-zone data that V8 reads for toISOString().
  const settings: pino.LoggerOptions = { level, base, redact };

  if (options.file) {
    destination = pino.destination({ dest: options.file, append: true, mkdir: true, sync: true });
  } else if (wantsPretty()) {
    destination = prettyStdout();
  } else {
    destination = pino.destination({ dest: 1, sync: true });
  }
  return pino(settings, destination);
}

/** Reopen the log file (after logrotate moved it): USR1. A no-op when logging to stdout. */
export function reopenLogFile(): void {
  destination?.reopen?.();
}
