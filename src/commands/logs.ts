/**
 * `mycluster logs [-f] [-n N] [--json] [--pids DIR]`: the last lines of the daemon's log file, pretty on a
 * terminal, raw JSON lines with --json or in a pipe; -f follows it like `tail -F`, across a logrotate.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { loadConfig } from '../config';
import { MyclusterError } from '../errors';
import { readStateFile, STATE_FILE } from '../master/state';
import { formatLogLine } from '../shared/log-format';
import { resolveProjectRoot } from '../shared/project';
import { daemonLogFile } from './daemon';

export interface LogsOptions {
  follow?: boolean;
  lines: number;
  json?: boolean;
  pids?: string;
}

const CHUNK = 64 * 1024;
/** How often -f looks for new lines and for a rotation. */
const FOLLOW_POLL_MS = 200;

/**
 * The log file: the one a running cluster published in its state file, else (no --pids) the daemon's file
 * of the project's config. With where it was found, for the message when it is missing.
 */
async function locateLogFile(options: LogsOptions): Promise<{ file: string; from: string }> {
  const published = (pidFolder: string): string | undefined => readStateFile(path.join(pidFolder, STATE_FILE))?.logFile;
  if (options.pids) {
    const pidFolder = path.resolve(options.pids);
    const file = published(pidFolder);
    if (file) return { file, from: `published by the cluster in ${pidFolder}` };
    throw new MyclusterError(
      `no log file known in ${pidFolder}: no cluster running there logs to a file; logs go to stdout unless the cluster was started with --daemon`,
    );
  }
  const projectRoot = resolveProjectRoot();
  const config = await loadConfig({ projectRoot });
  const file = published(config.general.paths.pid);
  if (file) return { file, from: `published by the cluster running in ${projectRoot}` };
  return { file: daemonLogFile(config), from: `general.paths.log of ${projectRoot}` };
}

/** Split complete lines off `text`; what follows the last newline is returned as `rest`. */
function splitLines(text: string): { lines: string[]; rest: string } {
  const lines = text.split('\n');
  const rest = lines.pop() ?? '';
  return { lines, rest };
}

/**
 * The last `count` complete lines of an open file, read backwards by chunks (a log file can be large), and
 * the offset just after them, where following goes on. A last line without its newline yet is `partial`.
 */
export function readLastLines(fd: number, count: number): { lines: string[]; partial: string; end: number } {
  const size = fs.fstatSync(fd).size;
  const chunks: Buffer[] = [];
  let start = size;
  let newlines = 0;
  while (start > 0 && newlines <= count) {
    const length = Math.min(CHUNK, start);
    start -= length;
    const chunk = Buffer.alloc(length);
    fs.readSync(fd, chunk, 0, length, start);
    chunks.unshift(chunk);
    for (const byte of chunk) if (byte === 0x0a) newlines += 1;
  }
  const buffer = Buffer.concat(chunks);
  const lastNewline = buffer.lastIndexOf(0x0a);
  // Read from mid-file, the first line is cut: it starts after the first newline.
  const first = start === 0 ? 0 : buffer.indexOf(0x0a) + 1;
  const complete = lastNewline >= first ? buffer.subarray(first, lastNewline).toString('utf8').split('\n') : [];
  return {
    lines: count > 0 ? complete.slice(-count) : [],
    partial: buffer.subarray(lastNewline + 1).toString('utf8'),
    end: start + lastNewline + 1,
  };
}

/** An open file read from `position` on, line by line; a line without its newline yet waits for it. */
class LineReader {
  private decoder = new StringDecoder('utf8');
  private pending = '';
  readonly inode: number;

  constructor(
    readonly fd: number,
    private position: number,
  ) {
    this.inode = fs.fstatSync(fd).ino;
  }

  /** Every complete line appended since the last call. */
  drain(onLine: (line: string) => void): void {
    const buffer = Buffer.alloc(CHUNK);
    for (;;) {
      const read = fs.readSync(this.fd, buffer, 0, CHUNK, this.position);
      if (read === 0) return;
      this.position += read;
      const { lines, rest } = splitLines(this.pending + this.decoder.write(buffer.subarray(0, read)));
      this.pending = rest;
      for (const line of lines) onLine(line);
    }
  }

  /** The file shrank below what was read (truncated in place): read it again from its start. */
  rewindIfShrunk(size: number): boolean {
    if (size >= this.position) return false;
    this.position = 0;
    this.pending = '';
    return true;
  }

  /** Done with the file: the rest, and a last line without its newline is still a line. */
  close(onLine: (line: string) => void): void {
    this.drain(onLine);
    const rest = this.pending + this.decoder.end();
    if (rest) onLine(rest);
    fs.closeSync(this.fd);
  }
}

/** How long a rotated-away file is still read: processes write to it until they have reopened the log on USR1. */
const ROTATED_GRACE_MS = 5_000;

/**
 * Follows a file by name, like `tail -F`: new lines as they are appended; when the name points to a new
 * file (logrotate moved the old one away and the master, on USR1, opened a new one), the new one from its
 * start, and for a few seconds more whatever is still appended to the old one (a worker reopens its log a
 * moment after the master); when the file shrank (truncated in place), from its start again.
 */
export class LogFollower {
  private current: LineReader;
  private rotated: { reader: LineReader; until: number } | null = null;

  constructor(
    private readonly file: string,
    fd: number,
    position: number,
    private readonly onLine: (line: string) => void,
  ) {
    this.current = new LineReader(fd, position);
  }

  poll(now = Date.now()): void {
    this.current.drain(this.onLine);
    if (this.rotated) {
      if (now < this.rotated.until) this.rotated.reader.drain(this.onLine);
      else this.closeRotated();
    }
    let stat: fs.Stats;
    try {
      stat = fs.statSync(this.file);
    } catch {
      return; // moved away, the new one not created yet
    }
    if (stat.ino !== this.current.inode) {
      let fd: number;
      try {
        fd = fs.openSync(this.file, 'r');
      } catch {
        return;
      }
      this.closeRotated();
      this.rotated = { reader: this.current, until: now + ROTATED_GRACE_MS };
      this.current = new LineReader(fd, 0);
      this.current.drain(this.onLine);
    } else if (this.current.rewindIfShrunk(stat.size)) {
      this.current.drain(this.onLine);
    }
  }

  close(): void {
    this.closeRotated();
    this.current.close(() => undefined);
  }

  private closeRotated(): void {
    this.rotated?.reader.close(this.onLine);
    this.rotated = null;
  }
}

/** Print the last lines of the log file and, with --follow, every new one until interrupted. */
export async function showLogs(options: LogsOptions): Promise<void> {
  const { file, from } = await locateLogFile(options);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new MyclusterError(`cannot read the log file ${file}: ${(error as Error).message}`);
    throw new MyclusterError(`no log file at ${file} (${from}); logs go to stdout unless the cluster was started with --daemon`);
  }
  const pretty = !options.json && process.stdout.isTTY === true;
  const colors = pretty && process.stdout.hasColors();
  const print = (line: string): void => {
    process.stdout.write(`${pretty ? formatLogLine(line, { colors, date: true }) : line}\n`);
  };
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    // `mycluster logs -f | head`: the reader is gone, and so is the point of going on.
    process.exit(error.code === 'EPIPE' ? 0 : 1);
  });

  const { lines, partial, end } = readLastLines(fd, options.lines);
  for (const line of lines) print(line);
  if (!options.follow) {
    if (partial) print(partial);
    fs.closeSync(fd);
    return;
  }
  const follower = new LogFollower(file, fd, end, print);
  await new Promise<never>(() => {
    setInterval(() => follower.poll(), FOLLOW_POLL_MS);
  });
}
