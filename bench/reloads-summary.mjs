// The reloads scenario's arithmetic, kept free of processes so a unit test can check it: per peer and
// client, each round's ratios (with reloads ÷ steady, both measured in that round), their medians over the
// rounds, each reload's median duration, the round to draw, and the Markdown table.

/** The median of the numbers given (nulls and undefined left out); null when there are none. */
export function median(values) {
  const sorted = values.filter((value) => typeof value === 'number' && Number.isFinite(value)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** with ÷ without, to 2 decimals; null when either is missing or the divisor is 0. */
export function ratio(withReloads, steady) {
  if (typeof withReloads !== 'number' || typeof steady !== 'number' || steady === 0) return null;
  return Math.round((withReloads / steady) * 100) / 100;
}

/** One round of one client on one peer ({ steady, reloads }, each { rps, p99, failed }): its ratios. */
export function roundRatios({ steady, reloads }) {
  return { rps: ratio(reloads?.rps, steady?.rps), p99: ratio(reloads?.p99, steady?.p99), failed: reloads?.failed ?? null };
}

/**
 * One peer's rounds (`[{ own: { steady, reloads }, wrk: { steady, reloads } }]`, `reloads.reloads` being
 * `[{ durationMs }]` in trigger order, without durationMs when refused or merged) summed up per client:
 * each round's ratios, their medians and ranges, failed requests per round; then how many of the reloads
 * triggered were carried out, and the median duration of reload #1, #2, #3 over the runs that did it.
 */
export function summarizePeer(rounds) {
  const summary = {};
  for (const client of ['own', 'wrk']) {
    const perRound = rounds.filter((round) => round[client]).map((round) => roundRatios(round[client]));
    if (perRound.length === 0) continue;
    const done = rounds.filter((round) => round[client]).map((round) => reloadsDone(round[client].reloads?.reloads ?? []));
    summary[client] = {
      failed: perRound.map((each) => each.failed),
      rps: spread(perRound.map((each) => each.rps)),
      lostPerReload: spread(perRound.map((each, index) => lostPerReload(each.rps, done[index]))),
      p99: spread(perRound.map((each) => each.p99)),
      steadyRps: median(rounds.map((round) => round[client]?.steady?.rps)),
      steadyP99: median(rounds.map((round) => round[client]?.steady?.p99)),
    };
  }
  const reloads = rounds.flatMap((round) => ['own', 'wrk'].map((client) => round[client]?.reloads?.reloads ?? []));
  const count = Math.max(0, ...reloads.map((each) => each.length));
  summary.reloadsDone = reloadsDone(reloads.flat());
  summary.reloadsTriggered = reloads.flat().length;
  summary.durationsMs = Array.from({ length: count }, (_, index) => {
    const value = median(reloads.map((each) => each[index]?.durationMs));
    return value === null ? null : Math.round(value);
  });
  return summary;
}

const reloadsDone = (reloads) => reloads.filter((reload) => typeof reload.durationMs === 'number').length;

/**
 * The share of the run's throughput each reload carried out cost, in %: (1 − ratio) ÷ reloads. Peers that
 * refuse a reload while one runs carry out fewer of the 3 triggered, so their ratio covers fewer reloads.
 */
export function lostPerReload(rpsRatio, done) {
  if (rpsRatio === null || !done) return null;
  return Math.round(((1 - rpsRatio) / done) * 1000) / 10;
}

function spread(values) {
  const present = values.filter((value) => value !== null);
  return { values, median: median(present), min: present.length ? Math.min(...present) : null, max: present.length ? Math.max(...present) : null };
}

/** The index of the round whose value is the median one (the lower of the two middle ones when even). */
export function medianRound(values) {
  const indexed = values.map((value, index) => ({ value, index })).filter(({ value }) => typeof value === 'number');
  if (indexed.length === 0) return 0;
  indexed.sort((a, b) => a.value - b.value);
  return indexed[Math.floor((indexed.length - 1) / 2)].index;
}

/** The Markdown table: one column per peer ({ label, summary, leftovers }), one row per figure. */
export function reloadsTable(peers) {
  const cell = (value) => (value === null || value === undefined || value === '' ? '–' : String(value));
  const range = (each) => (each?.median === null || each?.median === undefined ? '–' : `${round2(each.median)} (${each.min}–${each.max})`);
  const rows = [
    ['failed requests with 3 reloads, own client (each round)', (s) => s.own?.failed.map(cell).join(', ')],
    ['failed requests with 3 reloads, wrk: socket errors + non-2xx (each round)', (s) => s.wrk?.failed.map(cell).join(', ')],
    ['throughput with reloads ÷ steady, own client: median (min–max)', (s) => range(s.own?.rps)],
    ['throughput with reloads ÷ steady, wrk', (s) => range(s.wrk?.rps)],
    ['throughput lost per reload carried out (%), wrk: (1 − ratio) ÷ reloads', (s) => range(s.wrk?.lostPerReload)],
    ['p99 with reloads ÷ steady p99, own client', (s) => range(s.own?.p99)],
    ['p99 with reloads ÷ steady p99, wrk', (s) => range(s.wrk?.p99)],
    ['steady req/s / p99 (ms), own client, median', (s) => s.own && `${cell(rounded(s.own.steadyRps))} / ${cell(round2(s.own.steadyP99))}`],
    ['steady req/s / p99 (ms), wrk, median', (s) => s.wrk && `${cell(rounded(s.wrk.steadyRps))} / ${cell(round2(s.wrk.steadyP99))}`],
    ['reloads carried out, of those triggered (all runs)', (s) => (s.reloadsTriggered ? `${s.reloadsDone} of ${s.reloadsTriggered}` : null)],
    ['reload #1, #2, #3 duration (ms), median of the runs that carried it out', (s) => s.durationsMs?.map(cell).join(', ')],
    ['processes left after stop', (_, peer) => peer.leftovers?.length],
  ];
  return [
    `| | ${peers.map((peer) => peer.label).join(' | ')} |`,
    `| --- | ${peers.map(() => '---:').join(' | ')} |`,
    ...rows.map(([label, read]) => `| ${label} | ${peers.map((peer) => cell(read(peer.summary, peer))).join(' | ')} |`),
  ].join('\n');
}

const round2 = (value) => (value === null ? null : Math.round(value * 100) / 100);
const rounded = (value) => (value === null ? null : Math.round(value));
