// systemd's notify protocol, end to end: the real CLI under NOTIFY_SOCKET, its messages sent by the real
// systemd-notify to a real unix datagram socket. Node cannot bind one, so a few lines of python3 stand in for
// systemd: bind the socket, print each datagram as a JSON line. Its plain recv() drops the file descriptor
// systemd-notify sends with BARRIER=1, which closes it, as systemd does once it has read what came before.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { copyFixture, runMycluster, slotPids, spawnJsonLogged, startMycluster } from '../helpers/cluster.mjs';
import { freePort } from '../helpers/net.mjs';
import { sleep } from '../helpers/wait.mjs';

const RECEIVER = `
import json, socket, sys
name = sys.argv[1]
receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
receiver.bind("\\0" + name[1:] if name.startswith("@") else name)
print(json.dumps({"listening": name}), flush=True)
while True:
    print(json.dumps({"datagram": receiver.recv(65536).decode()}), flush=True)
`;

const started = [];
after(async () => {
  for (const process of started) await process.kill();
});

/** A stand-in for systemd's notify socket; `messages(from)` are the datagrams as assignment lists, barriers left out. */
async function startReceiver(name) {
  const receiver = spawnJsonLogged('python3', ['-c', RECEIVER, name]);
  started.push(receiver);
  await receiver.waitForLine((line) => line.listening === name, { what: `the receiver listening on ${name}` });
  receiver.messages = (from = 0) =>
    receiver.lines
      .slice(from)
      .filter((line) => typeof line.datagram === 'string' && line.datagram !== 'BARRIER=1')
      .map((line) => line.datagram.split('\n'));
  /** The first datagram (from line index `from`) that holds `assignment`. */
  receiver.waitForMessage = (assignment, from = 0) =>
    receiver.waitForLine((line) => typeof line.datagram === 'string' && line.datagram.split('\n').includes(assignment), { from, what: assignment });
  return receiver;
}

async function startCluster(workers, env) {
  const dir = copyFixture('http-app');
  const port = await freePort();
  const cluster = startMycluster(['start', `--workers=${workers}`], { cwd: dir, env: { PORT: String(port), ...env } });
  started.push(cluster);
  return { dir, port, cluster };
}

const warnings = (cluster) => cluster.lines.filter((line) => /systemd notify failed/.test(line.msg ?? ''));
const monotonicUsec = () => process.hrtime.bigint() / 1000n;

describe('mycluster start under systemd (NOTIFY_SOCKET)', () => {
  test('tells a real notify socket: READY=1 once both workers are ready, RELOADING=1/READY=1 around a reload, STATUS, WATCHDOG=1, STOPPING=1 on TERM', async () => {
    const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-systemd-')), 'notify.sock');
    const receiver = await startReceiver(socket);
    const { dir, cluster } = await startCluster(2, { NOTIFY_SOCKET: socket, WATCHDOG_USEC: '1000000' });

    const ready = await receiver.waitForMessage('READY=1');
    // Both workers were ready (their pidfiles written) before READY=1 went out, and nothing said ready earlier.
    for (const pid of slotPids(dir, 2)) assert.ok(pid, 'a worker pidfile exists at READY=1');
    const readyIndex = receiver.lines.indexOf(ready);
    const before = receiver.messages().slice(0, -1);
    assert.ok(before.every((message) => !message.includes('READY=1')));
    assert.ok(
      before.some((message) => message.some((assignment) => /^STATUS=starting: [01]\/2 workers ready$/.test(assignment))),
      JSON.stringify(before),
    );
    assert.deepEqual(ready.datagram.split('\n'), ['READY=1', `MAINPID=${cluster.pid}`, 'STATUS=2/2 workers ready']);
    // The master alone speaks for the service: its workers do not inherit the socket or the watchdog.
    for (const pid of slotPids(dir, 2)) {
      const environment = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      assert.ok(!environment.some((entry) => /^(NOTIFY_SOCKET|WATCHDOG_USEC)=/.test(entry)), `worker ${pid} environment`);
    }

    // Watchdog pings every half WATCHDOG_USEC, while the master runs.
    await receiver.waitForLine((line) => line.datagram === 'WATCHDOG=1', { from: readyIndex, what: 'a watchdog ping' });

    // `mycluster reload` (the unit's ExecReload): RELOADING=1 stamped with CLOCK_MONOTONIC, then READY=1.
    const reloadFrom = receiver.lines.length;
    const reloadRequestedAt = monotonicUsec();
    const reload = await runMycluster(['reload'], { cwd: dir });
    assert.equal(reload.code, 0, reload.stderr);
    const reloadAnsweredAt = monotonicUsec();
    const reloading = (await receiver.waitForMessage('RELOADING=1', reloadFrom)).datagram.split('\n');
    const stamp = BigInt(reloading.find((assignment) => assignment.startsWith('MONOTONIC_USEC=')).slice('MONOTONIC_USEC='.length));
    assert.ok(stamp >= reloadRequestedAt && stamp <= reloadAnsweredAt, `MONOTONIC_USEC ${stamp} is CLOCK_MONOTONIC in µs`);
    assert.ok(reloading.includes('STATUS=2/2 workers ready · reload #1 (SIGUSR2) running'), reloading.join(' | '));
    const reloaded = await receiver.waitForMessage('READY=1', reloadFrom);
    assert.match(reloaded.datagram, /^READY=1\nSTATUS=2\/2 workers ready · reload #1 done in \d+\.\d s$/);

    // TERM: STOPPING=1 at once, then the usual drain and exit 0.
    const stopFrom = receiver.lines.length;
    process.kill(cluster.pid, 'SIGTERM');
    const stopping = await receiver.waitForMessage('STOPPING=1', stopFrom);
    assert.match(stopping.datagram, /^STOPPING=1\nSTATUS=stopping: 2 workers finishing$/);
    assert.equal((await cluster.waitForExit()).code, 0);
    assert.ok(!receiver.messages(stopFrom).some((message) => message.includes('READY=1')), 'no READY=1 after STOPPING=1');
    assert.deepEqual(warnings(cluster), []);
  });
});

describe('mycluster upgrade under systemd', () => {
  test('the new master tells systemd it is the main pid (READY=1, MAINPID=); the old one leaves without STOPPING=1', async () => {
    const socket = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-systemd-')), 'notify.sock');
    const receiver = await startReceiver(socket);
    const { dir, cluster } = await startCluster(2, { NOTIFY_SOCKET: socket });
    await receiver.waitForMessage('READY=1');

    const from = receiver.lines.length;
    const upgraded = await runMycluster(['upgrade'], { cwd: dir });
    assert.equal(upgraded.code, 0, upgraded.stderr);
    const successor = Number(fs.readFileSync(path.join(dir, 'pids', 'cluster_pidfile'), 'utf8'));
    assert.notEqual(successor, cluster.pid);
    const ready = await receiver.waitForMessage('READY=1', from);
    assert.ok(ready.datagram.split('\n').includes(`MAINPID=${successor}`), ready.datagram);
    // systemd follows the new main pid: the old master exits once its workers are gone (no keeper), exit 0.
    assert.equal((await cluster.waitForExit()).code, 0);
    assert.ok(!receiver.messages(from).some((message) => message.includes('STOPPING=1')), JSON.stringify(receiver.messages(from)));

    process.kill(successor, 'SIGTERM');
    await receiver.waitForMessage('STOPPING=1', from);
  });
});

describe('mycluster start with a notify socket it cannot use', () => {
  test('a dead socket or a missing systemd-notify is one warning line; the cluster starts and serves all the same', async () => {
    const emptyBin = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-no-notify-'));
    const clusters = await Promise.all([
      // Nobody listens there; watchdog pings every 50 ms make the failures many.
      startCluster(1, { NOTIFY_SOCKET: path.join(emptyBin, 'nobody.sock'), WATCHDOG_USEC: '100000' }),
      // No systemd-notify on PATH (the workers are forked from the master's own node, without PATH).
      startCluster(1, { NOTIFY_SOCKET: path.join(emptyBin, 'nobody.sock'), WATCHDOG_USEC: '100000', PATH: emptyBin }),
    ]);
    for (const { cluster, port } of clusters) {
      await cluster.waitForEquilibrium();
      const response = await fetch(`http://127.0.0.1:${port}/api/slow`);
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    }
    // Several failed pings later, still one warning each.
    await sleep(500);
    const [deadSocket, missingBinary] = clusters.map(({ cluster }) => warnings(cluster));
    assert.equal(deadSocket.length, 1, JSON.stringify(deadSocket));
    assert.match(deadSocket[0].msg, /systemd notify failed: .*(No such file or directory|Connection refused)/);
    assert.equal(deadSocket[0].level, 40);
    assert.equal(missingBinary.length, 1, JSON.stringify(missingBinary));
    assert.match(missingBinary[0].msg, /systemd notify failed: systemd-notify not found/);
    for (const { cluster } of clusters) {
      process.kill(cluster.pid, 'SIGTERM');
      assert.equal((await cluster.waitForExit()).code, 0);
    }
  });

  test('an abstract-namespace socket (@name) is passed through as systemd gives it', async () => {
    const name = `@mycluster-test-${process.pid}-${Date.now()}`;
    const receiver = await startReceiver(name);
    const { cluster } = await startCluster(1, { NOTIFY_SOCKET: name });
    const ready = await receiver.waitForMessage('READY=1');
    assert.deepEqual(ready.datagram.split('\n'), ['READY=1', `MAINPID=${cluster.pid}`, 'STATUS=1/1 workers ready']);
    process.kill(cluster.pid, 'SIGTERM');
    assert.equal((await cluster.waitForExit()).code, 0);
    assert.deepEqual(warnings(cluster), []);
  });
});
