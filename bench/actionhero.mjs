// An ActionHero 29 app (test/fixtures/actionhero-app, the real `actionhero` package) under mycluster and under
// PM2 7 in cluster mode (`pm2 start dist/server.js -i 2`, as ActionHero's docs advise since v22), 2 workers each,
// the same Redis: 3 rolling reloads (`mycluster reload`, `pm2 reload`) under `wrk -t1 -c50` on /api/hello.
// Reports failed requests (wrk's socket errors + non-2xx/3xx responses) and p99 for the whole run.
//
//   node bench/actionhero.mjs [rounds]     # default 1 round per peer, interleaved; JSON in bench/results/
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyActionheroFixture } from '../test/helpers/actionhero.mjs';
import { startMycluster } from '../test/helpers/cluster.mjs';
import { startRedis } from '../test/helpers/redis.mjs';
import { freePort, reap, sleep, waitFor } from './lib.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const pm2Bin = path.join(root, 'node_modules', '.bin', 'pm2');
const rounds = Number(process.argv[2]) || 1;
const RELOADS = 3;

/** Run a command to completion in `cwd` (bounded); rejects on a non-zero exit. */
function command(file, args, { cwd, env, timeoutMs = 60_000 }) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env: { ...process.env, ...env }, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${path.basename(file)} ${args.join(' ')}: ${error.message}\n${stderr.slice(-1000)}`));
      else resolve(stdout);
    });
  });
}

/** Both workers answer /api/hello. */
async function waitServing(port) {
  const pids = new Set();
  await waitFor(
    'both workers answering',
    async () => {
      const response = await fetch(`http://127.0.0.1:${port}/api/hello`, { headers: { connection: 'close' } });
      pids.add((await response.json()).pid);
      return pids.size >= 2;
    },
    { timeoutMs: 30_000 },
  );
}

const peers = {
  async mycluster({ dir, port, redis }) {
    const cluster = startMycluster(['start', '--workers=2'], { cwd: dir, env: { PORT: String(port), REDIS_URL: redis.url, NODE_ENV: 'production' } });
    await cluster.waitForEquilibrium({ timeoutMs: 30_000 });
    return {
      reload: () => command(process.execPath, [path.join(root, 'bin', 'mycluster'), 'reload'], { cwd: dir }),
      async stop() {
        await command(process.execPath, [path.join(root, 'bin', 'mycluster'), 'stop'], { cwd: dir }).catch(() => undefined);
        await reap(cluster.knownPids(), 10_000);
        await cluster.kill();
      },
    };
  },
  async pm2({ dir, port, redis }) {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-bench-pm2-'));
    const env = { PM2_HOME: home, PORT: String(port), REDIS_URL: redis.url, NODE_ENV: 'production', PROJECT_ROOT: dir };
    const pm2 = (...args) => command(pm2Bin, args, { cwd: dir, env });
    await pm2('start', path.join(dir, 'dist', 'server.js'), '--name', 'ah', '-i', '2', '--cwd', dir);
    return {
      reload: () => pm2('reload', 'ah'),
      async stop() {
        const daemon = Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8'));
        await pm2('kill').catch(() => undefined);
        await reap([daemon], 10_000);
        fs.rmSync(home, { recursive: true, force: true });
      },
    };
  },
};

/** wrk -t1 -c50 until stopped (SIGINT: wrk then prints its report). */
function startWrk(url) {
  const child = spawn('wrk', ['-t1', '-c50', '-d600s', '--latency', url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    async stop() {
      child.kill('SIGINT');
      await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
      return parseWrk(output);
    },
  };
}

function parseWrk(output) {
  const number = (pattern) => Number(pattern.exec(output)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket ? socket.slice(1).reduce((sum, count) => sum + Number(count), 0) : 0;
  const nonSuccess = number(/Non-2xx or 3xx responses: (\d+)/);
  const p99 = /99%\s+([\d.]+)(us|ms|s)\b/.exec(output);
  const p99Ms = p99 ? Number(p99[1]) * { us: 0.001, ms: 1, s: 1000 }[p99[2]] : null;
  return { requests: number(/(\d+) requests in/), socketErrors, nonSuccess, failed: socketErrors + nonSuccess, p99Ms, raw: output };
}

async function measure(peerName, redis) {
  const dir = copyActionheroFixture();
  fs.rmSync(path.join(dir, 'mycluster'), { recursive: true }); // the tests' short timings: not for a bench
  const port = await freePort();
  const peer = await peers[peerName]({ dir, port, redis });
  try {
    await waitServing(port);
    const wrk = startWrk(`http://127.0.0.1:${port}/api/hello`);
    const reloadsMs = [];
    await sleep(2_000);
    for (let index = 0; index < RELOADS; index += 1) {
      const started = performance.now();
      await peer.reload();
      reloadsMs.push(Math.round(performance.now() - started));
      await sleep(1_000);
    }
    const result = await wrk.stop();
    return { peer: peerName, ...result, reloadsMs };
  } finally {
    await peer.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const redis = await startRedis();
const results = [];
try {
  for (let round = 1; round <= rounds; round += 1) {
    for (const name of Object.keys(peers)) {
      const result = await measure(name, redis);
      results.push({ round, ...result });
      console.error(`round ${round}, ${name}: ${result.failed} failed of ${result.requests}, p99 ${result.p99Ms} ms`);
    }
  }
} finally {
  await redis.stop();
}

const rows = results.map((result) => [
  result.round,
  result.peer,
  result.requests,
  result.socketErrors,
  result.nonSuccess,
  result.failed,
  result.p99Ms,
  result.reloadsMs.join(', '),
]);
const header = ['round', 'peer', 'requests', 'socket errors', 'non-2xx', 'failed', 'p99 ms', 'reloads ms'];
console.log(`ActionHero 29 app, 2 workers, ${RELOADS} reloads under wrk -t1 -c50 (/api/hello), Node ${process.version}, ${os.cpus().length} CPUs`);
for (const row of [header, ...rows]) console.log(row.map(String).join(' | '));
const file = path.join(root, 'bench', 'results', `actionhero-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
fs.writeFileSync(file, `${JSON.stringify({ node: process.version, cpus: os.cpus().length, reloads: RELOADS, results }, null, 2)}\n`);
console.log(`saved ${path.relative(root, file)}`);
