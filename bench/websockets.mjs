// `node bench/websockets.mjs [stopTimeoutMs]`: how long a rolling reload of a 2-worker cluster takes with 20
// busy websockets open (test/fixtures/websocket-app: Express and `ws` on one http.Server, drained with
// drainServer in its initializer's stop()), how long each old worker took to drain, and the close code each
// client saw. Nothing is asserted.
import fs from 'node:fs';
import path from 'node:path';
import { copyFixture, reloadDone, repoRoot, startMycluster } from '../test/helpers/cluster.mjs';
import { freePort } from '../test/helpers/net.mjs';
import { sleep, within } from '../test/helpers/wait.mjs';
import { openWebsockets, terminateWebsockets } from '../test/helpers/websockets.mjs';

const stopTimeout = Number(process.argv[2] ?? 15_000);
const dir = copyFixture('websocket-app');
fs.mkdirSync(path.join(dir, 'node_modules'));
for (const name of ['express', 'ws']) fs.symlinkSync(path.join(repoRoot, 'node_modules', name), path.join(dir, 'node_modules', name), 'dir');
fs.symlinkSync(repoRoot, path.join(dir, 'node_modules', 'mycluster'), 'dir');

const port = await freePort();
const cluster = startMycluster(['start', '--workers=2'], {
  cwd: dir,
  env: { OWN_SERVER_PORT: String(port), ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ cluster: { stopTimeout } }) },
});
let clients;
try {
  await cluster.waitForEquilibrium({ timeoutMs: 30_000 });
  clients = await openWebsockets(`ws://127.0.0.1:${port}`, 20, { intervalMs: 20 });
  await sleep(500);
  const from = cluster.lines.length;
  process.kill(cluster.pid, 'SIGUSR2');
  const done = await cluster.waitForLine(reloadDone, { from, timeoutMs: stopTimeout + 30_000 });
  const closes = await within(10_000, 'every websocket to close', Promise.all(clients.map((client) => client.closed)));
  const codes = {};
  for (const { code } of closes) codes[code] = (codes[code] ?? 0) + 1;
  // Each old worker's drain: from its "stopping" line to the master's line about its exit.
  const lines = cluster.lines.slice(from);
  const drainsMs = lines
    .filter((line) => /^stopping: replaced/.test(line.msg ?? ''))
    .map(
      (stopping) =>
        lines.find((line) => line.pid === cluster.pid && new RegExp(`\\(pid ${stopping.pid}\\) (stopped|killed)`).test(line.msg ?? ''))?.time - stopping.time,
    );
  console.log(JSON.stringify({ stopTimeout, reload: done.msg, oldWorkerDrainsMs: drainsMs, closeCodes: codes }));
} finally {
  terminateWebsockets(clients);
  await cluster.kill();
  fs.rmSync(dir, { recursive: true, force: true });
}
