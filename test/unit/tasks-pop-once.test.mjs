// Issue 12: a processor's "pop a job and claim it" that ioredis sends again after a reconnect (Redis ran
// it, the answer was lost with the connection) answers the same job, instead of popping a second one and
// overwriting the claim on the first (which was then lost: in no queue, no claim, never worked).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { Connection } from 'node-resque';
import { popJobsOnce } from '../../dist/runtime/tasks/pop-once.js';
import { startRedis } from '../helpers/redis.mjs';

test('popAndStoreJob run twice by the same call pops one job; the next call pops the next', async () => {
  const redis = await startRedis();
  const client = new Redis(redis.url);
  try {
    popJobsOnce(client);
    const connection = new Connection({ redis: client, namespace: 'pop-once' });
    await connection.connect(); // node-resque defines its scripts on the client here
    const job = (id) => JSON.stringify({ class: 'record', queue: 'default', args: [{ id }] });
    await client.rpush('pop-once:queue:default', job('a'), job('b'));
    const pop = (runAt) => client.popAndStoreJob('pop-once:queue:default', 'pop-once:worker:w1:default', runAt, 'default', 'w1');

    const first = await pop('Fri Nov 27 2026 17:00:00 GMT+0000');
    const resent = await pop('Fri Nov 27 2026 17:00:00 GMT+0000');
    assert.deepEqual(JSON.parse(first).args, [{ id: 'a' }]);
    assert.deepEqual(JSON.parse(resent).args, [{ id: 'a' }], 'the resend answers the job already claimed');
    assert.deepEqual(await client.lrange('pop-once:queue:default', 0, -1), [job('b')], 'b is still queued');
    assert.deepEqual(JSON.parse(await client.get('pop-once:worker:w1:default')).payload.args, [{ id: 'a' }]);

    await client.del('pop-once:worker:w1:default'); // the processor finished a
    assert.deepEqual(JSON.parse(await pop('Fri Nov 27 2026 17:00:00 GMT+0000')).args, [{ id: 'b' }], 'a new call in the same second pops the next job');
  } finally {
    client.disconnect();
    await redis.stop();
  }
});
