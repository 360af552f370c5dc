// Issue 12: with tasks.enqueueReplicas, concurrent enqueues each get their answer within about
// enqueueReplicaTimeout: a WAIT holds the shared connection, so the enqueues behind it must not each wait
// a whole timeout more. Real redis-server processes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startRedis } from '../helpers/redis.mjs';
import { appRuntime, capturingLogger, tasksConfig, testClient } from '../helpers/tasks.mjs';
import { waitFor } from '../helpers/wait.mjs';

const CONCURRENT = 20;
const TIMEOUT_MS = 400;

/** Settle every promise, or throw once `ms` have passed. */
function allSettledWithin(promises, ms) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`not all settled within ${ms} ms`)), ms)));
  return Promise.race([Promise.allSettled(promises), timeout]).finally(() => clearTimeout(timer));
}

test('concurrent enqueues no replica confirms are all refused within about enqueueReplicaTimeout, not one timeout each', async () => {
  const redis = await startRedis();
  const { log } = capturingLogger();
  const runtime = await appRuntime(tasksConfig({ url: redis.url, tasks: { enqueueReplicas: 1, enqueueReplicaTimeout: TIMEOUT_MS } }), log);
  try {
    const [known] = runtime.definitions.keys();
    const enqueues = Array.from({ length: CONCURRENT }, (_, index) => runtime.handle.queue.enqueue(known, { index }));
    // One timeout each, in a row, would take CONCURRENT × TIMEOUT_MS = 8 s.
    const outcomes = await allSettledWithin(enqueues, 5 * TIMEOUT_MS);
    for (const outcome of outcomes) {
      assert.equal(outcome.status, 'rejected');
      assert.match(
        outcome.reason.message,
        /was not confirmed by 1 replica\(s\) within 400 ms .*may be lost in a failover, or still be worked; retry it \(tasks must be idempotent\)/,
      );
    }
  } finally {
    await runtime.close();
    await redis.stop();
  }
});

test('concurrent enqueues a replica confirms all resolve', async () => {
  const redis = await startRedis();
  const replica = await startRedis(['--replicaof', '127.0.0.1', String(redis.port)]);
  const primary = testClient(redis.url);
  const { log } = capturingLogger();
  let runtime;
  try {
    // A replica still in its first sync confirms nothing: wait until the master counts it online.
    await waitFor('the replica to be online', async () => /^slave0:.*state=online/m.test(await primary.info('replication')), { timeoutMs: 15_000 });
    runtime = await appRuntime(tasksConfig({ url: redis.url, tasks: { enqueueReplicas: 1, enqueueReplicaTimeout: 5_000 } }), log);
    const [known] = runtime.definitions.keys();
    const outcomes = await Promise.allSettled(Array.from({ length: CONCURRENT }, (_, index) => runtime.handle.queue.enqueue(known, { index })));
    assert.deepEqual(
      outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => outcome.reason.message),
      [],
    );
  } finally {
    primary.disconnect();
    await runtime?.close();
    await replica.stop();
    await redis.stop();
  }
});
