// What metrics cost the master: its VmRSS with `metrics.enabled` false and true, 2 workers, the bench app
// (bench/apps/mycluster), ROUNDS rounds each, alternating. Each reading is taken 15 s after equilibrium;
// with metrics on, after 200 requests and a scrape every second. Prints the medians.
//   node bench/metrics-rss.mjs [rounds] [off|on|both]
// MYCLUSTER_BIN measures another build's bin/mycluster (e.g. a checkout from before metrics existed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, reap, rssMb, sleep, spawnLogged } from './lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = process.env.MYCLUSTER_BIN ?? path.resolve(here, '..', 'bin', 'mycluster');
const rounds = Number(process.argv[2] ?? 3);
const variants = process.argv[3] === 'off' ? ['off'] : process.argv[3] === 'on' ? ['on'] : ['off', 'on'];
const SETTLE_MS = 15_000;

async function measure(variant) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-metrics-rss-'));
  fs.cpSync(path.resolve(here, 'apps', 'mycluster'), dir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'pids'));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const overrides = variant === 'on' ? { metrics: { enabled: true, port: metricsPort } } : {};
  const master = spawnLogged(process.execPath, [bin, 'start', '--workers=2'], {
    cwd: dir,
    env: { PORT: String(port), MYCLUSTER_LOG_FORMAT: 'json', NODE_ENV: 'production', ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify(overrides) },
  });
  try {
    await master.waitForLine((line) => /cluster equilibrium state reached/.test(line.msg ?? ''), { timeoutMs: 30_000, what: 'equilibrium' });
    const until = Date.now() + SETTLE_MS;
    if (variant === 'on') {
      for (let request = 0; request < 200; request += 1) await (await fetch(`http://127.0.0.1:${port}/api/slow`)).text();
      while (Date.now() < until) {
        await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        await sleep(1_000);
      }
    }
    await sleep(Math.max(0, until - Date.now()));
    return rssMb(master.pid);
  } finally {
    process.kill(master.pid, 'SIGTERM');
    await reap([master.pid, ...master.knownPids()], 15_000);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const readings = Object.fromEntries(variants.map((variant) => [variant, []]));
for (let round = 0; round < rounds; round += 1) {
  for (const variant of variants) readings[variant].push(await measure(variant));
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const variant of variants) console.log(`metrics ${variant}: master VmRSS median ${median(readings[variant])} MiB (${readings[variant].join(', ')})`);
