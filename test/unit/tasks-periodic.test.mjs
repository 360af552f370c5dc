import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import pino from 'pino';
import { enqueueDuePeriodicTasks } from '../../dist/runtime/tasks/periodic.js';
import { startChild } from '../helpers/child.mjs';
import { startRedis } from '../helpers/redis.mjs';
import { testClient } from '../helpers/tasks.mjs';
import { sleep, waitFor } from '../helpers/wait.mjs';

const minute = 60_000;
const periodsBetween = (start, end) => Math.floor(end / minute) - Math.floor(start / minute) + 1;

test('two worker processes run a periodic task once per period, also across a change of scheduler leader', async () => {
  const redisServer = await startRedis();
  const client = testClient(redisServer.url);
  const tasks = { scheduler: true, minTaskProcessors: 1, maxTaskProcessors: 1 };
  const children = [];
  const start = Date.now();
  try {
    children.push(await startChild({ url: redisServer.url, taskFolder: 'periodic', tasks }));
    children.push(await startChild({ url: redisServer.url, taskFolder: 'periodic', tasks }));
    await waitFor('the first tick', () => client.llen('test:ticks').then((length) => length >= 1));

    const leaderName = await client.get('test-resque:resque_scheduler_leader_lock');
    const [leader, follower] = leaderName === `${hostname()}:${children[0].child.pid}` ? children : [...children].reverse();
    await leader.kill('SIGKILL');
    await waitFor('the other process to lead', () =>
      client.get('test-resque:resque_scheduler_leader_lock').then((name) => name === `${hostname()}:${follower.child.pid}`),
    );
    await follower.waitForLine((line) => line.msg === 'this process is now the task scheduler leader');
    // Give the new leader several polls (100 ms each) in which it could enqueue the period again.
    await sleep(1_000);

    const ticks = await client.lrange('test:ticks', 0, -1);
    assert.ok(ticks.length >= 1);
    assert.ok(ticks.length <= periodsBetween(start, Date.now()), `${ticks.length} ticks in ${periodsBetween(start, Date.now())} period(s)`);
  } finally {
    for (const child of children) await child.kill();
    client.disconnect();
    await redisServer.stop();
  }
});

test('enqueues a periodic task once per period, whoever asks', async () => {
  const redisServer = await startRedis();
  const client = testClient(redisServer.url);
  const log = pino({ level: 'silent' });
  const definitions = [
    { name: 'tick', queue: 'default', frequency: 1_000, run() {} },
    { name: 'once', queue: 'default', run() {} },
  ];
  const ask = (now) => enqueueDuePeriodicTasks({ redis: client, namespace: 'test-resque', definitions, log, now });
  try {
    await Promise.all([ask(5_000), ask(5_500), ask(5_999)]);
    assert.equal(await client.llen('test-resque:queue:default'), 1);
    await ask(6_000);
    const jobs = await client.lrange('test-resque:queue:default', 0, -1);
    assert.deepEqual(
      jobs.map((job) => JSON.parse(job)),
      [
        { class: 'tick', queue: 'default', args: [{}] },
        { class: 'tick', queue: 'default', args: [{}] },
      ],
    );
    assert.deepEqual(await client.smembers('test-resque:queues'), ['default']);
  } finally {
    client.disconnect();
    await redisServer.stop();
  }
});
