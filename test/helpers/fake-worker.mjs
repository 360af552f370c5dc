import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Arbiter } from '../../dist/master/arbiter.js';

let nextPid = 50_000;

/**
 * Stands in for a node:cluster Worker in the arbiter's tests: a pid, `send` and `process.kill` recorded,
 * 'message' and 'exit' events played by the test. Like a real worker it exits after a SIGKILL, and after a
 * `stop` unless `ignoresStop`; the exit comes on a later turn of the event loop, never inside the call.
 */
export class FakeWorker extends EventEmitter {
  /** @param {number | null} slot the slot it was forked for; null for a spare */
  constructor(slot) {
    super();
    this.slot = slot;
    /** Messages the master sent, e.g. `{ type: 'stop', reason }`. */
    this.received = [];
    /** Signals the master sent. */
    this.signals = [];
    this.ignoresStop = false;
    this.gone = false;
    const pid = nextPid++;
    this.process = { pid, kill: (signal) => this.#killed(signal) };
  }

  get pid() {
    return this.process.pid;
  }

  isConnected() {
    return !this.gone;
  }

  send(message) {
    this.received.push(message);
    if (message.type === 'stop' && !this.ignoresStop) setImmediate(() => this.exit(0));
  }

  /** The message types the master sent, in order. */
  receivedTypes() {
    return this.received.map((message) => message.type);
  }

  /** Play the worker's side: send the master a protocol message. */
  tell(type, fields = {}) {
    this.emit('message', { mycluster: 1, type, ...fields });
  }

  ready() {
    this.tell('ready');
  }

  heartbeat(rss = 50_000_000) {
    this.tell('heartbeat', { heartbeat: { rss, loopDelayMs: 1 } });
  }

  /** The process ends (once). */
  exit(code, signal = null) {
    if (this.gone) return;
    this.gone = true;
    this.emit('exit', code, signal);
  }

  #killed(signal) {
    if (this.gone) throw Object.assign(new Error('kill ESRCH'), { code: 'ESRCH' });
    this.signals.push(signal);
    if (signal === 'SIGKILL') setImmediate(() => this.exit(null, 'SIGKILL'));
  }
}

export const TEST_CLUSTER = {
  workers: 2,
  workerTitlePrefix: 'test-worker-',
  stopTimeout: 5_000,
  readyTimeout: 10_000,
  workerTimeout: 0,
  maxMemory: 0,
  spareWorker: false,
  restartBackoff: { min: 100, max: 1_000, resetAfter: 5_000 },
};

/**
 * An Arbiter with fake forks, an in-process signal source, a readable log and a temporary pid folder.
 * Ticks run on real setImmediate: `settle()` lets them all run. Timers are whatever the test made them
 * (node:test's mock.timers for a fake clock).
 */
export function startArbiter({ workers = 2, cluster = {}, upgrade } = {}) {
  const pidFolder = fs.mkdtempSync(path.join(os.tmpdir(), 'arbiter-test-'));
  const forks = [];
  const logs = [];
  const published = [];
  const exits = [];
  let deliver = () => {
    throw new Error('signals are not installed');
  };
  const log = pino({ level: 'debug' }, { write: (line) => logs.push(JSON.parse(line)) });
  const arbiter = new Arbiter({
    workers,
    cluster: { ...TEST_CLUSTER, ...cluster },
    pidFolder,
    pidFileMode: 0o644,
    log,
    fork: (slot) => {
      const worker = new FakeWorker(slot);
      forks.push(worker);
      return { worker, origin: 'test-origin' };
    },
    currentOrigin: () => 'test-origin',
    publish: (state) => published.push(state),
    exit: (code) => exits.push(code),
    upgrade,
    signals: (listener) => {
      deliver = listener;
      return () => {
        deliver = () => {
          throw new Error('signals were uninstalled');
        };
      };
    },
  });
  arbiter.start();

  return {
    arbiter,
    forks,
    logs,
    exits,
    pidFolder,
    /** Forks made for this slot (null: spares), oldest first. */
    forksFor: (slot) => forks.filter((worker) => worker.slot === slot),
    /** The log lines whose message contains `text`. */
    logged: (text) => logs.filter((line) => line.msg.includes(text)),
    /** The pid in the slot's pidfile, or null. */
    pidfile: (slot) => {
      try {
        return Number(fs.readFileSync(path.join(pidFolder, `${TEST_CLUSTER.workerTitlePrefix}${slot}`), 'utf8'));
      } catch {
        return null;
      }
    },
    signal: (name) => deliver(name),
    state: () => arbiter.snapshot(),
    /** Let every queued tick and fake exit run. */
    settle: async () => {
      for (let i = 0; i < 20; i += 1) await new Promise((resolve) => setImmediate(resolve));
    },
    /** Every live fork says ready (the master ignores it from workers that are not starting). */
    readyAll: () => {
      for (const worker of forks) if (!worker.gone) worker.ready();
    },
    cleanup: () => fs.rmSync(pidFolder, { recursive: true, force: true }),
  };
}
