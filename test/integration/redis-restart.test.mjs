// Issue 12: every Redis connection of a worker survives a standalone Redis (REDIS_URL) killed and restarted,
// twice, and an outage of 30 s plus the checks made during it (~45 s in all). Redis keeps its data across the
// kills (AOF, fsync always), so every enqueue it acknowledged must be worked or failed in the end, none left
// in a queue. During the outage the web side keeps serving, `mycluster status` shows the task side down, and
// no worker is replaced (replacing cannot help).
// Once with the web and task clusters apart, once with both roles in each worker; the two run side by side.
// And a worker whose connection alone is dead (Redis answers) is replaced after cluster.redisDownTimeout.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { copyFixture, runMycluster, startMycluster } from '../helpers/cluster.mjs';
import { freePort } from '../helpers/net.mjs';
import { startRedis } from '../helpers/redis.mjs';
import { testClient } from '../helpers/tasks.mjs';
import { claims, get, settle, startEnqueueStream } from '../helpers/tasks-app.mjs';
import { sleep, waitFor } from '../helpers/wait.mjs';

const OUTAGE_MS = 30_000;

const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const restartLine = (line) => /restarting in \d+ ms|failed to boot|\bexited: |replacing it/.test(line.msg ?? '');

async function statusOf(dir) {
  const { code, stdout } = await runMycluster(['status', '--json'], { cwd: dir });
  assert.equal(code, 0, 'mycluster status --json');
  return JSON.parse(stdout);
}

async function runRestarts(t, { split }) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-redis-aof-'));
  cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dataDir]);
  cleanups.push(() => redis.stop());
  const port = await freePort();
  const clusters = [];
  const start = (roleEnv) => {
    const dir = copyFixture('tasks-app');
    const cluster = startMycluster(['start', '--workers=2'], { cwd: dir, env: { REDIS_URL: redis.url, ...roleEnv } });
    cluster.dir = dir;
    cleanups.push(() => cluster.kill());
    clusters.push(cluster);
    return cluster;
  };
  const taskCluster = start(split ? { ACTIONHERO_ROLE: 'worker' } : { ACTIONHERO_ROLE: '', PORT: String(port) });
  if (split) start({ ACTIONHERO_ROLE: 'server', PORT: String(port) });
  await Promise.all(clusters.map((cluster) => cluster.waitForEquilibrium()));

  const stream = startEnqueueStream({ port, prefix: split ? 'apart' : 'together', batch: 2, pauseMs: 50, concurrency: 2, maxIds: 1_000_000 });
  const recoveries = [];
  /** Kill Redis, keep it down `downMs`, restart it; ms from the restart to the next acknowledged enqueue. */
  const outage = async (downMs, duringOutage = async () => undefined) => {
    await waitFor('acknowledged enqueues', () => stream.acked.size > 40, { timeoutMs: 20_000 });
    process.kill(redis.pid, 'SIGKILL');
    await duringOutage();
    await sleep(downMs);
    await redis.restart();
    const restartedAt = Date.now();
    const acked = stream.acked.size;
    await waitFor('an acknowledged enqueue within 10 s of the restart', () => stream.acked.size > acked, { timeoutMs: 10_000, intervalMs: 20 });
    recoveries.push(Date.now() - restartedAt);
    await waitFor('40 more acknowledged enqueues', () => stream.acked.size > acked + 40, { timeoutMs: 20_000 });
  };
  try {
    await outage(500);
    await outage(500);
    const outageStart = taskCluster.lines.length;
    await outage(OUTAGE_MS, async () => {
      // The web side serves while Redis is away; the master sees the task side down.
      await sleep(OUTAGE_MS / 2);
      const ping = await get(port, '/api/ping');
      assert.equal(ping.status, 200, 'the web side serves during the outage');
      const status = await statusOf(taskCluster.dir);
      for (const slot of status.slots)
        assert.ok(slot.worker.redis?.tasks?.downMs > 0, `worker #${slot.slot} reports its task side down: ${JSON.stringify(slot.worker.redis)}`);
      const { stdout } = await runMycluster(['status'], { cwd: taskCluster.dir });
      assert.match(stdout, /tasks: redis down \d+ s/);
    });
    const errors = taskCluster.lines.slice(outageStart).filter((line) => line.level === 50 && /redis down for tasks for \d+ s/.test(line.msg));
    assert.equal(errors.length, 2, 'one error line per worker once the outage is more than a blip');
  } finally {
    await stream.stop();
  }
  t.diagnostic(`restarts after 0.5 s, 0.5 s and ${OUTAGE_MS / 1000} s down; ms from restart to the next acknowledged enqueue: ${recoveries.join(', ')}`);

  const db = testClient(redis.url);
  cleanups.push(async () => db.disconnect());
  const outcome = await settle(db, stream.acked, { timeoutMs: 30_000 });
  // A job can be queued twice (an enqueue resent after a reconnect, a stuck job re-run): let the processors drain it.
  const left = await waitFor('the queue to drain', async () => ((await db.llen('resque:queue:default')) === 0 ? 'none' : false), { timeoutMs: 15_000 })
    .then(() => 0)
    .catch(() => db.llen('resque:queue:default'));
  t.diagnostic(
    `${stream.requested} requested, ${stream.acked.size} acknowledged, ${stream.refused.length} refused; ` +
      `worked ${stream.acked.size - outcome.missing.length - outcome.failed.size}, failed ${outcome.failed.size}, missing ${outcome.missing.length}, left in queue ${left}`,
  );
  if (outcome.missing.length)
    t.diagnostic(`claims of missing jobs: ${JSON.stringify((await claims(db)).filter((claim) => outcome.missing.includes(claim.id)))}`);
  assert.deepEqual(outcome.missing.slice(0, 20), [], 'every acknowledged job was worked or failed');
  assert.equal(left, 0, 'no job left in the queue');
  for (const cluster of clusters) {
    await waitFor(
      'every worker to report its Redis connections up',
      async () =>
        (await statusOf(cluster.dir)).slots.every((slot) => Object.values(slot.worker?.redis ?? {}).every((connection) => connection.downMs === null)),
      { timeoutMs: 10_000 },
    );
    assert.deepEqual(
      cluster.lines.filter(restartLine).map((line) => line.msg),
      [],
      'no worker crashed or was replaced',
    );
  }
}

describe('a standalone Redis (REDIS_URL)', { concurrency: 2 }, () => {
  test('with the web and task clusters apart: enqueues and processing come back each time, no worker replaced', async (t) => {
    await runRestarts(t, { split: true });
  });

  test('with both roles in each worker: enqueues and processing come back each time, no worker replaced', async (t) => {
    await runRestarts(t, { split: false });
  });

  test('a worker whose Redis connection stays down while Redis answers is replaced after cluster.redisDownTimeout', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const port = await freePort();
    const dir = copyFixture('tasks-app');
    const overrides = { cluster: { redisDownTimeout: 2_000 } };
    const cluster = startMycluster(['start', '--workers=2'], {
      cwd: dir,
      env: { REDIS_URL: redis.url, ACTIONHERO_ROLE: '', PORT: String(port), ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify(overrides) },
    });
    cleanups.push(() => cluster.kill());
    await cluster.waitForEquilibrium();
    const before = (await statusOf(dir)).slots.map((slot) => slot.worker.pid);
    const broken = await get(port, `/api/break-redis?port=${await freePort()}`);
    assert.equal(broken.status, 200);
    const { pid } = broken.body;
    const replacing = await cluster.waitForLine(
      (line) => line.level === 50 && /has been down for \d+ s, \d+ s of them while redis answers .*replacing it/.test(line.msg ?? ''),
      {
        timeoutMs: 40_000,
        what: 'the master to replace the worker with the dead connection',
      },
    );
    assert.equal(replacing.workerPid, pid);
    await waitFor(
      'a ready successor in its slot',
      async () => {
        const pids = (await statusOf(dir)).slots.map((slot) => slot.worker?.state === 'ready' && slot.worker.pid);
        return pids.every(Boolean) && !pids.includes(pid);
      },
      { timeoutMs: 20_000 },
    );
    const after = (await statusOf(dir)).slots.map((slot) => slot.worker.pid);
    assert.deepEqual(
      after.filter((workerPid) => before.includes(workerPid)),
      before.filter((workerPid) => workerPid !== pid),
      'the other worker is untouched',
    );
  });
});
