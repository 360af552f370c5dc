// What `reload`, `stop` and `scale` report per slot, and how `scale` reads the published state: in-process.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SlotProgress } from '../../dist/commands/progress.js';
import { notReadyReason, scaledTo, targetCount } from '../../dist/commands/scale.js';

const worker = (pid, state = 'ready') => ({ pid, state, startedAt: 0, uptimeMs: 0, rss: null, redis: null });
const slot = (number, current, extra = {}) => ({ slot: number, worker: current, replacement: null, restarts: 0, lastExit: null, ...extra });
const clusterState = (slots, extra = {}) => ({
  master: { pid: 1, startedAt: 0, uptimeMs: 0 },
  desiredWorkers: slots.length,
  stopping: false,
  equilibrium: slots.every((entry) => entry.worker?.state === 'ready'),
  reload: null,
  reloadQueued: false,
  lastReload: null,
  slots,
  spare: null,
  draining: [],
  updatedAt: 0,
  ...extra,
});

function follow(first, alive = () => true) {
  const lines = [];
  const progress = new SlotProgress(
    (line) => lines.push(line),
    (pid) => alive(pid),
  );
  progress.start(first);
  return { progress, lines };
}

test('a reload reports each slot once, when its new worker is ready: "slot N: replaced (pid a → b)"', () => {
  const { progress, lines } = follow(clusterState([slot(1, worker(10)), slot(2, worker(20))]));
  progress.observe(clusterState([slot(1, worker(10), { replacement: worker(11, 'booting') }), slot(2, worker(20))]));
  progress.observe(clusterState([slot(1, worker(11)), slot(2, worker(20))]));
  progress.observe(clusterState([slot(1, worker(11)), slot(2, worker(21))]));
  progress.observe(clusterState([slot(1, worker(11)), slot(2, worker(21))]));
  assert.deepEqual(lines, ['slot 1: replaced (pid 10 → 11)', 'slot 2: replaced (pid 20 → 21)']);
  assert.deepEqual(progress.events, [
    { slot: 1, event: 'replaced', pid: 11, previousPid: 10 },
    { slot: 2, event: 'replaced', pid: 21, previousPid: 20 },
  ]);
});

test('scaling reports a new slot when its worker is ready, and a removed slot once its worker is gone', () => {
  const alive = new Set([10, 20]);
  const { progress, lines } = follow(clusterState([slot(1, worker(10)), slot(2, worker(20))]), (pid) => alive.has(pid));
  progress.observe(clusterState([slot(1, worker(10)), slot(2, worker(20)), slot(3, worker(30, 'booting'))]));
  progress.observe(clusterState([slot(1, worker(10)), slot(2, worker(20)), slot(3, worker(30))]));
  progress.observe(clusterState([slot(1, worker(10))]));
  alive.delete(20);
  progress.observe(clusterState([slot(1, worker(10))]));
  assert.deepEqual(lines, ['slot 3: ready (pid 30)', 'slot 3: stopped (pid 30)', 'slot 2: stopped (pid 20)']);
});

test('a stop reports each worker of the first state once it is gone', () => {
  const alive = new Set([10, 20]);
  const { progress, lines } = follow(clusterState([slot(1, worker(10)), slot(2, worker(20))]), (pid) => alive.has(pid));
  progress.observeStop();
  alive.delete(20);
  progress.observeStop();
  alive.delete(10);
  progress.observeStop();
  progress.observeStop();
  assert.deepEqual(lines, ['slot 2: stopped (pid 20)', 'slot 1: stopped (pid 10)']);
});

test('scale targets: N, +N and -N from the current count; below one worker is refused', () => {
  assert.equal(targetCount({ count: 3 }, 1), 3);
  assert.equal(targetCount({ delta: 2 }, 1), 3);
  assert.equal(targetCount({ delta: -1 }, 2), 1);
  assert.throws(() => targetCount({ delta: -2 }, 2), /cannot scale to 0 workers: the cluster runs 2 and keeps at least one/);
});

test('scaled only with the wanted count ready, at rest, and the removed slots’ workers gone', () => {
  const two = clusterState([slot(1, worker(10)), slot(2, worker(20))]);
  assert.equal(scaledTo(two, 2), true);
  assert.equal(scaledTo(two, 3), false);
  assert.equal(scaledTo(clusterState([slot(1, worker(10)), slot(2, worker(20, 'booting'))]), 2), false);
  assert.equal(scaledTo(clusterState([slot(1, worker(10))], { draining: [{ slot: 2, ...worker(20, 'stopping') }] }), 1), false);
  assert.equal(scaledTo(clusterState([slot(1, worker(10))]), 1), true);
});

test('a scale that times out says which slots are not ready and why', () => {
  const failing = slot(2, null, { restarts: 3, lastExit: { code: 1, signal: null, reason: 'exited with code 1', lastError: null } });
  const state = clusterState([slot(1, worker(10)), failing], { equilibrium: false });
  assert.equal(notReadyReason(state, 2), 'slot 2 restarting (last exit: exited with code 1)');
  assert.equal(notReadyReason(state, 3), 'the master still wants 2 workers');
  assert.equal(notReadyReason(undefined, 2), 'the cluster has published no state');
});
