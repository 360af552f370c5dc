// cluster.unreadyBeforeStop in-process: the arbiter's stop (status 503 first, the drain and its kill timer
// after), the status action while stopping, the config key, and a Redis Cluster config refused with its reason.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../dist/config/index.js';
import { ConfigError } from '../../dist/errors.js';
import { statusAction } from '../../dist/runtime/web/status-action.js';
import { startArbiter } from '../helpers/fake-worker.mjs';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'config');
const withOverrides = (overrides) => loadConfig({ projectRoot: path.join(fixtures, 'empty'), env: { ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify(overrides) } });

async function readyCluster(t, cluster) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
  const c = startArbiter({ workers: 2, cluster });
  t.after(() => c.cleanup());
  await c.settle();
  c.readyAll();
  await c.settle();
  assert.equal(c.state().equilibrium, true);
  return c;
}

describe('the arbiter with cluster.unreadyBeforeStop', () => {
  for (const signal of ['SIGTERM', 'SIGINT']) {
    it(`on ${signal} tells every worker to go unready at once, and drains only once the period is over`, async (t) => {
      const c = await readyCluster(t, { unreadyBeforeStop: 3_000 });
      c.signal(signal);
      await c.settle();
      for (const worker of c.forks) assert.deepEqual(worker.received, [{ mycluster: 1, type: 'unready', reason: signal }]);
      assert.equal(c.state().stopping, true);
      t.mock.timers.tick(2_999);
      await c.settle();
      assert.deepEqual(
        c.forks.map((worker) => worker.receivedTypes()),
        [['unready'], ['unready']],
        'no stop before the period is over',
      );
      t.mock.timers.tick(1);
      await c.settle();
      assert.deepEqual(
        c.forks.map((worker) => worker.receivedTypes()),
        [
          ['unready', 'stop'],
          ['unready', 'stop'],
        ],
      );
      assert.deepEqual(c.exits, [0]);
      assert.equal(c.forks.length, 2, 'nothing was forked while stopping');
    });
  }

  it('starts the stopTimeout kill timer after the unready period, not at the signal', async (t) => {
    const c = await readyCluster(t, { unreadyBeforeStop: 3_000, stopTimeout: 2_000 });
    for (const worker of c.forks) worker.ignoresStop = true;
    c.signal('SIGTERM');
    await c.settle();
    t.mock.timers.tick(3_000);
    await c.settle();
    t.mock.timers.tick(1_999);
    await c.settle();
    assert.deepEqual(
      c.forks.map((worker) => worker.signals),
      [[], []],
      'nobody killed 2 s after the signal, nor 1.999 s into the drain',
    );
    t.mock.timers.tick(1);
    await c.settle();
    assert.deepEqual(
      c.forks.map((worker) => worker.signals),
      [['SIGKILL'], ['SIGKILL']],
    );
    assert.deepEqual(c.exits, [0]);
  });

  it('a second SIGINT during the unready period kills every worker at once and exits 1', async (t) => {
    const c = await readyCluster(t, { unreadyBeforeStop: 10_000 });
    c.signal('SIGINT');
    await c.settle();
    // A second press, not a Procfile runner's copy of the first (those arrive within a second).
    t.mock.timers.tick(1_100);
    c.signal('SIGINT');
    await c.settle();
    assert.deepEqual(
      c.forks.map((worker) => worker.signals),
      [['SIGKILL'], ['SIGKILL']],
    );
    assert.deepEqual(c.exits, [1]);
    t.mock.timers.tick(10_000);
    await c.settle();
    assert.deepEqual(
      c.forks.map((worker) => worker.receivedTypes()),
      [['unready'], ['unready']],
      'no stop sent after the kill',
    );
  });

  it('a rolling reload does not use it: the old workers are stopped at once, never told to go unready', async (t) => {
    const c = await readyCluster(t, { unreadyBeforeStop: 3_000 });
    const [old1, old2] = c.forks;
    c.signal('SIGUSR2');
    for (let round = 0; round < 6; round += 1) {
      await c.settle();
      c.readyAll();
    }
    await c.settle();
    assert.equal(c.state().lastReload.ok, true);
    assert.deepEqual(old1.receivedTypes(), ['stop']);
    assert.deepEqual(old2.receivedTypes(), ['stop']);
  });

  it('is off by default: TERM drains at once', async (t) => {
    const c = await readyCluster(t, {});
    c.signal('SIGTERM');
    await c.settle();
    assert.deepEqual(
      c.forks.map((worker) => worker.receivedTypes()),
      [['stop'], ['stop']],
    );
    assert.deepEqual(c.exits, [0]);
  });
});

test('the status action answers 503 "stopping" with the reason once the stop is announced, without asking Redis', async () => {
  let stopping = null;
  let reports = 0;
  const action = statusAction(
    async () => {
      reports += 1;
      return {};
    },
    () => stopping,
  );
  const call = async () => {
    let status = 200;
    const body = await action.run({ role: 'server', workerSlot: 1, connection: { setStatus: (code) => (status = code) } });
    return { status, body };
  };
  const before = await call();
  assert.equal(before.status, 200);
  assert.equal(before.body.status, 'ok');
  stopping = 'SIGTERM';
  const after = await call();
  assert.equal(after.status, 503);
  assert.equal(after.body.status, 'stopping');
  assert.equal(after.body.reason, 'SIGTERM');
  assert.equal(after.body.workerSlot, 1);
  assert.equal(reports, 1, 'no Redis report while stopping');
});

describe('config', () => {
  it('cluster.unreadyBeforeStop defaults to 0 and takes a duration in ms', async () => {
    assert.equal((await withOverrides({})).cluster.unreadyBeforeStop, 0);
    assert.equal((await withOverrides({ cluster: { unreadyBeforeStop: 5_000 } })).cluster.unreadyBeforeStop, 5_000);
    await assert.rejects(withOverrides({ cluster: { unreadyBeforeStop: -1 } }), {
      message: /^ACTIONHERO_CONFIG_OVERRIDES: cluster\.unreadyBeforeStop must be a whole number of milliseconds from 0 to \d+, got -1 \(number\)$/,
    });
  });

  for (const [key, value] of [
    ['cluster', true],
    ['nodes', [{ host: 'redis-1', port: 7000 }]],
    ['clusterNodes', [{ host: 'redis-1', port: 7000 }]],
    ['startupNodes', ['redis://redis-1:7000']],
  ]) {
    it(`refuses a Redis Cluster config (redis.${key}) with the reason, not as an unknown key`, async () => {
      await assert.rejects(withOverrides({ redis: { [key]: value } }), (error) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.key, `redis.${key}`);
        assert.equal(error.file, 'ACTIONHERO_CONFIG_OVERRIDES');
        assert.match(
          error.message,
          new RegExp(`^ACTIONHERO_CONFIG_OVERRIDES: redis\\.${key}: Redis Cluster is not supported: .*can lose a job \\(node-resque #786\\)`),
        );
        assert.doesNotMatch(error.message, /unknown key|\n/);
        return true;
      });
    });
  }
});
