// A real nginx in front of the cluster, configured from the generated nginx.conf (same upstream and proxy
// settings, over the production unix socket): zero failed requests (a 502 counts) through nginx during
// rolling reloads under keep-alive load.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { repoRoot, runMycluster, startMycluster } from '../helpers/cluster.mjs';
import { startLoad } from '../helpers/load.mjs';
import { freePort } from '../helpers/net.mjs';
import { nginxConfig, skipWithoutNginx, startNginx } from '../helpers/nginx.mjs';
import { sleep } from '../helpers/wait.mjs';

const require = createRequire(import.meta.url);
const { generate } = require(path.join(repoRoot, 'dist', 'commands', 'generate.js'));

const cleanups = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/**
 * A complete nginx config for the test around the generated site config: foreground, one worker, files
 * in `tmp`, listening on 127.0.0.1:<port> instead of the generated `listen` lines.
 */
function testNginxConfig(generated, { tmp, port }) {
  let listenReplaced = false;
  const site = generated
    .split('\n')
    .map((line) => {
      if (!/^\s*listen\s/.test(line)) return line;
      if (listenReplaced) return `  # (test) dropped: ${line.trim()}`;
      listenReplaced = true;
      return `  listen 127.0.0.1:${port};`;
    })
    .join('\n');
  assert.ok(listenReplaced, 'the generated nginx.conf has no listen line');
  return nginxConfig({ tmp, http: `  # ---- the generated nginx.conf ----\n${site}` });
}

test('zero failed requests through nginx (unix socket upstream) across 3 USR2 rolling reloads and 3 upgrades of the master', {
  skip: skipWithoutNginx,
}, async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-nginx-'));
  const project = path.join(tmp, 'app');
  await generate({ directory: project });
  // A slow action, so reloads happen with requests in flight on the old workers.
  fs.writeFileSync(
    path.join(project, 'actions', 'slow.js'),
    "module.exports = { name: 'slow', run: async ({ params }) => { await new Promise((r) => setTimeout(r, Number(params.ms || 20))); return { pid: process.pid }; } };\n",
  );
  fs.writeFileSync(
    path.join(project, 'actions', 'headers.js'),
    "module.exports = { name: 'headers', run: ({ connection }) => ({ headers: connection.headers }) };\n",
  );

  const generated = fs.readFileSync(path.join(project, 'nginx.conf'), 'utf8');
  const socketPath = path.join(project, 'pids', 'web.sock');
  assert.ok(generated.includes(`server unix:${socketPath};`), 'the generated upstream is not the production socket');

  const port = await freePort();
  const configFile = path.join(tmp, 'nginx-test.conf');
  fs.writeFileSync(configFile, testNginxConfig(generated, { tmp, port }));
  const nginx = await startNginx({ tmp, configFile, port });
  cleanups.push(() => nginx.stop());

  // The production config listens on pids/web.sock, the socket nginx.conf names. Tasks off: no Redis here.
  const cluster = startMycluster(['start', '--workers=2'], {
    cwd: project,
    env: { NODE_ENV: 'production', PORT: '', ACTIONHERO_ROLE: '', MIN_TASK_PROCESSORS: '0', MAX_TASK_PROCESSORS: '0', SCHEDULER: 'false' },
  });
  cleanups.push(() => cluster.kill());
  await cluster.waitForEquilibrium({ timeoutMs: 30_000 });
  assert.ok(fs.existsSync(socketPath), `the cluster does not listen on ${socketPath}`);

  const base = `http://127.0.0.1:${port}`;
  const hello = await fetch(`${base}/api/hello?name=Ada`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(hello.status, 200, `through nginx: ${hello.status} ${await hello.clone().text()}\n${nginx.errorLog()}`);
  assert.equal((await hello.json()).message, 'hello Ada');
  // The proxy headers of the generated config reach the app.
  const { headers } = await (await fetch(`${base}/api/headers`, { signal: AbortSignal.timeout(10_000) })).json();
  assert.equal(headers['x-forwarded-for'], '127.0.0.1');
  assert.equal(headers['x-forwarded-proto'], 'http');
  assert.equal(headers['x-real-ip'], '127.0.0.1');
  assert.equal(headers.connection, undefined); // empty Connection to the upstream: keep-alive

  const loads = [startLoad({ url: base, path: '/api/slow?ms=20', concurrency: 16 }), startLoad({ url: base, path: '/api/hello?name=load', concurrency: 4 })];
  const results = [];
  try {
    for (let round = 1; round <= 3; round += 1) {
      await sleep(300);
      const from = cluster.lines.length;
      process.kill(cluster.pid, 'SIGUSR2');
      await cluster.waitForLine((line) => /rolling reload #\d+ done/.test(line.msg ?? ''), { from, timeoutMs: 60_000, what: `rolling reload ${round} done` });
    }
    // Then the master itself, three times: each new master inherits the unix socket nginx connects to.
    for (let round = 1; round <= 3; round += 1) {
      await sleep(300);
      const upgraded = await runMycluster(['upgrade', '--pids', path.join(project, 'pids')], { cwd: project, timeoutMs: 60_000 });
      assert.equal(upgraded.code, 0, `upgrade ${round}: ${upgraded.stdout}${upgraded.stderr}`);
    }
    assert.ok(fs.existsSync(socketPath), `the socket ${socketPath} is gone after the upgrades`);
    await sleep(300);
  } finally {
    for (const load of loads) results.push(await load.stop());
  }
  const errors = results.flatMap((result) => result.errors);
  const failed = results.reduce((sum, result) => sum + result.failed, 0);
  const ok = results.reduce((sum, result) => sum + result.ok, 0);
  const sent = results.reduce((sum, result) => sum + result.sent, 0);
  assert.deepEqual(errors.slice(0, 20), [], `${failed} of ${sent} requests failed through nginx; nginx error log:\n${nginx.errorLog().slice(-3000)}`);
  assert.equal(failed, 0);
  assert.ok(ok > 100, `only ${ok} requests answered`);

  process.kill(cluster.pid, 'SIGTERM');
  assert.equal((await cluster.waitForExit(30_000)).code, 0);
});
