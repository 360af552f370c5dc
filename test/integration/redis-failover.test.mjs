// Issue 12: five Sentinel failovers in a row with the web and task clusters apart (ACTIONHERO_ROLE=server /
// =worker); the scenario is in test/helpers/failover.mjs. Both roles in one worker: redis-failover-both-roles.
// Also `mycluster queues` with a Sentinel config when no sentinel answers.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { copyFixture, runMycluster } from '../helpers/cluster.mjs';
import { FAILOVERS, runFailovers } from '../helpers/failover.mjs';
import { freePort } from '../helpers/net.mjs';

const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

test('mycluster queues with a Sentinel config exits 1 with one line when no sentinel answers', async () => {
  const [first, second] = [await freePort(), await freePort()];
  const env = {
    ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({
      redis: {
        sentinels: [
          { host: '127.0.0.1', port: first },
          { host: '127.0.0.1', port: second },
        ],
        name: 'mymaster',
      },
    }),
  };
  const { code, stdout, stderr } = await runMycluster(['queues'], { cwd: copyFixture('tasks-app'), env, timeoutMs: 20_000 });
  assert.equal(code, 1);
  assert.equal(stdout, '');
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  assert.match(stderr, /cannot reach redis at sentinel master "mymaster" via 127\.0\.0\.1:\d+,127\.0\.0\.1:\d+: .*sentinels are unreachable/);
});

test(`${FAILOVERS} Sentinel failovers in a row with the web and task clusters apart: enqueues and processing come back after each`, async (t) => {
  await runFailovers(t, { split: true, cleanups });
});
