// Steady throughput: 50 keep-alive connections for 1 s of warm-up, then 5 s measured (the interleaved
// rounds of bench/run.mjs measure shorter windows).

import { now, sleep } from '../lib.mjs';
import { startLoad } from '../load.mjs';

export const name = 'throughput';

export async function run({ url, warmupMs = 1_000, measureMs = 5_000 }) {
  const load = await startLoad({ url, concurrency: 50 });
  let result;
  try {
    await sleep(warmupMs);
    const from = now();
    await sleep(measureMs);
    load.mark('steady', from, now());
  } finally {
    result = await load.stop();
  }
  const { rps, p50, p99, sent, failed } = result.windows.steady;
  return { rps, p50, p99, sent, failed, errors: result.total.errors };
}
