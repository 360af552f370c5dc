// A real Redis Sentinel setup for tests: a master, a replica (--replicaof) and three sentinels
// (`redis-server <conf> --sentinel`, each with its own conf file in a temp dir), all on free ports of
// 127.0.0.1, no persistence. Every process is stopped by pid in stop().
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './net.mjs';
import { redisServerBinary, startRedis, waitForPing } from './redis.mjs';
import { waitFor } from './wait.mjs';

/** A one-command client that never retries (for probes). */
async function ask(port, ...command) {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.call(...command);
  } finally {
    client.disconnect();
  }
}

function field(info, name) {
  return new RegExp(`^${name}:(.*)\\r?$`, 'm').exec(info)?.[1]?.trim();
}

/** A sentinel's run id (`sentinel myid`): 40 hex characters. */
function sentinelId() {
  return Array.from({ length: 40 }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');
}

async function startSentinel(dir, index, { port, id, masterName, masterPort, replicaPorts, peers, settings }) {
  const conf = path.join(dir, `sentinel-${index}.conf`);
  // Sentinel rewrites its conf file (known replicas and sentinels, epochs): each has its own, writable.
  fs.writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${masterName} 127.0.0.1 ${masterPort} ${settings.quorum}`,
      `sentinel down-after-milliseconds ${masterName} ${settings.downAfterMs}`,
      `sentinel failover-timeout ${masterName} ${settings.failoverTimeoutMs}`,
      `sentinel parallel-syncs ${masterName} 1`,
      // Known up front, so the sentinels need not discover each other (hello messages every 2 s) first.
      `sentinel myid ${id}`,
      ...replicaPorts.map((replicaPort) => `sentinel known-replica ${masterName} 127.0.0.1 ${replicaPort}`),
      ...peers.map((peer) => `sentinel known-sentinel ${masterName} 127.0.0.1 ${peer.port} ${peer.id}`),
      '',
    ].join('\n'),
  );
  const child = spawn(redisServerBinary(), [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (data) => (output += data));
  child.stderr.on('data', (data) => (output += data));
  try {
    await waitForPing(port);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${error.message}\n${output}`);
  }
  return {
    host: '127.0.0.1',
    port,
    child,
    get output() {
      return output;
    },
  };
}

async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

/**
 * Start a master, `replicas` replicas (default 1) and three sentinels and wait until the sentinels know the replica and each other
 * (a failover needs the quorum and a majority of sentinels to agree).
 * Returns { masterName, master, replica, replicas, sentinels: [{ host, port }], dir, masterPort(), waitForFailover(),
 * waitForReplicaOf(), sentinelsSeeReplicas(), rejoinAsReplica(), config(), stop() }. `master` and each replica are startRedis handles (pid, port, restart(), stop()).
 */
export async function startSentinelSetup({ masterName = 'mymaster', replicas = 1, quorum = 2, downAfterMs = 1_000, failoverTimeoutMs = 5_000 } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-sentinel-'));
  const setup = { masterName, dir, sentinels: [], replicas: [] };
  const stop = async () => {
    for (const sentinel of setup.sentinels) await stopProcess(sentinel.child).catch(() => undefined);
    for (const replica of setup.replicas) await replica.stop().catch(() => undefined);
    await setup.master?.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  setup.stop = stop;
  try {
    setup.master = await startRedis();
    for (let index = 0; index < replicas; index += 1) {
      const replica = await startRedis(['--replicaof', '127.0.0.1', String(setup.master.port)]);
      setup.replicas.push(replica);
      await waitFor('the replica to sync', async () => field(await ask(replica.port, 'INFO', 'replication'), 'master_link_status') === 'up', {
        timeoutMs: 10_000,
        intervalMs: 100,
      });
    }
    setup.replica = setup.replicas[0];
    const peers = await Promise.all([0, 1, 2].map(async () => ({ port: await freePort(), id: sentinelId() })));
    for (const [index, self] of peers.entries()) {
      const sentinel = await startSentinel(dir, index, {
        ...self,
        masterName,
        masterPort: setup.master.port,
        replicaPorts: setup.replicas.map((replica) => replica.port),
        peers: peers.filter((peer) => peer !== self),
        settings: { quorum, downAfterMs, failoverTimeoutMs },
      });
      setup.sentinels.push(sentinel);
    }
    // Sentinels find the replica through the master's INFO and each other through hello messages (every 2 s).
    await waitFor(
      'the sentinels to know the replica and each other',
      async () => {
        for (const sentinel of setup.sentinels) {
          const known = await ask(sentinel.port, 'SENTINEL', 'REPLICAS', masterName);
          const peers = await ask(sentinel.port, 'SENTINEL', 'SENTINELS', masterName);
          if (known.length < setup.replicas.length || peers.length < 2) return false;
        }
        return true;
      },
      { timeoutMs: 15_000, intervalMs: 100 },
    );
  } catch (error) {
    await stop();
    throw error;
  }
  /** The master's port as the sentinels report it now. */
  setup.masterPort = async () => {
    for (const sentinel of setup.sentinels) {
      try {
        const [, port] = await ask(sentinel.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName);
        return Number(port);
      } catch {
        // try the next sentinel
      }
    }
    throw new Error('no sentinel answered');
  };
  /** Resolves with the new master's port once a majority of sentinels report one other than `oldPort`. */
  setup.waitForFailover = (oldPort, timeoutMs = 20_000) =>
    waitFor(
      `a failover away from port ${oldPort}`,
      async () => {
        const ports = await Promise.all(
          setup.sentinels.map(async (sentinel) => Number((await ask(sentinel.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName).catch(() => []))[1])),
        );
        const moved = ports.filter((port) => port && port !== oldPort);
        if (moved.length < 2) return false;
        const role = await ask(moved[0], 'ROLE').catch(() => []);
        return role[0] === 'master' && moved[0];
      },
      { timeoutMs, intervalMs: 100 },
    );
  /** Resolves once the redis on `port` replicates (link up) from the master on `masterPort`. */
  setup.waitForReplicaOf = (port, masterPort, timeoutMs = 20_000) =>
    waitFor(
      `redis ${port} to replicate ${masterPort}`,
      async () => {
        const info = await ask(port, 'INFO', 'replication');
        return field(info, 'role') === 'slave' && Number(field(info, 'master_port')) === masterPort && field(info, 'master_link_status') === 'up';
      },
      { timeoutMs, intervalMs: 100 },
    );
  /**
   * The master's port once every sentinel names the same master and sees at least `replicas` replicas of it
   * healthy (flags just `slave`, link to the master up): replicas a failover may promote. Else false.
   */
  setup.sentinelsSeeReplicas = async (replicas) => {
    const views = await Promise.all(
      setup.sentinels.map(async (sentinel) => {
        const [, port] = await ask(sentinel.port, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName);
        const known = (await ask(sentinel.port, 'SENTINEL', 'REPLICAS', masterName)).map((pairs) =>
          Object.fromEntries(pairs.flatMap((value, index) => (index % 2 === 0 ? [[value, pairs[index + 1]]] : []))),
        );
        const healthy = known.filter((replica) => replica.flags === 'slave' && replica['master-link-status'] === 'ok');
        return { port: Number(port), healthy: healthy.length };
      }),
    );
    return views.every((view) => view.port === views[0].port && view.healthy >= replicas) && views[0].port;
  };
  /**
   * A killed redis back on its port, empty (no persistence), as a replica of the master on `masterPort`: of the
   * new master, not of another replica, so that WAIT counts it without the sentinels reconfiguring a chain.
   * Call it once the promotion is done: a returning master can stop a failover the sentinels have not finished.
   */
  setup.rejoinAsReplica = (port, masterPort) => startRedis(['--replicaof', '127.0.0.1', String(masterPort)], { port });
  /** The sentinels as config.redis.sentinels. */
  setup.config = () => ({ sentinels: setup.sentinels.map(({ host, port }) => ({ host, port })), name: masterName });
  return setup;
}
