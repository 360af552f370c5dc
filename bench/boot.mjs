// Boot and memory of one worker: a mycluster web-only worker against a bare `node` process that loads
// node:http and listens, measured the same way on the same machine. Each is forked from this process
// (mycluster's worker with node:cluster and the environment its master gives a worker, the bare app,
// bench/apps/server.js, with child_process.fork) and timed from fork() to its first IPC message: `ready`
// (the bare app sends one once it listens). At that moment, its CPU time (all threads, from /proc); then
// its VmRSS and RssAnon idle (IDLE_MS later) and after LOAD_REQUESTS keep-alive requests. The spare (a
// worker forked without a slot) is measured the same way: fork → `spare-ready`, its memory, then
// `activate` → `ready` (what taking the spare costs a crash recovery).
// Rounds are interleaved, the order shifted by one each round; medians are printed as a Markdown table and
// the readings saved to bench/results/boot-<timestamp>.json.
//   node bench/boot.mjs [rounds]       (BOOT_LOAD_REQUESTS=20000: a longer load than 2,000 requests)
// BOOT_COMPARE='label=/other/checkout/dist/worker/main.js,…' adds a column per other build's worker (the
// handler app), in the same interleaved rounds: what a change bought.
import { fork } from 'node:child_process';
import cluster from 'node:cluster';
import fs from 'node:fs';
import http from 'node:http';
import module from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, killAll, now, rssMb, sleep } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const workerEntry = path.resolve(here, '..', 'dist', 'worker', 'main.js');
const ROUNDS = Number(process.argv[2] ?? 7);
const IDLE_MS = 1_000;
const LOAD_REQUESTS = Number(process.env.BOOT_LOAD_REQUESTS) || 2_000;
const LOAD_CONCURRENCY = 10;
const MESSAGE_TIMEOUT_MS = 15_000;
const compileCacheDir = path.join(os.tmpdir(), 'mycluster-boot-compile-cache');
/** Between two forks: the last process's exit is not part of the next one's boot. */
const SETTLE_MS = 300;

/** The bench app (web only, no Redis), copied to a temp dir as the other benches do. */
function benchApp() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-boot-'));
  fs.cpSync(path.join(here, 'apps', 'mycluster'), dir, { recursive: true });
  return dir;
}

/** A bound, not yet listening, TCP socket, as the master makes one (src/master/listeners.ts): workers inherit its fd. */
function boundSocket(port) {
  const handle = net._createServerHandle('127.0.0.1', port, 4);
  if (typeof handle === 'number') throw new Error(`cannot bind 127.0.0.1:${port} (${handle})`);
  return handle;
}

function firstMessage(child, accept, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${MESSAGE_TIMEOUT_MS} ms`)), MESSAGE_TIMEOUT_MS);
    const onExit = (code, signal) => reject(new Error(`exited (${code ?? signal}) before ${what}`));
    const onMessage = (message) => {
      if (!accept(message)) return;
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(now());
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** CPU time (ms) the process's threads have run so far, from /proc (ns precision): less noisy than wall time on a shared machine. */
function cpuMs(pid) {
  let ns = 0;
  for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(fs.readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // a thread that just ended
    }
  }
  return ns / 1e6;
}

const ours = (type) => (message) => message?.mycluster === 1 && message.type === type;

/** LOAD_REQUESTS GETs over LOAD_CONCURRENCY keep-alive connections. */
async function load(port, urlPath) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: LOAD_CONCURRENCY });
  let left = LOAD_REQUESTS;
  const one = () =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: urlPath, agent }, (response) => {
          response.resume();
          response.on('end', resolve);
        })
        .on('error', reject);
    });
  const loop = async () => {
    while (left-- > 0) await one();
  };
  await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, loop));
  agent.destroy();
}

/**
 * RssAnon in MiB: the process's own memory. The rest of VmRSS (RssFile) is mostly the pages of the node binary
 * it has run, shared by every process on the machine that runs the same binary.
 */
function anonMb(pid) {
  const match = /RssAnon:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Math.round((Number(match[1]) / 1024) * 10) / 10 : null;
}

/** Once ready: RSS idle, then after the load. */
async function readings(pid, port, urlPath) {
  await sleep(IDLE_MS);
  const idle = { idleRssMb: rssMb(pid), idleAnonMb: anonMb(pid) };
  await load(port, urlPath);
  return { ...idle, loadedRssMb: rssMb(pid), loadedAnonMb: anonMb(pid) };
}

/** A mycluster worker forked as its master forks one: node:cluster, the listener's fd, a slot (or none: a spare). */
function forkWorker({ app, port, slot, env, entry = workerEntry }) {
  const handle = boundSocket(port);
  cluster.setupPrimary({ exec: entry, cwd: app, args: [], stdio: ['ignore', 'ignore', 2, 'ipc', handle.fd], silent: false });
  const worker = cluster.fork({
    MYCLUSTER_WORKER_SLOT: slot === null ? '' : String(slot),
    MYCLUSTER_WORKER_TITLE: `mycluster-boot-${slot ?? 'spare'}`,
    PROJECT_ROOT: app,
    MYCLUSTER_HEARTBEAT_MS: '5000',
    MYCLUSTER_LISTENERS: JSON.stringify([{ address: `tcp:127.0.0.1:${port}`, fd: 4 }]),
    MYCLUSTER_METRICS: '',
    MYCLUSTER_LOG_FORMAT: 'json',
    NODE_ENV: 'production',
    PORT: String(port),
    ...env,
  });
  return { worker, child: worker.process, closeSocket: () => handle.close() };
}

async function stopChild(child) {
  child.kill('SIGKILL');
  await killAll([child.pid]);
}

const variants = {
  /** The peer: a bare node:http app that listens, as bench/apps/server.js, and says so. */
  async bare() {
    const port = await freePort();
    const startedAt = now();
    const child = fork(path.join(here, 'apps', 'server.js'), [], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    try {
      const readyAt = await firstMessage(child, (message) => message === 'ready', "'ready'");
      return { bootMs: readyAt - startedAt, bootCpuMs: cpuMs(child.pid), ...(await readings(child.pid, port, '/')) };
    } finally {
      await stopChild(child);
    }
  },
  /** A web-only mycluster worker serving the same handler (servers.web.handler). */
  handler: (app) => myclusterWorker(app, '/', { BENCH_HANDLER: path.join(here, 'apps', 'handler.js') }),
  /** The same worker serving the answer as an action (/api/slow). */
  action: (app) => myclusterWorker(app, '/api/slow', {}),
  /** The action worker logging at info (the default level) instead of the bench app's warn: it logs as it boots. */
  actionInfo: (app) => myclusterWorker(app, '/api/slow', { ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ logger: { level: 'info' } }) }),
  /** The handler worker with Node's compile cache on (NODE_COMPILE_CACHE, Node >= 22.1 only): what it buys. */
  ...(module.enableCompileCache && {
    compileCache: (app) => myclusterWorker(app, '/', { BENCH_HANDLER: path.join(here, 'apps', 'handler.js'), NODE_COMPILE_CACHE: compileCacheDir }),
  }),
  /** A spare, then given slot 1. */
  async spare(app) {
    const port = await freePort();
    const startedAt = now();
    const { worker, child, closeSocket } = forkWorker({ app, port, slot: null, env: { BENCH_HANDLER: path.join(here, 'apps', 'handler.js') } });
    try {
      const standingAt = await firstMessage(worker, ours('spare-ready'), "'spare-ready'");
      const spareCpuMs = cpuMs(child.pid);
      await sleep(IDLE_MS);
      const spareRssMb = rssMb(child.pid);
      const spareAnonMb = anonMb(child.pid);
      const activatedAt = now();
      worker.send({ mycluster: 1, type: 'activate', slot: 1, title: 'mycluster-boot-1' });
      const readyAt = await firstMessage(worker, ours('ready'), "'ready'");
      return { spareBootMs: standingAt - startedAt, spareCpuMs, spareRssMb, spareAnonMb, activateMs: readyAt - activatedAt };
    } finally {
      closeSocket();
      await stopChild(child);
    }
  },
};

async function myclusterWorker(app, urlPath, env, entry) {
  const port = await freePort();
  const startedAt = now();
  const { worker, child, closeSocket } = forkWorker({ app, port, slot: 1, env, entry });
  try {
    const readyAt = await firstMessage(worker, ours('ready'), "'ready'");
    return { bootMs: readyAt - startedAt, bootCpuMs: cpuMs(child.pid), ...(await readings(child.pid, port, urlPath)) };
  } finally {
    closeSocket();
    await stopChild(child);
  }
}

function median(values) {
  const sorted = values.filter((value) => typeof value === 'number').sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const round1 = (value) => (value === undefined ? undefined : Math.round(value * 10) / 10);

const compared = (process.env.BOOT_COMPARE ?? '')
  .split(',')
  .filter(Boolean)
  .map((pair) => pair.split('='));
for (const [label, entry] of compared) {
  variants[`compare:${label}`] = (app) => myclusterWorker(app, '/', { BENCH_HANDLER: path.join(here, 'apps', 'handler.js') }, entry);
}

const COLUMNS = {
  bare: 'bare `http` app',
  handler: 'mycluster worker (handler)',
  action: 'mycluster worker (action)',
  actionInfo: 'action, logging at info',
  compileCache: 'handler, NODE_COMPILE_CACHE',
  ...Object.fromEntries(compared.map(([label]) => [`compare:${label}`, `handler, ${label}`])),
  spare: 'spare',
};

/** Rows: a label, the reading, and whether to show it against the bare app's as a ratio (×) or a difference (+). */
const ROWS = [
  ['fork → ready (ms)', (m) => m.bootMs ?? m.spareBootMs, 'ratio'],
  ['CPU time to ready (ms)', (m) => m.bootCpuMs ?? m.spareCpuMs, 'ratio'],
  ['activate → ready (ms)', (m) => m.activateMs],
  ['RSS idle (MiB)', (m) => m.idleRssMb ?? m.spareRssMb, 'delta'],
  [`RSS after ${LOAD_REQUESTS} requests (MiB)`, (m) => m.loadedRssMb, 'delta'],
  ['private RSS (RssAnon) idle (MiB)', (m) => m.idleAnonMb ?? m.spareAnonMb, 'delta'],
  [`private RSS after ${LOAD_REQUESTS} requests (MiB)`, (m) => m.loadedAnonMb, 'delta'],
];

function table(medians) {
  const names = Object.keys(COLUMNS).filter((name) => medians[name]);
  const cell = (name, read, compare) => {
    const value = read(medians[name]);
    if (value === undefined) return '–';
    const base = read(medians.bare);
    if (name === 'bare' || name === 'spare' || base === undefined || !compare) return String(value);
    return compare === 'ratio' ? `${value} (${(value / base).toFixed(2)} ×)` : `${value} (${value >= base ? '+' : ''}${round1(value - base)})`;
  };
  return [
    `| | ${names.map((name) => COLUMNS[name]).join(' | ')} |`,
    `| --- | ${names.map(() => '---:').join(' | ')} |`,
    ...ROWS.map(([label, read, compare]) => `| ${label} | ${names.map((name) => cell(name, read, compare)).join(' | ')} |`),
  ].join('\n');
}

async function main() {
  const app = benchApp();
  const names = Object.keys(variants);
  const runs = Object.fromEntries(names.map((name) => [name, []]));
  const loadBefore = os.loadavg()[0];
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      process.stderr.write(`[boot] round ${round + 1} of ${ROUNDS}\n`);
      for (let index = 0; index < names.length; index += 1) {
        const name = names[(index + round) % names.length];
        await sleep(SETTLE_MS);
        runs[name].push(await variants[name](app));
      }
    }
  } finally {
    fs.rmSync(app, { recursive: true, force: true });
  }
  const medians = Object.fromEntries(
    names.map((name) => [name, Object.fromEntries(Object.keys(runs[name][0]).map((key) => [key, round1(median(runs[name].map((run) => run[key])))]))]),
  );
  const report = {
    startedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, loadAverage1m: { before: loadBefore, after: os.loadavg()[0] } },
    setup: { rounds: ROUNDS, idleMs: IDLE_MS, loadRequests: LOAD_REQUESTS, loadConcurrency: LOAD_CONCURRENCY },
    medians,
    runs,
  };
  const file = path.join(here, 'results', `boot-${report.startedAt.replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

  console.log(
    `\nOne worker, medians of ${ROUNDS} interleaved rounds; Node ${process.version}, ${report.machine.cpus} CPUs, load average ${loadBefore.toFixed(2)}\n`,
  );
  console.log(table(medians));
  console.log(`\nFull results: ${path.relative(process.cwd(), file)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
