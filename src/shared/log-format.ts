/**
 * A pino JSON line as one line a human reads on a terminal:
 * `14:03:07.412 INFO  [w1] action request action=hello status=200 duration=3`.
 * An error's stack follows on indented lines; nothing else spans more than one line.
 */

export interface FormatOptions {
  /** ANSI colors (a terminal that has them). */
  colors: boolean;
  /** Prefix the time with the date (`mycluster logs`, where lines can be days old). */
  date?: boolean;
}

/** Shown elsewhere on the line (time, level, the process label, the message), or the same on every line. */
const SHOWN = new Set(['time', 'level', 'msg', 'pid', 'hostname', 'role', 'spare']);

const LEVELS: Record<number, { name: string; color: number }> = {
  10: { name: 'TRACE', color: 90 },
  20: { name: 'DEBUG', color: 36 },
  30: { name: 'INFO', color: 32 },
  40: { name: 'WARN', color: 33 },
  50: { name: 'ERROR', color: 31 },
  60: { name: 'FATAL', color: 35 },
};
const LEVEL_WIDTH = 5;

function paint(text: string, code: number, colors: boolean): string {
  return colors ? `\u001b[${code}m${text}\u001b[39;22m` : text;
}

const two = (n: number): string => String(n).padStart(2, '0');

function formatTime(time: unknown, withDate: boolean): string {
  const at = typeof time === 'number' || typeof time === 'string' ? new Date(time) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) return '--:--:--.---';
  const clock = `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}.${String(at.getMilliseconds()).padStart(3, '0')}`;
  return withDate ? `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${clock}` : clock;
}

function formatLevel(level: unknown, colors: boolean): string {
  const known = typeof level === 'number' ? LEVELS[level] : undefined;
  const name = known?.name ?? String(level ?? '?').toUpperCase();
  return paint(name.padEnd(LEVEL_WIDTH), known?.color ?? 39, colors);
}

/** `[master]`, `[w1]` (a cluster worker's slot), `[spare]` (a forked spare, before it is given a slot), `[app]` (a single process). */
function processLabel(entry: Record<string, unknown>): string {
  if (entry.role === 'master') return '[master]';
  if (typeof entry.slot === 'number') return `[w${entry.slot}]`;
  if (entry.spare === true) return '[spare]';
  return '[app]';
}

/** A value as `key=value` shows it: bare when it reads unambiguously, else as JSON. */
function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value === undefined) return 'undefined';
  return JSON.stringify(value) ?? String(value);
}

function isSerializedError(value: unknown): value is { type?: string; message?: string; stack?: string } & Record<string, unknown> {
  return typeof value === 'object' && value !== null && ('stack' in value || 'message' in value);
}

/** An error's fields inline (`err="TypeError: boom"`, `err.code=E1`), and its stack frames to go below the line. */
function formatError(key: string, error: Record<string, unknown>, colors: boolean): { inline: string[]; below: string[] } {
  const message = typeof error.message === 'string' ? error.message : '';
  const headline = typeof error.type === 'string' && error.type !== 'Error' ? `${error.type}: ${message}` : message;
  const inline = [`${paint(`${key}=`, 2, colors)}${formatValue(headline)}`];
  for (const [name, value] of Object.entries(error)) {
    if (name !== 'type' && name !== 'message' && name !== 'stack') inline.push(`${paint(`${key}.${name}=`, 2, colors)}${formatValue(value)}`);
  }
  const stack = typeof error.stack === 'string' ? error.stack.split('\n') : [];
  // The stack's first lines repeat the message; what follows (frames, causes) goes below the line.
  const firstFrame = stack.findIndex((line) => /^\s+at /.test(line));
  const below = (firstFrame >= 0 ? stack.slice(firstFrame) : []).map((line) => `    ${line.trim()}`);
  return { inline, below };
}

/** One formatted line (plus an error's stack on the indented lines after it), without the trailing newline. */
export function formatLogEntry(entry: Record<string, unknown>, options: FormatOptions): string {
  const { colors } = options;
  const parts = [paint(formatTime(entry.time, options.date ?? false), 2, colors), formatLevel(entry.level, colors), paint(processLabel(entry), 36, colors)];
  if (typeof entry.msg === 'string' && entry.msg !== '') parts.push(entry.msg.replace(/\r?\n/g, '\\n'));
  const below: string[] = [];
  for (const [key, value] of Object.entries(entry)) {
    // A worker's own slot is in its label; a master line's `slot` is the worker the line is about.
    if (SHOWN.has(key) || (key === 'slot' && entry.role !== 'master')) continue;
    if (isSerializedError(value) && (key === 'err' || key === 'error')) {
      const error = formatError(key, value, colors);
      parts.push(...error.inline);
      below.push(...error.below);
    } else {
      parts.push(`${paint(`${key}=`, 2, colors)}${formatValue(value)}`);
    }
  }
  return [parts.join(' '), ...below].join('\n');
}

/** A raw log line formatted for a terminal; a line that is not a JSON object is returned as it is. */
export function formatLogLine(line: string, options: FormatOptions): string {
  if (!line.startsWith('{')) return line;
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  return typeof entry === 'object' && entry !== null && !Array.isArray(entry) ? formatLogEntry(entry as Record<string, unknown>, options) : line;
}
