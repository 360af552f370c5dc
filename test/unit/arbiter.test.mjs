import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startArbiter } from '../helpers/fake-worker.mjs';

// The arbiter's decisions, in-process: fake forks (EventEmitters), signals delivered in-process, and
// node:test's fake clock for setTimeout/setInterval/Date. Ticks run on real setImmediate (`settle`).

const EXIT_BOOT_FAILED = 3;

/** A cluster with every first worker ready (equilibrium), under a fake clock. */
async function readyCluster(t, options) {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
  const c = startArbiter(options);
  t.after(() => c.cleanup());
  await c.settle();
  c.readyAll();
  await c.settle();
  assert.equal(c.state().equilibrium, true, 'the cluster reached equilibrium');
  return c;
}

/** Ready every replacement as it boots until no reload runs or is queued. */
async function completeReloads(c) {
  for (let round = 0; round < 20 && (c.state().reload || c.state().reloadQueued); round += 1) {
    c.readyAll();
    await c.settle();
  }
  assert.equal(c.state().reload, null, 'every reload finished');
}

const current = (c, slot) => c.state().slots.find((entry) => entry.slot === slot)?.worker ?? null;
const last = (list) => list[list.length - 1];

test('starts one worker per slot, writes their pidfiles, and reaches equilibrium once all are ready', async (t) => {
  const c = await readyCluster(t, { workers: 3 });
  assert.deepEqual(
    [1, 2, 3].map((slot) => c.forksFor(slot).length),
    [1, 1, 1],
  );
  for (const slot of [1, 2, 3]) {
    assert.equal(c.pidfile(slot), c.forksFor(slot)[0].pid);
    assert.equal(current(c, slot).state, 'ready');
  }
  assert.equal(c.logged('cluster equilibrium state reached with 3 workers').length, 1);
});

test('crash restarts back off 0, min, doubling up to max, and start over after a worker stayed up resetAfter', async (t) => {
  const c = await readyCluster(t, { workers: 1 });
  const delays = [];
  for (let crash = 0; crash < 6; crash += 1) {
    const forksBefore = c.forksFor(1).length;
    last(c.forksFor(1)).exit(1);
    await c.settle();
    const delay = last(c.logged('restarting in')).restartInMs;
    delays.push(delay);
    if (delay > 0) {
      assert.equal(c.forksFor(1).length, forksBefore, 'no restart before the backoff delay');
      t.mock.timers.tick(delay);
      await c.settle();
    }
    assert.equal(c.forksFor(1).length, forksBefore + 1, 'restarted once the delay passed');
    c.readyAll();
    await c.settle();
  }
  assert.deepEqual(delays, [0, 100, 200, 400, 800, 1_000]);

  t.mock.timers.tick(5_000);
  last(c.forksFor(1)).exit(1);
  await c.settle();
  assert.equal(last(c.logged('restarting in')).restartInMs, 0, 'the count started over');
  assert.equal(c.forksFor(1).length, 8);
  assert.equal(c.state().slots[0].restarts, 7);
});

test('a rolling reload replaces slot after slot, each replacement ready before the old worker is asked to stop', async (t) => {
  const c = await readyCluster(t, { workers: 2 });
  const [old1, old2] = [c.forksFor(1)[0], c.forksFor(2)[0]];
  c.signal('SIGUSR2');
  await c.settle();
  assert.equal(c.forksFor(1).length, 2, 'slot 1 has a replacement');
  assert.equal(c.forksFor(2).length, 1, 'slot 2 waits its turn');
  assert.deepEqual(c.state().reload.remaining, [2]);
  assert.equal(c.pidfile(1), old1.pid, 'the old worker serves until its replacement is ready');
  assert.deepEqual(old1.receivedTypes(), []);

  const new1 = c.forksFor(1)[1];
  new1.ready();
  await c.settle();
  assert.equal(c.pidfile(1), new1.pid);
  assert.equal(old1.received[0].type, 'stop');
  assert.equal(old1.received[0].reason, `replaced by pid ${new1.pid} (reload #1)`);
  assert.equal(old1.received[0].restart, true, 'a replaced worker tells its websocket clients 1012 Service Restart');
  assert.equal(c.forksFor(2).length, 2, 'slot 2 boots once the old slot-1 worker is gone');

  c.forksFor(2)[1].ready();
  await c.settle();
  assert.equal(old2.received[0].type, 'stop');
  const state = c.state();
  assert.equal(state.reload, null);
  assert.equal(state.lastReload.ok, true);
  assert.equal(state.lastReload.reason, 'SIGUSR2');
  assert.deepEqual(
    state.slots.map((slot) => slot.worker.pid),
    [new1.pid, c.forksFor(2)[1].pid],
  );
  assert.equal(c.logged('rolling reload #1 done').length, 1);
});

test('a replacement that exits before ready aborts the reload and the old workers keep serving', async (t) => {
  const c = await readyCluster(t, { workers: 2 });
  const olds = [c.forksFor(1)[0].pid, c.forksFor(2)[0].pid];
  c.signal('SIGUSR2');
  await c.settle();
  const replacement = c.forksFor(1)[1];
  replacement.tell('boot-failed', { error: 'config/web.js: SyntaxError' });
  replacement.exit(EXIT_BOOT_FAILED);
  await c.settle();
  t.mock.timers.tick(10_000);
  await c.settle();

  const state = c.state();
  assert.equal(state.reload, null);
  assert.equal(state.lastReload.ok, false);
  assert.equal(state.lastReload.error, 'worker #1 failed to boot: boot failed (config/web.js: SyntaxError)');
  assert.deepEqual(
    state.slots.map((slot) => slot.worker.pid),
    olds,
  );
  assert.equal(c.forksFor(2).length, 1, 'slot 2 was never replaced');
  assert.deepEqual([c.pidfile(1), c.pidfile(2)], olds);
  assert.equal(c.exits.length, 0, 'the cluster keeps running');
  assert.equal(c.logged('rolling reload #1 aborted').length, 1);
});

test('a replacement not ready within readyTimeout is killed and the reload aborted', async (t) => {
  const c = await readyCluster(t, { workers: 2, cluster: { readyTimeout: 4_000 } });
  c.signal('SIGUSR2');
  await c.settle();
  const replacement = c.forksFor(1)[1];
  t.mock.timers.tick(3_999);
  await c.settle();
  assert.deepEqual(replacement.signals, []);
  t.mock.timers.tick(1);
  await c.settle();
  assert.deepEqual(replacement.signals, ['SIGKILL']);
  const { lastReload } = c.state();
  assert.equal(lastReload.ok, false);
  assert.equal(lastReload.error, 'worker #1 failed to boot: not ready within readyTimeout (4000 ms)');
  assert.equal(current(c, 1).pid, c.forksFor(1)[0].pid);
  assert.deepEqual(c.forksFor(1)[0].signals, []);
});

test('a reload starts a slot that waits out its crash backoff at once, from the new code', async (t) => {
  const c = await readyCluster(t, { workers: 2 });
  c.forksFor(2)[0].exit(EXIT_BOOT_FAILED);
  await c.settle();
  assert.equal(last(c.logged('retrying in')).restartInMs, 1_000);
  c.signal('SIGUSR2');
  await c.settle();
  c.forksFor(1)[1].ready();
  await c.settle();
  assert.equal(c.forksFor(2).length, 2, 'slot 2 started without waiting for its backoff');
  const slot2 = c.state().slots[1];
  assert.equal(slot2.worker.pid, c.forksFor(2)[1].pid);
  assert.equal(slot2.replacement, null);
  assert.equal(c.state().lastReload.ok, true);
});

test('USR2 during a reload queues exactly one more reload, however many arrive', async (t) => {
  const c = await readyCluster(t, { workers: 2 });
  c.signal('SIGUSR2');
  await c.settle();
  c.signal('SIGUSR2');
  c.signal('SIGHUP');
  c.signal('SIGUSR2');
  await c.settle();
  assert.equal(c.state().reloadQueued, true);
  assert.equal(c.logged('queued to run after it').length, 3);
  await completeReloads(c);

  const started = c.logged('replacing 2 workers one at a time');
  assert.deepEqual(
    started.map((line) => line.reloadId),
    [1, 2],
  );
  assert.equal(started[1].reason, 'SIGUSR2', 'the queued reload has the last request’s reason');
  assert.equal(c.state().lastReload.id, 2);
  assert.deepEqual([c.forksFor(1).length, c.forksFor(2).length], [3, 3]);
});

test('TTIN during a reload adds a slot at once; the reload replaces only the slots it started with', async (t) => {
  const c = await readyCluster(t, { workers: 2 });
  c.signal('SIGUSR2');
  await c.settle();
  c.signal('SIGTTIN');
  await c.settle();
  assert.equal(c.forksFor(3).length, 1, 'slot 3 started during the reload');
  assert.deepEqual(c.state().reload.remaining, [2]);
  await completeReloads(c);
  const state = c.state();
  assert.equal(state.desiredWorkers, 3);
  assert.deepEqual(
    [1, 2, 3].map((slot) => c.forksFor(slot).length),
    [2, 2, 1],
  );
  assert.deepEqual(
    state.slots.map((slot) => slot.worker.state),
    ['ready', 'ready', 'ready'],
  );
  assert.equal(state.lastReload.ok, true);
});

test('TTOU during a reload stops the slot being replaced, both its workers, and the reload finishes', async (t) => {
  const c = await readyCluster(t, { workers: 2 });
  c.signal('SIGUSR2');
  await c.settle();
  c.forksFor(1)[1].ready();
  await c.settle();
  assert.equal(c.state().reload.slot, 2);
  const [old2, new2] = c.forksFor(2);

  c.signal('SIGTTOU');
  await c.settle();
  for (const worker of [old2, new2])
    assert.deepEqual(
      worker.received.map((message) => message.reason),
      ['scaled down'],
    );
  const state = c.state();
  assert.equal(state.desiredWorkers, 1);
  assert.equal(state.reload, null);
  assert.equal(state.lastReload.ok, true);
  assert.deepEqual(
    state.slots.map((slot) => slot.slot),
    [1],
  );
  assert.equal(c.pidfile(2), null);

  c.signal('SIGTTOU');
  await c.settle();
  assert.equal(c.state().desiredWorkers, 1);
  assert.equal(c.logged('SIGTTOU ignored: the cluster keeps at least one worker').length, 1);
});

test('a worker silent for longer than workerTimeout is killed as hung and restarted; one that heartbeats is not', async (t) => {
  const c = await readyCluster(t, { workers: 2, cluster: { workerTimeout: 3_000 } });
  const [hung, alive] = [c.forksFor(1)[0], c.forksFor(2)[0]];
  for (let second = 0; second < 4; second += 1) {
    alive.heartbeat();
    t.mock.timers.tick(1_000);
  }
  await c.settle();
  assert.deepEqual(hung.signals, ['SIGKILL']);
  assert.deepEqual(alive.signals, []);
  assert.equal(c.logged('is hung: no heartbeat for 4000 ms').length, 1);
  assert.equal(c.forksFor(1).length, 2, 'the hung worker was replaced');
  assert.equal(c.state().slots[0].lastExit.reason, 'hung: no heartbeat for 4000 ms');
});

test('a worker above maxMemory is replaced like a one-slot reload: its successor is ready before it is stopped', async (t) => {
  const c = await readyCluster(t, { workers: 2, cluster: { maxMemory: 100_000_000 } });
  const big = c.forksFor(1)[0];
  big.heartbeat(150_000_000);
  await c.settle();
  big.heartbeat(160_000_000);
  await c.settle();
  assert.equal(c.logged('above maxMemory 100000000: replacing it').length, 1, 'one replacement, however many heartbeats');
  assert.equal(c.state().reload.reason, 'maxMemory');
  assert.equal(c.forksFor(1).length, 2);
  assert.deepEqual(big.received, [], 'still serving while its successor boots');

  c.forksFor(1)[1].ready();
  await c.settle();
  assert.equal(big.received[0].type, 'stop');
  assert.equal(c.state().lastReload.ok, true);
  assert.equal(c.forksFor(2).length, 1, 'the other slot is left alone');
  assert.equal(current(c, 1).pid, c.forksFor(1)[1].pid);
});

test('SIGTERM during a reload kills the booting replacement, drains the rest and exits 0', async (t) => {
  const c = await readyCluster(t, { workers: 2 });
  c.signal('SIGUSR2');
  await c.settle();
  const replacement = c.forksFor(1)[1];
  c.signal('SIGTERM');
  await c.settle();
  assert.deepEqual(replacement.signals, ['SIGKILL']);
  for (const slot of [1, 2]) assert.equal(c.forksFor(slot)[0].received[0].reason, 'cluster stopping');
  for (const slot of [1, 2]) assert.equal(c.forksFor(slot)[0].received[0].restart, false, 'a stopped worker tells its websocket clients 1001 Going Away');
  assert.equal(c.state().lastReload.error, 'cluster stopping (SIGTERM)');
  assert.deepEqual(c.exits, [0]);
  assert.deepEqual([c.pidfile(1), c.pidfile(2)], [null, null]);
  assert.equal(c.forks.length, 3, 'nothing was forked after the stop');
});

test('a worker that ignores stop is killed after stopTimeout', async (t) => {
  const c = await readyCluster(t, { workers: 1, cluster: { stopTimeout: 2_000 } });
  const stubborn = c.forksFor(1)[0];
  stubborn.ignoresStop = true;
  c.signal('SIGTERM');
  await c.settle();
  assert.deepEqual(c.exits, []);
  t.mock.timers.tick(2_000);
  await c.settle();
  assert.deepEqual(stubborn.signals, ['SIGKILL']);
  assert.deepEqual(
    c.logged('killing worker #1').map((line) => line.reason),
    ['did not exit within stopTimeout (2000 ms)'],
  );
  assert.deepEqual(c.exits, [0]);
});

test('the spare takes a crashed worker’s slot, and a new spare is forked once the cluster is at rest', async (t) => {
  const c = await readyCluster(t, { workers: 2, cluster: { spareWorker: true } });
  assert.equal(c.forksFor(null).length, 1, 'a spare is forked at equilibrium');
  const spare = c.forksFor(null)[0];
  spare.tell('spare-ready');
  await c.settle();
  assert.equal(c.state().spare.standingBy, true);

  c.forksFor(1)[0].exit(1);
  await c.settle();
  assert.deepEqual(spare.received, [{ mycluster: 1, type: 'activate', slot: 1, title: 'test-worker-1' }]);
  assert.equal(c.forksFor(1).length, 1, 'no fork for slot 1');
  assert.equal(c.pidfile(1), spare.pid);
  assert.equal(current(c, 1).pid, spare.pid);
  assert.equal(c.state().spare, null);

  spare.ready();
  await c.settle();
  assert.equal(c.state().equilibrium, true);
  assert.equal(c.forksFor(null).length, 2, 'the next spare');
});

test('a boot failure before any worker was ever ready stops the cluster with code 1', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
  const c = startArbiter({ workers: 2 });
  t.after(() => c.cleanup());
  await c.settle();
  const [first, second] = c.forks;
  first.tell('boot-failed', { error: 'Cannot find module ./actions' });
  first.exit(EXIT_BOOT_FAILED);
  await c.settle();
  assert.equal(c.logged('worker #1 failed to boot: boot failed (Cannot find module ./actions); stopping the cluster').length, 1);
  assert.equal(second.received[0].type, 'stop');
  assert.deepEqual(c.exits, [1]);
  assert.equal(c.forks.length, 2, 'no retry');
});

test('EXIT_BOOT_FAILED after the cluster once served is retried at the backoff cap, not in a loop', async (t) => {
  const c = await readyCluster(t, { workers: 1 });
  c.forksFor(1)[0].exit(1);
  await c.settle();
  assert.equal(c.forksFor(1).length, 2, 'a crash restarts at once');
  c.forksFor(1)[1].exit(EXIT_BOOT_FAILED);
  await c.settle();
  assert.equal(last(c.logged('retrying in')).restartInMs, 1_000);
  t.mock.timers.tick(999);
  await c.settle();
  assert.equal(c.forksFor(1).length, 2);
  t.mock.timers.tick(1);
  await c.settle();
  assert.equal(c.forksFor(1).length, 3);
  assert.deepEqual(c.exits, []);
});

test('a second SIGINT kills every worker at once and the cluster exits 1', async (t) => {
  const c = await readyCluster(t, { workers: 2 });
  for (const worker of c.forks) worker.ignoresStop = true;
  c.signal('SIGINT');
  await c.settle();
  assert.deepEqual(c.exits, []);
  t.mock.timers.tick(1_000);
  c.signal('SIGINT');
  await c.settle();
  assert.deepEqual(
    c.forks.map((worker) => worker.signals),
    [['SIGKILL'], ['SIGKILL']],
  );
  assert.deepEqual(c.exits, [1]);
});

test('a copy of the first SIGINT (a Procfile runner passing on the Ctrl-C the whole group got) drains, kills no one', async (t) => {
  const c = await readyCluster(t, { workers: 2 });
  for (const worker of c.forks) worker.ignoresStop = true;
  c.signal('SIGINT');
  c.signal('SIGINT');
  await c.settle();
  t.mock.timers.tick(999);
  c.signal('SIGINT');
  await c.settle();
  assert.deepEqual(
    c.forks.map((worker) => worker.signals),
    [[], []],
    'no worker was killed',
  );
  assert.deepEqual(
    c.forks.map((worker) => worker.receivedTypes().at(-1)),
    ['stop', 'stop'],
  );
  assert.equal(c.logged('SIGINT again within 1000 ms: the same interrupt (a runner passing on Ctrl-C), still draining').length, 2);
  for (const worker of c.forks) worker.exit(0);
  await c.settle();
  assert.deepEqual(c.exits, [0]);
});

test('TTINs that arrive before the loop runs each add a worker (the queue keeps repeats)', async (t) => {
  const c = await readyCluster(t, { workers: 1 });
  c.signal('SIGTTIN');
  c.signal('SIGTTIN');
  await c.settle();
  assert.equal(c.state().desiredWorkers, 3);
  c.signal('SIGTTOU');
  c.signal('SIGTTOU');
  await c.settle();
  assert.equal(c.state().desiredWorkers, 1);
});

/** The master's upgrade as the arbiter sees it: what it was asked, and whether one runs. */
function fakeUpgrade() {
  return {
    requests: [],
    running: false,
    request(refusal) {
      this.requests.push(refusal);
    },
  };
}

test('URG asks for an upgrade at rest, and is refused with a reason during a rolling reload', async (t) => {
  const upgrade = fakeUpgrade();
  const c = await readyCluster(t, { upgrade });
  c.signal('SIGURG');
  await c.settle();
  assert.deepEqual(upgrade.requests, [null]);
  c.signal('SIGUSR2');
  await c.settle();
  c.signal('SIGURG');
  await c.settle();
  assert.deepEqual(upgrade.requests, [null, 'a rolling reload is running; upgrade after it']);
});

test('a reload asked for during an upgrade is refused and recorded as failed; none starts', async (t) => {
  const upgrade = fakeUpgrade();
  const c = await readyCluster(t, { upgrade });
  upgrade.running = true;
  c.signal('SIGUSR2');
  await c.settle();
  assert.equal(c.state().reload, null);
  assert.equal(c.forks.length, 2, 'no replacement was forked');
  assert.equal(c.state().lastReload.ok, false);
  assert.equal(c.state().lastReload.error, 'an upgrade of the master is in progress; reload after it');
});

test('a failed upgrade ending during a stop writes no pidfile for a worker that already exited', async (t) => {
  const c = await readyCluster(t, { workers: 2 });
  c.forksFor(2)[0].ignoresStop = true;
  c.signal('SIGTERM');
  await c.settle();
  c.arbiter.rewritePidfiles();
  assert.equal(c.pidfile(1), null, 'slot 1 exited: no pidfile');
  assert.equal(c.pidfile(2), c.forksFor(2)[0].pid, 'slot 2 still drains: its pidfile stays');
  c.forksFor(2)[0].exit(0);
  await c.settle();
  assert.deepEqual([c.pidfile(1), c.pidfile(2)], [null, null]);
});
