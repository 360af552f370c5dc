// mycluster: `bin/mycluster start --workers=N` on a bench app (copied to a temp dir), reloaded with USR2.
// Everything is read from the master's JSON log lines. Two peers on bench/apps/mycluster: one serves the 5 ms
// answer as an action; the other sets BENCH_HANDLER, so the app serves bench/apps/handler.js, the other
// peers' own code, through `servers.web.handler`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childPids, isAlive, now, reap, run, spawnLogged } from '../lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '..', '..', 'bin', 'mycluster');
const apps = path.resolve(here, '..', 'apps');

const msg = (pattern) => (line) => pattern.test(line.msg ?? '');

export const mycluster = myclusterPeer({ id: 'mycluster', label: 'mycluster', app: 'mycluster', urlPath: '/api/slow' });
export const myclusterHandler = myclusterPeer({
  id: 'myclusterHandler',
  label: 'mycluster (same handler)',
  app: 'mycluster',
  urlPath: '/',
  env: { BENCH_HANDLER: path.join(apps, 'handler.js') },
});

function myclusterPeer({ id, label, app, urlPath, env = {} }) {
  return { id, label, urlPath, start: (options) => start({ ...options, app: path.join(apps, app), env }) };
}

async function start({ port, workers, app, env }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-bench-'));
  fs.cpSync(app, dir, { recursive: true, filter: (source) => path.basename(source) !== 'pids' }); // no pidfiles of a manual run
  fs.mkdirSync(path.join(dir, 'pids'));
  const startedAt = now();
  const master = spawnLogged(process.execPath, [bin, 'start', `--workers=${workers}`], {
    cwd: dir,
    env: { ...env, PORT: String(port), MYCLUSTER_LOG_FORMAT: 'json', NODE_ENV: 'production' },
  });
  const workerPidsSeen = () => master.lines.map((line) => line.workerPid).filter(Boolean);

  const handle = {
    masterPid: master.child.pid,
    readyMs: null,
    workerPids: () => childPids(master.child.pid),
    /** USR2; done when the master logs `rolling reload #N done in X ms` (its own duration). */
    async reload() {
      const from = master.lines.length;
      const startedAt = now();
      process.kill(master.child.pid, 'SIGUSR2');
      const done = await master.waitForLine(msg(/rolling reload #\d+ done/), { from, timeoutMs: 30_000, what: 'rolling reload done' });
      return { startedAt, doneAt: done.receivedAt, durationMs: done.durationMs };
    },
    /** `mycluster upgrade`: a new master takes the socket over; done when the command returns (old workers gone). */
    async upgrade() {
      const startedAt = now();
      const result = await run(process.execPath, [bin, 'upgrade', '--pids', path.join(dir, 'pids')], { timeoutMs: 60_000 });
      if (result.code !== 0) throw new Error(`mycluster upgrade exited ${result.code}: ${result.stderr.trim()}`);
      return { startedAt, doneAt: now(), durationMs: result.durationMs };
    },
    /** SIGKILL worker #1; recovered when the master logs `worker #1 (pid P) ready` for a new pid. */
    async killWorker() {
      const pid = Number(fs.readFileSync(path.join(dir, 'pids', 'mycluster-worker-1'), 'utf8').trim());
      const from = master.lines.length;
      const killedAt = now();
      process.kill(pid, 'SIGKILL');
      const ready = await master.waitForLine((line) => msg(/worker #1 \(pid \d+\) ready/)(line) && line.workerPid !== pid, {
        from,
        timeoutMs: 15_000,
        what: 'a new worker #1 ready',
      });
      return { pid, killedAt, readyAt: ready.time };
    },
    /** TERM (graceful stop), then SIGKILL whatever is left after 15 s; returns the pids that had to be killed. */
    async stop() {
      if (isAlive(master.child.pid)) process.kill(master.child.pid, 'SIGTERM');
      // After upgrades the first process is a keeper: the masters it forwarded to logged their own pids.
      const leftovers = await reap([master.child.pid, ...workerPidsSeen(), ...master.lines.map((line) => line.pid).filter(Boolean)], 15_000);
      fs.rmSync(dir, { recursive: true, force: true });
      return { leftovers };
    },
  };
  try {
    const line = await master.waitForLine(msg(/cluster equilibrium state reached/), { timeoutMs: 20_000, what: 'cluster equilibrium' });
    handle.readyMs = line.time - startedAt;
    return handle;
  } catch (error) {
    await handle.stop();
    throw error;
  }
}
