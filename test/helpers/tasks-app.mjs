// Client side of the tasks-app fixture (test/fixtures/tasks-app): a steady stream of enqueue requests,
// what Redis says about the jobs (runs, failed, claims), and a Procfile parser. Used by the tasks and
// sentinel integration tests. Every network call has a timeout.
import fs from 'node:fs';
import path from 'node:path';
import { processOfName, scanKeys } from '../../dist/runtime/tasks/keys.js';
import { spawnJsonLogged } from './cluster.mjs';
import { sleep } from './wait.mjs';

/** GET http://127.0.0.1:<port><path> as { status, body } (body parsed when JSON); never throws. */
export async function get(port, urlPath, timeoutMs = 5_000) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${urlPath}`, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: response.status, body };
  } catch (error) {
    return { status: 0, body: { error: error.cause?.code ?? error.message } };
  }
}

/** Enqueue `count` record jobs `<prefix>-<from>…`; the ids Redis acknowledged (all or none), or null. */
export async function enqueue(port, { prefix, from = 0, count = 1, ms, replicas } = {}) {
  const query = new URLSearchParams({ prefix, from: String(from), count: String(count) });
  if (ms !== undefined) query.set('ms', String(ms));
  if (replicas !== undefined) query.set('replicas', String(replicas));
  const { status, body } = await get(port, `/api/enqueue?${query}`);
  return status === 200 ? body.ids : null;
}

/**
 * A steady stream of enqueue requests (`concurrency` loops, each `batch` jobs then a pause) until stop()
 * or `maxIds`. `acked` holds the ids whose enqueue answered 200; `refused` one line per other answer.
 */
export function startEnqueueStream({ port, prefix, batch = 3, pauseMs = 60, concurrency = 2, maxIds = 1_500, replicas }) {
  let next = 0;
  let stopping = false;
  const acked = new Set();
  const refused = [];
  async function loop() {
    while (!stopping && next < maxIds) {
      const from = next;
      next += batch;
      const query = new URLSearchParams({ prefix, from: String(from), count: String(batch) });
      if (replicas !== undefined) query.set('replicas', String(replicas));
      const { status, body } = await get(port, `/api/enqueue?${query}`);
      if (status === 200) for (const id of body.ids) acked.add(id);
      else refused.push(`${status}: ${body?.error ?? JSON.stringify(body)}`);
      await sleep(pauseMs);
    }
  }
  const loops = Array.from({ length: concurrency }, loop);
  return {
    acked,
    refused,
    /** Ids requested so far (acknowledged or not). */
    get requested() {
      return next;
    },
    async stop() {
      stopping = true;
      await Promise.all(loops);
    },
  };
}

/** The jobs processors hold right now: [{ key, worker, pid, task, id }] (node-resque's `worker:<name>:<queues>` keys). */
export async function claims(client, namespace = 'resque') {
  const keys = (await scanKeys(client, `${namespace}:worker:*`)).filter((key) => !key.startsWith(`${namespace}:worker:ping:`) && !key.endsWith(':started'));
  if (keys.length === 0) return [];
  const values = await client.mget(keys);
  return values.flatMap((raw, index) => {
    if (!raw) return [];
    const claim = JSON.parse(raw);
    const pid = processOfName(claim.worker)?.pid;
    return [{ key: keys[index], worker: claim.worker, pid, task: claim.payload?.class, id: claim.payload?.args?.[0]?.id }];
  });
}

/**
 * What happened to the jobs `ids`: `runs` (id → times recorded), `failed` (id → error), `missing` (neither
 * recorded nor failed), `duplicates` (recorded more than once).
 */
export async function jobOutcome(client, ids, namespace = 'resque') {
  const runs = await client.hgetall('fixture:runs');
  const failed = new Map();
  for (const raw of await client.lrange(`${namespace}:failed`, 0, -1)) {
    const entry = JSON.parse(raw);
    const id = entry.payload?.args?.[0]?.id;
    if (id !== undefined) failed.set(id, `${entry.exception}: ${entry.error}`);
  }
  const all = [...ids];
  return {
    runs,
    failed,
    missing: all.filter((id) => !(Number(runs[id]) >= 1) && !failed.has(id)),
    duplicates: all.filter((id) => Number(runs[id]) > 1),
  };
}

/** Poll until every id in `ids` was recorded or failed; the outcome (with `missing` empty unless timed out). */
export async function settle(client, ids, { timeoutMs = 20_000, namespace } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let outcome;
    try {
      outcome = await jobOutcome(client, ids, namespace);
    } catch (error) {
      outcome = { missing: [...ids], duplicates: [], failed: new Map(), runs: {}, error };
    }
    if (outcome.missing.length === 0 || Date.now() > deadline) return outcome;
    await sleep(100);
  }
}

/**
 * The processes of a Procfile: [{ name, env, command, args }], with the leading `KEY=value` words of each
 * command line as its env and the `exec` after them dropped (no quoting: the Procfiles under test have none).
 */
export function parseProcfile(file) {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([A-Za-z0-9_-]+):\s*(.*)$/.exec(line);
      if (!match) throw new Error(`not a Procfile line: ${line}`);
      const words = match[2].split(/\s+/);
      const env = {};
      while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) {
        const [key, ...value] = words.shift().split('=');
        env[key] = value.join('=');
      }
      if (words[0] === 'exec') words.shift();
      return { name: match[1], env, command: words[0], args: words.slice(1) };
    });
}

/** Spawn a Procfile process in `cwd` as a Procfile runner would (its env on top of `env`); JSON log lines in `lines`. */
export function spawnProcfileProcess(proc, { cwd, env = {} }) {
  const handle = spawnJsonLogged(path.resolve(cwd, proc.command), proc.args, {
    cwd,
    env: { MYCLUSTER_LOG_FORMAT: 'json', NODE_ENV: 'test', ...env, ...proc.env },
  });
  handle.name = proc.name;
  return handle;
}
