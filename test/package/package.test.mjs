// The package as a user gets it: `npm pack`, the tarball installed into a fresh project (dependencies from the
// registry or npm's cache), `npx mycluster generate`, a web-only cluster started from node_modules/.bin, one
// request, a stop, and nothing left running. Also: only the public API is importable, and tsx (an optional
// peer) is not installed, so a .ts config file stops `start` with one line naming it.
// Run by `npm run test:package` (and .ci/run), not by `npm test`: the install takes a while.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { isAlive, readPid, repoRoot, spawnJsonLogged } from '../helpers/cluster.mjs';
import { freePort } from '../helpers/net.mjs';
import { waitFor } from '../helpers/wait.mjs';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Pids of processes whose command line (a mycluster master's title names its project) mentions `text`. */
function processesMentioning(text) {
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (fs.readFileSync(path.join('/proc', entry, 'cmdline'), 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

test('npm pack → install in a fresh project → generate → start → one request → stop, nothing left', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-package-'));
  const app = path.join(dir, 'app');
  let cluster;
  t.after(async () => {
    await cluster?.kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // The tarball: the built package, its LICENSE and templates; no sources or tests.
  const { stdout: packed } = await run(npm, ['pack', '--json', '--silent', '--pack-destination', dir], { cwd: repoRoot, timeout: 120_000 });
  const [{ filename, files }] = JSON.parse(packed);
  const paths = files.map((file) => file.path);
  for (const file of [
    'LICENSE',
    'README.md',
    'bin/mycluster',
    'dist/index.js',
    'dist/index.d.ts',
    'dist/worker/main.js',
    'templates/generate/public/index.html',
  ]) {
    assert.ok(paths.includes(file), `${file} missing from the tarball`);
  }
  assert.deepEqual(
    paths.filter((file) => /^(src|test|example|bench)\//.test(file)),
    [],
  );

  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'packaged-app', version: '1.0.0', private: true }));
  await run(npm, ['install', path.join(dir, filename), '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: app, timeout: 240_000 });
  assert.equal(fs.existsSync(path.join(app, 'node_modules', 'tsx')), false, 'tsx was installed: it should be an optional peer dependency');

  // Only the public API resolves.
  const { stdout: resolved } = await run(
    process.execPath,
    [
      '-e',
      `const api = require('mycluster');
       let internal;
       try { require('mycluster/dist/pids.js'); internal = 'loaded'; } catch (error) { internal = error.code; }
       process.stdout.write(JSON.stringify({ api: Object.keys(api).sort(), internal, version: require('mycluster/package.json').version }));`,
    ],
    { cwd: app, timeout: 20_000 },
  );
  const { api, internal, version } = JSON.parse(resolved);
  assert.deepEqual(api, ['defineAction', 'defineConfig', 'defineInitializer', 'defineTask', 'drainServer', 'drainSignal', 'trackConnections']);
  assert.equal(internal, 'ERR_PACKAGE_PATH_NOT_EXPORTED');
  assert.equal(version, JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version);

  const generated = await run('npx', ['--no', 'mycluster', 'generate'], { cwd: app, timeout: 30_000 });
  assert.match(generated.stdout, /^created config\/config\.js$/m);
  assert.match(generated.stdout, /\nNext steps:\n/);

  // Web only: no task processing, so no Redis is needed to serve.
  const port = await freePort();
  cluster = spawnJsonLogged(path.join(app, 'node_modules', '.bin', 'mycluster'), ['start', '--workers=1'], {
    cwd: app,
    env: { ACTIONHERO_ROLE: 'server', PORT: String(port), NODE_ENV: 'test', MYCLUSTER_LOG_FORMAT: 'json', PROJECT_ROOT: '', ACTIONHERO_ROOT: '' },
  });
  await cluster.waitForLine((line) => /cluster equilibrium state reached/.test(line.msg ?? ''), { what: 'cluster equilibrium', timeoutMs: 30_000 });
  const workerPid = readPid(path.join(app, 'pids', 'mycluster-worker-1'));
  assert.ok(workerPid && isAlive(workerPid), 'no live worker 1');

  const response = await fetch(`http://127.0.0.1:${port}/api/hello?name=Ada`, { signal: AbortSignal.timeout(10_000) });
  assert.equal(response.status, 200);
  assert.equal((await response.json()).message, 'hello Ada');

  process.kill(cluster.pid, 'SIGTERM');
  assert.deepEqual(await cluster.waitForExit(30_000), { code: 0, signal: null });
  await waitFor('the worker to be gone', () => !isAlive(workerPid), { timeoutMs: 10_000 });
  assert.deepEqual(processesMentioning(app), []);
  assert.equal(fs.existsSync(path.join(app, 'pids', 'cluster_pidfile')), false);

  // No tsx installed: a .ts config file is one line on stderr and exit 1, before anything starts.
  fs.writeFileSync(path.join(app, 'config', 'extra.ts'), 'export default { general: {} };\n');
  const typed = spawnJsonLogged(path.join(app, 'node_modules', '.bin', 'mycluster'), ['start', '--workers=1'], {
    cwd: app,
    env: { ACTIONHERO_ROLE: 'server', PORT: String(port), NODE_ENV: 'test', PROJECT_ROOT: '', ACTIONHERO_ROOT: '' },
  });
  try {
    assert.equal((await typed.waitForExit(30_000)).code, 1);
    assert.equal(typed.stderr.trim().split('\n').length, 1, typed.stderr);
    assert.match(typed.stderr, /config\/extra\.ts is TypeScript: install tsx \(npm install --save-dev tsx\) to load \.ts files/);
  } finally {
    await typed.kill();
  }
  assert.deepEqual(processesMentioning(app), []);
});
