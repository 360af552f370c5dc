import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { NotifySender } from '../../dist/master/notify.js';
import { SystemdNotifier, startSystemdNotify, statusLine, watchdogIntervalMs } from '../../dist/master/systemd.js';
import { sleep, waitFor } from '../helpers/wait.mjs';

// systemd's notify protocol, in-process: the event → message mapping with a recording sender, and the
// sender itself with stand-in binaries (a script that records its arguments, a missing one, one that fails).

function worker(state = 'ready') {
  return { pid: 100, state, startedAt: 0, uptimeMs: 0, rss: null, redis: null };
}

/** A ClusterState with `desired` slots, the first `ready` of them with a ready worker. */
function clusterState({ desired = 2, ready = desired, stopping = false, reload = null, lastReload = null, reloadQueued = false } = {}) {
  return {
    master: { pid: 1, startedAt: 0, uptimeMs: 0 },
    desiredWorkers: desired,
    stopping,
    equilibrium: ready === desired && !reload,
    reload,
    reloadQueued,
    lastReload,
    slots: Array.from({ length: desired }, (_, index) => ({
      slot: index + 1,
      worker: index < ready ? worker() : index === ready ? worker('starting') : null,
      replacement: null,
      restarts: 0,
      lastExit: null,
    })),
    spare: null,
    draining: [],
    updatedAt: 0,
  };
}

function recordingNotifier() {
  const sent = [];
  const notifier = new SystemdNotifier({ send: (message) => sent.push(message), mainPid: 4242, monotonicUsec: () => 123456789n });
  return { notifier, sent };
}

const running = { id: 3, reason: 'SIGUSR2', startedAt: 1_000, slot: 1, remaining: [2] };
const done = { id: 3, reason: 'SIGUSR2', ok: true, requestedAt: 1_000, startedAt: 1_000, finishedAt: 1_700 };

describe('SystemdNotifier: cluster events as sd_notify messages', () => {
  test('READY=1 with MAINPID and the STATUS line once every worker is first ready, not again at later equilibria', () => {
    const { notifier, sent } = recordingNotifier();
    notifier.onState(clusterState({ ready: 1 }));
    assert.deepEqual(sent, [['STATUS=starting: 1/2 workers ready']]);
    notifier.onEvent({ type: 'equilibrium', workers: 2 });
    notifier.onState(clusterState());
    assert.deepEqual(sent.at(-1), ['READY=1', 'MAINPID=4242', 'STATUS=2/2 workers ready']);
    notifier.onEvent({ type: 'worker-restart', slot: 1, reason: 'crash' });
    notifier.onState(clusterState({ ready: 1 }));
    notifier.onEvent({ type: 'equilibrium', workers: 2 });
    notifier.onState(clusterState());
    assert.deepEqual(sent.slice(2), [['STATUS=1/2 workers ready'], ['STATUS=2/2 workers ready']]);
  });

  test('an unchanged STATUS line is not sent again', () => {
    const { notifier, sent } = recordingNotifier();
    for (let round = 0; round < 3; round += 1) notifier.onState(clusterState({ ready: 1 }));
    assert.equal(sent.length, 1);
  });

  test('RELOADING=1 with MONOTONIC_USEC when a reload starts, READY=1 when it ends, done or aborted', () => {
    const { notifier, sent } = recordingNotifier();
    notifier.onEvent({ type: 'equilibrium', workers: 2 });
    notifier.onState(clusterState());
    notifier.onEvent({ type: 'reload-started', id: 3, reason: 'SIGUSR2', slots: [1, 2] });
    notifier.onState(clusterState({ reload: running }));
    notifier.onEvent({ type: 'reload-finished', id: 3, ok: true, durationMs: 700 });
    notifier.onState(clusterState({ lastReload: done }));
    notifier.onEvent({ type: 'reload-started', id: 4, reason: 'SIGHUP', slots: [1, 2] });
    notifier.onState(clusterState({ reload: { ...running, id: 4, reason: 'SIGHUP' } }));
    notifier.onEvent({ type: 'reload-finished', id: 4, ok: false, durationMs: 300, error: 'worker #1 exited\nwith code 1' });
    notifier.onState(clusterState({ lastReload: { ...done, id: 4, ok: false, error: 'worker #1 exited\nwith code 1' } }));
    assert.deepEqual(sent.slice(1), [
      ['RELOADING=1', 'MONOTONIC_USEC=123456789', 'STATUS=2/2 workers ready · reload #3 (SIGUSR2) running'],
      ['READY=1', 'STATUS=2/2 workers ready · reload #3 done in 0.7 s'],
      ['RELOADING=1', 'MONOTONIC_USEC=123456789', 'STATUS=2/2 workers ready · reload #4 (SIGHUP) running'],
      ['READY=1', 'STATUS=2/2 workers ready · reload #4 failed: worker #1 exited with code 1'],
    ]);
  });

  test('events of one tick keep their order and their own datagrams; STATUS rides on the last', () => {
    const { notifier, sent } = recordingNotifier();
    notifier.onEvent({ type: 'equilibrium', workers: 2 });
    notifier.onState(clusterState());
    notifier.onEvent({ type: 'reload-finished', id: 1, ok: true, durationMs: 5 });
    notifier.onEvent({ type: 'reload-started', id: 2, reason: 'SIGUSR2', slots: [1, 2] });
    notifier.onState(clusterState({ reload: { ...running, id: 2 } }));
    // No reload had been announced, so only the new one is.
    assert.deepEqual(sent.slice(1), [['RELOADING=1', 'MONOTONIC_USEC=123456789', 'STATUS=2/2 workers ready · reload #2 (SIGUSR2) running']]);
  });

  test('a reload during start-up is part of starting: no RELOADING=1 before the first READY=1', () => {
    const { notifier, sent } = recordingNotifier();
    notifier.onEvent({ type: 'reload-started', id: 1, reason: 'SIGUSR2', slots: [1, 2] });
    notifier.onEvent({ type: 'reload-finished', id: 1, ok: true, durationMs: 5 });
    notifier.onState(clusterState({ ready: 1 }));
    assert.deepEqual(sent, [['STATUS=starting: 1/2 workers ready']]);
  });

  test('STOPPING=1 on a stop, and no READY=1 after it when the stop cancels a reload', () => {
    const { notifier, sent } = recordingNotifier();
    notifier.onEvent({ type: 'equilibrium', workers: 2 });
    notifier.onEvent({ type: 'reload-started', id: 1, reason: 'SIGUSR2', slots: [1, 2] });
    notifier.onState(clusterState({ reload: running }));
    notifier.onEvent({ type: 'stopping', reason: 'SIGTERM' });
    notifier.onEvent({ type: 'reload-finished', id: 1, ok: false, durationMs: 5, error: 'cluster stopping (SIGTERM)' });
    notifier.onEvent({ type: 'equilibrium', workers: 2 });
    notifier.onState(clusterState({ stopping: true }));
    assert.deepEqual(sent.slice(-1), [['STOPPING=1', 'STATUS=stopping: 2 workers finishing']]);
    assert.equal(sent.flat().filter((assignment) => assignment === 'READY=1').length, 1);
  });
});

describe('the STATUS line', () => {
  test('says how many workers are ready and what the last reload did', () => {
    assert.equal(statusLine(clusterState({ ready: 0 }), false), 'starting: 0/2 workers ready');
    assert.equal(statusLine(clusterState({ desired: 4, ready: 3 }), true), '3/4 workers ready');
    assert.equal(
      statusLine(clusterState({ lastReload: done, reloadQueued: true }), true),
      '2/2 workers ready · reload #3 done in 0.7 s · another reload queued',
    );
    const long = statusLine(clusterState({ lastReload: { ...done, ok: false, error: 'x'.repeat(300) } }), true);
    assert.ok(long.length < 200, long);
    assert.equal(statusLine(clusterState({ desired: 1, stopping: true }), true), 'stopping: 1 worker finishing');
  });
});

describe('the watchdog interval', () => {
  test('is half WATCHDOG_USEC, and none without it, with a bad value, or for another WATCHDOG_PID', () => {
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 7), 15_000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 7), 15_000);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '8' }, 7), null);
    assert.equal(watchdogIntervalMs({}, 7), null);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 7), null);
    assert.equal(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 7), null);
  });
});

describe('startSystemdNotify', () => {
  test('without NOTIFY_SOCKET: nothing (no sender, no timer), and the workers do not inherit the watchdog variables', () => {
    const env = { WATCHDOG_USEC: '1000000', PATH: '/usr/bin' };
    assert.equal(startSystemdNotify(recordingLog(), env), null);
    assert.deepEqual(env, { PATH: '/usr/bin' });
  });
});

function recordingLog() {
  const lines = [];
  const record = (level) => (fields, msg) => lines.push({ level, ...fields, msg });
  return { lines, warn: record('warn'), info: record('info'), error: record('error') };
}

function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-notify-'));
}

/** A stand-in for systemd-notify that appends its arguments (one message a line) and NOTIFY_SOCKET to a file. */
function recordingCommand(dir, { delayMs = 0 } = {}) {
  const command = path.join(dir, 'fake-notify');
  const out = path.join(dir, 'sent.txt');
  fs.writeFileSync(command, `#!/bin/sh\nsleep ${delayMs / 1000}\nprintf '%s|' "$NOTIFY_SOCKET" "$@" >> ${out}\necho >> ${out}\n`, { mode: 0o755 });
  const sent = () => (fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n') : []);
  return { command, sent };
}

describe('NotifySender', () => {
  test('sends in order, one process at a time, with NOTIFY_SOCKET passed through as given (abstract names too)', async () => {
    const { command, sent } = recordingCommand(tempDir(), { delayMs: 50 });
    const sender = new NotifySender({ socket: '@mycluster-test', log: recordingLog(), command });
    sender.send(['READY=1', 'STATUS=one']);
    sender.send(['STATUS=two']);
    sender.send(['STOPPING=1']);
    await waitFor('three messages', () => sent().length === 3, { timeoutMs: 10_000 });
    assert.deepEqual(sent(), ['@mycluster-test|READY=1|STATUS=one|', '@mycluster-test|STATUS=two|', '@mycluster-test|STOPPING=1|']);
  });

  test('a watchdog ping already waiting is not queued twice', async () => {
    const { command, sent } = recordingCommand(tempDir(), { delayMs: 200 });
    const sender = new NotifySender({ socket: '/run/x', log: recordingLog(), command });
    sender.send(['STATUS=busy']);
    for (let ping = 0; ping < 5; ping += 1) sender.send(['WATCHDOG=1']);
    sender.send(['STATUS=after']);
    await waitFor('the last message', () => sent().includes('/run/x|STATUS=after|'), { timeoutMs: 10_000 });
    assert.deepEqual(sent(), ['/run/x|STATUS=busy|', '/run/x|WATCHDOG=1|', '/run/x|STATUS=after|']);
  });

  test('a missing binary is one warning, and nothing is spawned after it', async () => {
    const log = recordingLog();
    const sender = new NotifySender({ socket: '/run/x', log, command: path.join(tempDir(), 'no-such-notify') });
    sender.send(['READY=1']);
    sender.send(['STATUS=x']);
    await waitFor('the warning', () => log.lines.length > 0, { timeoutMs: 10_000 });
    for (let round = 0; round < 3; round += 1) sender.send(['WATCHDOG=1']);
    await sleep(200);
    assert.equal(log.lines.length, 1);
    assert.equal(log.lines[0].level, 'warn');
    assert.match(log.lines[0].msg, /systemd notify failed: .*no-such-notify not found/);
  });

  test('a failing send is one warning; later messages are still sent', async () => {
    const dir = tempDir();
    const marker = path.join(dir, 'ran');
    const command = path.join(dir, 'failing-notify');
    fs.writeFileSync(command, `#!/bin/sh\necho "$@" >> ${marker}\necho 'Failed to notify init system: Connection refused' >&2\nexit 1\n`, { mode: 0o755 });
    const log = recordingLog();
    const sender = new NotifySender({ socket: '/run/x', log, command });
    for (const message of [['READY=1'], ['STATUS=a'], ['STATUS=b']]) sender.send(message);
    await waitFor('three attempts', () => fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').trim().split('\n').length === 3, { timeoutMs: 10_000 });
    assert.equal(log.lines.length, 1);
    assert.match(log.lines[0].msg, /systemd notify failed: Failed to notify init system: Connection refused/);
  });
});
