// One plain node:http process (bench/apps/server.js): the throughput reference, no supervisor at all.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlive, now, reap, spawnLogged } from '../lib.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, '..', 'apps', 'server.js');

export const id = 'single';
export const label = 'single process';
export const urlPath = '/';

export async function start({ port }) {
  const startedAt = now();
  const server = spawnLogged(process.execPath, [script], { env: { PORT: String(port) } });
  const handle = {
    masterPid: server.child.pid,
    readyMs: null,
    workerPids: () => [server.child.pid],
    async stop() {
      if (isAlive(server.child.pid)) process.kill(server.child.pid, 'SIGINT');
      return { leftovers: await reap([server.child.pid]) };
    },
  };
  try {
    const line = await server.waitForLine((line) => line.msg === 'listening', { what: 'listening' });
    handle.readyMs = line.time - startedAt;
    return handle;
  } catch (error) {
    await handle.stop();
    throw error;
  }
}
