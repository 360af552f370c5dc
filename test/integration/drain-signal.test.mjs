// drainSignal() imported by the app itself (`require('mycluster')`) hears of the worker's drain, although the
// worker runs mycluster as one bundled file and the app's import is another copy of the drain module.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { copyFixture, repoRoot, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { freePort } from '../helpers/net.mjs';
import { within } from '../helpers/wait.mjs';

const started = [];
after(async () => {
  for (const cluster of started) await cluster.kill();
});

test("a long poll using the app's own drainSignal is answered when a reload drains its worker, not cut at stopTimeout", async () => {
  const dir = copyFixture('long-poll-app');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(repoRoot, path.join(dir, 'node_modules', 'mycluster'), 'dir');
  const port = await freePort();
  const cluster = startMycluster(['start', '--workers=1'], { cwd: dir, env: { PORT: String(port) } });
  started.push(cluster);
  await cluster.waitForEquilibrium();
  const [worker] = slotPids(dir, 1);

  const response = await fetch(`http://127.0.0.1:${port}/poll`);
  assert.equal(response.status, 200);
  const from = cluster.lines.length;
  process.kill(cluster.pid, 'SIGUSR2');
  const body = await within(10_000, 'the long poll to be answered', response.text());
  assert.equal(body, `drained by ${worker}`);
  // The old worker exited by itself once drained: not killed at stopTimeout.
  const exited = await cluster.waitForLine((line) => line.workerPid === worker && line.code !== undefined, { from, what: 'the old worker to exit' });
  assert.deepEqual({ code: exited.code, signal: exited.signal }, { code: 0, signal: null }, exited.msg);
  await cluster.waitForLine((line) => /rolling reload #1 done/.test(line.msg ?? ''), { from, what: 'the reload to finish' });
});
