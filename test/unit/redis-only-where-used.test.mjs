// Redis only where the app uses it: an app with no tasks that never touches Redis opens no connection and
// is healthy without one; an app that uses Redis and cannot reach it says so, with a hint.
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../dist/config/index.js';
import { startApp } from '../../dist/runtime/app.js';
import { redisHealth } from '../../dist/runtime/redis-health.js';
import { freePort } from '../helpers/net.mjs';
import { waitFor, within } from '../helpers/wait.mjs';
import { fixtureApp, memoryLogger, request } from '../helpers/web-server.mjs';

const fixtures = path.resolve(import.meta.dirname, '../fixtures');
const tasksApp = path.join(fixtures, 'tasks-app');
const redisApp = path.join(fixtures, 'redis-app');

/** A TCP server in place of Redis that counts the connections made to it and drops each at once. */
async function countingServer() {
  const server = net.createServer((socket) => {
    counter.connections += 1;
    socket.destroy();
  });
  const counter = { connections: 0, url: '', close: () => new Promise((resolve) => server.close(resolve)) };
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  counter.url = `redis://127.0.0.1:${server.address().port}`;
  return counter;
}

/** Boot the app at `projectRoot` in this process, as a worker does, with `env` in place of process.env. */
async function bootApp(projectRoot, env) {
  const config = await loadConfig({ projectRoot, env });
  const port = await freePort();
  config.servers.web = { ...config.servers.web, port, bindIP: '127.0.0.1' };
  const { log, lines } = memoryLogger();
  const role = env.ACTIONHERO_ROLE || 'all';
  const app = await within(10_000, 'the app boot', startApp({ config, log, role, projectRoot, workerSlot: null, clustered: false }));
  const get = (requestPath) => request(`http://127.0.0.1:${port}`, { path: requestPath });
  return { app, lines, get };
}

const mentionsRedis = (line) => line.purpose !== undefined || /redis/i.test(line.msg ?? '');

test('an app with no tasks that never uses redis opens no connection and is healthy without one (no role set)', async () => {
  const redis = await countingServer();
  let booted;
  try {
    booted = await bootApp(fixtureApp, { REDIS_URL: redis.url });
    const status = await booted.get('/api/status');
    assert.equal(status.status, 200);
    assert.equal(status.json.status, 'ok');
    assert.equal(status.json.tasks, undefined);
    assert.equal((await booted.get('/api/hello?name=Ada')).status, 200);
    assert.equal(redis.connections, 0);
    assert.deepEqual(booted.lines.filter(mentionsRedis), []);
  } finally {
    await within(10_000, 'the app stop', booted?.app.stop() ?? Promise.resolve());
    await redis.close();
  }
});

test('an action that takes context.redis without using it opens no connection, and none is reported', async () => {
  const redis = await countingServer();
  let booted;
  try {
    booted = await bootApp(redisApp, { REDIS_URL: redis.url });
    assert.deepEqual((await booted.get('/api/cached')).json.value, 'cached');
    const status = await booted.get('/api/status');
    assert.equal(status.status, 200);
    assert.equal(redis.connections, 0);
    assert.deepEqual(redisHealth.snapshot(memoryLogger().log), {});
    assert.deepEqual(booted.lines.filter(mentionsRedis), []);
  } finally {
    await within(10_000, 'the app stop', booted?.app.stop() ?? Promise.resolve());
    await redis.close();
  }
});

test('a task worker with no task definitions still polls redis (ACTIONHERO_ROLE=worker)', async () => {
  const redis = await countingServer();
  let booted;
  try {
    booted = await bootApp(fixtureApp, { REDIS_URL: redis.url, ACTIONHERO_ROLE: 'worker' });
    await waitFor('a connection to redis', () => redis.connections > 0);
  } finally {
    await within(10_000, 'the app stop', booted?.app.stop() ?? Promise.resolve());
    await redis.close();
  }
});

test('an app with tasks and redis unreachable: status 503 with the reason, one warning with a hint', async () => {
  const redisPort = await freePort();
  let booted;
  try {
    booted = await bootApp(tasksApp, { REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    const status = await booted.get('/api/status');
    assert.equal(status.status, 503);
    assert.equal(status.json.status, 'unhealthy');
    assert.match(status.json.problems.join('\n'), /^redis unreachable: /);
    assert.equal((await booted.get('/api/ping')).status, 200);
    const warnings = await waitFor('the outage warning for tasks', () => {
      const found = booted.lines.filter((line) => line.level === 40 && line.purpose === 'tasks');
      return found.length > 0 && found;
    });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].msg, new RegExp(`^redis unavailable for tasks at 127\\.0\\.0\\.1:${redisPort}, retrying: ECONNREFUSED`));
    assert.match(warnings[0].msg, /REDIS_URL/);
    assert.match(warnings[0].msg, /ACTIONHERO_ROLE=server/);
  } finally {
    await within(10_000, 'the app stop', booted?.app.stop() ?? Promise.resolve());
  }
});

test('an app with no tasks that uses context.redis: healthy until it first does, then reports redis', async () => {
  const redisPort = await freePort();
  let booted;
  try {
    booted = await bootApp(redisApp, { REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    assert.equal((await booted.get('/api/status')).status, 200);
    assert.deepEqual(booted.lines.filter(mentionsRedis), []);

    assert.equal((await booted.get('/api/visits')).status, 500);
    const status = await booted.get('/api/status');
    assert.equal(status.status, 503);
    assert.match(status.json.problems.join('\n'), /^redis unreachable for context\.redis: /);
    const warnings = booted.lines.filter((line) => line.level === 40 && line.purpose === 'app');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0].msg, /REDIS_URL/);
  } finally {
    await within(10_000, 'the app stop', booted?.app.stop() ?? Promise.resolve());
  }
});
