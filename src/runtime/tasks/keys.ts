/** Redis keys and job payloads exactly as node-resque writes them, for the parts that talk to Redis directly. */

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
