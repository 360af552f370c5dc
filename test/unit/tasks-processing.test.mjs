import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { workerMeters } from '../../dist/runtime/metrics.js';
import { startTaskProcessing } from '../../dist/runtime/tasks/index.js';
import { startRedis } from '../helpers/redis.mjs';
import { appRuntime, capturingLogger, tasksConfig, testClient } from '../helpers/tasks.mjs';
import { waitFor } from '../helpers/wait.mjs';

describe('task processing on a real redis', () => {
  let redisServer;
  let client;
  let runtime;
  let processing;
  let logged;

  before(async () => {
    redisServer = await startRedis();
    client = testClient(redisServer.url);
    const config = tasksConfig({ url: redisServer.url, tasks: { minTaskProcessors: 1, maxTaskProcessors: 2 } });
    const { log, lines } = capturingLogger();
    logged = lines;
    runtime = await appRuntime(config, log);
    processing = await startTaskProcessing({ config, context: runtime.context, definitions: runtime.definitions, log });
  });

  after(async () => {
    try {
      await processing?.stop();
      await runtime?.close();
      client?.disconnect();
    } finally {
      await redisServer?.stop();
    }
  });

  test('works an enqueued job with its params and the app context', async () => {
    await runtime.handle.queue.enqueue('record', { n: 1 });
    const done = await waitFor('the job to be worked', () => client.lrange('test:done', 0, -1).then((items) => items.length === 1 && items));
    assert.deepEqual(JSON.parse(done[0]), { n: 1 });
  });

  test('works jobs enqueued with enqueueIn and enqueueAt once they are due', async () => {
    await runtime.handle.queue.enqueueIn(200, 'record', { n: 'in' });
    await runtime.handle.queue.enqueueAt(new Date(Date.now() + 300), 'record', { n: 'at' });
    const done = await waitFor('the delayed jobs', async () => {
      const items = (await client.lrange('test:done', 0, -1)).map((item) => JSON.parse(item).n);
      return items.includes('in') && items.includes('at') && items;
    });
    assert.ok(done.includes('in') && done.includes('at'));
  });

  test('puts a job whose task throws in the failed queue with the error', async () => {
    await runtime.handle.queue.enqueue('fail', { why: 'on purpose' });
    const failed = await waitFor('the failed job', () => client.lrange('test-resque:failed', 0, -1).then((items) => items.length === 1 && items));
    const entry = JSON.parse(failed[0]);
    assert.equal(entry.payload.class, 'fail');
    assert.equal(entry.error, 'boom: on purpose');
    assert.deepEqual(entry.payload.args, [{ why: 'on purpose' }]);
    // The failure event (and its log line) may come a moment after the failed-queue write.
    await waitFor('the failure log line', async () => logged.some((line) => line.msg === 'task fail failed: boom: on purpose'));
  });

  test('rejects an enqueue of an unknown task, naming the known ones', async () => {
    await assert.rejects(runtime.handle.queue.enqueue('nope'), {
      name: 'TaskQueueError',
      message: 'cannot enqueue unknown task "nope" (known tasks: fail, record, slow)',
    });
  });

  test('reports queue lengths and the failed count', async () => {
    await runtime.handle.queue.enqueue('slow', { ms: 1 }, 'parked');
    const report = await runtime.handle.report();
    assert.equal(report.queues.parked, 1);
    assert.equal(report.failed, 1);
  });

  test('counts the jobs worked and failed by queue, and reads every queue length, for the metrics', async () => {
    await runtime.handle.queue.enqueue('record', { n: 'metered' }, 'metered');
    await runtime.handle.queue.enqueue('fail', { why: 'metered' }, 'metered');
    const counts = await waitFor('both jobs counted', () => {
      const metered = workerMeters.snapshot().jobs.metered;
      return metered?.processed + metered?.failed === 2 && metered;
    });
    assert.deepEqual(counts, { processed: 1, failed: 1 });
    const lengths = await processing.queueLengths();
    assert.equal(lengths.metered, 0);
  });
});
