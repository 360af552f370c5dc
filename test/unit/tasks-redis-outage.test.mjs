import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTaskProcessing } from '../../dist/runtime/tasks/index.js';
import { startChild } from '../helpers/child.mjs';
import { freePort } from '../helpers/net.mjs';
import { startRedis } from '../helpers/redis.mjs';
import { appRuntime, capturingLogger, TASKS_HINT, tasksConfig, testClient } from '../helpers/tasks.mjs';
import { waitFor, within } from '../helpers/wait.mjs';

test('starts while redis is down, logs it once, and works jobs once redis is up', async () => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const config = tasksConfig({ url });
  const { log, lines } = capturingLogger();
  let redisServer;
  let runtime;
  let processing;
  let client;
  try {
    runtime = await appRuntime(config, log);
    processing = await within(
      5_000,
      'startTaskProcessing with redis down',
      startTaskProcessing({ config, context: runtime.context, definitions: runtime.definitions, log }),
    );
    await waitFor('the outage line', async () => lines.filter((line) => line.purpose === 'tasks').length > 0);
    redisServer = await startRedis([], { port });
    client = testClient(url);
    await runtime.handle.queue.enqueue('record', { n: 'after-start' });
    await waitFor('the job to be worked', () => client.llen('test:done').then((length) => length === 1));
    const outages = lines.filter((line) => line.msg === `redis unavailable for tasks at 127.0.0.1:${port}, retrying: ECONNREFUSED (${TASKS_HINT})`);
    assert.equal(outages.length, 1);
    assert.ok(lines.some((line) => line.msg === `redis available again for tasks at 127.0.0.1:${port}`));
    assert.ok(lines.some((line) => line.msg === 'task processing started'));
  } finally {
    await processing?.stop();
    await runtime?.close();
    client?.disconnect();
    await redisServer?.stop();
  }
});

test('resumes working jobs after redis restarts, without a restart of the processing', async () => {
  const redisServer = await startRedis();
  const client = testClient(redisServer.url);
  const config = tasksConfig({ url: redisServer.url });
  const { log } = capturingLogger();
  let runtime;
  let processing;
  try {
    runtime = await appRuntime(config, log);
    processing = await startTaskProcessing({ config, context: runtime.context, definitions: runtime.definitions, log });
    await runtime.handle.queue.enqueue('record', { n: 'before' });
    await waitFor('the first job', () => client.llen('test:done').then((length) => length === 1));
    await redisServer.restart();
    await waitFor('the enqueue after the restart', () => runtime.handle.queue.enqueue('record', { n: 'after' }).then(() => true));
    const done = await waitFor('the job enqueued after the restart', () => client.lrange('test:done', 0, -1).then((items) => items.length > 0 && items));
    assert.deepEqual(
      done.map((item) => JSON.parse(item).n),
      ['after'],
    );
  } finally {
    await processing?.stop();
    await runtime?.close();
    client.disconnect();
    await redisServer.stop();
  }
});

test('a worker process stops and exits while redis is down', async () => {
  const redisServer = await startRedis();
  let child;
  try {
    child = await startChild({ url: redisServer.url, tasks: { minTaskProcessors: 2, maxTaskProcessors: 2 } });
    await redisServer.stop();
    await child.waitForLine((line) => line.msg?.startsWith('redis unavailable for tasks'));
    process.kill(child.child.pid, 'SIGTERM');
    const exit = await within(10_000, 'the child exit', child.exited);
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(child.lines.some((line) => line.msg?.startsWith('stopped task processing while redis is down')));
  } finally {
    await child?.kill();
    await redisServer.stop();
  }
});
