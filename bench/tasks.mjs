// Task throughput and recovery, on its own redis-server (free port, no persistence):
// - jobs/s for a no-op task with 2 processes × 5 task processors, under mycluster (`mycluster start
//   --workers=2`, ACTIONHERO_ROLE=worker, MIN/MAX_TASK_PROCESSORS=5, as the Procfile's worker line) and
//   under a bare node-resque MultiWorker script (2 processes × 5, node-resque's own connections);
// - ms from SIGKILL of a mycluster worker holding a job to that job being claimed again (re-run).
// Both sides poll every 50 ms when idle and check their processors every 50 ms. Each side first warms up
// (all 10 processors registered, 200 jobs worked), then the queue gets `jobs` jobs at once and the clock
// runs until node-resque's `stat:processed` counts them all. Nothing is asserted; every process started
// here is stopped (SIGTERM, then SIGKILL) before it returns, and the whole run is bounded (< 60 s).
//
//   import { benchTasks } from './tasks.mjs';
//   const { mycluster, bareMultiWorker, sigkillToRerunMs } = await benchTasks({ redisServerPath: '/usr/bin/redis-server' });
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childPids, freePort, isAlive, waitFor } from './lib.mjs';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(repoRoot, 'package.json'));
const { Redis } = require('ioredis');

const WORKERS = 2;
const PROCESSORS = 5;
const POLL_MS = 50;
const DEADLINE_MS = 55_000;

/** The bare baseline: one node-resque MultiWorker per process, as its README shows it. */
const bareScript = (nodeResque) => `
const { MultiWorker } = require(${JSON.stringify(nodeResque)});
const [host, port, namespace] = [process.env.REDIS_HOST, Number(process.env.REDIS_PORT), process.env.NAMESPACE];
const multiWorker = new MultiWorker(
  { connection: { host, port, namespace }, queues: ['bench'], minTaskProcessors: ${PROCESSORS}, maxTaskProcessors: ${PROCESSORS},
    timeout: ${POLL_MS}, checkTimeout: ${POLL_MS}, maxEventLoopDelay: 10 },
  { noop: { perform: async () => null } },
);
multiWorker.on('error', (error) => console.error(String(error)));
multiWorker.start();
console.log('ready');
process.on('SIGTERM', async () => { await multiWorker.end(); process.exit(0); });
`;

/** The mycluster app: the same no-op task, plus `hold` (sleeps `ms`) for the SIGKILL measurement. */
function writeApp(dir) {
  fs.mkdirSync(path.join(dir, 'config'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'tasks'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'config', 'config.js'),
    `exports.default = { tasks: { queues: ['bench'], timeout: ${POLL_MS}, checkTimeout: ${POLL_MS}, maxEventLoopDelay: 10 }, logger: { level: 'info' } };\n`,
  );
  fs.writeFileSync(path.join(dir, 'tasks', 'noop.js'), "module.exports = { name: 'noop', queue: 'bench', run: async () => null };\n");
  fs.writeFileSync(
    path.join(dir, 'tasks', 'hold.js'),
    "module.exports = { name: 'hold', queue: 'bench', run: (params) => new Promise((resolve) => setTimeout(resolve, params.ms)) };\n",
  );
}

/** Spawn a process whose stdout lines are kept; kill() SIGTERMs it and its children, then SIGKILLs what is left. */
function launch(command, args, options) {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  let buffered = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop();
    lines.push(...parts);
  });
  child.stderr.on('data', (chunk) => (stderr = (stderr + chunk).slice(-2_000)));
  const pids = new Set([child.pid]);
  return {
    child,
    lines,
    get stderr() {
      return stderr;
    },
    /** Remember the children now, so stop() can reap them after the parent is gone. */
    track() {
      for (const pid of childPids(child.pid)) pids.add(pid);
    },
    async stop(graceMs = 5_000) {
      this.track();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await waitFor('exit', () => [...pids].every((pid) => !isAlive(pid)), { timeoutMs: graceMs }).catch(() => undefined);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    },
  };
}

function encode(taskName, args) {
  return JSON.stringify({ class: taskName, queue: 'bench', args });
}

/** Push `count` jobs at once; resolve jobs/s once `stat:processed` grew by `count`. */
async function timeJobs(redis, namespace, count, timeoutMs) {
  const processed = async () => Number(await redis.get(`${namespace}:stat:processed`));
  const before = await processed();
  const jobs = Array.from({ length: count }, () => encode('noop', [{}]));
  const started = performance.now();
  const pipeline = redis.pipeline().sadd(`${namespace}:queues`, 'bench');
  for (let index = 0; index < jobs.length; index += 1_000) pipeline.rpush(`${namespace}:queue:bench`, ...jobs.slice(index, index + 1_000));
  await pipeline.exec();
  await waitFor(`${count} jobs worked`, async () => (await processed()) - before >= count, { timeoutMs, intervalMs: 5 });
  return Math.round((count / (performance.now() - started)) * 1000);
}

async function warmUp(redis, namespace) {
  await waitFor('all task processors registered', async () => (await redis.scard(`${namespace}:workers`)) >= WORKERS * PROCESSORS, { timeoutMs: 10_000 });
  await timeJobs(redis, namespace, 200, 10_000);
}

/** The claim (node-resque `worker:<name>:<queues>` key) holding a job of `taskName` with `params.id` = id. */
async function claimOf(redis, namespace, id, otherThanPid) {
  const keys = (await redis.keys(`${namespace}:worker:*`)).filter((key) => !key.includes(':worker:ping:') && !key.endsWith(':started'));
  for (const key of keys) {
    const raw = await redis.get(key);
    if (!raw) continue;
    const claim = JSON.parse(raw);
    const pid = Number(/:(\d+)\+\d+$/.exec(claim.worker)?.[1]);
    if (claim.payload?.args?.[0]?.id === id && pid !== otherThanPid) return { pid, worker: claim.worker };
  }
  return null;
}

export async function benchTasks({ redisServerPath = '/usr/bin/redis-server', jobs = 4_000 } = {}) {
  const deadline = Date.now() + DEADLINE_MS;
  const left = () => Math.max(1_000, deadline - Date.now());
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-bench-tasks-'));
  const started = [];
  let redis;
  try {
    const redisPort = await freePort();
    const redisServer = launch(redisServerPath, ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {});
    started.push(redisServer);
    redis = new Redis({ port: redisPort, host: '127.0.0.1', maxRetriesPerRequest: 1, retryStrategy: () => 200 });
    redis.on('error', () => {});
    await waitFor(
      'redis-server',
      () =>
        redis.ping().then(
          () => true,
          () => false,
        ),
      { timeoutMs: 5_000 },
    );

    // Bare node-resque: 2 processes × MultiWorker(5).
    const script = path.join(tmp, 'bare-multiworker.cjs');
    fs.writeFileSync(script, bareScript(require.resolve('node-resque')));
    const bare = [];
    for (let index = 0; index < WORKERS; index += 1) {
      const proc = launch(process.execPath, [script], { env: { ...process.env, REDIS_HOST: '127.0.0.1', REDIS_PORT: String(redisPort), NAMESPACE: 'bare' } });
      started.push(proc);
      bare.push(proc);
    }
    await waitFor('the bare MultiWorkers', () => bare.every((proc) => proc.lines.includes('ready')), { timeoutMs: 10_000 }).catch((error) => {
      throw new Error(`${error.message}: ${bare.map((proc) => proc.stderr).join(' | ')}`);
    });
    await warmUp(redis, 'bare');
    const bareJobsPerSecond = await timeJobs(redis, 'bare', jobs, Math.min(20_000, left()));
    for (const proc of bare) await proc.stop();

    // mycluster: the Procfile worker line's settings, 2 workers.
    const app = path.join(tmp, 'app');
    writeApp(app);
    const cluster = launch(process.execPath, [path.join(repoRoot, 'bin', 'mycluster'), 'start', '--workers=2'], {
      cwd: app,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        MYCLUSTER_LOG_FORMAT: 'json',
        ACTIONHERO_ROLE: 'worker',
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        MIN_TASK_PROCESSORS: String(PROCESSORS),
        MAX_TASK_PROCESSORS: String(PROCESSORS),
      },
    });
    started.push(cluster);
    await waitFor('mycluster equilibrium', () => cluster.lines.some((line) => line.includes('cluster equilibrium state reached')), { timeoutMs: 20_000 });
    cluster.track();
    await warmUp(redis, 'resque');
    const myclusterJobsPerSecond = await timeJobs(redis, 'resque', jobs, Math.min(20_000, left()));

    // SIGKILL the worker holding a 30 s job; time until another processor claims it again.
    await redis
      .pipeline()
      .sadd('resque:queues', 'bench')
      .rpush('resque:queue:bench', encode('hold', [{ id: 'held', ms: 30_000 }]))
      .exec();
    const holder = await waitFor('a processor to hold the job', () => claimOf(redis, 'resque', 'held'), { timeoutMs: 5_000, intervalMs: 5 });
    const killedAt = performance.now();
    process.kill(holder.pid, 'SIGKILL');
    await waitFor('the job to be re-run', () => claimOf(redis, 'resque', 'held', holder.pid), { timeoutMs: Math.min(20_000, left()), intervalMs: 5 });
    const sigkillToRerunMs = Math.round(performance.now() - killedAt);
    cluster.track();
    await cluster.stop(10_000);

    return {
      mycluster: { jobsPerSecond: myclusterJobsPerSecond },
      bareMultiWorker: { jobsPerSecond: bareJobsPerSecond },
      sigkillToRerunMs,
    };
  } finally {
    redis?.disconnect();
    for (const proc of started.reverse()) await proc.stop(3_000).catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// `node bench/tasks.mjs` runs it alone.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const results = await benchTasks({});
  console.log(JSON.stringify(results, null, 2));
}
