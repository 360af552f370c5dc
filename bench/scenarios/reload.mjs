// 3 rolling reloads under load: every failed request of the whole run, p99 before and during the reload
// windows (from the reload's trigger to its end as the peer reports it), each reload's duration, and the
// load in 250 ms buckets (JSON only).

import { now, sleep } from '../lib.mjs';
import { startLoad } from '../load.mjs';

export const name = 'reload';

export async function run({ url, peer }) {
  const load = await startLoad({ url, concurrency: 50 });
  const durationsMs = [];
  let result;
  try {
    await sleep(500);
    const from = now();
    await sleep(1_000);
    load.mark('before', from, now());
    for (let index = 0; index < 3; index += 1) {
      const reload = await peer.reload();
      load.mark('reload', reload.startedAt, reload.doneAt);
      durationsMs.push(reload.durationMs);
      await sleep(1_000);
    }
  } finally {
    result = await load.stop({ bucketMs: 250 });
  }
  return {
    sent: result.total.sent,
    failed: result.total.failed,
    errors: result.total.errors,
    p99Before: result.windows.before.p99,
    p99Reload: result.windows.reload?.p99 ?? null,
    rpsReload: result.windows.reload?.rps ?? null,
    durationsMs,
    buckets: result.buckets,
  };
}
