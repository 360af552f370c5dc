// 3 upgrades of the supervisor itself under load, as each peer's user does one (mycluster: `mycluster
// upgrade`, the master replaced with its socket handed over; PM2: `pm2 update`, its daemon saved, killed and
// restored; the naive master: stop it and start it again). Twice: with bench/load.mjs (failed requests, p99
// before and during the upgrade windows, each upgrade's duration), then with wrk (it honours
// `Connection: close` and counts socket errors as users feel them): a steady wrk run, then one with the 3
// upgrades, their p99 and errors side by side.

import { now, sleep } from '../lib.mjs';
import { startLoad } from '../load.mjs';
import { runWrk } from '../wrk.mjs';

export const name = 'upgrade';

const WRK_SECONDS = 8;

export async function run({ url, peer }) {
  return { ...(await withLoadClient({ url, peer })), wrk: await withWrk({ url, peer }) };
}

async function threeUpgrades(peer, mark) {
  const durationsMs = [];
  for (let index = 0; index < 3; index += 1) {
    const upgrade = await peer.upgrade();
    mark?.(upgrade);
    durationsMs.push(Math.round(upgrade.durationMs));
    await sleep(1_000);
  }
  return durationsMs;
}

async function withLoadClient({ url, peer }) {
  const load = await startLoad({ url, concurrency: 50 });
  let durationsMs;
  let result;
  try {
    await sleep(500);
    const from = now();
    await sleep(1_000);
    load.mark('before', from, now());
    durationsMs = await threeUpgrades(peer, (upgrade) => load.mark('upgrade', upgrade.startedAt, upgrade.doneAt));
  } finally {
    result = await load.stop({ bucketMs: 250 });
  }
  return {
    sent: result.total.sent,
    failed: result.total.failed,
    errors: result.total.errors,
    p99Before: result.windows.before.p99,
    p99Upgrade: result.windows.upgrade?.p99 ?? null,
    durationsMs,
  };
}

async function withWrk({ url, peer }) {
  const steady = await runWrk({ url, seconds: 5 });
  const wrk = runWrk({ url, seconds: WRK_SECONDS });
  await sleep(1_000);
  const durationsMs = await threeUpgrades(peer);
  const upgrades = await wrk;
  return { steady, upgrades, durationsMs };
}
