// src/runtime/sentinel-guards.ts fixes two things in ioredis's failover detector: it wraps
// SentinelConnector#connect to drop SentinelConnector#failoverDetector before each connect, and wraps
// SentinelConnector#initFailoverDetector to filter the detector's +switch-master messages (the detector's
// sentinel clients, its disconnect(), the connector's options.name and stream). package.json pins the exact
// version; these tests fail, naming the internal, when an upgrade changes any of them, instead of the
// workarounds silently turning themselves off.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Redis } from 'ioredis';

const require = createRequire(import.meta.url);
const internal = (name) => `ioredis internal ${name} changed shape: review src/runtime/sentinel-guards.ts before upgrading`;

test('package.json pins the exact ioredis version that is installed', () => {
  const pinned = require('../../package.json').dependencies.ioredis;
  const installed = require('ioredis/package.json').version;
  assert.match(pinned, /^\d+\.\d+\.\d+$/, `ioredis must be pinned to an exact version (its internals are patched), got "${pinned}"`);
  assert.equal(installed, pinned, `installed ioredis ${installed} is not the pinned ${pinned}`);
});

test('a Sentinel client has the connector internals that the sentinel guards wrap', () => {
  const client = new Redis({ sentinels: [{ host: '127.0.0.1', port: 1 }], name: 'mymaster', failoverDetector: true, lazyConnect: true });
  try {
    const { connector } = client;
    assert.ok(connector, internal('Redis#connector'));
    assert.equal(connector.constructor.name, 'SentinelConnector', internal('Redis#connector (a SentinelConnector)'));
    assert.equal(typeof connector.connect, 'function', internal('SentinelConnector#connect (a method)'));
    assert.ok('failoverDetector' in connector, internal('SentinelConnector#failoverDetector (an own field)'));
    assert.equal(connector.failoverDetector, null, internal('SentinelConnector#failoverDetector (null before the first connect)'));
    assert.equal(typeof connector.initFailoverDetector, 'function', internal('SentinelConnector#initFailoverDetector (a method)'));
    assert.equal(connector.options.name, 'mymaster', internal('SentinelConnector#options.name'));
    const source = fs.readFileSync(require.resolve('ioredis/built/connectors/SentinelConnector/index.js'), 'utf8');
    assert.match(source, /this\.failoverDetector\.cleanup\(\)/, internal('FailoverDetector#cleanup (called by the connector)'));
    // Looked up on the instance when the stream connects, so an own property replaces it.
    assert.match(
      source,
      /this\.stream\.once\("connect", this\.initFailoverDetector\.bind\(this\)\)/,
      internal('SentinelConnector#initFailoverDetector (bound at connect)'),
    );
    assert.match(
      source,
      /this\.failoverDetector = new FailoverDetector_1\.FailoverDetector\(this, sentinels\)/,
      internal('SentinelConnector#failoverDetector (set by initFailoverDetector)'),
    );
    const detector = fs.readFileSync(require.resolve('ioredis/built/connectors/SentinelConnector/FailoverDetector.js'), 'utf8');
    assert.match(detector, /this\.sentinels = sentinels;/, internal('FailoverDetector#sentinels'));
    assert.match(
      detector,
      /sentinel\.client\.on\("message", \(channel\) => \{\s+if \(!this\.isDisconnected && channel === CHANNEL_NAME\) \{\s+this\.disconnect\(\);/,
      internal('FailoverDetector message listener (calls this.disconnect())'),
    );
  } finally {
    client.disconnect();
  }
});
