import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import pino from 'pino';
import type { Config } from '../config/types';
import { closeRedisClient, connectOnce, createRedisClient, describeRedisAddress } from '../runtime/redis';
import { type Claim, parseWorkersMember, resqueKey, scanKeys } from '../runtime/tasks/keys';
import { formatTable } from './table';

export interface QueueState {
  name: string;
  length: number;
  /** Change of the length per second between the two samples; > 0: jobs arrive faster than they are worked. */
  changePerSecond: number;
  growing: boolean;
}

export interface ProcessorState {
  /** node-resque processor name: `<host>:<pid>+<n>`. */
  name: string;
  queues: string;
  job: { task: string; queue: string; args: unknown[]; since: string } | null;
  /** Seconds since its last heartbeat; null when it has none. */
  heartbeatSecondsAgo: number | null;
}

export interface QueuesReport {
  redis: { address: string; usedMemory: number; maxMemory: number };
  /** The scheduler leader's name (`<host>:<pid>`), or null when no scheduler runs. */
  leader: string | null;
  queues: QueueState[];
  delayed: number;
  failed: number;
  /** Jobs worked (done or failed) per second, cluster-wide, between the two samples. */
  workedPerSecond: number;
  /** The task processors (named `workers` in the JSON output, as node-resque's `workers` set). */
  workers: ProcessorState[];
  sampleIntervalMs: number;
}

interface Sample {
  at: number;
  lengths: Map<string, number>;
  worked: number;
}

/**
 * Task state in Redis, from two samples `sampleIntervalMs` apart: queue lengths and how they change,
 * delayed and failed counts, processors and their jobs, the scheduler leader, memory.
 * Throws RedisUnavailableError when Redis cannot be reached.
 */
export async function queuesReport(config: Config, { sampleIntervalMs = 1_000 } = {}): Promise<QueuesReport> {
  const redis = createRedisClient(config.redis, 'cli', pino({ level: 'silent' }));
  await connectOnce(redis, config.redis);
  try {
    const key = (...parts: string[]): string => resqueKey(config.redis.namespace, ...parts);
    const first = await sample(redis, key);
    await sleep(sampleIntervalMs);
    const second = await sample(redis, key);
    const seconds = (second.at - first.at) / 1000;
    const names = [...new Set([...first.lengths.keys(), ...second.lengths.keys()])].sort();
    const queues = names.map((name) => {
      const length = second.lengths.get(name) ?? 0;
      const changePerSecond = (length - (first.lengths.get(name) ?? 0)) / seconds;
      return { name, length, changePerSecond, growing: changePerSecond > 0 };
    });
    return {
      redis: { address: describeRedisAddress(config.redis), ...(await memory(redis)) },
      leader: await redis.get(key('resque_scheduler_leader_lock')),
      queues,
      delayed: await delayedCount(redis, key),
      failed: await redis.llen(key('failed')),
      workedPerSecond: Math.max(0, (second.worked - first.worked) / seconds),
      workers: await processors(redis, key),
      sampleIntervalMs,
    };
  } finally {
    await closeRedisClient(redis);
  }
}

async function sample(redis: Redis, key: (...parts: string[]) => string): Promise<Sample> {
  const names = await redis.smembers(key('queues'));
  const lengths = await Promise.all(names.map((name) => redis.llen(key('queue', name))));
  const [processed, failed] = await redis.mget(key('stat', 'processed'), key('stat', 'failed'));
  return { at: Date.now(), lengths: new Map(names.map((name, index) => [name, lengths[index]])), worked: Number(processed ?? 0) + Number(failed ?? 0) };
}

async function memory(redis: Redis): Promise<{ usedMemory: number; maxMemory: number }> {
  const info = await redis.info('memory');
  const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { usedMemory: field('used_memory'), maxMemory: field('maxmemory') };
}

async function delayedCount(redis: Redis, key: (...parts: string[]) => string): Promise<number> {
  let total = 0;
  for (const delayedKey of await scanKeys(redis, key('delayed:*'))) total += await redis.llen(delayedKey);
  return total;
}

async function processors(redis: Redis, key: (...parts: string[]) => string): Promise<ProcessorState[]> {
  const nowSeconds = Date.now() / 1000;
  const members = (await redis.smembers(key('workers'))).sort();
  return Promise.all(
    members.map(async (member) => {
      const { processor: name, queues } = parseWorkersMember(member);
      const [claimRaw, pingRaw] = await redis.mget(key('worker', member), key('worker', 'ping', name));
      const claim = claimRaw ? (JSON.parse(claimRaw) as Claim) : null;
      const ping = pingRaw ? (JSON.parse(pingRaw) as { time: number }) : null;
      return {
        name,
        queues,
        job: claim ? { task: claim.payload.class, queue: claim.queue, args: claim.payload.args, since: claim.run_at } : null,
        heartbeatSecondsAgo: ping ? Math.max(0, Math.round(nowSeconds - ping.time)) : null,
      };
    }),
  );
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The report as text for a terminal. */
export function formatQueuesTable(report: QueuesReport): string {
  const { redis } = report;
  const memoryLine = redis.maxMemory
    ? `${megabytes(redis.usedMemory)} of maxmemory ${megabytes(redis.maxMemory)} (${((100 * redis.usedMemory) / redis.maxMemory).toFixed(1)}%)`
    : `${megabytes(redis.usedMemory)} (no maxmemory)`;
  const lines = [
    `redis ${redis.address}: ${memoryLine}`,
    `scheduler leader: ${report.leader ?? 'none (no scheduler running)'}`,
    `failed: ${report.failed}  delayed: ${report.delayed}  worked: ${report.workedPerSecond.toFixed(1)} jobs/s`,
    '',
  ];
  if (report.queues.length === 0) lines.push('no queues');
  else {
    const seconds = (report.sampleIntervalMs / 1000).toFixed(1);
    lines.push(
      formatTable([
        ['QUEUE', 'LENGTH', `CHANGE/S (over ${seconds} s)`, ''],
        ...report.queues.map((queue) => [
          queue.name,
          String(queue.length),
          `${queue.changePerSecond > 0 ? '+' : ''}${queue.changePerSecond.toFixed(1)}`,
          queue.growing ? 'growing: jobs arrive faster than they are worked' : '',
        ]),
      ]),
    );
  }
  lines.push('');
  if (report.workers.length === 0) lines.push('no task processors');
  else {
    lines.push(
      formatTable([
        ['PROCESSOR', 'QUEUES', 'HEARTBEAT', 'JOB'],
        ...report.workers.map((processor) => [
          processor.name,
          processor.queues,
          processor.heartbeatSecondsAgo === null ? 'none' : `${processor.heartbeatSecondsAgo} s ago`,
          processor.job ? `${processor.job.task} on ${processor.job.queue} since ${processor.job.since}` : 'idle',
        ]),
      ]),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The report as JSON (`--json`). */
export function formatQueuesJson(report: QueuesReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
