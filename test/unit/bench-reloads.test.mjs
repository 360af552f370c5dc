// The bench's reloads scenario, its arithmetic and its picture, in-process: per-100 ms buckets of the load
// client, the ratios and medians of the rounds, and the SVG drawn from buckets.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { summarize } from '../../bench/load.mjs';
import { linearTicks, logTicks, reloadsSvg } from '../../bench/reloads-chart.mjs';
import { median, medianRound, ratio, reloadsTable, summarizePeer } from '../../bench/reloads-summary.mjs';
import { parseWrk } from '../../bench/wrk.mjs';

const ok = (start, end) => ({ start, end, ok: true, error: null });

test('buckets count the requests that ended in each 100 ms from the origin, every bucket up to the stop', () => {
  const origin = 1_000;
  const records = [ok(1_000, 1_010), ok(1_005, 1_090), ok(1_010, 1_120), { start: 1_100, end: 1_150, ok: false, error: 'ECONNRESET' }, ok(1_130, 1_420)];
  const { buckets } = summarize(records, { bucketMs: 100, originMs: origin, stoppedAt: 1_410 });
  assert.deepEqual(
    buckets.map(({ atMs, ok, failed }) => [atMs, ok, failed]),
    [
      [0, 2, 0],
      [100, 1, 1],
      [200, 0, 0], // nothing ended: a stall shows as an empty bucket, not a missing one
      [300, 0, 0],
      [400, 1, 0], // ended after the stop: still counted
    ],
  );
  assert.equal(buckets[0].p99, 85);
  assert.equal(buckets[2].p99, null);
  assert.equal(buckets[4].p99, 290);
});

test('without an origin the buckets start at the first request', () => {
  const { buckets } = summarize([ok(500, 520), ok(510, 640)], { bucketMs: 100, stoppedAt: 600 });
  assert.deepEqual(
    buckets.map(({ atMs, ok }) => [atMs, ok]),
    [
      [0, 1],
      [100, 1],
    ],
  );
});

test('median and ratio', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([null, 5, undefined]), 5);
  assert.equal(median([]), null);
  assert.equal(ratio(4_500, 5_000), 0.9);
  assert.equal(ratio(46.8, 20), 2.34);
  assert.equal(ratio(10, 0), null);
  assert.equal(ratio(null, 5), null);
});

const run = (rps, p99, failed = 0) => ({ rps, p99, failed });
const roundOf = ({ own, wrk, durations }) => ({
  own: {
    steady: run(...own[0]),
    reloads: { ...run(...own[1]), reloads: durations.map((durationMs) => (durationMs === null ? { merged: true } : { durationMs })) },
  },
  wrk: { steady: run(...wrk[0]), reloads: { ...run(...wrk[1]), reloads: durations.map((durationMs) => ({ durationMs })) } },
});

test('each round is compared with its own steady run; the medians and ranges are over the rounds', () => {
  const summary = summarizePeer([
    roundOf({
      own: [
        [5_000, 20],
        [4_000, 40, 2],
      ],
      wrk: [
        [6_000, 10],
        [5_400, 15, 1],
      ],
      durations: [1_000, 1_200, 900],
    }),
    roundOf({
      own: [
        [4_000, 25],
        [3_800, 30, 0],
      ],
      wrk: [
        [5_000, 12],
        [5_000, 12, 0],
      ],
      durations: [1_100, 1_000, null],
    }),
    roundOf({
      own: [
        [5_000, 20],
        [4_500, 60, 5],
      ],
      wrk: [
        [6_000, 10],
        [4_800, 30, 0],
      ],
      durations: [800, 1_300, 1_000],
    }),
  ]);
  assert.deepEqual(summary.own.rps, { values: [0.8, 0.95, 0.9], median: 0.9, min: 0.8, max: 0.95 });
  assert.deepEqual(summary.own.p99, { values: [2, 1.2, 3], median: 2, min: 1.2, max: 3 });
  assert.deepEqual(summary.own.failed, [2, 0, 5]);
  assert.deepEqual(summary.wrk.rps, { values: [0.9, 1, 0.8], median: 0.9, min: 0.8, max: 1 });
  assert.deepEqual(summary.wrk.p99, { values: [1.5, 1, 3], median: 1.5, min: 1, max: 3 });
  // (1 − ratio) ÷ reloads carried out in that run: round 2 carried out 2 and lost nothing
  assert.deepEqual(summary.wrk.lostPerReload, { values: [3.3, 0, 6.7], median: 3.3, min: 0, max: 6.7 });
  assert.equal(summary.own.steadyRps, 5_000);
  assert.equal(summary.wrk.steadyP99, 10);
  // reload #3 of round 2 was merged into #2 (a signal ignored while a reload ran): 900, 900, 1000, 1000
  assert.deepEqual(summary.durationsMs, [1_000, 1_200, 950]);
  assert.equal(summary.reloadsDone, 16);
  assert.equal(summary.reloadsTriggered, 18);
});

test('the round drawn is the one with the median value', () => {
  assert.equal(medianRound([0.8, 0.95, 0.9]), 2);
  assert.equal(medianRound([0.9, 0.7, 0.8, 1]), 2); // the lower middle one
  assert.equal(medianRound([null, 0.5]), 1);
});

test('the table has a column per peer and the ratios as median (min–max)', () => {
  const summary = summarizePeer([
    roundOf({
      own: [
        [5_000, 20],
        [4_000, 40, 2],
      ],
      wrk: [
        [6_000, 10],
        [5_400, 15, 1],
      ],
      durations: [1_000, null, 900],
    }),
  ]);
  const text = reloadsTable([
    { label: 'mycluster', summary, leftovers: [] },
    { label: 'PM2 7 (cluster)', summary: summarizePeer([]), leftovers: [123] },
  ]);
  const lines = text.split('\n');
  assert.equal(lines[0], '| | mycluster | PM2 7 (cluster) |');
  assert.ok(lines.includes('| throughput with reloads ÷ steady, own client: median (min–max) | 0.8 (0.8–0.8) | – |'), text);
  assert.ok(lines.includes('| p99 with reloads ÷ steady p99, wrk | 1.5 (1.5–1.5) | – |'), text);
  assert.ok(lines.includes('| throughput lost per reload carried out (%), wrk: (1 − ratio) ÷ reloads | 5 (5–5) | – |'), text);
  assert.ok(lines.includes('| failed requests with 3 reloads, own client (each round) | 2 | – |'), text);
  assert.ok(lines.includes('| reloads carried out, of those triggered (all runs) | 4 of 6 | – |'), text);
  assert.ok(lines.includes('| reload #1, #2, #3 duration (ms), median of the runs that carried it out | 1000, –, 900 | – |'), text);
  assert.ok(lines.includes('| processes left after stop | 0 | 1 |'), text);
});

const constant = (count, okPerBucket, p99) => Array.from({ length: count }, (_, index) => ({ atMs: index * 100, ok: okPerBucket, failed: 0, p99 }));

function drawn(series) {
  return reloadsSvg({ title: 'Reloads & load', subtitle: 'one round', series, bucketMs: 100, durationMs: 15_000, reloadsAtMs: [3_000, 7_000, 11_000] });
}

test('the SVG draws each series in both panels, on shared axes, with the reloads marked and a legend', () => {
  const stall = constant(152, 60, 20);
  stall[40] = { atMs: 4_000, ok: 0, failed: 0, p99: null };
  const svg = drawn([
    { label: 'mycluster', color: '#1f77b4', buckets: constant(152, 50, 20), reloads: [{ atMs: 3_000, durationMs: 1_500 }] },
    { label: 'PM2 <7>', color: '#e6750a', buckets: stall, reloads: [{ atMs: 11_000, durationMs: 10_000 }] },
  ]);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 \d+ \d+"/);
  assert.match(svg, /<\/svg>\n$/);
  const paths = [...svg.matchAll(/<path data-series="([^"]+)" data-panel="(\w+)" d="([^"]+)"/g)].map(([, series, panel, d]) => ({ series, panel, d }));
  assert.deepEqual(
    paths.map(({ series, panel }) => `${series} ${panel}`),
    ['mycluster throughput', 'mycluster p99', 'PM2 &lt;7&gt; throughput', 'PM2 &lt;7&gt; p99'],
  );
  const points = (d) => d.match(/[ML][\d.]+ [\d.]+/g);
  // 150 buckets in 15 s; the two past the end are left out
  for (const { d } of paths.filter(({ panel }) => panel === 'throughput')) assert.equal(points(d).length, 150);
  // the empty bucket: 0 req/s (the bottom of the panel), and a gap in p99
  const pm2 = Object.fromEntries(paths.filter(({ series }) => series.startsWith('PM2')).map(({ panel, d }) => [panel, d]));
  assert.equal(points(pm2.throughput)[40].split(' ')[1], '254');
  assert.equal((pm2.p99.match(/M/g) ?? []).length, 2);
  assert.equal(points(pm2.p99).length, 149);
  // 500 req/s (50 per 100 ms) on an axis up to 800 (630 with 5 % headroom, steps of 200)
  assert.equal(points(paths[0].d)[0], 'M66.3 147.8');
  // the reloads: dashed lines at 3, 7 and 11 s of the 15 s axis
  const reloads = [...svg.matchAll(/<line class="reload" x1="([\d.]+)"/g)].map(([, x]) => Number(x));
  assert.deepEqual(reloads, [199.2, 379.5, 559.7]);
  for (const label of [
    'req/s per 100 ms',
    'p99 per 100 ms (ms, log)',
    'seconds since the load began',
    'Reloads &amp; load',
    '>mycluster<',
    '>PM2 &lt;7&gt;<',
    '>15<',
  ]) {
    assert.ok(svg.includes(label), `the SVG shows ${label}`);
  }
});

test('axis ticks: round linear steps from 0, whole decades for p99', () => {
  assert.deepEqual(linearTicks(630), { max: 800, ticks: [0, 200, 400, 600, 800] });
  assert.deepEqual(linearTicks(6_100).ticks, [0, 2_000, 4_000, 6_000, 8_000]);
  assert.deepEqual(logTicks(8, 300), { min: 1, max: 1_000, ticks: [1, 10, 100, 1_000] });
  assert.deepEqual(logTicks(12, 80), { min: 10, max: 100, ticks: [10, 20, 50, 100] });
});

test("wrk's report: requests, seconds, socket errors, non-2xx and percentiles in ms", () => {
  const report = `Running 15s test @ http://127.0.0.1:8080/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     8.12ms    3.01ms   1.20s    90.12%
    Req/Sec     6.20k   512.33     7.01k    80.00%
  Latency Distribution
     50%  750.00us
     75%    8.40ms
     90%   10.02ms
     99%    1.02s
  92745 requests in 15.01s, 13.44MB read
  Socket errors: connect 0, read 12, write 0, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:   6179.15
Transfer/sec:      0.90MB
`;
  assert.deepEqual(parseWrk(report), { requests: 92_745, seconds: 15.01, socketErrors: 15, non2xx: 4, p50: 0.8, p99: 1_020 });
  assert.deepEqual(parseWrk('  100 requests in 1.00m, 1MB read\n'), { requests: 100, seconds: 60, socketErrors: 0, non2xx: 0, p50: null, p99: null });
});
