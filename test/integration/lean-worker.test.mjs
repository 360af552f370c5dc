// A worker loads what its role and its app use: a web-only worker of the example app (ACTIONHERO_ROLE=server)
// has loaded no Redis client, no task queue, no static-file server and no TypeScript loader when it is
// ready; static files still work (loaded by the first one served), and the spare has them loaded already.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fixtures, repoRoot, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { freePort } from '../helpers/net.mjs';
import { waitFor } from '../helpers/wait.mjs';

const started = [];
after(async () => {
  for (const cluster of started) await cluster.kill();
});

const LAZY_PACKAGES = ['ioredis', 'node-resque', 'send', 'mime-types', 'mime-db', 'tsx'];

test('a web-only worker is ready without Redis, task, static-file or TypeScript packages; its spare has static files loaded', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-lean-'));
  fs.cpSync(path.join(repoRoot, 'example'), dir, { recursive: true, filter: (source) => !source.includes(`${path.sep}pids${path.sep}`) });
  const reports = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-lean-packages-'));
  const report = (pid) => JSON.parse(fs.readFileSync(path.join(reports, `${pid}.json`), 'utf8'));
  const port = await freePort();
  const cluster = startMycluster(['start', '--workers=1'], {
    cwd: dir,
    env: {
      ACTIONHERO_ROLE: 'server',
      NODE_ENV: 'development',
      PORT: String(port),
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      NODE_OPTIONS: `--require ${path.join(fixtures, 'hooks', 'loaded-packages.cjs')}`,
      LOADED_PACKAGES_DIR: reports,
    },
  });
  started.push(cluster);
  await cluster.waitForEquilibrium();
  const [worker] = slotPids(dir, 1);
  const ready = report(worker);
  assert.equal(ready.type, 'ready');
  assert.deepEqual(
    LAZY_PACKAGES.filter((name) => ready.packages.includes(name)),
    [],
  );

  const page = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /mycluster example/);

  const spare = await waitFor('the spare to stand by', () =>
    fs
      .readdirSync(reports)
      .map((file) => report(file.replace('.json', '')))
      .find((entry) => entry.type === 'spare-ready'),
  );
  assert.ok(spare.packages.includes('send'), `the spare has loaded send: ${spare.packages}`);
  assert.ok(!spare.packages.includes('ioredis'));

  process.kill(cluster.pid, 'SIGTERM');
  assert.equal((await cluster.waitForExit()).code, 0);
});
