import os from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isAlive } from '../../pids';
import { type Claim, parseWorkersMember, processOfName, resqueKey, scanKeys } from './keys';

/**
 * Move a claimed job out of its dead processor's claim key, atomically and only if the claim is unchanged
 * (so a leader and a booting worker sweeping at once, or the processor finishing meanwhile, never double it).
 * KEYS: claim, destination list, queues set, failed stat. ARGV: claim value, 'retry' | 'fail', item, queue.
 */
const moveClaimScript = `
if redis.call('get', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('del', KEYS[1])
if ARGV[2] == 'retry' then
  redis.call('sadd', KEYS[3], ARGV[4])
  redis.call('lpush', KEYS[2], ARGV[3])
else
  redis.call('rpush', KEYS[2], ARGV[3])
  redis.call('incr', KEYS[4])
end
return 1`;

/** Delete a key only while it still holds the given value (a dead process's scheduler leader lock). */
const deleteIfScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`;

export interface RecoveryOptions {
  redis: Redis;
  namespace: string;
  /** ms without a processor heartbeat after which its job is recovered. */
  stuckWorkerTimeout: number;
  /** Re-enqueue (true) or move to the failed queue (false). */
  retryStuckJobs: boolean;
  log: Logger;
}

/**
 * Whether a processor or scheduler of this host belongs to a process that is gone. At boot, a name with
 * our own pid is a previous process's too (pid reused): nothing of ours runs yet.
 */
function isDeadLocalProcess(name: string, atBoot: boolean): boolean {
  const owner = processOfName(name);
  if (!owner || owner.host !== os.hostname()) return false;
  if (owner.pid === process.pid) return atBoot;
  return !isAlive(owner.pid);
}

/**
 * Recover jobs held by processors that died (SIGKILL, crash, lost host), which node-resque would leave
 * claimed. A processor is dead when its heartbeat (`worker:ping:<name>`, written every `tasks.timeout` ms)
 * is older than `stuckWorkerTimeout`, when it has no heartbeat and its job started longer ago than that,
 * or — at once — when it ran on this host in a process that no longer exists. Its job is re-enqueued at
 * the head of its queue, or moved to the failed queue with the reason; its worker records are removed.
 */
export async function recoverStuckJobs(options: RecoveryOptions, { atBoot = false } = {}): Promise<number> {
  const { redis, namespace, stuckWorkerTimeout, retryStuckJobs, log } = options;
  const key = (...parts: string[]): string => resqueKey(namespace, ...parts);
  const pingPrefix = key('worker', 'ping', '');
  const processorKeys = await scanKeys(redis, key('worker', '*'));
  const pingKeys = processorKeys.filter((name) => name.startsWith(pingPrefix));
  const claimKeys = processorKeys.filter((name) => !name.startsWith(pingPrefix) && !name.endsWith(':started'));

  const nowSeconds = Date.now() / 1000;
  const heartbeats = new Map<string, number>();
  const pings = pingKeys.length ? await redis.mget(pingKeys) : [];
  pings.forEach((raw, index) => {
    const ping = parseJson<{ time: number }>(raw);
    if (ping) heartbeats.set(pingKeys[index].slice(pingPrefix.length), ping.time);
  });
  const timeoutSeconds = stuckWorkerTimeout / 1000;
  const isDead = (processor: string, startedAt?: number): boolean => {
    if (isDeadLocalProcess(processor, atBoot)) return true;
    const heartbeat = heartbeats.get(processor) ?? startedAt;
    return heartbeat !== undefined && nowSeconds - heartbeat > timeoutSeconds;
  };

  let recovered = 0;
  const deadProcessors = new Set<string>();
  for (const claimKey of claimKeys) {
    const raw = await redis.get(claimKey);
    const claim = parseJson<Claim>(raw);
    if (!raw || !claim?.worker || !claim.payload) continue;
    if (!isDead(claim.worker, Date.parse(claim.run_at) / 1000)) continue;
    deadProcessors.add(claim.worker);
    const reason = `its worker ${claim.worker} died (no heartbeat for over ${Math.round(timeoutSeconds)} s, or its process is gone)`;
    const moved = retryStuckJobs
      ? await redis.eval(
          moveClaimScript,
          4,
          claimKey,
          key('queue', claim.queue),
          key('queues'),
          key('stat', 'failed'),
          raw,
          'retry',
          JSON.stringify(claim.payload),
          claim.queue,
        )
      : await redis.eval(
          moveClaimScript,
          4,
          claimKey,
          key('failed'),
          key('queues'),
          key('stat', 'failed'),
          raw,
          'fail',
          JSON.stringify(failurePayload(claim, reason)),
          claim.queue,
        );
    if (moved === 1) {
      recovered++;
      const fields = { task: claim.payload.class, queue: claim.queue, worker: claim.worker };
      log.warn(
        fields,
        retryStuckJobs ? `re-enqueued task ${claim.payload.class}: ${reason}` : `moved task ${claim.payload.class} to the failed queue: ${reason}`,
      );
    }
  }

  const members = await redis.smembers(key('workers'));
  const processors = new Set([...heartbeats.keys(), ...members.map((member) => parseWorkersMember(member).processor)]);
  for (const processor of [...processors].filter((name) => deadProcessors.has(name) || isDead(name))) {
    await forgetProcessor(
      redis,
      key,
      processor,
      members.filter((member) => member.startsWith(`${processor}:`)),
    );
  }
  await releaseDeadLocalLeaderLock(redis, key('resque_scheduler_leader_lock'), atBoot);
  return recovered;
}

/** node-resque's failed-queue entry, with the reason as the error. */
function failurePayload(claim: Claim, reason: string): Record<string, unknown> {
  return {
    worker: claim.worker,
    queue: claim.queue,
    payload: claim.payload,
    exception: 'StuckJobError',
    error: `job stopped: ${reason}`,
    backtrace: [`recovered by ${os.hostname()}:${process.pid}`, 'mycluster stuck job recovery'],
    failed_at: new Date().toString(),
  };
}

/** Remove a dead processor's heartbeat and its entries in the workers set (what node-resque's untrack does). */
async function forgetProcessor(redis: Redis, key: (...parts: string[]) => string, processor: string, entries: string[]): Promise<void> {
  const multi = redis.multi().del(key('worker', 'ping', processor), key('stat', 'failed', processor), key('stat', 'processed', processor));
  for (const entry of entries) multi.srem(key('workers'), entry).del(key('worker', entry, 'started'));
  await multi.exec();
}

/** A scheduler leader that died on this host holds the lock until it expires; free it now. */
async function releaseDeadLocalLeaderLock(redis: Redis, lockKey: string, atBoot: boolean): Promise<void> {
  const leader = await redis.get(lockKey);
  if (leader && isDeadLocalProcess(leader, atBoot)) await redis.eval(deleteIfScript, 1, lockKey, leader);
}

function parseJson<T>(raw: string | null): T | undefined {
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return undefined;
  }
}
