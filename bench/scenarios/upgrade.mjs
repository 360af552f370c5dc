// 3 upgrades of the supervisor itself under load, as each peer's user does one (mycluster: `mycluster
// upgrade`, the master replaced with its socket handed over; PM2: `pm2 update`, its daemon saved, killed and
// restored; the naive master: stop it and start it again). Twice: with bench/load.mjs (failed requests, p99
// before and during the upgrade windows, each upgrade's duration), then with wrk (it honours
// `Connection: close` and counts socket errors as users feel them): a steady wrk run, then one with the 3
// upgrades, their p99 and errors side by side.

import { now, run as runCommand, sleep } from '../lib.mjs';
import { startLoad } from '../load.mjs';

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
  const steady = parseWrk((await runCommand('wrk', ['-t1', '-c50', '-d5s', '--latency', url], { timeoutMs: 30_000 })).stdout);
  const wrk = runCommand('wrk', ['-t1', '-c50', `-d${WRK_SECONDS}s`, '--latency', url], { timeoutMs: (WRK_SECONDS + 30) * 1000 });
  await sleep(1_000);
  const durationsMs = await threeUpgrades(peer);
  const upgrades = parseWrk((await wrk).stdout);
  return { steady, upgrades, durationsMs };
}

/** requests, socket errors, non-2xx and p50/p99 (ms) from wrk --latency's report. */
function parseWrk(text) {
  const ms = (value, unit) => Number(value) * ({ us: 0.001, ms: 1, s: 1000 }[unit] ?? 1);
  const percentile = (p) => {
    const match = text.match(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)$`, 'm'));
    return match ? Math.round(ms(match[1], match[2]) * 10) / 10 : null;
  };
  const errors = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  return {
    requests: Number(text.match(/(\d+) requests in/)?.[1] ?? 0),
    socketErrors: errors ? errors.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0,
    non2xx: Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0),
    p50: percentile(50),
    p99: percentile(99),
  };
}
