// Issue 3 end to end: the real CLI in each role (ACTIONHERO_ROLE, Procfile env) on the tasks-app fixture,
// against real redis-server processes on free ports. Jobs are counted in Redis: every acknowledged enqueue
// is recorded by the `record` task (HINCRBY per id, so re-runs show) or sits in the failed queue.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseWorkersMember, processOfName } from '../../dist/runtime/tasks/keys.js';
import { copyFixture, isAlive, reloadDone, repoRoot, restartLine, runMycluster, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { freePort, tcpProbe } from '../helpers/net.mjs';
import { startRedis } from '../helpers/redis.mjs';
import { testClient } from '../helpers/tasks.mjs';
import { claims, enqueue, get, parseProcfile, settle, spawnProcfileProcess, startEnqueueStream } from '../helpers/tasks-app.mjs';
import { sleep, waitFor, within } from '../helpers/wait.mjs';

const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function redisServer(args, options) {
  const server = await startRedis(args, options);
  cleanups.push(() => server.stop());
  return server;
}

function client(url) {
  const redis = testClient(url);
  cleanups.push(async () => redis.disconnect());
  return redis;
}

function cluster(dir, args, env) {
  const handle = startMycluster(args, { cwd: dir, env });
  cleanups.push(() => handle.kill());
  return handle;
}

const refused = async (port) => (await tcpProbe(port, { timeoutMs: 2_000 })).code === 'ECONNREFUSED';

/** Wait until a processor holds job `id`; its claim. */
function claimOf(redis, id, { otherThan, timeoutMs = 10_000 } = {}) {
  return waitFor(`a processor to hold job ${id}`, async () => (await claims(redis)).find((claim) => claim.id === id && claim.pid !== otherThan), {
    timeoutMs,
    intervalMs: 20,
  });
}

function summary(outcome) {
  const failed = [...outcome.failed.entries()].slice(0, 5).map(([id, error]) => `${id}: ${error}`);
  return `missing ${outcome.missing.length} ${JSON.stringify(outcome.missing.slice(0, 20))}; duplicates ${outcome.duplicates.length} ${JSON.stringify(outcome.duplicates.slice(0, 20))}; failed ${outcome.failed.size} ${JSON.stringify(failed)}`;
}

describe('a server cluster and a worker cluster on one Redis', () => {
  let redis;
  let db;
  let worker;
  let server;
  let workerDir;
  let serverPort;
  let workerPort;

  before(async () => {
    redis = await redisServer();
    db = client(redis.url);
    workerDir = copyFixture('tasks-app');
    const serverDir = copyFixture('tasks-app');
    serverPort = await freePort();
    workerPort = await freePort();
    worker = cluster(workerDir, ['start', '--workers=2'], { ACTIONHERO_ROLE: 'worker', REDIS_URL: redis.url, PORT: String(workerPort) });
    server = cluster(serverDir, ['start', '--workers=2'], { ACTIONHERO_ROLE: 'server', REDIS_URL: redis.url, PORT: String(serverPort) });
    await Promise.all([worker.waitForEquilibrium(), server.waitForEquilibrium()]);
  });

  test('roles: the server serves and enqueues but works nothing; the worker works the jobs and listens on no port', async () => {
    assert.equal(await refused(workerPort), true, `the worker cluster must not listen on PORT ${workerPort}`);
    const ids = await enqueue(serverPort, { prefix: 'roles', count: 30 });
    assert.ok(ids, 'enqueue through the server answered 200');
    const outcome = await settle(db, ids, { timeoutMs: 15_000 });
    assert.deepEqual(outcome.missing, [], summary(outcome));
    const pids = new Set((await db.hmget('fixture:pids', ...ids)).map(Number));
    const workerPids = new Set(worker.knownPids());
    for (const pid of pids) assert.ok(workerPids.has(pid), `job worked by pid ${pid}, not a worker-cluster process`);
    assert.equal(
      server.lines.some((line) => /task processing started/.test(line.msg ?? '')),
      false,
      'the server role starts no task processing',
    );
    const status = await get(serverPort, '/api/status');
    assert.equal(status.body.role, 'server');
  });

  test('nothing lost: a steady enqueue stream across 2 USR2 reloads and a SIGKILL of a worker holding a job', async (t) => {
    const stream = startEnqueueStream({ port: serverPort, prefix: 'stream', batch: 3, pauseMs: 60, concurrency: 2, maxIds: 1_200 });
    let killed;
    try {
      await waitFor('the stream to get going', () => stream.acked.size >= 60, { timeoutMs: 10_000 });

      let from = worker.lines.length;
      process.kill(worker.pid, 'SIGUSR2');
      await worker.waitForLine(reloadDone, { from, what: 'reload #1 done', timeoutMs: 30_000 });

      // A job that is surely in flight when its worker is SIGKILLed: it takes 1.5 s.
      const held = await enqueue(serverPort, { prefix: 'held', count: 1, ms: 1_500 });
      assert.ok(held);
      const claim = await claimOf(db, held[0]);
      assert.ok(slotPids(workerDir, 2).includes(claim.pid), `job held by worker-cluster pid ${claim.pid}`);
      from = worker.lines.length;
      const killedAt = Date.now();
      process.kill(claim.pid, 'SIGKILL');
      killed = { pid: claim.pid, id: held[0] };
      const rerun = await claimOf(db, held[0], { otherThan: claim.pid, timeoutMs: 15_000 }).catch(() => null);
      const rerunMs = Date.now() - killedAt;
      t.diagnostic(
        `job ${held[0]} held by SIGKILLed pid ${claim.pid}: ${rerun ? `re-run by ${rerun.worker} after ${rerunMs} ms` : 'not re-claimed within 15 s'}`,
      );
      await worker.waitForEquilibrium({ from, timeoutMs: 20_000 });
      stream.acked.add(held[0]);

      from = worker.lines.length;
      process.kill(worker.pid, 'SIGUSR2');
      await worker.waitForLine(reloadDone, { from, what: 'reload #2 done', timeoutMs: 30_000 });
      await waitFor('400 acknowledged enqueues', () => stream.acked.size >= 400, { timeoutMs: 20_000 });
    } finally {
      await stream.stop();
    }

    const outcome = await settle(db, stream.acked, { timeoutMs: 25_000 });
    t.diagnostic(`stream: ${stream.requested} requested, ${stream.acked.size} acknowledged, ${stream.refused.length} refused; ${summary(outcome)}`);
    assert.deepEqual(outcome.missing, [], summary(outcome));
    assert.ok(Number(outcome.runs[killed.id]) >= 1 || outcome.failed.has(killed.id), `the SIGKILLed worker's job ${killed.id} was re-run or failed`);
    assert.ok(
      worker.lines.some((line) => /re-enqueued task record: its worker .* died/.test(line.msg ?? '') && String(line.worker).includes(`:${killed.pid}+`)),
      'the recovery of the killed worker job is logged',
    );
    // None left claimed: once the queue is worked, no processor (alive or dead) holds a record job.
    await waitFor('no record job left claimed', async () => (await claims(db)).every((claim) => claim.task !== 'record'), { timeoutMs: 10_000 });
    // And no processor record of a dead process (the SIGKILLed one, the reloaded ones) is left behind.
    const deadProcessors = async () =>
      (await db.smembers('resque:workers')).filter((member) => !isAlive(processOfName(parseWorkersMember(member).processor).pid));
    await waitFor('no processor of a dead process registered', async () => (await deadProcessors()).length === 0, { timeoutMs: 10_000 }).catch(
      async (error) => {
        throw new Error(`${error.message}: ${JSON.stringify(await deadProcessors())}`);
      },
    );
    assert.equal(await db.llen('resque:queue:default').then((length) => length <= 1), true, 'queue drained (a periodic tick may be pending)');
  });

  const HELD_JOB_MS = 20_000;
  test('status action and `mycluster queues` report the task side', async () => {
    const status = await get(serverPort, '/api/status');
    assert.equal(status.status, 200);
    assert.equal(status.body.status, 'ok');
    assert.equal(typeof status.body.tasks.queues.default, 'number');
    assert.equal(typeof status.body.tasks.failed, 'number');

    // A job in progress, so the report shows a processor and its job; long enough to outlast both reports
    // (two CLI runs took ~6 s on a loaded machine).
    const held = await enqueue(serverPort, { prefix: 'queues', count: 1, ms: HELD_JOB_MS });
    assert.ok(held);
    const claim = await claimOf(db, held[0]);
    const json = await runMycluster(['queues', '--json'], { cwd: workerDir, env: { REDIS_URL: redis.url } });
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout);
    assert.ok(
      report.queues.some((queue) => queue.name === 'default' && typeof queue.length === 'number'),
      json.stdout,
    );
    assert.equal(typeof report.failed, 'number');
    assert.equal(typeof report.delayed, 'number');
    assert.ok(report.redis.usedMemory > 0);
    assert.equal(typeof report.redis.maxMemory, 'number');
    assert.match(report.leader ?? '', /:\d+$/, 'a scheduler leader of the worker cluster');
    assert.ok(worker.knownPids().includes(Number(/:(\d+)$/.exec(report.leader)[1])), `leader ${report.leader} is a worker-cluster process`);
    assert.ok(report.workers.length >= 2, `processors listed: ${json.stdout}`);
    const busy = report.workers.find((entry) => entry.name === claim.worker);
    assert.equal(busy?.job?.task, 'record', json.stdout);
    assert.deepEqual(busy.job.args, [{ id: held[0], ms: HELD_JOB_MS, replicas: 0 }]);

    const text = await runMycluster(['queues'], { cwd: workerDir, env: { REDIS_URL: redis.url } });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /scheduler leader: .+:\d+/);
    assert.match(text.stdout, /QUEUE\s+LENGTH/);
    assert.match(text.stdout, /^default\s+\d+/m);
    assert.match(text.stdout, /PROCESSOR/);
    // The held job, on the processor that claimed it (or, had a loaded machine replaced that worker meanwhile, on the one re-running it).
    assert.match(text.stdout.slice(text.stdout.indexOf('PROCESSOR')), /\brecord\b/, text.stdout);
  });

  test('with Redis stopped: status answers 503 unhealthy and `mycluster queues` exits 1 with one line', async () => {
    await redis.stop();
    const status = await waitFor(
      'status 503',
      async () => {
        const answer = await get(serverPort, '/api/status');
        return answer.status === 503 && answer;
      },
      { timeoutMs: 10_000 },
    );
    assert.equal(status.body.status, 'unhealthy');
    assert.ok(
      status.body.problems.some((problem) => /redis/.test(problem)),
      JSON.stringify(status.body),
    );

    const queues = await runMycluster(['queues'], { cwd: workerDir, env: { REDIS_URL: redis.url } });
    assert.equal(queues.code, 1);
    assert.equal(queues.stdout, '');
    assert.match(queues.stderr, /^mycluster: cannot reach redis at 127\.0\.0\.1:\d+: ECONNREFUSED\n$/);
  });
});

test('Redis down at start: web serves, tasks wait and then work; a Redis restart resumes tasks in the same workers', async (t) => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const dir = copyFixture('tasks-app');
  const webPort = await freePort();
  const app = cluster(dir, ['start', '--workers=2'], { ACTIONHERO_ROLE: '', REDIS_URL: url, PORT: String(webPort) });
  await app.waitForEquilibrium({ timeoutMs: 20_000 });
  const pids = slotPids(dir, 2);

  assert.equal((await get(webPort, '/api/ping')).status, 200, 'the web server serves without Redis');
  const down = await get(webPort, '/api/status');
  assert.equal(down.status, 503);
  assert.equal(down.body.status, 'unhealthy');
  for (const pid of pids) {
    const line = app.lines.find(
      (entry) => entry.pid === pid && /redis unavailable for tasks at 127\.0\.0\.1:\d+, retrying: ECONNREFUSED/.test(entry.msg ?? ''),
    );
    assert.ok(line, `worker ${pid} logs that task processing waits for redis`);
  }

  const redis = await redisServer([], { port });
  const db = client(url);
  await waitFor('status 200 once redis is up', async () => (await get(webPort, '/api/status')).status === 200, { timeoutMs: 15_000 });
  for (const pid of pids) {
    await app.waitForLine((line) => line.pid === pid && line.msg === 'task processing started', {
      what: `worker ${pid} to start task processing once redis is up`,
    });
  }
  const first = await waitFor('an acknowledged enqueue', () => enqueue(webPort, { prefix: 'late', count: 20 }), { timeoutMs: 10_000, intervalMs: 200 });
  let outcome = await settle(db, first, { timeoutMs: 15_000 });
  assert.deepEqual(outcome.missing, [], summary(outcome));

  // Restart (no persistence: the queues are gone too); the same workers take up the new jobs.
  await redis.restart();
  await waitFor('status 200 after the redis restart', async () => (await get(webPort, '/api/status')).status === 200, { timeoutMs: 15_000 });
  const second = await waitFor('an enqueue after the restart', () => enqueue(webPort, { prefix: 'after-restart', count: 20 }), {
    timeoutMs: 10_000,
    intervalMs: 200,
  });
  outcome = await settle(db, second, { timeoutMs: 15_000 });
  assert.deepEqual(outcome.missing, [], summary(outcome));
  const workedBy = new Set((await db.hmget('fixture:pids', ...second)).map(Number));
  t.diagnostic(`after the redis restart, jobs worked by ${[...workedBy].join(', ')} (workers ${pids.join(', ')})`);
  for (const pid of workedBy) assert.ok(pids.includes(pid), `worked by ${pid}: one of the original workers`);
  assert.deepEqual(slotPids(dir, 2), pids, 'no worker was replaced');
  assert.deepEqual(
    app.lines.filter(restartLine).map((line) => line.msg),
    [],
    'no restarts in the master log',
  );
  await app.kill();
});

test('a periodic task runs once per period cluster-wide: 2 workers, then two clusters on one Redis', async (t) => {
  const redis = await redisServer();
  const db = client(redis.url);
  const env = { ACTIONHERO_ROLE: 'worker', REDIS_URL: redis.url };
  const ticksIn = async (ms) => {
    const before = Number(await db.get('fixture:ticks'));
    const startedAt = Date.now();
    await sleep(ms);
    const ticks = Number(await db.get('fixture:ticks')) - before;
    return { ticks, periods: (Date.now() - startedAt) / 1000 };
  };
  const first = cluster(copyFixture('tasks-app'), ['start', '--workers=2'], env);
  await first.waitForEquilibrium();
  await waitFor('a first tick', async () => Number(await db.get('fixture:ticks')) > 0, { timeoutMs: 10_000 });
  const one = await ticksIn(3_000);

  const second = cluster(copyFixture('tasks-app'), ['start', '--workers=2'], env);
  await second.waitForEquilibrium();
  const two = await ticksIn(3_000);
  t.diagnostic(
    `ticks: ${one.ticks} in ${one.periods.toFixed(1)} periods (1 cluster × 2 workers), ${two.ticks} in ${two.periods.toFixed(1)} periods (2 clusters × 2 workers)`,
  );
  // At most one per period (+1 for a period enqueued just before the window, run in it); 4 schedulers each
  // enqueueing would give about 4 per period.
  for (const window of [one, two]) {
    assert.ok(window.ticks >= 1, `the periodic task ran (${window.ticks})`);
    assert.ok(window.ticks <= Math.floor(window.periods) + 2, `${window.ticks} runs in ${window.periods} periods`);
  }
  await first.kill();
  await second.kill();
});

test('example/Procfile works unchanged: its web and worker lines (plus ENABLE_TCP_SERVER / ENABLE_WEBSOCKET_SERVER)', async () => {
  const procs = parseProcfile(path.join(repoRoot, 'example', 'Procfile'));
  assert.deepEqual(
    procs.map((proc) => proc.name),
    ['web', 'worker'],
  );
  const redis = await redisServer();
  const db = client(redis.url);
  // Each process in its own copy, as on a Procfile platform (one dyno each). procfile-runners.test.mjs runs
  // both lines from one checkout under real Procfile runners.
  const started = {};
  for (const proc of procs) {
    const dir = copyFixture('tasks-app');
    fs.mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
    fs.symlinkSync(path.join(repoRoot, 'bin', 'mycluster'), path.join(dir, 'node_modules', '.bin', 'mycluster'));
    const port = await freePort();
    const env = { REDIS_URL: redis.url, PORT: String(port), ENABLE_TCP_SERVER: 'false', ENABLE_WEBSOCKET_SERVER: 'false', ACTIONHERO_ROLE: '' };
    const handle = spawnProcfileProcess(proc, { cwd: dir, env });
    cleanups.push(async () => handle.kill());
    started[proc.name] = { handle, port };
  }
  const { web, worker } = started;
  await Promise.all(
    [web, worker].map(({ handle }) => handle.waitForLine((line) => /^mycluster .+ ready \(pid \d+\)$/.test(line.msg ?? ''), { what: 'ready' })),
  );

  assert.equal(await refused(worker.port), true, 'the worker line listens on no port');
  const ids = await enqueue(web.port, { prefix: 'procfile', count: 30 });
  assert.ok(ids);
  const outcome = await settle(db, ids, { timeoutMs: 15_000 });
  assert.deepEqual(outcome.missing, [], summary(outcome));
  assert.deepEqual([...new Set((await db.hmget('fixture:pids', ...ids)).map(Number))], [worker.handle.pid], 'the worker line works every job');

  // Procfile platforms stop with TERM, straight to the process (no npm in between): a clean exit.
  for (const { handle } of [web, worker]) {
    handle.child.kill('SIGTERM');
    const exit = await within(10_000, `${handle.name} to exit on TERM`, handle.exited);
    assert.deepEqual(exit, { code: 0, signal: null }, `${handle.name} exits 0 on TERM`);
  }
});
