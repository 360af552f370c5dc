import fs from 'node:fs';
import net from 'node:net';
import { BootError } from '../errors';

const PROBE_TIMEOUT_MS = 1_000;

/** Does a server answer on this unix socket path? */
function isSocketLive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(socketPath);
    const done = (live: boolean): void => {
      probe.destroy();
      resolve(live);
    };
    probe.setTimeout(PROBE_TIMEOUT_MS, () => done(true));
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
  });
}

/**
 * Before listening on a unix socket: remove a stale socket file left by a process that died, but refuse
 * (BootError) when a live server still answers on it, or when the path is not a socket at all.
 */
export async function clearStaleSocket(socketPath: string): Promise<void> {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(socketPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new BootError(`cannot use unix socket ${socketPath}: ${(error as Error).message}`);
  }
  if (!stat.isSocket()) throw new BootError(`unix socket path ${socketPath} exists and is not a socket; remove it or choose another path`);
  if (await isSocketLive(socketPath)) throw new BootError(`unix socket ${socketPath} is in use by a running server`);
  fs.rmSync(socketPath, { force: true });
}
