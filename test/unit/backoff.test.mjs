import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartBackoff } from '../../dist/master/backoff.js';

test('first restart is immediate, then doubles from min up to max', () => {
  const backoff = new RestartBackoff({ min: 100, max: 1000, resetAfter: 5000 });
  assert.deepEqual(
    [0, 0, 0, 0, 0, 0, 0].map(() => backoff.nextDelay(10)),
    [0, 100, 200, 400, 800, 1000, 1000],
  );
});

test('the backoff resets after a worker stayed up for resetAfter', () => {
  const backoff = new RestartBackoff({ min: 100, max: 1000, resetAfter: 5000 });
  backoff.nextDelay(10);
  backoff.nextDelay(10);
  assert.equal(backoff.nextDelay(10), 200);
  assert.equal(backoff.nextDelay(5000), 0);
  assert.equal(backoff.nextDelay(10), 100);
});
