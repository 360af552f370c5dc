/**
 * The old master's side of `mycluster upgrade` (Unicorn's and nginx's dance): start a new master from what is
 * installed now, handing it the listening sockets by file descriptor; keep serving until it reports all its
 * workers ready; only then drain and leave. A new master that fails (throws at load, a broken config, workers
 * that do not boot, killed) changes nothing: this master and its workers keep serving.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { errorMessage } from '../errors';
import { isSuccessorMessage, type PredecessorMessage, UPGRADE_ENV, type UpgradeHandoff } from '../protocol';
import { resolveProjectRoot } from '../shared/project';
import type { Listener } from './listeners';

/** Written by `mycluster upgrade` before it signals the master: what to start the new master with. */
export const UPGRADE_REQUEST_FILE = 'upgrade_request.json';

export interface UpgradeRequest {
  /** The node binary for the new master; default: the running one's path. */
  node?: string;
}

export interface UpgradeResult {
  ok: boolean;
  error?: string;
  from: number;
  to: number | null;
  requestedAt: number;
  finishedAt: number;
}

export interface UpgradeOptions {
  log: Logger;
  pidFolder: string;
  /** This master's listening sockets, to hand over. */
  listeners: () => readonly Listener[];
  /** How many upgrades the cluster has been through before this one. */
  upgrades: number;
  /** ms the new master has to report ready. */
  timeoutMs: number;
  /** Environment for the new master beyond this one's (systemd's variables, which this master took out of its own). */
  env: NodeJS.ProcessEnv;
  /** The new master serves (on the listeners whose addresses it adopted): this one drains its workers and leaves. */
  handOver: (successor: ChildProcess, adopted: readonly string[]) => void;
  /** The upgrade ended (after handOver, or failed). */
  finished: (result: UpgradeResult) => void;
}

/** A new master's fds: stdin, stdout, stderr, the IPC channel with the old master, then the listeners. */
const FIRST_LISTENER_FD = 4;

export class Upgrade {
  private successor: ChildProcess | null = null;
  private handedOver = false;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly options: UpgradeOptions) {}

  /** A new master is starting and has not taken over yet. */
  get running(): boolean {
    return this.successor !== null && !this.handedOver;
  }

  start(): void {
    const { log } = this.options;
    const requestedAt = Date.now();
    const fail = (error: string): void => {
      log.error({ error }, `upgrade failed: ${error}; this master (pid ${process.pid}) and its workers keep serving`);
      this.options.finished({ ok: false, error, from: process.pid, to: this.successor?.pid ?? null, requestedAt, finishedAt: Date.now() });
      this.successor = null;
    };

    let command: { node: string; cli: string; projectRoot: string };
    try {
      command = successorCommand(readRequest(this.options.pidFolder));
    } catch (error) {
      fail(errorMessage(error));
      return;
    }
    const listeners = this.options.listeners();
    const handoff: UpgradeHandoff = {
      from: process.pid,
      upgrades: this.options.upgrades + 1,
      listeners: listeners.map((listener, index) => ({ address: listener.address, fd: FIRST_LISTENER_FD + index })),
    };
    log.info({ node: command.node, cli: command.cli }, `upgrading: starting a new master (${command.node} ${command.cli})`);
    // Detached: its own process group, so a Ctrl-C reaches it through this process (the keeper) only once.
    const child = spawn(command.node, [command.cli, ...process.argv.slice(2)], {
      cwd: command.projectRoot,
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc', ...listeners.map((listener) => listener.fd)],
      env: { ...process.env, ...this.options.env, [UPGRADE_ENV]: JSON.stringify(handoff) },
    });
    this.successor = child;
    let reported: string | undefined;
    const timer = setTimeout(() => {
      reported = `the new master (pid ${child.pid}) was not ready within ${this.options.timeoutMs} ms; stopped it`;
      child.kill('SIGTERM');
    }, this.options.timeoutMs);
    child.on('message', (message: unknown) => {
      if (!isSuccessorMessage(message) || this.successor !== child) return;
      if (message.type === 'successor-failed') {
        reported = `the new master (pid ${child.pid}) could not start: ${message.error}`;
        return;
      }
      clearTimeout(timer);
      this.handedOver = true;
      log.info({ successor: child.pid }, `upgrade: the new master (pid ${child.pid}) serves; draining this one's workers`);
      this.options.finished({ ok: true, from: process.pid, to: child.pid ?? null, requestedAt, finishedAt: Date.now() });
      this.options.handOver(child, message.adopted);
    });
    this.exited = new Promise((resolve) => {
      child.once('error', (error) => {
        clearTimeout(timer);
        if (this.successor === child && !this.handedOver) fail(`cannot start the new master: ${error.message}`);
        resolve();
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.successor === child && !this.handedOver) {
          fail(reported ?? `the new master (pid ${child.pid}) exited (${signal ?? `code ${code}`}) before it was ready; its log lines say why`);
        }
        resolve();
      });
    });
  }

  /** The cluster stops during an upgrade: the new master stops too (its workers drain). */
  abort(): void {
    if (this.running) this.successor?.kill('SIGTERM');
  }

  /** This master's workers are gone: tell the new master the upgrade is complete. */
  predecessorDrained(): void {
    const message: PredecessorMessage = { mycluster: 1, type: 'predecessor-drained' };
    if (this.successor?.connected) this.successor.send(message);
  }

  /** Resolves once a new master that did not take over has exited. */
  async settled(): Promise<void> {
    if (!this.handedOver) await this.exited;
  }
}

/** The request `mycluster upgrade` left (and consumed here), or the defaults. */
function readRequest(pidFolder: string): UpgradeRequest {
  const file = path.join(pidFolder, UPGRADE_REQUEST_FILE);
  try {
    const request = JSON.parse(fs.readFileSync(file, 'utf8')) as UpgradeRequest;
    fs.rmSync(file, { force: true });
    return request;
  } catch {
    return {};
  }
}

/**
 * What is installed now: the project root resolved again (a moved symlink), the mycluster CLI of
 * `ACTIONHERO_ROOT` or of the project's node_modules (else this package's), and the node binary at the running
 * one's path (an OS package upgrade replaces it in place) unless the request names another.
 */
function successorCommand(request: UpgradeRequest): { node: string; cli: string; projectRoot: string } {
  const projectRoot = resolveProjectRoot();
  const node = request.node ? path.resolve(request.node) : process.execPath;
  try {
    fs.accessSync(node, fs.constants.X_OK);
  } catch {
    throw new Error(`the node binary ${node} is missing or not executable`);
  }
  const candidates = [
    process.env.ACTIONHERO_ROOT ? path.join(path.resolve(process.env.ACTIONHERO_ROOT), 'bin', 'mycluster') : undefined,
    path.join(projectRoot, 'node_modules', 'mycluster', 'bin', 'mycluster'),
  ];
  const cli = candidates.find((candidate) => candidate && fs.existsSync(candidate)) ?? path.join(__dirname, '..', '..', 'bin', 'mycluster');
  return { node, cli, projectRoot };
}
