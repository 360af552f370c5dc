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

/**
 * Follows a file by name, like `tail -F`: new lines as they are appended; when the name points to a new
 * file (logrotate moved the old one away and the master, on USR1, opened a new one), the rest of the old
 * file, then the new one from its start; when the file shrank (truncated in place), from its start again.
 */
export class LogFollower {
  private decoder = new StringDecoder('utf8');
  private pending = '';
  private inode: number;

  constructor(
    private readonly file: string,
    private fd: number,
    private position: number,
    private readonly onLine: (line: string) => void,
  ) {
    this.inode = fs.fstatSync(fd).ino;
  }

  poll(): void {
    this.drain();
    let current: fs.Stats;
    try {
      current = fs.statSync(this.file);
    } catch {
      return; // moved away, the new one not created yet
    }
    if (current.ino !== this.inode) {
      let next: number;
      try {
        next = fs.openSync(this.file, 'r');
      } catch {
        return;
      }
      this.endOfFile();
      fs.closeSync(this.fd);
      this.fd = next;
      this.inode = fs.fstatSync(next).ino;
      this.position = 0;
      this.drain();
    } else if (current.size < this.position) {
      this.endOfFile();
      this.position = 0;
      this.drain();
    }
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private drain(): void {
    const buffer = Buffer.alloc(CHUNK);
    for (;;) {
      const read = fs.readSync(this.fd, buffer, 0, CHUNK, this.position);
      if (read === 0) return;
      this.position += read;
      const { lines, rest } = splitLines(this.pending + this.decoder.write(buffer.subarray(0, read)));
      this.pending = rest;
      for (const line of lines) this.onLine(line);
    }
  }

  /** The file is done with: a last line without its newline is still a line. */
  private endOfFile(): void {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    this.decoder = new StringDecoder('utf8');
    if (rest) this.onLine(rest);
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
