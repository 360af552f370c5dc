// Two Procfile lines from one checkout, in-process: the single process's pidfile id, the pid folder of a
// second cluster (start --pids) and how the control commands find it, a Ctrl-C passed on by the runner,
// and the watch on a runner that goes away without stopping its lines.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { locateCluster } from '../../dist/commands/locate.js';
import { loadConfigWithSources } from '../../dist/config/index.js';
import { Interrupts } from '../../dist/shared/interrupts.js';
import { procfileProcessName, watchProcfileRunner } from '../../dist/shared/procfile-runner.js';
import { processId } from '../../dist/worker/standalone.js';

const tempDirs = [];
const tempDir = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-procfile-unit-'));
  tempDirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

test("a single process's id: the title, else the runner's process name, else the host and the pid", () => {
  assert.equal(processId('api', { PS: 'web.1' }), 'api');
  assert.equal(processId(undefined, { PS: 'web.1' }), 'web.1', 'Ruby foreman');
  assert.equal(processId(undefined, { FOREMAN_WORKER_NAME: 'worker.1' }), 'worker.1', 'node-foreman');
  assert.equal(processId(undefined, { DYNO: 'run.4/2' }), 'run.4_2', 'Heroku; made safe for a file name');
  assert.equal(procfileProcessName({}), undefined);
  // No title and no runner name: two processes in one checkout still get two pidfiles.
  const first = processId(undefined, {}, 4711);
  const second = processId(undefined, {}, 4712);
  assert.match(first, /^.+-4711$/);
  assert.notEqual(first, second);
});

test('start --pids (MYCLUSTER_PIDS) sets the pid folder over the config files and ACTIONHERO_CONFIG_OVERRIDES', async () => {
  const root = tempDir();
  fs.mkdirSync(path.join(root, 'config'));
  fs.writeFileSync(path.join(root, 'config', 'config.js'), "exports.default = { general: { paths: { pid: 'run' } } };\n");
  const overrides = JSON.stringify({ general: { paths: { pid: 'elsewhere' } } });
  const plain = await loadConfigWithSources({ projectRoot: root, env: { ACTIONHERO_CONFIG_OVERRIDES: overrides } });
  assert.equal(plain.config.general.paths.pid, path.join(root, 'elsewhere'));
  const loaded = await loadConfigWithSources({ projectRoot: root, env: { ACTIONHERO_CONFIG_OVERRIDES: overrides, MYCLUSTER_PIDS: 'pids/worker' } });
  assert.equal(loaded.config.general.paths.pid, path.join(root, 'pids', 'worker'));
  assert.equal(loaded.sources.sourceOf('general.paths.pid'), 'start --pids (MYCLUSTER_PIDS)');
});

test('the control commands, finding no cluster in the pid folder, name the folders below it where one runs', async () => {
  const pids = tempDir();
  fs.mkdirSync(path.join(pids, 'worker'));
  fs.writeFileSync(path.join(pids, 'worker', 'cluster_pidfile'), `${process.pid}\n`);
  fs.mkdirSync(path.join(pids, 'stale'));
  fs.writeFileSync(path.join(pids, 'stale', 'cluster_pidfile'), '999999999\n');
  await assert.rejects(locateCluster({ pids }), {
    message: `no cluster is running: no live pid in ${path.join(pids, 'cluster_pidfile')} (--pids); pass --pids ${path.join(pids, 'worker')}`,
  });
  assert.deepEqual(await locateCluster({ pids: path.join(pids, 'worker') }), { pidFolder: path.join(pids, 'worker'), masterPid: process.pid });
});

test('an INT within 1 s of the first is a copy of it; a later one is a second Ctrl-C', () => {
  const interrupts = new Interrupts();
  assert.equal(interrupts.next(10_000), 'stop');
  assert.equal(interrupts.next(10_002), 'copy');
  assert.equal(interrupts.next(10_999), 'copy');
  assert.equal(interrupts.next(11_000), 'force');
});

test('a line started by a Procfile runner stops once when its parent changes; elsewhere nothing is watched', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  assert.equal(
    watchProcfileRunner(() => assert.fail('not watched'), { env: {}, parentPid: () => 1 }),
    undefined,
  );
  for (const env of [{ PS: 'web.1' }, { FOREMAN_WORKER_NAME: 'web.1' }]) {
    let parent = 4711;
    const gone = [];
    const unwatch = watchProcfileRunner((pid) => gone.push(pid), { env, parentPid: () => parent, intervalMs: 1_000 });
    t.mock.timers.tick(5_000);
    assert.deepEqual(gone, [], 'the runner is still there');
    parent = 1;
    t.mock.timers.tick(1_000);
    parent = 4711;
    t.mock.timers.tick(5_000);
    assert.deepEqual(gone, [4711], 'told once, with the runner pid');
    unwatch();
  }
});
