// The reloads picture: throughput and p99 per bucket over one run with reloads, several peers on the same
// axes, as a small hand-written SVG (no browser, no dependency). Two stacked panels share the time axis:
// req/s (linear) above, p99 in ms (log scale: a stall of seconds and a steady 20 ms both stay readable)
// below; a dashed line at each reload's trigger; between the panels, a bar per series for each reload from
// its trigger to its end as the peer reported it; a legend.

const WIDTH = 760;
const LEFT = 64;
const RIGHT = 20;
const PLOT_WIDTH = WIDTH - LEFT - RIGHT;
const PANEL_HEIGHT = 170;
const TOP = 84; // title, subtitle and legend above the first panel
const GAP = 40;
const HEIGHT = TOP + 2 * PANEL_HEIGHT + GAP + 46;

/**
 * series: [{ label, color, buckets: [{ atMs, ok, p99 }], reloads: [{ atMs, durationMs }] }]; buckets past
 * durationMs are left out, an empty bucket draws 0 req/s and a gap in p99. Returns the SVG text.
 */
export function reloadsSvg({ title, subtitle = '', series, bucketMs, durationMs, reloadsAtMs = [] }) {
  const points = series.map(({ buckets }) =>
    buckets
      .filter((bucket) => bucket.atMs < durationMs)
      .map((bucket) => ({ ms: bucket.atMs + bucketMs / 2, rps: (bucket.ok * 1000) / bucketMs, p99: bucket.p99 > 0 ? bucket.p99 : null })),
  );
  const x = (ms) => LEFT + (ms / durationMs) * PLOT_WIDTH;
  const rpsTop = TOP;
  const p99Top = TOP + PANEL_HEIGHT + GAP;

  const rpsAxis = linearTicks(1.05 * Math.max(1, ...points.flat().map((point) => point.rps)));
  const yRps = (value) => rpsTop + PANEL_HEIGHT - (value / rpsAxis.max) * PANEL_HEIGHT;
  const p99s = points.flat().flatMap((point) => (point.p99 === null ? [] : [point.p99]));
  const p99Axis = logTicks(p99s.length ? Math.min(...p99s) : 1, p99s.length ? Math.max(...p99s) : 10);
  const yP99 = (value) =>
    p99Top + PANEL_HEIGHT - ((Math.log10(value) - Math.log10(p99Axis.min)) / (Math.log10(p99Axis.max) - Math.log10(p99Axis.min))) * PANEL_HEIGHT;

  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>`,
    `<text x="${LEFT}" y="22" font-size="15" font-weight="bold">${xmlText(title)}</text>`,
    `<text x="${LEFT}" y="42" fill="#555">${xmlText(subtitle)}</text>`,
    ...legend(series),
    ...panel({ top: rpsTop, ticks: rpsAxis.ticks.map((value) => ({ y: yRps(value), text: String(value) })), label: `req/s per ${bucketMs} ms` }),
    ...panel({ top: p99Top, ticks: p99Axis.ticks.map((value) => ({ y: yP99(value), text: String(value) })), label: `p99 per ${bucketMs} ms (ms, log)` }),
    ...timeAxis({ x, durationMs, y: p99Top + PANEL_HEIGHT }),
    ...reloadMarks({ x, reloadsAtMs, top: rpsTop, bottom: p99Top + PANEL_HEIGHT }),
    ...reloadWindows({ x, series, durationMs, top: rpsTop + PANEL_HEIGHT + 10 }),
  ];
  series.forEach(({ label, color }, index) => {
    out.push(path({ label, color, panel: 'throughput', points: points[index].map((point) => [x(point.ms), yRps(point.rps)]) }));
    out.push(path({ label, color, panel: 'p99', points: points[index].map((point) => (point.p99 === null ? null : [x(point.ms), yP99(point.p99)])) }));
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function legend(series) {
  let left = LEFT;
  return series.flatMap(({ label, color }) => {
    const items = [
      `<line x1="${left}" y1="60" x2="${left + 22}" y2="60" stroke="${color}" stroke-width="2.5"/>`,
      `<text x="${left + 28}" y="64">${xmlText(label)}</text>`,
    ];
    left += 28 + label.length * 7 + 24;
    return items;
  });
}

function panel({ top, ticks, label }) {
  return [
    ...ticks.flatMap(({ y, text }) => [
      `<line x1="${LEFT}" y1="${fixed(y)}" x2="${LEFT + PLOT_WIDTH}" y2="${fixed(y)}" stroke="#e5e5e5"/>`,
      `<text x="${LEFT - 6}" y="${fixed(y + 4)}" text-anchor="end" fill="#555">${text}</text>`,
    ]),
    `<rect x="${LEFT}" y="${top}" width="${PLOT_WIDTH}" height="${PANEL_HEIGHT}" fill="none" stroke="#999"/>`,
    `<text transform="translate(16 ${top + PANEL_HEIGHT / 2}) rotate(-90)" text-anchor="middle" fill="#333">${xmlText(label)}</text>`,
  ];
}

function timeAxis({ x, durationMs, y }) {
  const out = [];
  for (let second = 0; second * 1000 <= durationMs; second += 1) {
    out.push(`<line x1="${fixed(x(second * 1000))}" y1="${y}" x2="${fixed(x(second * 1000))}" y2="${y + 4}" stroke="#999"/>`);
    out.push(`<text x="${fixed(x(second * 1000))}" y="${y + 17}" text-anchor="middle" fill="#555">${second}</text>`);
  }
  out.push(`<text x="${LEFT + PLOT_WIDTH / 2}" y="${y + 36}" text-anchor="middle" fill="#333">seconds since the load began</text>`);
  return out;
}

function reloadMarks({ x, reloadsAtMs, top, bottom }) {
  return reloadsAtMs.flatMap((ms) => [
    `<line class="reload" x1="${fixed(x(ms))}" y1="${top}" x2="${fixed(x(ms))}" y2="${bottom}" stroke="#888" stroke-dasharray="4 3"/>`,
    `<text x="${fixed(x(ms))}" y="${top - 5}" text-anchor="middle" fill="#666" font-size="11">reload</text>`,
  ]);
}

/** One row per series: a bar from each reload's trigger to its end (cut at the axis' end). */
function reloadWindows({ x, series, durationMs, top }) {
  const out = [`<text x="${LEFT - 6}" y="${top + 10}" text-anchor="end" fill="#555" font-size="10">reloading</text>`];
  series.forEach(({ label, color, reloads = [] }, row) => {
    for (const { atMs, durationMs: reloadMs } of reloads) {
      const from = x(atMs);
      const to = x(Math.min(atMs + reloadMs, durationMs));
      out.push(
        `<rect class="reload-window" data-series="${xmlText(label)}" x="${fixed(from)}" y="${top + row * 7}" width="${fixed(to - from)}" height="4" fill="${color}"/>`,
      );
    }
  });
  return out;
}

/** One series in one panel; null points break the line. */
function path({ label, color, panel, points }) {
  let d = '';
  let drawing = false;
  for (const point of points) {
    if (point === null) {
      drawing = false;
      continue;
    }
    d += `${drawing ? 'L' : 'M'}${fixed(point[0])} ${fixed(point[1])}`;
    drawing = true;
  }
  return `<path data-series="${xmlText(label)}" data-panel="${panel}" d="${d}" fill="none" stroke="${color}" stroke-width="1.5" stroke-linejoin="round"/>`;
}

/** 0 to a round maximum at or above `max`, with 4 to 6 ticks of a 1, 2 or 5 step. */
export function linearTicks(max) {
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough);
  const top = Math.ceil(max / step) * step;
  return { max: top, ticks: Array.from({ length: Math.round(top / step) + 1 }, (_, index) => Math.round(index * step * 1e6) / 1e6) };
}

/** Whole decades around [min, max], ticked at 1, 2 and 5 of each decade when there are at most two. */
export function logTicks(min, max) {
  const low = 10 ** Math.floor(Math.log10(min));
  const high = Math.max(10 ** Math.ceil(Math.log10(max)), low * 10);
  const factors = Math.log10(high / low) <= 2 ? [1, 2, 5] : [1];
  const ticks = [];
  for (let decade = low; decade < high; decade *= 10) for (const factor of factors) ticks.push(Math.round(decade * factor * 1e6) / 1e6);
  ticks.push(high);
  return { min: low, max: high, ticks };
}

const fixed = (value) => Math.round(value * 10) / 10;

function xmlText(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
