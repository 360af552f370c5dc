// Issue 12: ioredis 5 puts a Sentinel client in its final `end` state when the previous connection's
// failover detector sees `+switch-master` while the client is reconnecting (its connector resolving the
// master from the sentinels). The sentinel here is a tiny fake that speaks enough RESP for ioredis, holds
// the answers to `get-master-addr-by-name` on request, and publishes `+switch-master` when told: that makes
// the race exact instead of a one-in-three chance per failover. Redis itself is a real redis-server.

import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { createRedisClient } from '../../dist/runtime/redis.js';
import { switchConcerns } from '../../dist/runtime/sentinel-guards.js';
import { startRedis } from '../helpers/redis.mjs';
import { capturingLogger, tasksConfig } from '../helpers/tasks.mjs';
import { waitFor } from '../helpers/wait.mjs';

const bulk = (value) => `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
const array = (items) => `*${items.length}\r\n${items.join('')}`;

/** Commands (arrays of bulk strings) from a RESP byte stream; `rest` keeps an incomplete tail. */
function parseCommands(state, chunk) {
  state.rest = Buffer.concat([state.rest, chunk]);
  const commands = [];
  for (;;) {
    const text = state.rest.toString('latin1');
    let offset = 0;
    const line = () => {
      const end = text.indexOf('\r\n', offset);
      if (end < 0) return null;
      const value = text.slice(offset, end);
      offset = end + 2;
      return value;
    };
    const header = line();
    if (header === null || !header.startsWith('*')) return commands;
    const args = [];
    for (let index = 0; index < Number(header.slice(1)); index += 1) {
      const size = line();
      if (size === null || offset + Number(size.slice(1)) + 2 > text.length) return commands;
      args.push(text.slice(offset, offset + Number(size.slice(1))));
      offset += Number(size.slice(1)) + 2;
    }
    commands.push(args);
    state.rest = state.rest.subarray(offset);
  }
}

/** A fake sentinel for master `mymaster` at 127.0.0.1:`masterPort()`. */
async function fakeSentinel(masterPort) {
  const subscribers = new Set();
  const held = [];
  let holding = false;
  const answerMaster = (socket) => socket.write(array([bulk('127.0.0.1'), bulk(String(masterPort()))]));
  const server = net.createServer((socket) => {
    const state = { rest: Buffer.alloc(0) };
    socket.on('error', () => undefined);
    socket.on('close', () => subscribers.delete(socket));
    socket.on('data', (chunk) => {
      for (const [name, ...args] of parseCommands(state, chunk)) {
        const command = [name, ...args].join(' ').toLowerCase();
        if (command.startsWith('sentinel get-master-addr-by-name')) {
          if (holding) held.push(socket);
          else answerMaster(socket);
        } else if (command.startsWith('sentinel sentinels')) socket.write('*0\r\n');
        else if (name.toLowerCase() === 'subscribe') {
          subscribers.add(socket);
          socket.write(array([bulk('subscribe'), bulk(args[0]), ':1\r\n']));
        } else socket.write('+OK\r\n');
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    subscribers,
    held,
    hold: () => (holding = true),
    release() {
      holding = false;
      for (const socket of held.splice(0)) answerMaster(socket);
    },
    /** Publish `+switch-master` (by default: mymaster, announced again at the address it has now). */
    switchMaster(text = `mymaster 127.0.0.1 ${masterPort()} 127.0.0.1 ${masterPort()}`) {
      const message = array([bulk('message'), bulk('+switch-master'), bulk(text)]);
      for (const socket of subscribers) socket.write(message);
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * mycluster's tasks client and a plain ioredis client with its failover detector (the upstream behaviour), both
 * through the fake sentinel on `sentinelPort`.
 */
function sentinelClients(sentinelPort) {
  const { log } = capturingLogger();
  const config = tasksConfig({ url: undefined, redis: { sentinels: [{ host: '127.0.0.1', port: sentinelPort }], name: 'mymaster' } });
  const ours = createRedisClient(config.redis, 'tasks', log);
  const plain = new Redis({ sentinels: config.redis.sentinels, name: 'mymaster', failoverDetector: true, retryStrategy: () => 100 });
  plain.on('error', () => undefined);
  return { ours, plain };
}

test('a Sentinel connection survives +switch-master while it reconnects (ioredis alone ends for good)', async () => {
  const redis = await startRedis();
  const sentinel = await fakeSentinel(() => redis.port);
  // plain: the same client without mycluster's workaround, the upstream repro.
  const { ours, plain } = sentinelClients(sentinel.port);
  let oursEnded = false;
  ours.on('end', () => (oursEnded = true));
  try {
    await waitFor(
      'both clients ready and their failover detectors subscribed',
      async () => ours.status === 'ready' && plain.status === 'ready' && sentinel.subscribers.size === 2,
    );
    // Redis goes away; both reconnect, asking the sentinel for the master, whose answer waits.
    sentinel.hold();
    process.kill(redis.pid, 'SIGKILL');
    await waitFor('both clients to ask the sentinel for the master', async () => sentinel.held.length >= 2);
    sentinel.switchMaster();
    await waitFor('the detector to handle +switch-master', async () => plain.status === 'end' || ours.status === 'end', { timeoutMs: 2_000 }).catch(
      () => undefined,
    );
    sentinel.release();
    await redis.restart();

    await waitFor('the plain ioredis client to end', async () => plain.status === 'end', { timeoutMs: 5_000 });
    await assert.rejects(plain.ping(), /Connection is closed/);
    await waitFor('our client to be ready again', async () => ours.status === 'ready', { timeoutMs: 10_000 });
    assert.equal(await ours.ping(), 'PONG');
    assert.equal(oursEnded, false, 'the failover detector of the lost connection no longer ends the client');
  } finally {
    plain.disconnect();
    ours.disconnect();
    await sentinel.close();
    await redis.stop();
  }
});

test('a +switch-master of another master, or announcing the address a client is connected to, leaves its connection alone; a real switch moves it', async () => {
  const first = await startRedis();
  const second = await startRedis();
  let master = first;
  const sentinel = await fakeSentinel(() => master.port);
  // plain shows that each message does reach a detector: upstream, any +switch-master reconnects.
  const { ours, plain } = sentinelClients(sentinel.port);
  const closes = { ours: 0, plain: 0 };
  ours.on('close', () => (closes.ours += 1));
  plain.on('close', () => (closes.plain += 1));
  const bothReadyAndSubscribed = async () => ours.status === 'ready' && plain.status === 'ready' && sentinel.subscribers.size === 2;
  try {
    await waitFor('both clients ready and their failover detectors subscribed', bothReadyAndSubscribed);

    sentinel.switchMaster(`othermaster 127.0.0.1 1 127.0.0.1 2`);
    await waitFor('the plain client to reconnect', async () => closes.plain === 1 && (await bothReadyAndSubscribed()), { timeoutMs: 5_000 });
    sentinel.switchMaster(`mymaster 127.0.0.1 ${second.port} 127.0.0.1 ${first.port}`);
    await waitFor('the plain client to reconnect again', async () => closes.plain === 2 && (await bothReadyAndSubscribed()), { timeoutMs: 5_000 });
    assert.equal(closes.ours, 0, 'neither message moves our client');
    assert.equal(await ours.set('still', 'here'), 'OK');

    master = second;
    sentinel.switchMaster(`mymaster 127.0.0.1 ${first.port} 127.0.0.1 ${second.port}`);
    await waitFor('our client to move to the new master', async () => closes.ours === 1 && ours.status === 'ready', { timeoutMs: 5_000 });
    assert.equal(await ours.set('moved', 'yes'), 'OK');
    const direct = new Redis({ port: second.port, lazyConnect: true });
    try {
      assert.equal(await direct.get('moved'), 'yes', 'our client writes to the master the switch named');
    } finally {
      direct.disconnect();
    }
  } finally {
    plain.disconnect();
    ours.disconnect();
    await sentinel.close();
    await first.stop();
    await second.stop();
  }
});

test('a +switch-master that cannot be read is acted on; an IPv4-mapped address is the same address', () => {
  const stream = { remoteAddress: '::ffff:10.0.0.2', remotePort: 6380 };
  assert.equal(switchConcerns(undefined, 'mymaster', stream), true);
  assert.equal(switchConcerns('mymaster 10.0.0.1 6379', 'mymaster', stream), true);
  assert.equal(switchConcerns('mymaster 10.0.0.1 6379 10.0.0.2 6380', 'mymaster', stream), false);
  assert.equal(switchConcerns('mymaster 10.0.0.1 6379 10.0.0.2 6380', 'mymaster', undefined), true, 'not connected: move');
  assert.equal(switchConcerns('cache 10.0.0.1 6379 10.0.0.3 6380', 'mymaster', stream), false);
});
