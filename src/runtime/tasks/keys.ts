/** Redis keys and job payloads exactly as node-resque writes them, for the parts that talk to Redis directly. */
import type { Redis } from 'ioredis';

/** A node-resque key: the namespace and the parts joined by `:` (as node-resque's Connection.key). */
export function resqueKey(namespace: string, ...parts: string[]): string {
  return [namespace, ...parts].join(':');
}

/** A job in a queue list, encoded as node-resque's Queue.encode does (key order matters for its lookups). */
export function encodeJob(queue: string, taskName: string, args: unknown[]): string {
  return JSON.stringify({ class: taskName, queue, args });
}

/** The value node-resque stores under `worker:<name>:<queues>` while a processor holds a job. */
export interface Claim {
  run_at: string;
  queue: string;
  worker: string;
  payload: { class: string; queue: string; args: unknown[] };
}

/**
 * The host and pid in a node-resque processor name (`<host>:<pid>+<n>`) or scheduler name (`<host>:<pid>`);
 * undefined for a name in another shape.
 */
export function processOfName(name: string): { host: string; pid: number } | undefined {
  const match = /^(.+):(\d+)(\+\d+)?$/.exec(name);
  return match ? { host: match[1], pid: Number(match[2]) } : undefined;
}

/** A member of node-resque's `workers` set, `<processor name>:<queues>`, split in two. */
export function parseWorkersMember(member: string): { processor: string; queues: string } {
  const parts = member.split(':');
  return { processor: parts.slice(0, 2).join(':'), queues: parts.slice(2).join(':') };
}

/** Every key matching a SCAN pattern, each once (SCAN may return a key twice). */
export async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    for (const name of batch) keys.add(name);
    cursor = next;
  } while (cursor !== '0');
  return [...keys];
}
