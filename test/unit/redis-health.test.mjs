// Issue 12: the master's decision on a worker's Redis health (src/master/redis-health.ts), from heartbeats,
// and what a worker's heartbeat reports (src/runtime/redis-health.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeRedisHealth, redisReplacementReason } from '../../dist/master/redis-health.js';
import { RedisHealthRegistry } from '../../dist/runtime/redis-health.js';

const up = { downMs: null, reachable: null, reachableMs: null };
const down = (downMs, reachable, reachableMs = reachable ? downMs : null) => ({ downMs, reachable, reachableMs });
const silent = { error() {} };

test('replaces a worker whose connection stays down past redisDownTimeout while Redis answers a fresh connection', () => {
  const reason = redisReplacementReason({ tasks: down(45_000, true, 31_000), enqueue: up }, 30_000);
  assert.match(reason, /redis connection for tasks has been down for 45 s, 31 s of them while redis answers \(redisDownTimeout 30000 ms\)/);
  assert.match(redisReplacementReason({ enqueue: down(45_000, true) }, 30_000), /for enqueue/);
});

test('replaces no one whose connection is still reconnecting when Redis comes back after an outage longer than redisDownTimeout', () => {
  assert.equal(redisReplacementReason({ tasks: down(49_000, true, 4_000) }, 30_000), null);
  assert.equal(redisReplacementReason({ tasks: { downMs: 49_000, reachable: true } }, 30_000), null, 'a heartbeat without reachableMs');
});

test('a worker reports how long Redis has answered fresh connections while its connection stays down, from the first probe that reached it', async () => {
  let now = 1_000_000;
  let answers = false;
  const registry = new RedisHealthRegistry(() => now);
  const health = registry.track('tasks', async () => answers);
  const snapshot = async () => {
    const tasks = registry.snapshot(silent).tasks;
    await new Promise((resolve) => setImmediate(resolve)); // let a probe started by this snapshot finish
    return tasks;
  };
  health.down();
  now += 40_000; // an outage longer than redisDownTimeout: probes find Redis away
  assert.deepEqual(await snapshot(), down(40_000, null));
  assert.deepEqual(await snapshot(), down(40_000, false));
  answers = true; // Redis is back; the connection is still between two reconnect attempts
  now += 5_000;
  assert.deepEqual(await snapshot(), down(45_000, false), 'the probe this snapshot started reaches Redis');
  now += 5_000;
  const back = await snapshot();
  assert.deepEqual(back, down(50_000, true, 5_000));
  assert.equal(redisReplacementReason({ tasks: back }, 30_000), null, 'down 50 s, but only 5 s while Redis answers');
  now += 26_000; // still down while Redis answers: dead
  const dead = await snapshot();
  assert.deepEqual(dead, down(76_000, true, 31_000));
  assert.match(redisReplacementReason({ tasks: dead }, 30_000), /down for 76 s, 31 s of them while redis answers/);
  health.up();
  assert.deepEqual(await snapshot(), up);
});

test('replaces no one during an outage, a blip, or with the check disabled', () => {
  assert.equal(redisReplacementReason({ tasks: down(600_000, false) }, 30_000), null, 'Redis answers nobody: an outage');
  assert.equal(redisReplacementReason({ tasks: down(600_000, null) }, 30_000), null, 'not probed yet');
  assert.equal(redisReplacementReason({ tasks: down(5_000, true) }, 30_000), null, 'a blip');
  assert.equal(redisReplacementReason({ tasks: down(600_000, true) }, 0), null, 'disabled');
  assert.equal(redisReplacementReason({ tasks: up, app: up }, 30_000), null);
  assert.equal(redisReplacementReason(undefined, 30_000), null, 'no heartbeat yet');
});

test('describes each connection that is down, for mycluster status', () => {
  assert.equal(describeRedisHealth({ tasks: down(12_400, false), enqueue: up }), 'tasks: redis down 12 s');
  assert.equal(describeRedisHealth({ tasks: down(40_000, true) }), 'tasks: redis down 40 s (redis answers)');
  assert.equal(describeRedisHealth({ tasks: up, enqueue: up }), 'ok');
  assert.equal(describeRedisHealth({}), '-', 'no connection opened yet');
  assert.equal(describeRedisHealth(undefined), '-');
});
