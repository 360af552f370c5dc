import { chmod, lstat, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { WebServerConfig } from '../../config/types';
import { BootError, errorMessage } from '../../errors';

/** How long a connect to an existing socket file may take before we count it as in use. */
const SOCKET_PROBE_TIMEOUT_MS = 1_000;

/**
 * Listen on the configured TCP port or unix socket path; resolves with the address once listening.
 * In a cluster worker the master owns the listening handle: no stale-socket check, no chmod.
 */
export async function listen(server: Server, web: WebServerConfig, clustered: boolean): Promise<string> {
  if (typeof web.port === 'number') {
    await listenOn(server, { port: web.port, host: web.bindIP }, `${web.bindIP}:${web.port}`);
    const { address, port, family } = server.address() as AddressInfo;
    return `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
  }
  const socketPath = web.port;
  if (!clustered) await removeStaleSocket(socketPath);
  await listenOn(server, { path: socketPath }, `unix socket ${socketPath}`);
  if (!clustered) {
    await chmod(socketPath, web.socketMode).catch((error: unknown) => {
      server.close();
      throw new BootError(`cannot chmod unix socket ${socketPath} to ${web.socketMode.toString(8)}: ${errorMessage(error)}`);
    });
  }
  return socketPath;
}

function listenOn(server: Server, options: net.ListenOptions, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(new BootError(`cannot listen on ${where}: ${describeListenError(error)}`, { cause: error }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options);
  });
}

function describeListenError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return 'address already in use';
    case 'EACCES':
      return 'permission denied';
    case 'EADDRNOTAVAIL':
      return 'address not available on this host';
    default:
      return error.message;
  }
}

/** A socket file left by a process that died is removed; one a live server answers on is an error. */
async function removeStaleSocket(socketPath: string): Promise<void> {
  const stats = await lstat(socketPath).catch(() => undefined);
  if (!stats) return;
  if (!stats.isSocket()) throw new BootError(`cannot listen on unix socket ${socketPath}: the path exists and is not a socket`);
  if (await isAnswering(socketPath)) throw new BootError(`unix socket ${socketPath} is in use by a running server`);
  await unlink(socketPath).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw new BootError(`cannot remove stale unix socket ${socketPath}: ${error.message}`);
  });
}

/** true when a server accepts a connection on the socket (or does not refuse it in time), false when refused. */
function isAnswering(socketPath: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.connect({ path: socketPath });
    const done = (): void => {
      clearTimeout(timer);
      probe.destroy();
    };
    const timer = setTimeout(() => {
      done();
      resolve(true);
    }, SOCKET_PROBE_TIMEOUT_MS);
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
