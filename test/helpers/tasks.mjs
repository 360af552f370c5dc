// Build what the worker boot builds for tasks, in the test process: config, logger, queue, app context.
import path from 'node:path';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import pino from 'pino';
import { builtInDefaults } from '../../dist/config/defaults.js';
import { createRedisClient } from '../../dist/runtime/redis.js';
import { createTaskQueue, loadTaskDefinitions } from '../../dist/runtime/tasks/index.js';

export const fixtures = path.resolve(import.meta.dirname, '../fixtures/tasks');

/** The hint at the end of the outage line of a `tasks` connection. */
export const TASKS_HINT = 'point REDIS_URL (or the redis config) at your Redis, or set ACTIONHERO_ROLE=server for a process that processes no tasks';

/** A worker-role config against `url`, with short task timings so tests stay short. */
export function tasksConfig({ url, tasks = {}, redis = {} }) {
  const config = builtInDefaults(fixtures, {}, 'worker');
  config.redis = { ...config.redis, url, namespace: 'test-resque', ...redis };
  config.tasks = { ...config.tasks, timeout: 100, checkTimeout: 100, stuckWorkerTimeout: 2_000, ...tasks };
  return config;
}

/** A pino logger whose lines are kept (parsed) in `lines`. */
export function capturingLogger() {
  const lines = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

/** Definitions, queue handle, app Redis and context, as the worker boot makes them. `close()` closes them. */
export async function appRuntime(config, log, taskFolder = 'basic') {
  const definitions = await loadTaskDefinitions([path.join(fixtures, taskFolder)]);
  const handle = createTaskQueue({ config, definitions, log });
  const redis = createRedisClient(config.redis, 'app', log);
  const context = { config, log, tasks: handle.queue, redis, role: 'worker', workerSlot: null, projectRoot: fixtures };
  return {
    definitions,
    handle,
    context,
    async close() {
      await handle.close();
      redis.disconnect();
    },
  };
}

/** A plain client for the test's own reads. */
export function testClient(url) {
  return new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 200 }).on('error', () => {});
}
