// The baseline: bench/apps/naive-master.js, a plain node:cluster master (naive rolling restart on USR2).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childPids, isAlive, now, reap, spawnLogged, waitFor } from '../lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, '..', 'apps', 'naive-master.js');

export const id = 'naive';
export const label = 'node:cluster (naive)';
export const urlPath = '/';

const listening = (line) => /^worker \d+ listening$/.test(line.msg ?? '');

export async function start({ port, workers }) {
  const startedAt = now();
  const spawnMaster = () => spawnLogged(process.execPath, [script], { env: { PORT: String(port), WORKERS: String(workers) } });
  let master = spawnMaster();
  const retired = [];
  const workerPidsSeen = () => [master, ...retired].flatMap((each) => each.lines.map((line) => line.workerPid).filter(Boolean));
  const handle = {
    masterPid: master.child.pid,
    readyMs: null,
    workerPids: () => childPids(master.child.pid),
    async reload() {
      const from = master.lines.length;
      const startedAt = now();
      process.kill(master.child.pid, 'SIGUSR2');
      const done = await master.waitForLine((line) => /^reload done/.test(line.msg ?? ''), { from, timeoutMs: 30_000, what: 'reload done' });
      return { startedAt, doneAt: done.receivedAt, durationMs: done.durationMs };
    },
    /** What its user does to run a new Node or a new master: stop it (TERM), then start it again. */
    async upgrade() {
      const startedAt = now();
      const old = master;
      process.kill(old.child.pid, 'SIGTERM');
      await reap([old.child.pid], 15_000);
      retired.push(old);
      master = spawnMaster();
      handle.masterPid = master.child.pid;
      await waitFor(`${workers} workers listening`, () => master.lines.filter(listening).length >= workers, { timeoutMs: 15_000 });
      return { startedAt, doneAt: now(), durationMs: now() - startedAt };
    },
    async killWorker() {
      const [pid] = childPids(master.child.pid);
      const from = master.lines.length;
      const killedAt = now();
      process.kill(pid, 'SIGKILL');
      const line = await master.waitForLine(listening, { from, timeoutMs: 15_000, what: 'a new worker listening' });
      return { pid, killedAt, readyAt: line.time };
    },
    async stop() {
      if (isAlive(master.child.pid)) process.kill(master.child.pid, 'SIGTERM');
      return { leftovers: await reap([master.child.pid, ...retired.map((each) => each.child.pid), ...workerPidsSeen()]) };
    },
  };
  try {
    await waitFor(`${workers} workers listening`, () => master.lines.filter(listening).length >= workers, { timeoutMs: 15_000 });
    handle.readyMs = Math.max(...master.lines.filter(listening).map((line) => line.time)) - startedAt;
    return handle;
  } catch (error) {
    await handle.stop();
    throw error;
  }
}
