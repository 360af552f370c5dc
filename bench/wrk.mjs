// wrk, the load client that behaves like real ones (it honours `Connection: close`): one run, and its report
// read into numbers.
import { run } from './lib.mjs';

/** `wrk -t1 -c<connections> -d<seconds>s --latency <url>`, resolved as parseWrk's numbers. */
export async function runWrk({ url, seconds, connections = 50 }) {
  const result = await run('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url], { timeoutMs: (seconds + 30) * 1000 });
  if (result.code !== 0) throw new Error(`wrk exited ${result.code}: ${result.stderr.trim()}`);
  return parseWrk(result.stdout);
}

const MS_PER = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

/** requests, seconds, socket errors, non-2xx and p50/p99 (ms) from wrk --latency's report. */
export function parseWrk(text) {
  const ms = (value, unit) => Number(value) * (MS_PER[unit] ?? 1);
  const percentile = (p) => {
    const match = text.match(new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)$`, 'm'));
    return match ? Math.round(ms(match[1], match[2]) * 10) / 10 : null;
  };
  const errors = text.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  const total = text.match(/(\d+) requests in ([\d.]+)(us|ms|s|m)\b/);
  return {
    requests: Number(total?.[1] ?? 0),
    seconds: total ? ms(total[2], total[3]) / 1000 : null,
    socketErrors: errors ? errors.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0,
    non2xx: Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0),
    p50: percentile(50),
    p99: percentile(99),
  };
}
