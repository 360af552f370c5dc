// Issue 12: five Sentinel failovers in a row with both roles in each worker (ACTIONHERO_ROLE unset); the
// scenario is in test/helpers/failover.mjs. Its own file, so that it runs beside redis-failover.test.mjs.
import { after, test } from 'node:test';
import { FAILOVERS, runFailovers } from '../helpers/failover.mjs';

const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

test(`${FAILOVERS} Sentinel failovers in a row with both roles in each worker: enqueues and processing come back after each`, async (t) => {
  await runFailovers(t, { split: false, cleanups });
});
