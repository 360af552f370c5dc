// SIGKILL of one worker under load: failed requests, and ms from the kill until a new worker listens
// (as each peer reports it: mycluster's `worker #k ready` line, the app's "listening" line otherwise).

import { sleep } from '../lib.mjs';
import { startLoad } from '../load.mjs';

export const name = 'sigkill';

export async function run({ url, peer }) {
  const load = await startLoad({ url, concurrency: 50 });
  let kill;
  let result;
  try {
    await sleep(1_000);
    kill = await peer.killWorker();
    await sleep(1_000);
  } finally {
    result = await load.stop();
  }
  return {
    sent: result.total.sent,
    failed: result.total.failed,
    errors: result.total.errors,
    killedPid: kill.pid,
    newWorkerMs: Math.round(kill.readyAt - kill.killedAt),
  };
}
