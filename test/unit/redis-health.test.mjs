// Issue 12: the master's decision on a worker's Redis health (src/master/redis-health.ts), from heartbeats.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeRedisHealth, redisReplacementReason } from '../../dist/master/redis-health.js';

const up = { downMs: null, reachable: null };
const down = (downMs, reachable) => ({ downMs, reachable });

test('replaces a worker whose connection stays down past redisDownTimeout while Redis answers a fresh connection', () => {
  const reason = redisReplacementReason({ tasks: down(31_000, true), enqueue: up }, 30_000);
  assert.match(reason, /redis connection for tasks has been down for 31 s while redis answers \(redisDownTimeout 30000 ms\)/);
  assert.match(redisReplacementReason({ enqueue: down(45_000, true) }, 30_000), /for enqueue/);
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
