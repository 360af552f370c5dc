// Reloads as users feel them: per peer, a 15 s run at 50 keep-alive connections with a reload triggered at
// 3, 7 and 11 s (fired at those times, whether or not the previous one is done), beside a 5 s steady run;
// both with the bench's own client (every request recorded, per-100 ms buckets) and with wrk. Every peer is
// up at once and measured in turn, in rounds whose order shifts by one each round, so a drift in the
// machine's load hits every peer alike; each round's ratios compare runs a few seconds apart.
//
// Not a per-peer scenario of bench/run.mjs's plan: it runs across peers, through runRounds.

import { now, sleep } from '../lib.mjs';
import { startLoad } from '../load.mjs';
import { reloadsSvg } from '../reloads-chart.mjs';
import { medianRound, reloadsTable, summarizePeer } from '../reloads-summary.mjs';
import { runWrk } from '../wrk.mjs';

export const name = 'reloads';

const CONNECTIONS = 50;
const RUN_S = 15;
const STEADY_S = 5; // a rate and a p99 of a warm, steady peer need no longer
const RELOADS_AT_S = [3, 7, 11];
const BUCKET_MS = 100;
const WARMUP_MS = 2_000;
const SETTLE_MS = 1_000; // after a run with reloads, before the next run: the peer re-forks its spare, if any

// The picture: mycluster with its action layer beside PM2 and the naive master.
const CHART = [
  { id: 'mycluster', label: 'mycluster (action)', color: '#1f77b4' },
  { id: 'pm2', label: 'PM2 7 (cluster)', color: '#e6750a' },
  { id: 'naive', label: 'node:cluster (naive)', color: '#2ca02c' },
];

/**
 * Start every adapter's peer (through startPeer/stopPeer, so the caller's watchdog knows them), warm each
 * up, measure `rounds` rounds, stop them. Resolves { setup, peers: { [id]: { label, rounds, summary,
 * leftovers } }, chartRound }.
 */
export async function runRounds({ adapters, rounds, workers, startPeer, stopPeer, log }) {
  const entries = [];
  try {
    for (const adapter of adapters) {
      const { peer, url } = await startPeer(adapter, ' for the reload rounds');
      entries.push({ adapter, peer, url, rounds: [] });
    }
    for (const { url } of entries) await ownRun({ url, ms: WARMUP_MS });
    for (let round = 0; round < rounds; round += 1) {
      for (let index = 0; index < entries.length; index += 1) {
        const entry = entries[(index + round) % entries.length];
        log(`reloads round ${round + 1} of ${rounds}: ${entry.adapter.label}`);
        try {
          entry.rounds.push({ round, ...(await measure(entry)) });
        } catch (error) {
          entry.rounds.push({ round, error: error.message });
          log(`reloads round ${round + 1}: ${entry.adapter.label} failed: ${error.message}`);
        }
      }
    }
  } finally {
    for (const entry of entries) {
      // One stop that fails must not keep the next peers running.
      entry.leftovers = await stopPeer(entry.peer).then(
        (stopped) => stopped.leftovers,
        (error) => log(`${entry.adapter.label}: stop failed: ${error.message}`),
      );
    }
  }
  const peers = {};
  for (const entry of entries) {
    const measured = entry.rounds.filter((each) => !each.error);
    peers[entry.adapter.id] = { label: entry.adapter.label, rounds: entry.rounds, summary: summarizePeer(measured), leftovers: entry.leftovers };
  }
  const reference = peers[CHART[0].id]?.rounds ?? [];
  return {
    setup: { rounds, workers, connections: CONNECTIONS, runS: RUN_S, steadyS: STEADY_S, reloadsAtS: RELOADS_AT_S, bucketMs: BUCKET_MS },
    peers,
    // The round drawn: the one whose mycluster throughput ratio (own client) is the median.
    chartRound: reference[medianRound(reference.map((each) => (each.own ? each.own.reloads.rps / each.own.steady.rps : null)))]?.round ?? 0,
  };
}

/** One peer's turn in a round: steady and with reloads, with the own client, then with wrk. */
async function measure({ peer, url }) {
  const own = { steady: await ownRun({ url, ms: STEADY_S * 1000 }), reloads: await ownWithReloads({ url, peer }) };
  await sleep(SETTLE_MS);
  const wrk = { steady: wrkResult(await runWrk({ url, seconds: STEADY_S, connections: CONNECTIONS })), reloads: await wrkWithReloads({ url, peer }) };
  await sleep(SETTLE_MS);
  return { own, wrk };
}

async function ownRun({ url, ms }) {
  const load = await startLoad({ url, concurrency: CONNECTIONS });
  await sleep(ms);
  return ownResult(await load.stop());
}

async function ownWithReloads({ url, peer }) {
  const load = await startLoad({ url, concurrency: CONNECTIONS });
  const reloads = triggerReloads(peer, load.startedAt);
  const result = await sleep(Math.max(0, load.startedAt + RUN_S * 1000 - now()))
    .then(() => load.stop({ bucketMs: BUCKET_MS }))
    .finally(() => reloads);
  return { ...ownResult(result), buckets: result.buckets, reloads: await reloads };
}

async function wrkWithReloads({ url, peer }) {
  const reloads = triggerReloads(peer, now());
  const report = await runWrk({ url, seconds: RUN_S, connections: CONNECTIONS }).finally(() => reloads);
  return { ...wrkResult(report), reloads: await reloads };
}

/**
 * Trigger a reload at each of RELOADS_AT_S after `startedAt` (epoch ms), without waiting for the previous
 * one; resolve, in order, when each is done: { atMs, durationMs } (as the peer reports it), or { error }.
 * A peer that ignores the signal while a reload runs (the naive master) reports one end for several: those
 * after the first are { merged: true }. Never rejects.
 */
async function triggerReloads(peer, startedAt) {
  const done = await Promise.all(
    RELOADS_AT_S.map(async (atS) => {
      await sleep(Math.max(0, startedAt + atS * 1000 - now()));
      try {
        const reload = await peer.reload();
        return { atMs: Math.round(reload.startedAt - startedAt), durationMs: Math.round(reload.durationMs), doneAt: reload.doneAt };
      } catch (error) {
        return { atMs: atS * 1000, error: error.message };
      }
    }),
  );
  return done.map(({ doneAt, ...reload }, index) =>
    doneAt !== undefined && done.slice(0, index).some((earlier) => earlier.doneAt === doneAt) ? { atMs: reload.atMs, merged: true } : reload,
  );
}

function ownResult({ total }) {
  return { rps: total.rps, p99: total.p99, failed: total.failed, sent: total.sent, errors: total.errors };
}

function wrkResult(report) {
  return {
    rps: report.seconds ? Math.round((report.requests - report.non2xx) / report.seconds) : null,
    p99: report.p99,
    failed: report.socketErrors + report.non2xx,
    requests: report.requests,
    socketErrors: report.socketErrors,
    non2xx: report.non2xx,
  };
}

/** The Markdown table of runRounds' results, and what it counts. */
export function table(results) {
  return `${reloadsTable(Object.values(results.peers))}

Each round compares a run with reloads to a steady run of the same client on the same peer, a few seconds apart.
A reload triggered while the previous one runs may not be carried out: \`pm2 reload\` refuses it ("Reload already
in progress"); the naive master ignores the signal. Failed requests: own client, any error or non-2xx; wrk,
socket errors + non-2xx.`;
}

/** A run's buckets, and the reloads it carried out (those refused or merged have no duration). */
function drawn(run) {
  return { buckets: run?.buckets ?? [], reloads: (run?.reloads ?? []).filter((reload) => typeof reload.durationMs === 'number') };
}

/** The SVG of runRounds' chartRound: throughput and p99 per bucket, own client, the CHART peers. */
export function chart(results) {
  const { setup, chartRound } = results;
  const series = CHART.filter(({ id }) => results.peers[id]).map(({ id, label, color }) => ({
    label,
    color,
    ...drawn(results.peers[id].rounds.find((each) => each.round === chartRound)?.own?.reloads),
  }));
  return reloadsSvg({
    title: `${setup.reloadsAtS.length} rolling reloads under load: throughput and p99 per ${setup.bucketMs} ms`,
    subtitle: `${setup.workers} workers, ${setup.connections} keep-alive connections, a 5 ms endpoint; reloads at ${setup.reloadsAtS.join(', ')} s; round ${chartRound + 1} of ${setup.rounds} (the median)`,
    series,
    bucketMs: setup.bucketMs,
    durationMs: setup.runS * 1000,
    reloadsAtMs: setup.reloadsAtS.map((atS) => atS * 1000),
  });
}
