// The README's path: the example app starts as a cluster and answers, without Redis, then stops cleanly.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { repoRoot, startMycluster } from '../helpers/cluster.mjs';
import { freePort } from '../helpers/net.mjs';

const started = [];
after(async () => {
  for (const cluster of started) await cluster.kill();
});

test('the example app runs as a cluster of 2 and serves /api/time and its public page', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-example-'));
  fs.cpSync(path.join(repoRoot, 'example'), dir, { recursive: true, filter: (source) => !source.includes(`${path.sep}pids${path.sep}`) });
  const port = await freePort();
  // Redis is not running: the web side serves regardless, the task side waits for it.
  const cluster = startMycluster(['start', '--workers=2'], {
    cwd: dir,
    env: { PORT: String(port), NODE_ENV: 'development', REDIS_URL: `redis://127.0.0.1:${await freePort()}` },
  });
  started.push(cluster);
  await cluster.waitForEquilibrium();
  const time = await fetch(`http://127.0.0.1:${port}/api/time`);
  assert.equal(time.status, 200);
  assert.ok((await time.json()).now);
  const page = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /mycluster example/);
  process.kill(cluster.pid, 'SIGTERM');
  assert.equal((await cluster.waitForExit()).code, 0);
});
