import { chmod } from 'node:fs/promises';
import type { Server } from 'node:http';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { WebServerConfig } from '../../config/types';
import { BootError, errorMessage } from '../../errors';
import { inheritedListenerFd } from '../../shared/listener-spec';
import { clearStaleSocket } from '../../shared/unix-socket';

/**
 * Listen on the configured TCP port or unix socket path; resolves with the address once listening.
 * In a cluster worker the master owns the listening socket: the worker accepts from the fd it inherited.
 */
export async function listen(server: Server, web: WebServerConfig, clustered: boolean): Promise<string> {
  const inherited = clustered ? inheritedListenerFd(web) : undefined;
  if (inherited !== undefined) {
    await listenOn(server, { fd: inherited }, `the master's ${typeof web.port === 'number' ? `${web.bindIP}:${web.port}` : `unix socket ${web.port}`}`);
    return typeof web.port === 'number' ? `http://${web.bindIP}:${web.port}` : web.port;
  }
  if (typeof web.port === 'number') {
    await listenOn(server, { port: web.port, host: web.bindIP }, `${web.bindIP}:${web.port}`);
    const { address, port, family } = server.address() as AddressInfo;
    return `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`;
  }
  const socketPath = web.port;
  if (!clustered) await clearStaleSocket(socketPath);
  await listenOn(server, { path: socketPath }, `unix socket ${socketPath}`);
  await chmod(socketPath, web.socketMode).catch((error: unknown) => {
    server.close();
    throw new BootError(`cannot chmod unix socket ${socketPath} to ${web.socketMode.toString(8)}: ${errorMessage(error)}`);
  });
  return socketPath;
}

function listenOn(server: Server, options: net.ListenOptions | { fd: number }, where: string): Promise<void> {
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
    if ('fd' in options) listenOnFd(server, options.fd);
    else server.listen(options);
  });
}

/**
 * Accept from an inherited listening fd in this process. `server.listen({ fd })` in a cluster worker would ask
 * the master to listen on *its* fd of that number instead; `_listen2` (node:net's own setup of a listening
 * handle, the method node:cluster's worker side calls too) opens the fd here.
 */
export function listenOnFd(server: Server, fd: number): void {
  (server as unknown as { _listen2(address: null, port: null, addressType: null, backlog: number, fd: number): void })._listen2(null, null, null, 511, fd);
}

function describeListenError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'EADDRINUSE':
      // The usual cause in an app: its own server, started in an initializer, took the port first.
      return 'address already in use (if your app starts its own server on this port, set servers.web.enabled: false)';
    case 'EACCES':
      return 'permission denied';
    case 'EADDRNOTAVAIL':
      return 'address not available on this host';
    default:
      return error.message;
  }
}
