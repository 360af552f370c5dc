import fs from 'node:fs';
import net from 'node:net';
import { BootError } from '../errors';

const PROBE_TIMEOUT_MS = 1_000;

/** Does a server answer on this unix socket path? A connect that neither succeeds nor fails in time counts as yes. */
function isSocketLive(socketPath: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.connect(socketPath);
    const done = (): void => {
      clearTimeout(timer);
      probe.destroy();
    };
    const timer = setTimeout(() => {
      done();
      resolve(true);
    }, PROBE_TIMEOUT_MS);
    probe.once('connect', () => {
      done();
      resolve(true);
    });
    probe.once('error', (error: NodeJS.ErrnoException) => {
      done();
      if (error.code === 'ECONNREFUSED' || error.code === 'ENOENT') resolve(false);
      else reject(new BootError(`cannot check whether unix socket ${socketPath} is in use: ${error.message}`));
    });
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
