// src/runtime/redis.ts works around an ioredis failover-detector race by wrapping SentinelConnector#connect
// and dropping SentinelConnector#failoverDetector before each connect (guardFailoverDetector). package.json
// pins the exact version; these tests fail, naming the internal, when an upgrade changes either of them,
// instead of the workaround silently turning itself off.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Redis } from 'ioredis';

const require = createRequire(import.meta.url);
const internal = (name) => `ioredis internal ${name} changed shape: review guardFailoverDetector in src/runtime/redis.ts before upgrading`;

test('package.json pins the exact ioredis version that is installed', () => {
  const pinned = require('../../package.json').dependencies.ioredis;
  const installed = require('ioredis/package.json').version;
  assert.match(pinned, /^\d+\.\d+\.\d+$/, `ioredis must be pinned to an exact version (its internals are patched), got "${pinned}"`);
  assert.equal(installed, pinned, `installed ioredis ${installed} is not the pinned ${pinned}`);
});

test('a Sentinel client has the connector.connect and connector.failoverDetector that guardFailoverDetector wraps', () => {
  const client = new Redis({ sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'mymaster', failoverDetector: true, lazyConnect: true });
  try {
    const { connector } = client;
    assert.ok(connector, internal('Redis#connector'));
    assert.equal(connector.constructor.name, 'SentinelConnector', internal('Redis#connector (a SentinelConnector)'));
    assert.equal(typeof connector.connect, 'function', internal('SentinelConnector#connect (a method)'));
    assert.ok('failoverDetector' in connector, internal('SentinelConnector#failoverDetector (an own field)'));
    assert.equal(connector.failoverDetector, null, internal('SentinelConnector#failoverDetector (null before the first connect)'));
    const source = fs.readFileSync(require.resolve('ioredis/built/connectors/SentinelConnector/index.js'), 'utf8');
    assert.match(source, /this\.failoverDetector\.cleanup\(\)/, internal('FailoverDetector#cleanup (called by the connector)'));
  } finally {
    client.disconnect();
  }
});
