// The master's metrics in-process: totals from heartbeats and events (counters never go backwards when
// workers leave), the text it serves, the worker's meters, and the `metrics` config section.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { describe, it, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../dist/config/index.js';
import { renderMetrics } from '../../dist/master/metrics/render.js';
import { serveMetrics } from '../../dist/master/metrics/server.js';
import { ClusterMetrics } from '../../dist/master/metrics/totals.js';
import { HTTP_DURATION_BUCKETS } from '../../dist/protocol.js';
import { meterHttpServers, WorkerMeters } from '../../dist/runtime/metrics.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUCKETS = HTTP_DURATION_BUCKETS.length + 1;

/** A heartbeat whose counters say `ok` 2xx and `bad` 4xx responses, `jobs` done on queue q, `cpu` seconds. */
function heartbeat({ ok = 0, bad = 0, jobs = 0, failed = 0, cpu = 0, rss = 1000, queueLengths } = {}) {
  const durations = new Array(BUCKETS).fill(0);
  durations[0] = ok + bad;
  return {
    rss,
    loopDelayMs: 3,
    redis: {},
    metrics: {
      cpuSeconds: cpu,
      httpResponses: [0, ok, 0, bad, 0],
      httpDurationCounts: durations,
      httpDurationSum: (ok + bad) * 0.001,
      jobs: jobs + failed > 0 ? { q: { processed: jobs, failed } } : {},
      ...(queueLengths && { queueLengths }),
    },
  };
}

const beat = (metrics, worker, slot, fields) => metrics.record({ type: 'worker-heartbeat', worker, slot, heartbeat: heartbeat(fields) });
const exit = (metrics, worker, slot) => metrics.record({ type: 'worker-exit', worker, slot });

describe('cluster totals', () => {
  it('keeps a crashed worker’s counts when its replacement starts from zero', () => {
    const metrics = new ClusterMetrics();
    beat(metrics, 1, 1, { ok: 10, bad: 2, jobs: 5, failed: 1, cpu: 3 });
    beat(metrics, 2, 2, { ok: 7 });
    exit(metrics, 1, 1);
    beat(metrics, 3, 1, { ok: 1, cpu: 0.5 });
    const totals = metrics.totals();
    assert.deepEqual(totals.httpResponses, [0, 18, 0, 2, 0]);
    assert.equal(totals.httpDurationCounts[0], 20);
    assert.deepEqual(totals.jobs.get('q'), { processed: 5, failed: 1 });
    assert.equal(metrics.cpuBySlot().get(1), 3.5);
  });

  it('never goes backwards over a rolling reload of every worker', () => {
    const metrics = new ClusterMetrics();
    let previous = 0;
    const total = () => metrics.totals().httpResponses[1];
    const check = () => {
      assert.ok(total() >= previous, `total went from ${previous} to ${total()}`);
      previous = total();
    };
    beat(metrics, 1, 1, { ok: 100 });
    beat(metrics, 2, 2, { ok: 50 });
    check();
    for (const [old, fresh, slot] of [
      [1, 3, 1],
      [2, 4, 2],
    ]) {
      beat(metrics, fresh, slot, { ok: 0 });
      check();
      beat(metrics, old, slot, { ok: 120 }); // the old worker's final heartbeat, after its drain
      check();
      exit(metrics, old, slot);
      check();
      beat(metrics, fresh, slot, { ok: 4 });
      check();
    }
    assert.equal(total(), 120 + 120 + 4 + 4);
  });

  it('counts a heartbeat that arrives after its worker’s exit once, for what it adds', () => {
    const metrics = new ClusterMetrics();
    beat(metrics, 1, 1, { ok: 10 });
    exit(metrics, 1, 1);
    beat(metrics, 1, 1, { ok: 12, cpu: 1 });
    assert.equal(metrics.totals().httpResponses[1], 12);
    assert.equal(metrics.cpuBySlot().get(1), 1);
    assert.equal(metrics.latestBySlot().size, 0, 'a gone worker has no gauges');
  });

  it('moves a spare’s CPU time to its slot without either slot’s counter going backwards', () => {
    const metrics = new ClusterMetrics();
    beat(metrics, 5, 0, { cpu: 0.2 });
    beat(metrics, 5, 1, { cpu: 0.3 });
    assert.equal(metrics.cpuBySlot().get(0), 0.2);
    assert.equal(Math.round(metrics.cpuBySlot().get(1) * 10) / 10, 0.1);
    exit(metrics, 5, 1);
    beat(metrics, 6, 0, { cpu: 0.1 });
    assert.equal(Math.round(metrics.cpuBySlot().get(0) * 10) / 10, 0.3);
  });

  it('shows each slot’s newest worker in the gauges, and the freshest queue lengths', () => {
    let now = 0;
    const metrics = new ClusterMetrics(() => now);
    beat(metrics, 1, 1, { rss: 111, queueLengths: { q: 4 } });
    now = 10;
    beat(metrics, 2, 1, { rss: 222 });
    beat(metrics, 3, 2, { rss: 333, queueLengths: { q: 2 } });
    assert.equal(metrics.latestBySlot().get(1).rss, 222);
    assert.deepEqual(metrics.queueLengths(), { q: 2 });
    exit(metrics, 3, 2);
    assert.deepEqual(metrics.queueLengths(), { q: 4 });
    exit(metrics, 1, 1);
    assert.equal(metrics.queueLengths(), undefined);
  });

  it('counts restarts by reason and reloads by result, with their durations', () => {
    const metrics = new ClusterMetrics();
    metrics.record({ type: 'worker-restart', slot: 1, reason: 'crash' });
    metrics.record({ type: 'worker-restart', slot: 2, reason: 'hung' });
    metrics.record({ type: 'worker-unhealthy', slot: 1, reason: 'maxMemory' });
    metrics.record({ type: 'reload-finished', id: 1, ok: true, durationMs: 700 });
    metrics.record({ type: 'reload-finished', id: 2, ok: false, durationMs: 40_000, error: 'x' });
    assert.deepEqual(Object.fromEntries(metrics.restarts), { crash: 1, hung: 1, 'boot-failure': 0, unhealthy: 1 });
    assert.deepEqual(metrics.reloads, { ok: 1, aborted: 1 });
    assert.equal(metrics.reloadDurations.counts[1], 1); // le 1
    assert.equal(metrics.reloadDurations.counts[6], 1); // le 60
    assert.equal(metrics.reloadDurations.sum, 40.7);
  });
});

describe('exposition', () => {
  it('writes every required family, cumulative buckets and escaped label values', () => {
    const metrics = new ClusterMetrics();
    metrics.record({
      type: 'worker-heartbeat',
      worker: 1,
      slot: 1,
      heartbeat: {
        ...heartbeat({ ok: 3 }),
        redis: { tasks: { downMs: null, reachable: null, reachableMs: null }, app: { downMs: 5, reachable: false, reachableMs: null } },
      },
    });
    beat(metrics, 2, 2, { jobs: 2, failed: 1, queueLengths: { 'odd"queue\\': 7 } });
    const text = renderMetrics(metrics, { desired: 2, ready: 1, upgrades: 3 });
    for (const line of [
      'mycluster_workers_desired 2',
      'mycluster_workers_ready 1',
      'mycluster_worker_restarts_total{reason="crash"} 0',
      'mycluster_reloads_total{result="aborted"} 0',
      'mycluster_reload_duration_seconds_count 0',
      'mycluster_upgrades_total 3',
      'mycluster_worker_resident_memory_bytes{slot="1"} 1000',
      'mycluster_worker_event_loop_delay_seconds{slot="2"} 0.003',
      'mycluster_worker_cpu_seconds_total{slot="1"} 0',
      'mycluster_redis_up{slot="1",connection="tasks"} 1',
      'mycluster_redis_up{slot="1",connection="app"} 0',
      'mycluster_http_requests_total{status_class="2xx"} 3',
      'mycluster_http_request_duration_seconds_bucket{le="0.005"} 3',
      'mycluster_http_request_duration_seconds_bucket{le="+Inf"} 3',
      'mycluster_http_request_duration_seconds_count 3',
      'mycluster_task_jobs_processed_total{queue="q"} 2',
      'mycluster_task_jobs_failed_total{queue="q"} 1',
      'mycluster_task_queue_length{queue="odd\\"queue\\\\"} 7',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing: ${line}\n${text}`);
    }
    assert.match(text, /^# TYPE mycluster_http_request_duration_seconds histogram$/m);
  });
});

describe('worker meters', () => {
  it('counts responses by status class and duration bucket', () => {
    const meters = new WorkerMeters();
    meters.countResponse(200, 0.001);
    meters.countResponse(404, 0.03);
    meters.countResponse(503, 20);
    meters.countJob('q', false);
    meters.countJob('q', true);
    const snapshot = meters.snapshot();
    assert.deepEqual(snapshot.httpResponses, [0, 1, 0, 1, 1]);
    assert.equal(snapshot.httpDurationCounts[0], 1);
    assert.equal(snapshot.httpDurationCounts[HTTP_DURATION_BUCKETS.indexOf(0.05)], 1);
    assert.equal(snapshot.httpDurationCounts[BUCKETS - 1], 1);
    assert.deepEqual(snapshot.jobs, { q: { processed: 1, failed: 1 } });
    assert.ok(snapshot.cpuSeconds > 0);
  });

  it('counts the responses of an HTTP server in the process once metered', async () => {
    const meters = new WorkerMeters();
    meterHttpServers(meters);
    const server = http.createServer((request, response) => {
      response.statusCode = request.url === '/missing' ? 404 : 200;
      response.end('x');
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const base = `http://127.0.0.1:${server.address().port}`;
      for (const url of ['/', '/', '/missing']) await (await fetch(`${base}${url}`)).text();
    } finally {
      server.close();
      server.closeAllConnections();
    }
    const snapshot = meters.snapshot();
    assert.deepEqual(snapshot.httpResponses, [0, 2, 0, 1, 0]);
    assert.equal(
      snapshot.httpDurationCounts.reduce((a, b) => a + b),
      3,
    );
  });

  it('reports no queue lengths after a failed read, rather than stale ones', async () => {
    const meters = new WorkerMeters();
    meters.refreshQueueLengths(async () => ({ q: 1 }));
    await new Promise(setImmediate);
    assert.deepEqual(meters.snapshot().queueLengths, { q: 1 });
    meters.refreshQueueLengths(async () => {
      throw new Error('redis down');
    });
    await new Promise(setImmediate);
    assert.equal(meters.snapshot().queueLengths, undefined);
  });
});

test('the master loads neither the metrics code nor node:http unless metrics are on', () => {
  const probe = `require('./dist/master/main.js');
    console.log(JSON.stringify({
      metrics: Object.keys(require.cache).filter((file) => file.includes('/master/metrics/')),
      http: process.moduleLoadList.filter((name) => /^NativeModule _?http/.test(name)),
    }));`;
  const { stdout, status, stderr } = spawnSync(process.execPath, ['-e', probe], { cwd: repoRoot, encoding: 'utf8', timeout: 10_000 });
  assert.equal(status, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), { metrics: [], http: [] });
});

describe('metrics server', () => {
  const get = (where, urlPath, method = 'GET') =>
    new Promise((resolve, reject) => {
      http
        .request({ ...where, path: urlPath, method }, (response) => {
          let body = '';
          response.on('data', (chunk) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode, type: response.headers['content-type'], body }));
        })
        .on('error', reject)
        .end();
    });

  it('answers GET /metrics with the text format, HEAD without a body, anything else with a 404', async () => {
    const server = await serveMetrics({ enabled: true, port: 0, bindIP: '127.0.0.1' }, 0o660, () => 'x_total 1\n');
    const where = { host: '127.0.0.1', port: Number(new URL(server.address).port) };
    try {
      assert.match(server.address, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      assert.deepEqual(await get(where, '/metrics?x=1'), { status: 200, type: 'text/plain; version=0.0.4; charset=utf-8', body: 'x_total 1\n' });
      assert.equal((await get(where, '/metrics', 'HEAD')).body, '');
      assert.equal((await get(where, '/')).status, 404);
      assert.equal((await get(where, '/metrics', 'POST')).status, 404);
    } finally {
      server.close();
    }
  });

  it('refuses a port in use with one line naming the keys', async () => {
    const busy = http.createServer();
    await new Promise((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const { port } = busy.address();
    try {
      await assert.rejects(
        serveMetrics({ enabled: true, port, bindIP: '127.0.0.1' }, 0o660, () => ''),
        {
          name: 'BootError',
          message: `cannot serve metrics on 127.0.0.1:${port} (metrics.port, metrics.bindIP): address already in use`,
        },
      );
    } finally {
      busy.close();
    }
  });

  it('serves on a unix socket with the web socket mode, and removes it on close', async () => {
    const socketPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-metrics-')), 'metrics.sock');
    const server = await serveMetrics({ enabled: true, port: socketPath, bindIP: '127.0.0.1' }, 0o660, () => 'x_total 2\n');
    try {
      assert.equal(server.address, socketPath);
      assert.equal(fs.statSync(socketPath).mode & 0o777, 0o660);
      assert.equal((await get({ socketPath }, '/metrics')).body, 'x_total 2\n');
    } finally {
      server.close();
    }
    assert.equal(fs.existsSync(socketPath), false);
  });
});

describe('metrics config', () => {
  const empty = path.join(repoRoot, 'test', 'fixtures', 'config', 'empty');
  const withOverrides = (overrides) => loadConfig({ projectRoot: empty, env: { ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify(overrides) } });

  it('is off by default, on 127.0.0.1:9464 when enabled', async () => {
    assert.deepEqual((await withOverrides({})).metrics, { enabled: false, port: 9464, bindIP: '127.0.0.1' });
    assert.deepEqual((await withOverrides({ metrics: { enabled: true, port: '/tmp/m.sock' } })).metrics, {
      enabled: true,
      port: '/tmp/m.sock',
      bindIP: '127.0.0.1',
    });
  });

  it('refuses a wrong type and an unknown key with a one-line error', async () => {
    await assert.rejects(withOverrides({ metrics: { enabled: 'yes' } }), /ACTIONHERO_CONFIG_OVERRIDES: metrics\.enabled must be true or false/);
    await assert.rejects(withOverrides({ metrics: { port: -1 } }), /metrics\.port must be a port number or a socket path/);
    await assert.rejects(withOverrides({ metrics: { prot: 9000 } }), /unknown key metrics\.prot, did you mean metrics\.port\?/);
  });
});
