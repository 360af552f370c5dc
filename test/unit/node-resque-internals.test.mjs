// src/runtime/tasks/processors.ts patches node-resque internals that are not part of its API:
// MultiWorker#checkWrapper (re-armed through MultiWorker#checkTimer while MultiWorker#running), and
// Worker#running / Worker#pollTimer / Worker#pingTimer (set back by parkProcessor). package.json pins the exact
// version; these tests fail, naming the internal, when an upgrade changes any of them.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { MultiWorker, Worker } from 'node-resque';
import { waitFor, within } from '../helpers/wait.mjs';

const require = createRequire(import.meta.url);
const internal = (name) => `node-resque internal ${name} changed shape: review src/runtime/tasks/processors.ts before upgrading`;

test('package.json pins the exact node-resque version that is installed', () => {
  const pinned = require('../../package.json').dependencies['node-resque'];
  const installed = require('node-resque/package.json').version;
  assert.match(pinned, /^\d+\.\d+\.\d+$/, `node-resque must be pinned to an exact version (its internals are patched), got "${pinned}"`);
  assert.equal(installed, pinned, `installed node-resque ${installed} is not the pinned ${pinned}`);
});

test('MultiWorker: checkWrapper, checkTimer and running have the shape guardCheckLoop patches', async () => {
  const multiWorker = new MultiWorker({ connection: { redis: {} }, queues: ['q'], checkTimeout: 10, minTaskProcessors: 0, maxTaskProcessors: 0 }, {});
  assert.equal(multiWorker.running, false, internal('MultiWorker#running (false before start)'));
  assert.equal(multiWorker.checkTimer, null, internal('MultiWorker#checkTimer (null before start)'));
  assert.ok(Array.isArray(multiWorker.workers), internal('MultiWorker#workers (an array of Worker)'));
  assert.equal(typeof multiWorker.checkWrapper, 'function', internal('MultiWorker#checkWrapper (a method)'));
  assert.equal(
    multiWorker.checkWrapper.constructor.name,
    'AsyncFunction',
    internal('MultiWorker#checkWrapper (async: its rejection is what guardCheckLoop catches)'),
  );

  // The original re-arms itself through `this.checkWrapper` and `this.checkTimer`: an instance override is what runs next.
  const original = multiWorker.checkWrapper.bind(multiWorker);
  let overrideCalls = 0;
  multiWorker.checkWrapper = async () => {
    overrideCalls += 1;
  };
  multiWorker.checkWorkers = async () => ({ verb: '--', eventLoopDelay: 0 });
  try {
    await original();
    assert.ok(multiWorker.checkTimer, internal('MultiWorker#checkTimer (set by checkWrapper for the next check)'));
    await waitFor(internal('MultiWorker#checkWrapper (re-armed through this.checkWrapper)'), () => overrideCalls > 0, { timeoutMs: 5_000, intervalMs: 5 });

    // start() sets running and calls the check through `this.checkWrapper`.
    overrideCalls = 0;
    multiWorker.start();
    assert.equal(multiWorker.running, true, internal('MultiWorker#running (true after start)'));
    assert.equal(overrideCalls, 1, internal('MultiWorker#start (calls this.checkWrapper)'));
    await multiWorker.end();
    assert.equal(multiWorker.running, false, internal('MultiWorker#running (false after end)'));
  } finally {
    clearTimeout(multiWorker.checkTimer);
  }
});

test('Worker: running, pollTimer and pingTimer have the shape parkProcessor patches', async () => {
  const processor = new Worker({ connection: { redis: {} }, queues: ['q'], timeout: 10 }, {});
  assert.equal(processor.running, false, internal('Worker#running (false before start)'));
  assert.equal(processor.pollTimer, null, internal('Worker#pollTimer (null before the first pause)'));
  assert.equal(processor.pingTimer, null, internal('Worker#pingTimer (null before start)'));
  assert.equal(processor.job, null, internal('Worker#job (null while idle)'));

  // track() sets running again: the race parkProcessor undoes.
  processor.connection = { redis: { sadd: async () => 1 }, key: (...parts) => parts.join(':') };
  await processor.track();
  assert.equal(processor.running, true, internal('Worker#track (sets running)'));

  // pause() arms pollTimer for the next poll; a stopped processor's poll does nothing.
  processor.running = false;
  const paused = processor.pause();
  assert.ok(processor.pollTimer, internal('Worker#pollTimer (set by pause)'));
  await within(5_000, internal('Worker#pause (resolves after options.timeout)'), paused);
  clearTimeout(processor.pollTimer);
});
