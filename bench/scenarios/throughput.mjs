// Steady throughput: 50 keep-alive connections for 1 s of warm-up, then 5 s measured.
import { startLoad } from '../load.mjs';
import { now, sleep } from '../lib.mjs';

export const name = 'throughput';

export async function run({ url }) {
  const load = await startLoad({ url, concurrency: 50 });
  let result;
  try {
    await sleep(1_000);
    const from = now();
    await sleep(5_000);
    load.mark('steady', from, now());
  } finally {
    result = await load.stop();
  }
  const { rps, p50, p99, sent, failed } = result.windows.steady;
  return { rps, p50, p99, sent, failed, errors: result.total.errors };
}
