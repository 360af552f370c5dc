import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { startTaskProcessing } from '../../dist/runtime/tasks/index.js';
import { recoverStuckJobs } from '../../dist/runtime/tasks/recovery.js';
import { startChild } from '../helpers/child.mjs';
import { startRedis } from '../helpers/redis.mjs';
import { appRuntime, capturingLogger, tasksConfig, testClient } from '../helpers/tasks.mjs';
import { waitFor } from '../helpers/wait.mjs';

const holdForever = { SLOW_TASK_MS: '600000' };
const slowOnly = { queues: ['slow'], minTaskProcessors: 1, maxTaskProcessors: 1, scheduler: false };

/** Start a child working the `slow` queue, enqueue one slow job, and wait until the child holds it. */
async function childHoldingAJob(redisServer, runtime, client) {
  const holder = await startChild({ url: redisServer.url, tasks: slowOnly, env: holdForever });
  await runtime.handle.queue.enqueue('slow', { id: 'held', ms: 10 });
  await waitFor('the child to hold the job', () => client.llen('test:started').then((length) => length === 1));
  return holder;
}

test('re-enqueues the job of a SIGKILLed worker process and another process works it', async () => {
  const redisServer = await startRedis();
  const client = testClient(redisServer.url);
  // This process only leads the scheduler: it recovers, it does not work jobs.
  const config = tasksConfig({ url: redisServer.url, tasks: { scheduler: true, minTaskProcessors: 0, maxTaskProcessors: 0 } });
  const { log, lines } = capturingLogger();
  const children = [];
  let runtime;
  let leader;
  try {
    runtime = await appRuntime(config, log);
    leader = await startTaskProcessing({ config, context: runtime.context, definitions: runtime.definitions, log });
    const holder = await childHoldingAJob(redisServer, runtime, client);
    children.push(holder);
    await holder.kill('SIGKILL');
    await waitFor('the job back in its queue', () => client.llen('test-resque:queue:slow').then((length) => length === 1));
    await waitFor('the recovery log line', async () =>
      lines.some((line) => line.msg?.startsWith('re-enqueued task slow: its worker') && line.worker.includes(`:${holder.child.pid}+`)),
    );
    // The dead processor's records go right after its job is re-enqueued.
    await waitFor('the dead processor forgotten', () => client.keys(`test-resque:worker:*${holder.child.pid}*`).then((keys) => keys.length === 0));

    children.push(await startChild({ url: redisServer.url, tasks: slowOnly }));
    const done = await waitFor('the re-enqueued job to be worked', () => client.lrange('test:done', 0, -1).then((items) => items.length === 1 && items));
    assert.deepEqual(JSON.parse(done[0]), { id: 'held', ms: 10 });
  } finally {
    for (const child of children) await child.kill();
    await leader?.stop();
    await runtime?.close();
    client.disconnect();
    await redisServer.stop();
  }
});

test('a worker process recovers at boot the job a dead process of this host left claimed', async () => {
  const redisServer = await startRedis();
  const client = testClient(redisServer.url);
  const config = tasksConfig({ url: redisServer.url, tasks: { scheduler: false, maxTaskProcessors: 0 } });
  const { log } = capturingLogger();
  const children = [];
  let runtime;
  try {
    runtime = await appRuntime(config, log);
    const holder = await childHoldingAJob(redisServer, runtime, client);
    children.push(holder);
    await holder.kill('SIGKILL');
    // No scheduler anywhere: only the replacement's boot-time recovery can free the job.
    const replacement = await startChild({ url: redisServer.url, tasks: slowOnly });
    children.push(replacement);
    await waitFor('the recovered job to be worked', () => client.llen('test:done').then((length) => length === 1));
    assert.ok(replacement.lines.some((line) => line.msg?.startsWith('re-enqueued task slow')));
  } finally {
    for (const child of children) await child.kill();
    await runtime?.close();
    client.disconnect();
    await redisServer.stop();
  }
});

/** A processor on another host, as node-resque records it while it works a job. */
async function writeRemoteClaim(client, { worker, pingSecondsAgo, startedSecondsAgo = 60 }) {
  const now = Date.now();
  const payload = { class: 'record', queue: 'default', args: [{ id: worker }] };
  await client.sadd('test-resque:workers', `${worker}:default`);
  await client.set(
    `test-resque:worker:${worker}:default`,
    JSON.stringify({ run_at: new Date(now - startedSecondsAgo * 1000).toString(), queue: 'default', worker, payload }),
  );
  if (pingSecondsAgo !== undefined) {
    await client.set(`test-resque:worker:ping:${worker}`, JSON.stringify({ time: Math.round(now / 1000) - pingSecondsAgo, name: worker, queues: 'default' }));
  }
}

test('moves the job of a processor that stopped heartbeating to the failed queue with the reason, and keeps live ones', async () => {
  const redisServer = await startRedis();
  const client = testClient(redisServer.url);
  const { log } = capturingLogger();
  try {
    await writeRemoteClaim(client, { worker: 'elsewhere:4242+1', pingSecondsAgo: 30 });
    await writeRemoteClaim(client, { worker: 'elsewhere:4243+1', pingSecondsAgo: undefined, startedSecondsAgo: 30 });
    await writeRemoteClaim(client, { worker: 'elsewhere:4244+1', pingSecondsAgo: 0 });
    const options = { redis: client, namespace: 'test-resque', stuckWorkerTimeout: 10_000, retryStuckJobs: false, log };
    assert.equal(await recoverStuckJobs(options), 2);
    assert.equal(await recoverStuckJobs(options), 0);

    const failed = (await client.lrange('test-resque:failed', 0, -1)).map((item) => JSON.parse(item));
    assert.deepEqual(failed.map((entry) => entry.worker).sort(), ['elsewhere:4242+1', 'elsewhere:4243+1']);
    assert.match(failed[0].error, /^job stopped: its worker elsewhere:424[23]\+1 died/);
    assert.equal(failed[0].payload.class, 'record');
    assert.deepEqual(await client.smembers('test-resque:workers'), ['elsewhere:4244+1:default']);
    assert.equal(await client.exists('test-resque:worker:ping:elsewhere:4242+1'), 0);
    assert.equal(await client.exists('test-resque:worker:elsewhere:4244+1:default'), 1);
  } finally {
    client.disconnect();
    await redisServer.stop();
  }
});

test('frees the scheduler leader lock of a dead process of this host', async () => {
  const redisServer = await startRedis();
  const client = testClient(redisServer.url);
  const { log } = capturingLogger();
  let child;
  try {
    child = await startChild({ url: redisServer.url, tasks: { scheduler: true, maxTaskProcessors: 0 } });
    const lockKey = 'test-resque:resque_scheduler_leader_lock';
    await waitFor('the child to lead', () => client.get(lockKey).then((leader) => leader === `${hostname()}:${child.child.pid}`));
    await child.kill('SIGKILL');
    await recoverStuckJobs({ redis: client, namespace: 'test-resque', stuckWorkerTimeout: 10_000, retryStuckJobs: true, log });
    assert.equal(await client.get(lockKey), null);
  } finally {
    await child?.kill();
    client.disconnect();
    await redisServer.stop();
  }
});
