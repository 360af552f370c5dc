// PM2 7 in cluster mode: `pm2 start bench/apps/server.js -i N --wait-ready`, with its own PM2_HOME in a
// temp dir (never the user's ~/.pm2), `pm2 reload` for reloads, `pm2 kill` at the end. The PM2 daemon
// (God) is the cluster master. When a worker listens is read from the app's own "listening" lines in
// PM2's log files (PM2_HOME/logs/bench-out-<id>.log).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { childPids, now, reap, run, waitFor } from '../lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const pm2Bin = path.join(root, 'node_modules', '.bin', 'pm2');
const script = path.join(root, 'bench', 'apps', 'server.js');

export const id = 'pm2';
export const label = 'PM2 7 (cluster)';
export const urlPath = '/';

export async function start({ port, workers }) {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-bench-pm2-'));
  const env = { PM2_HOME: home, PORT: String(port) };
  const pm2 = async (...args) => {
    const result = await run(pm2Bin, args, { env, timeoutMs: 30_000 });
    if (result.code !== 0) throw new Error(`pm2 ${args.join(' ')} exited ${result.code}: ${result.stderr.slice(-500)}`);
    return result;
  };
  /** Every "listening" line the app's workers wrote so far, from all of PM2's out logs. */
  const listening = () => {
    const logs = path.join(home, 'logs');
    if (!fs.existsSync(logs)) return [];
    return fs
      .readdirSync(logs)
      .filter((file) => file.includes('-out'))
      .flatMap((file) => fs.readFileSync(path.join(logs, file), 'utf8').split('\n'))
      .filter((text) => text.includes('"listening"'))
      .map((text) => JSON.parse(text));
  };
  const daemonPid = () => {
    try {
      return Number(fs.readFileSync(path.join(home, 'pm2.pid'), 'utf8').trim()) || null;
    } catch {
      return null;
    }
  };
  const pidsSeen = new Set();

  const handle = {
    masterPid: null,
    readyMs: null,
    workerPids: () => childPids(handle.masterPid),
    /** `pm2 reload bench`; its duration is the command's. */
    async reload() {
      const startedAt = now();
      const result = await pm2('reload', 'bench');
      return { startedAt, doneAt: now(), durationMs: Math.round(result.durationMs) };
    },
    /** `pm2 update` (what a PM2 user runs after installing a new PM2 or Node): save, kill the daemon, restore. */
    async upgrade() {
      const startedAt = now();
      const before = new Set(listening().map((line) => line.pid));
      pidsSeen.add(daemonPid());
      const result = await pm2('update');
      await waitFor('the PM2 workers listening again', () => listening().filter((line) => !before.has(line.pid)).length >= workers, { timeoutMs: 30_000 });
      handle.masterPid = daemonPid();
      pidsSeen.add(handle.masterPid);
      return { startedAt, doneAt: now(), durationMs: now() - startedAt, commandMs: result.durationMs };
    },
    /** SIGKILL one worker; recovered when a worker with a new pid logs "listening". */
    async killWorker() {
      const before = new Set(listening().map((line) => line.pid));
      const [pid] = handle.workerPids();
      const killedAt = now();
      process.kill(pid, 'SIGKILL');
      const fresh = await waitFor('a new PM2 worker listening', () => listening().find((line) => !before.has(line.pid)), { timeoutMs: 15_000 });
      return { pid, killedAt, readyAt: fresh.time };
    },
    /** `pm2 kill`, then wait until the daemon and its workers are gone (SIGKILL any left). */
    async stop() {
      for (const pid of [daemonPid(), ...handle.workerPids(), ...listening().map((line) => line.pid)]) if (pid) pidsSeen.add(pid);
      await pm2('kill').catch(() => undefined);
      const leftovers = await reap([...pidsSeen], 10_000);
      fs.rmSync(home, { recursive: true, force: true });
      return { leftovers };
    },
  };
  try {
    const startedAt = now();
    await pm2('start', script, '--name', 'bench', '-i', String(workers), '--wait-ready');
    handle.masterPid = daemonPid();
    pidsSeen.add(handle.masterPid);
    const lines = await waitFor(`${workers} PM2 workers listening`, () => (listening().length >= workers ? listening() : null), { timeoutMs: 15_000 });
    handle.readyMs = Math.max(...lines.map((line) => line.time)) - startedAt;
    return handle;
  } catch (error) {
    await handle.stop();
    throw error;
  }
}
