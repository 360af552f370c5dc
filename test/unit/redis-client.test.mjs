import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRedisClient, describeRedisAddress } from '../../dist/runtime/redis.js';
import { startRedis } from '../helpers/redis.mjs';
import { capturingLogger, TASKS_HINT, tasksConfig, testClient } from '../helpers/tasks.mjs';
import { waitFor } from '../helpers/wait.mjs';

test('describes where a config points, without its password', () => {
  const config = tasksConfig({ url: undefined });
  assert.equal(describeRedisAddress({ ...config.redis, url: 'redis://:secret@cache.internal:6380/2' }), 'cache.internal:6380');
  assert.equal(describeRedisAddress({ ...config.redis, host: '10.0.0.5', port: 6390 }), '10.0.0.5:6390');
  assert.equal(
    describeRedisAddress({
      ...config.redis,
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      name: 'main',
    }),
    'sentinel master "main" via s1:26379,s2:26379',
  );
});

test('connects with host, port, password and db; the app connection only on first use', async () => {
  const redisServer = await startRedis(['--requirepass', 'secret']);
  const checker = testClient(`redis://:secret@127.0.0.1:${redisServer.port}/3`);
  const { log } = capturingLogger();
  const config = tasksConfig({ url: undefined, redis: { host: '127.0.0.1', port: redisServer.port, password: 'secret', db: 3 } });
  const app = createRedisClient(config.redis, 'app', log);
  try {
    assert.equal(app.status, 'wait');
    await app.set('written-by-app', 'yes');
    assert.equal(await checker.get('written-by-app'), 'yes');
  } finally {
    app.disconnect();
    checker.disconnect();
    await redisServer.stop();
  }
});

test('logs one warn line per outage, with the reason', async () => {
  const redisServer = await startRedis(['--requirepass', 'secret']);
  const { log, lines } = capturingLogger();
  const config = tasksConfig({ url: `redis://:wrong@127.0.0.1:${redisServer.port}` });
  const client = createRedisClient(config.redis, 'tasks', log);
  let reconnects = 0;
  client.on('reconnecting', () => (reconnects += 1));
  try {
    await waitFor('the outage line', async () => lines.length > 0);
    await waitFor('3 more reconnect attempts', () => reconnects >= 3);
    assert.deepEqual(
      lines.map((line) => line.msg),
      [`redis unavailable for tasks at 127.0.0.1:${redisServer.port}, retrying: WRONGPASS invalid username-password pair or user is disabled. (${TASKS_HINT})`],
    );
    assert.equal(lines[0].level, 40);
  } finally {
    client.disconnect();
    await redisServer.stop();
  }
});

test("a client that reaches ioredis's final end state without being closed is connected again", async () => {
  const redisServer = await startRedis();
  const { log, lines } = capturingLogger();
  const client = createRedisClient(tasksConfig({ url: redisServer.url }).redis, 'tasks', log);
  try {
    await waitFor('ready', async () => client.status === 'ready');
    // Any path on which connect() rejects ends an ioredis client for good; here the connector is told to
    // stop in the tick the connect starts (what the Sentinel failover detector did, see redis-sentinel-switch).
    client.once('connecting', () => client.connector.disconnect());
    client.disconnect(true);
    await waitFor('the client to end', async () => lines.some((line) => /ended by itself: connecting again/.test(line.msg)));
    await waitFor('the client to be ready again', async () => client.status === 'ready', { timeoutMs: 5_000 });
    assert.equal(await client.ping(), 'PONG');
  } finally {
    client.disconnect();
    await redisServer.stop();
  }
});

test('a client closed on purpose stays closed', async () => {
  const redisServer = await startRedis();
  const { log, lines } = capturingLogger();
  const client = createRedisClient(tasksConfig({ url: redisServer.url }).redis, 'tasks', log);
  try {
    await waitFor('ready', async () => client.status === 'ready');
    await client.quit();
    await waitFor('end', async () => client.status === 'end');
    await new Promise((resolve) => setTimeout(resolve, 700));
    assert.equal(client.status, 'end');
    assert.deepEqual(
      lines.filter((line) => /ended by itself/.test(line.msg)),
      [],
    );
  } finally {
    client.disconnect();
    await redisServer.stop();
  }
});
