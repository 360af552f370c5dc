// Several hosts behind a load balancer, on loopback: two clusters (two project roots, two ports) behind a
// real nginx upstream, under keep-alive load through nginx. A reload of each, one cluster SIGKILLed whole
// and started again, and a stop with cluster.unreadyBeforeStop: zero failed requests at the client. Also
// unreadyBeforeStop on its own (single process and cluster) and a Redis Cluster config refused at start.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { childPids, copyFixture, isAlive, reloadDone, runMycluster, startMycluster } from '../helpers/cluster.mjs';
import { startLoad } from '../helpers/load.mjs';
import { freePort } from '../helpers/net.mjs';
import { nginxConfig, skipWithoutNginx, startNginx } from '../helpers/nginx.mjs';
import { sleep, waitFor } from '../helpers/wait.mjs';

// Long enough for every check below to run within it on a loaded machine: after it, the workers drain and
// refuse new connections.
const UNREADY_MS = 5_000;

const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A copy of the web-only fixture app whose stop announces itself for UNREADY_MS first. */
function hostRoot() {
  const root = copyFixture('http-app');
  fs.writeFileSync(path.join(root, 'config', 'zz-multi-host.js'), `exports.default = { cluster: { unreadyBeforeStop: ${UNREADY_MS}, spareWorker: false } };\n`);
  return root;
}

/** Start mycluster in `root` on `port`; killed (every pid it had) in `after`. */
function startHost(root, port, args) {
  const host = startMycluster(args, { cwd: root, env: { PORT: String(port) } });
  cleanups.push(() => host.kill());
  return host;
}

async function get(port, urlPath) {
  const response = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(5_000), headers: { connection: 'close' } });
  return { status: response.status, body: await response.json() };
}

/** The status action's answer once it is 503: the master logs its unready line as it tells the workers, who hear it a moment later. */
function statusWhenUnready(port) {
  return waitFor(
    'status 503',
    async () => {
      const answer = await get(port, '/api/status');
      return answer.status === 503 ? answer : null;
    },
    { timeoutMs: UNREADY_MS / 2, intervalMs: 20 },
  );
}

/**
 * TERM, then: the status action answers 503 "stopping" (`checks` times, on fresh connections, so every
 * worker of a cluster is likely asked) while another action answers 200; then the process exits 0.
 */
async function assertUnreadyThenExit(host, port, { checks }) {
  const from = host.lines.length;
  process.kill(host.pid, 'SIGTERM');
  await host.waitForLine((line) => /status answers 503 for \d+ ms, then drain/.test(line.msg ?? ''), { from, what: 'the unready line' });
  for (let check = 0; check < checks; check += 1) {
    const status = await statusWhenUnready(port);
    assert.equal(status.status, 503, JSON.stringify(status.body));
    assert.equal(status.body.status, 'stopping');
    assert.equal(status.body.reason, 'SIGTERM');
    const other = await get(port, '/api/slow');
    assert.equal(other.status, 200, 'another action is still served');
  }
  const exit = await host.waitForExit(20_000);
  assert.deepEqual(exit, { code: 0, signal: null });
}

test('unreadyBeforeStop in a single process: status 503 "stopping" while another action is 200, then exit 0', async () => {
  const root = hostRoot();
  const port = await freePort();
  const host = startHost(root, port, ['start']);
  await host.waitForLine((line) => /ready \(pid \d+\)/.test(line.msg ?? ''), { what: 'the process ready' });
  assert.equal((await get(port, '/api/status')).status, 200);
  await assertUnreadyThenExit(host, port, { checks: 2 });
  assert.deepEqual(
    fs.readdirSync(path.join(root, 'pids')).filter((name) => name.startsWith('mycluster-')),
    [],
    'the pidfile is removed',
  );
});

test('unreadyBeforeStop in cluster mode: every worker answers status 503 "stopping", serves the rest, then the cluster exits 0', async () => {
  const root = hostRoot();
  const port = await freePort();
  const host = startHost(root, port, ['start', '--workers=2']);
  await host.waitForEquilibrium();
  await assertUnreadyThenExit(host, port, { checks: 4 });
  const unready = host.lines.findIndex((line) => /status answers 503/.test(line.msg ?? ''));
  const draining = host.lines.findIndex((line) => /draining 2 workers/.test(line.msg ?? ''));
  assert.ok(unready >= 0 && draining > unready, 'the master drains after the unready period');
});

test('a Redis Cluster config is refused at start with one line naming the key and the reason, exit 1', async () => {
  const root = copyFixture('http-app');
  const result = await runMycluster(['start', '--workers=2'], {
    cwd: root,
    env: { ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ redis: { clusterNodes: [{ host: '127.0.0.1', port: 7000 }] } }) },
  });
  assert.equal(result.code, 1);
  assert.match(
    result.stderr,
    /^mycluster: ACTIONHERO_CONFIG_OVERRIDES: redis\.clusterNodes: Redis Cluster is not supported: .*\(node-resque #786\); use one Redis master, with redis\.sentinels for failover\n$/,
  );
  assert.equal(fs.existsSync(path.join(root, 'pids', 'cluster_pidfile')), false);
});

test('two clusters behind nginx: reloads, one SIGKILLed whole and restarted, a stop with unreadyBeforeStop; 0 failed requests', {
  skip: skipWithoutNginx,
}, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-multi-host-'));
  const [portA, portB, nginxPort] = [await freePort(), await freePort(), await freePort()];
  const [rootA, rootB] = [hostRoot(), hostRoot()];
  let hostA = startHost(rootA, portA, ['start', '--workers=2']);
  const hostB = startHost(rootB, portB, ['start', '--workers=2']);

  // Idempotent GETs that meet a dead or refusing host are retried on the other; a host that failed is
  // tried again after 1 s. Keep-alive to the upstreams, as in production.
  const configFile = path.join(tmp, 'nginx.conf');
  fs.writeFileSync(
    configFile,
    nginxConfig({
      tmp,
      http: `
  upstream hosts {
    server 127.0.0.1:${portA} max_fails=1 fail_timeout=1s;
    server 127.0.0.1:${portB} max_fails=1 fail_timeout=1s;
    keepalive 16;
    keepalive_timeout 4s;
  }
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://hosts;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 3;
      proxy_next_upstream_timeout 10s;
      proxy_connect_timeout 2s;
      proxy_read_timeout 10s;
    }
  }`,
    }),
  );
  const nginx = await startNginx({ tmp, configFile, port: nginxPort });
  cleanups.push(() => nginx.stop());
  await Promise.all([hostA.waitForEquilibrium(), hostB.waitForEquilibrium()]);

  const base = `http://127.0.0.1:${nginxPort}`;
  /** The pid that answered a request through nginx. */
  const answeredBy = async () => {
    const response = await fetch(`${base}/api/slow?ms=1`, { signal: AbortSignal.timeout(5_000) });
    assert.equal(response.status, 200);
    return (await response.json()).pid;
  };

  const load = startLoad({ url: base, path: '/api/slow?ms=20', concurrency: 8 });
  let result;
  try {
    await sleep(300);
    for (const host of [hostA, hostB]) {
      const from = host.lines.length;
      process.kill(host.pid, 'SIGUSR2');
      await host.waitForLine(reloadDone, { from, timeoutMs: 30_000, what: 'rolling reload done' });
    }

    // Host A dies whole (master and workers at once, as a host crash would), then comes back.
    const killed = [hostA.pid, ...childPids(hostA.pid)];
    for (const pid of killed) process.kill(pid, 'SIGKILL');
    await waitFor('host A gone', () => killed.every((pid) => !isAlive(pid)), { timeoutMs: 5_000 });
    await sleep(300);
    hostA = startHost(rootA, portA, ['start', '--workers=2']);
    await hostA.waitForEquilibrium();
    const workersA = childPids(hostA.pid);
    await waitFor('nginx to send traffic to host A again', async () => workersA.includes(await answeredBy()), { timeoutMs: 10_000 });

    // Host B stops with unreadyBeforeStop: its status action says 503 while it still serves everything else.
    const from = hostB.lines.length;
    process.kill(hostB.pid, 'SIGTERM');
    await hostB.waitForLine((line) => /status answers 503 for \d+ ms/.test(line.msg ?? ''), { from, what: 'host B unready' });
    const status = await statusWhenUnready(portB);
    assert.equal(status.body.status, 'stopping');
    assert.equal((await get(portB, '/api/slow')).status, 200);
    assert.deepEqual(await hostB.waitForExit(20_000), { code: 0, signal: null });
    await sleep(300);
  } finally {
    result = await load.stop();
  }
  assert.deepEqual(
    result.errors.slice(0, 20),
    [],
    `${result.failed} of ${result.sent} requests failed through nginx; nginx error log:\n${nginx.errorLog().slice(-3000)}`,
  );
  assert.equal(result.failed, 0);
  assert.ok(result.ok > 100, `only ${result.ok} requests answered`);

  process.kill(hostA.pid, 'SIGTERM');
  assert.equal((await hostA.waitForExit(20_000)).code, 0);
});
