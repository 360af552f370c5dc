import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { formatQueuesJson, formatQueuesTable, queuesReport } from '../../dist/commands/queues.js';
import { startChild } from '../helpers/child.mjs';
import { freePort } from '../helpers/net.mjs';
import { startRedis } from '../helpers/redis.mjs';
import { appRuntime, capturingLogger, tasksConfig, testClient } from '../helpers/tasks.mjs';
import { sleep, waitFor } from '../helpers/wait.mjs';

test('reports queues, growth between two samples, processors and their jobs, failed, delayed, leader and memory', async () => {
  const redisServer = await startRedis(['--maxmemory', '100mb']);
  const client = testClient(redisServer.url);
  const config = tasksConfig({ url: redisServer.url });
  const { log } = capturingLogger();
  let runtime;
  let child;
  try {
    runtime = await appRuntime(config, log);
    child = await startChild({
      url: redisServer.url,
      tasks: { queues: ['slow'], scheduler: true, minTaskProcessors: 1, maxTaskProcessors: 1 },
      env: { SLOW_TASK_MS: '600000' },
    });
    await runtime.handle.queue.enqueue('fail', { why: 'report' }, 'slow');
    await waitFor('the failed job', () => client.llen('test-resque:failed').then((length) => length === 1));
    await runtime.handle.queue.enqueue('slow', { id: 'held', ms: 1 });
    await waitFor('the held job', () => client.llen('test:started').then((length) => length === 1));
    await runtime.handle.queue.enqueueIn(60_000, 'record', { n: 'later' });
    await waitFor('the leader', () => client.get('test-resque:resque_scheduler_leader_lock'));

    // Jobs keep arriving on a queue nobody works while the report takes its two samples.
    let reported = false;
    const reporting = queuesReport(config, { sampleIntervalMs: 500 }).finally(() => (reported = true));
    for (let n = 0; !reported; n++) {
      await runtime.handle.queue.enqueue('record', { n }, 'parked');
      await sleep(20);
    }
    const report = await reporting;
    const parkedLength = await client.llen('test-resque:queue:parked');

    assert.equal(report.redis.address, `127.0.0.1:${redisServer.port}`);
    assert.equal(report.redis.maxMemory, 100 * 1024 * 1024);
    assert.ok(report.redis.usedMemory > 0);
    assert.equal(report.leader, `${hostname()}:${child.child.pid}`);
    assert.equal(report.failed, 1);
    assert.equal(report.delayed, 1);
    const parked = report.queues.find((queue) => queue.name === 'parked');
    assert.ok(parked.length >= 1 && parked.length <= parkedLength);
    assert.equal(parked.growing, true);
    assert.equal(report.queues.find((queue) => queue.name === 'slow').growing, false);
    assert.equal(report.workers.length, 1);
    assert.equal(report.workers[0].name, `${hostname()}:${child.child.pid}+1`);
    assert.deepEqual(report.workers[0].job && { task: report.workers[0].job.task, args: report.workers[0].job.args }, {
      task: 'slow',
      args: [{ id: 'held', ms: 1 }],
    });

    const text = formatQueuesTable(report);
    assert.match(text, /^parked\s+\d+\s+\+[\d.]+\s+growing: jobs arrive faster than they are worked$/m);
    assert.match(text, /^failed: 1 {2}delayed: 1 {2}worked: /m);
    assert.match(text, /of maxmemory 100\.0 MB/);
    assert.match(text, new RegExp(`^${hostname()}:${child.child.pid}\\+1\\s+slow\\s+\\d+ s ago\\s+slow on slow since `, 'm'));
    assert.deepEqual(JSON.parse(formatQueuesJson(report)), report);
  } finally {
    await child?.kill();
    await runtime?.close();
    client.disconnect();
    await redisServer.stop();
  }
});

test('fails with RedisUnavailableError naming the address when redis cannot be reached', async () => {
  const port = await freePort();
  const config = tasksConfig({ url: `redis://127.0.0.1:${port}` });
  await assert.rejects(queuesReport(config, { sampleIntervalMs: 10 }), {
    name: 'RedisUnavailableError',
    message: `cannot reach redis at 127.0.0.1:${port}: ECONNREFUSED`,
  });
});
