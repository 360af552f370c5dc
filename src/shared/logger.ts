import os from 'node:os';
import type Pino from 'pino';
import type { Logger } from 'pino';
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

let destination: (Pino.DestinationStream & { reopen?: (file?: string) => void }) | undefined;

/** pino and its dependencies: loaded by the first line a logger writes (see createLogger). */
function loadPino(): typeof Pino {
  return require('pino') as typeof Pino;
}

/** Pretty (one line per event) on a terminal unless MYCLUSTER_LOG_FORMAT=json; MYCLUSTER_LOG_FORMAT=pretty forces it in a pipe. */
function wantsPretty(): boolean {
  const format = process.env.MYCLUSTER_LOG_FORMAT;
  return format === 'pretty' || (format !== 'json' && process.stdout.isTTY === true);
}

/** pino's JSON lines, each rewritten as one human line (see log-format.ts) on its way to stdout. */
function prettyStdout(pino: typeof Pino): Pino.DestinationStream {
  const stdout = pino.destination({ dest: 1, sync: true });
  const colors = process.stdout.isTTY === true && process.stdout.hasColors();
  return { write: (line: string) => stdout.write(`${formatLogLine(line.trimEnd(), { colors })}\n`) };
}

/** pino's level numbers, to tell a line that would not be written without loading pino. */
const LEVEL_VALUES: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Number.POSITIVE_INFINITY };

/**
 * One pino logger per process: JSON lines on stdout, one readable line per event on a terminal, quiet with
 * --silent. pino itself (with sonic-boom, thread-stream and node:worker_threads: 20–30 ms of CPU and ~2 MiB
 * of a worker's boot, see docs/benchmarks.md) is loaded by the first line the level lets through, or the
 * first use of anything but a level method: a worker whose level hides its boot lines is ready without it.
 * From then on every call goes to that pino logger, and the lines are the same.
 */
export function createLogger(options: LoggerOptions): Logger {
  const level = process.env.MYCLUSTER_SILENT === '1' ? 'silent' : options.level;
  let real: Logger | undefined;
  const load = (): Logger => {
    real ??= createPinoLogger(options, level);
    return real;
  };
  const threshold = LEVEL_VALUES[level] ?? 0;
  const skip = (): void => undefined;
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy({} as Logger, {
    get(_target, key) {
      if (!real && typeof key === 'string' && Object.hasOwn(LEVEL_VALUES, key) && LEVEL_VALUES[key] < threshold) return skip;
      const logger = load();
      const value: unknown = Reflect.get(logger, key, logger);
      if (typeof value !== 'function') return value;
      // pino's methods read their logger through `this`: bound once, and again when pino swaps them (level change).
      const cached = bound.get(key) as { of: unknown; fn: unknown } | undefined;
      if (cached?.of === value) return cached.fn;
      const fn = (value as (...args: unknown[]) => unknown).bind(logger);
      bound.set(key, { of: value, fn });
      return fn;
    },
    set: (_target, key, value) => Reflect.set(load(), key, value),
    has: (_target, key) => Reflect.has(load(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(load()),
  });
}

function createPinoLogger(options: LoggerOptions, level: string): Logger {
  const pino = loadPino();
  const base: Record<string, unknown> = { pid: process.pid, hostname: os.hostname(), role: options.role };
  if (options.slot !== undefined) base.slot = options.slot;
  else if (options.spare) base.spare = true;
  const redact = options.filteredParams?.length
    ? { paths: options.filteredParams.map((name) => `params[${JSON.stringify(name)}]`), censor: '[FILTERED]' }
    : undefined;
  // `time` is pino's default, epoch milliseconds: an ISO string would cost every line a Date formatting, and
  // the master ~0.8 MB of ICU time-zone data that V8 reads for toISOString().
  const settings: Pino.LoggerOptions = { level, base, redact };

  if (options.file) {
    destination = pino.destination({ dest: options.file, append: true, mkdir: true, sync: true });
  } else if (wantsPretty()) {
    destination = prettyStdout(pino);
  } else {
    destination = pino.destination({ dest: 1, sync: true });
  }
  return pino(settings, destination);
}

/** Load pino now (a spare: the worker it becomes will log). */
export function preloadLogger(): void {
  loadPino();
}

/** Reopen the log file (after logrotate moved it): USR1. A no-op when logging to stdout. */
export function reopenLogFile(): void {
  destination?.reopen?.();
}
