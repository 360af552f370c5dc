// Prometheus metrics served by a real master: counts from real workers, kept across a SIGKILL and a rolling
// reload, valid for promtool, served while a worker is hung, and on a unix socket.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, test } from 'node:test';
import { copyFixture, reloadDone, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { freePort } from '../helpers/net.mjs';
import { sleep, waitFor } from '../helpers/wait.mjs';

const started = [];
after(async () => {
  for (const cluster of started) await cluster.kill();
});

// Heartbeats every 2 s (a sixth of workerTimeout): requests made just before a reload are counted by the
// old workers' final heartbeat, not by a periodic one that happened to come in between.
async function startCluster(workers, metrics) {
  const dir = copyFixture('http-app');
  const port = await freePort();
  const overrides = { cluster: { workerTimeout: 12_000 }, metrics: { enabled: true, ...metrics(dir) } };
  const cluster = startMycluster(['start', `--workers=${workers}`], {
    cwd: dir,
    env: { PORT: String(port), ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify(overrides) },
  });
  started.push(cluster);
  await cluster.waitForEquilibrium();
  return { dir, port, cluster };
}

/** GET a path of the metrics server (a TCP port on 127.0.0.1, or a unix socket path); fails past 5 s. */
function get(target, urlPath = '/metrics') {
  const where = typeof target === 'number' ? { host: '127.0.0.1', port: target } : { socketPath: target };
  return new Promise((resolve, reject) => {
    const request = http.get({ ...where, path: urlPath, timeout: 5_000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode, type: response.headers['content-type'], body }));
    });
    request.on('timeout', () => request.destroy(new Error(`no answer from ${urlPath} within 5 s`)));
    request.on('error', reject);
  });
}

/** The samples of a scrape, by series (`name{labels}`). */
function samples(text) {
  const series = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    series.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return series;
}

async function scrape(port) {
  const { status, body } = await get(port);
  assert.equal(status, 200);
  return samples(body);
}

const isCumulative = (series) => /_total\{|_total$|_bucket\{|_count$|_sum$/.test(series);

async function requests(port, paths) {
  for (const urlPath of paths) await (await fetch(`http://127.0.0.1:${port}${urlPath}`)).text();
}

test('counts survive a SIGKILLed worker and a rolling reload, pass promtool, and a scrape answers while a worker is hung', async () => {
  const metricsPort = await freePort();
  const { dir, port, cluster } = await startCluster(2, () => ({ port: metricsPort }));
  await requests(port, [...Array(5).fill('/api/version'), ...Array(3).fill('/api/nope')]);
  const before = await waitFor(
    'the requests to reach the metrics',
    async () => {
      const series = await scrape(metricsPort);
      const counted =
        series.get('mycluster_http_requests_total{status_class="2xx"}') === 5 && series.get('mycluster_http_requests_total{status_class="4xx"}') === 3;
      return counted && series;
    },
    { timeoutMs: 10_000 },
  );
  assert.equal(before.get('mycluster_workers_desired'), 2);
  assert.equal(before.get('mycluster_workers_ready'), 2);
  assert.equal(before.get('mycluster_http_request_duration_seconds_count'), 8);

  const [killed] = slotPids(dir, 2);
  process.kill(killed, 'SIGKILL');
  const afterKill = await waitFor(
    'the replacement of the killed worker',
    async () => {
      // The pidfile first: it names the replacement only once the master has reaped the killed worker.
      const [current] = slotPids(dir, 2);
      const series = await scrape(metricsPort);
      return current !== null && current !== killed && series.get('mycluster_workers_ready') === 2 && series;
    },
    { timeoutMs: 10_000 },
  );
  assert.equal(afterKill.get('mycluster_worker_restarts_total{reason="crash"}'), 1);
  for (const [series, value] of before) {
    if (isCumulative(series)) assert.ok(afterKill.get(series) >= value, `${series} went from ${value} to ${afterKill.get(series)}`);
  }
  assert.equal(afterKill.get('mycluster_http_requests_total{status_class="2xx"}'), 5);

  // Requests just before a reload: the old workers' final heartbeat, after their drain, still counts them.
  const from = cluster.lines.length;
  await requests(port, Array(4).fill('/api/version'));
  process.kill(cluster.pid, 'SIGUSR2');
  await cluster.waitForLine(reloadDone, { from, what: 'the rolling reload' });
  const afterReload = await scrape(metricsPort);
  assert.equal(afterReload.get('mycluster_http_requests_total{status_class="2xx"}'), 9);
  assert.equal(afterReload.get('mycluster_reloads_total{result="ok"}'), 1);
  assert.equal(afterReload.get('mycluster_reload_duration_seconds_count'), 1);

  const { body } = await get(metricsPort);
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: body, encoding: 'utf8', timeout: 10_000 });
  assert.equal(promtool.status, 0, `promtool check metrics: ${promtool.stdout}${promtool.stderr}`);
  assert.equal((await get(metricsPort, '/')).status, 404);

  // A worker blocked for 2.5 s (well under workerTimeout, so it is not replaced): the master answers while it is.
  let unblocked = false;
  const blocked = fetch(`http://127.0.0.1:${port}/api/block?ms=2500`).then((response) => {
    unblocked = true;
    return response.text();
  });
  await sleep(300);
  const whileHung = await get(metricsPort);
  assert.equal(unblocked, false, 'the scrape was answered before the worker was free again');
  assert.equal(whileHung.status, 200);
  assert.match(whileHung.type, /^text\/plain; version=0\.0\.4/);
  await blocked;
});

test('serves metrics on a unix socket, and removes the socket file when the cluster stops', async () => {
  const { dir, cluster } = await startCluster(1, (root) => ({ port: path.join(root, 'metrics.sock') }));
  const socket = path.join(dir, 'metrics.sock');
  const { status, body } = await get(socket);
  assert.equal(status, 200);
  assert.equal(samples(body).get('mycluster_workers_desired'), 1);
  process.kill(cluster.pid, 'SIGTERM');
  await cluster.waitForExit();
  assert.equal(fs.existsSync(socket), false);
});
