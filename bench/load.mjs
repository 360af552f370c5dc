// The load generator. It runs in its own child process (forked from this same file), so it shares no
// event loop with the bench or a peer. N loops each send one GET over a keep-alive agent (loopback only),
// wait for the whole response, and send the next. Every request sent is recorded with its start and end
// time and its outcome; a request counts as failed on any error (reset, refused, timeout), a non-2xx
// status, or a connection that closed without a complete response (a clean close drops it too).
//
//   const load = await startLoad({ url: 'http://127.0.0.1:8080/api/slow', concurrency: 50 });
//   const t0 = now(); ...; load.mark('reload', t0, now());   // named time windows, any number
//   const result = await load.stop({ bucketMs: 100 });        // totals, windows[name], buckets
//
// Buckets count the requests that ended in each bucketMs from load.startedAt (the moment the connections
// began sending), every bucket up to the stop included (an empty one is a stall): { atMs, ok, failed, p99 }.
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';

/** Epoch ms with sub-ms precision, comparable across processes on one machine. */
export const now = () => performance.timeOrigin + performance.now();

/** Parent side: fork the generator, start the load, and return a handle. */
export async function startLoad({ url, concurrency = 50, requestTimeout = 10_000 }) {
  const child = fork(fileURLToPath(import.meta.url), ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
  const windows = [];
  const reply = (type, timeoutMs) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`load generator: no '${type}' within ${timeoutMs} ms`)), timeoutMs);
      const onMessage = (message) => {
        if (message.type !== type) return;
        clearTimeout(timer);
        child.off('message', onMessage);
        resolve(message);
      };
      child.on('message', onMessage);
    });
  let startedAt;
  try {
    const started = reply('started', 5_000);
    child.send({ type: 'start', url, concurrency, requestTimeout });
    startedAt = (await started).at;
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    pid: child.pid,
    /** When the first requests were sent (epoch ms, see now()): where the buckets start. */
    startedAt,
    /** Name a time window [from, to] (epoch ms, see now()); windows of one name are merged. */
    mark(name, from, to) {
      windows.push({ name, from, to });
    },
    /** Stop sending, wait for what is in flight, and return the stats. Always kills the child. */
    async stop({ bucketMs = 0 } = {}) {
      try {
        const result = reply('result', requestTimeout + 10_000);
        child.send({ type: 'stop', windows, bucketMs, originMs: startedAt });
        return (await result).result;
      } finally {
        child.kill('SIGKILL');
      }
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}

// ---- child side ----------------------------------------------------------------------------------------

function runChild() {
  // One record per request: start, end (ms), latency of a success or the failure's kind.
  const records = [];
  let stopping = false;
  let loops = [];
  process.on('disconnect', () => process.exit(0)); // the bench is gone: so is its load

  function sendOne(agent, target, requestTimeout) {
    const record = { start: now(), end: 0, ok: false, error: null };
    records.push(record);
    return new Promise((resolve) => {
      let response;
      const settle = (error) => {
        if (record.end) return;
        record.end = now();
        record.ok = !error;
        record.error = error;
      };
      const request = http.request({ ...target, agent, method: 'GET' }, (incoming) => {
        response = incoming;
        incoming.resume();
        incoming.on('end', () => settle(incoming.statusCode >= 200 && incoming.statusCode < 300 ? null : `HTTP ${incoming.statusCode}`));
        incoming.on('error', (error) => settle(kind(error)));
      });
      request.setTimeout(requestTimeout, () => request.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
      request.on('error', (error) => settle(kind(error)));
      // 'close' always comes last: a request still unsettled here got no complete response.
      request.on('close', () => {
        if (response?.complete && !record.end) settle(response.statusCode >= 200 && response.statusCode < 300 ? null : `HTTP ${response.statusCode}`);
        settle('closed without a response');
        resolve();
      });
      request.end();
    });
  }

  process.on('message', async (message) => {
    if (message.type === 'start') {
      const url = new URL(message.url);
      const target = { hostname: url.hostname, port: url.port, path: url.pathname + url.search };
      const agent = new http.Agent({ keepAlive: true, maxSockets: message.concurrency });
      const at = now();
      loops = Array.from({ length: message.concurrency }, async () => {
        while (!stopping) await sendOne(agent, target, message.requestTimeout);
      });
      process.send({ type: 'started', at });
      await Promise.all(loops);
      agent.destroy();
    } else if (message.type === 'stop') {
      const stoppedAt = now();
      stopping = true;
      await Promise.all(loops);
      process.send({
        type: 'result',
        result: summarize(records, { windows: message.windows, bucketMs: message.bucketMs, originMs: message.originMs, stoppedAt }),
      });
    }
  });
}

function kind(error) {
  return error.code ?? error.message;
}

// ---- statistics ----------------------------------------------------------------------------------------

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]);
}

const round = (value) => Math.round(value * 100) / 100;

/** Sent, ok, failed (by kind), req/s and latency percentiles of the given records over `durationMs`. */
function stats(records, durationMs) {
  const latencies = [];
  const errors = {};
  let ok = 0;
  for (const record of records) {
    if (record.ok) {
      ok += 1;
      latencies.push(record.end - record.start);
    } else {
      errors[record.error] = (errors[record.error] ?? 0) + 1;
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    sent: records.length,
    ok,
    failed: records.length - ok,
    errors,
    durationMs: round(durationMs),
    rps: durationMs > 0 ? Math.round((ok * 1000) / durationMs) : null,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: latencies.length ? round(latencies[latencies.length - 1]) : null,
  };
}

/**
 * Totals over the whole run; per named window, the requests that overlap it (started before its end and
 * ended after its start), with req/s over the window's length; per bucket of `bucketMs` from `originMs`
 * (default: the first request's start), the requests that ended in it, every bucket up to `stoppedAt`.
 */
export function summarize(records, { windows = [], bucketMs = 0, originMs, stoppedAt }) {
  const first = records.length ? records[0].start : stoppedAt;
  const result = { total: stats(records, stoppedAt - first), windows: {}, buckets: [] };
  const names = [...new Set(windows.map((window) => window.name))];
  for (const name of names) {
    const spans = windows.filter((window) => window.name === name);
    const inside = records.filter((record) => spans.some((span) => record.start < span.to && record.end > span.from));
    result.windows[name] = stats(
      inside,
      spans.reduce((sum, span) => sum + (span.to - span.from), 0),
    );
  }
  if (bucketMs > 0) {
    const origin = originMs ?? first;
    const lastEnd = records.reduce((latest, record) => Math.max(latest, record.end), stoppedAt);
    const buckets = Array.from({ length: Math.floor((lastEnd - origin) / bucketMs) + 1 }, () => []);
    for (const record of records) buckets[Math.max(0, Math.floor((record.end - origin) / bucketMs))].push(record);
    result.buckets = buckets.map((bucket, index) => {
      const { ok, failed, p99 } = stats(bucket, bucketMs);
      return { atMs: index * bucketMs, ok, failed, p99 };
    });
  }
  return result;
}

if (process.argv[2] === '--child') runChild();
