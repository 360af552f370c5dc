/**
 * The web server's listening socket belongs to the master, not to node:cluster: the master binds it once
 * (or takes it over from the master it replaces) and every worker inherits it as a file descriptor and
 * accepts from it directly. The socket therefore outlives any worker, and outlives the master itself when a
 * new master inherits it (`mycluster upgrade`): connections waiting in its accept queue are never refused.
 *
 * The master never listens on it itself (a bound socket without an event-loop watcher): only workers accept.
 */
import { chmodSync, closeSync } from 'node:fs';
import net from 'node:net';
import { getSystemErrorName } from 'node:util';
import type { WebServerConfig } from '../config/types';
import { BootError } from '../errors';
import { type ListenerSpec, listenerAddress } from '../shared/listener-spec';
import { clearStaleSocket } from '../shared/unix-socket';

/** A libuv server handle, bound and not listening: node:net's own `_createServerHandle` (what node:cluster uses). */
interface BoundHandle {
  fd: number;
  /** 0, or the error of the bind: libuv holds EADDRINUSE back until listen() (or this call). */
  getsockname(out: object): number;
  close(): void;
}

type CreateServerHandle = (address: string | null, port: number, addressType: number, fd?: number) => BoundHandle | number;
const createServerHandle = (net as unknown as { _createServerHandle: CreateServerHandle })._createServerHandle;

export interface Listener extends ListenerSpec {
  /** Unix socket path, to remove once the last master using it stops. */
  socketPath?: string;
  /** Close this master's copy (not the socket, while another process still holds it). */
  close(): void;
}

/** A host name's address. node:dns is loaded only here: most bindIPs are addresses, and it holds ~0.3 MiB. */
async function lookup(host: string, where: string): Promise<string> {
  const dns = require('node:dns') as typeof import('node:dns');
  try {
    return (await dns.promises.lookup(host)).address;
  } catch (error) {
    throw cannotListen(where, (error as Error).message);
  }
}

/** Bind the web server's socket (TCP port or unix socket path). A BootError names the address and the reason. */
export async function bindListener(web: WebServerConfig): Promise<Listener> {
  const address = listenerAddress(web);
  if (typeof web.port === 'number') {
    const where = `${web.bindIP}:${web.port}`;
    const ip = net.isIP(web.bindIP) ? web.bindIP : await lookup(web.bindIP, where);
    const handle = createServerHandle(ip, web.port, net.isIPv6(ip) ? 6 : 4);
    if (typeof handle === 'number') throw bindError(where, handle);
    // The master never listens, so a port in use would go unnoticed here: the socket would stay unbound, and
    // the workers' listen() would bind it to a random port on every interface.
    const delayedError = handle.getsockname({});
    if (delayedError !== 0) {
      handle.close();
      throw bindError(where, delayedError);
    }
    return { address, fd: handle.fd, close: () => handle.close() };
  }
  const socketPath = web.port;
  await clearStaleSocket(socketPath);
  const handle = createServerHandle(socketPath, -1, -1);
  if (typeof handle === 'number') throw bindError(`unix socket ${socketPath}`, handle);
  try {
    chmodSync(socketPath, web.socketMode);
  } catch (error) {
    handle.close();
    throw new BootError(`cannot chmod unix socket ${socketPath} to ${web.socketMode.toString(8)}: ${(error as Error).message}`);
  }
  return { address, fd: handle.fd, socketPath, close: () => handle.close() };
}

/**
 * A listener inherited from the master this one replaces: the fd is already open in this process, and only
 * its number is needed (to pass it on). Closing it never removes the unix socket file.
 */
export function adoptListener(spec: ListenerSpec): Listener {
  const socketPath = spec.address.startsWith('unix:') ? spec.address.slice('unix:'.length) : undefined;
  return { address: spec.address, fd: spec.fd, socketPath, close: () => closeSync(spec.fd) };
}

function bindError(where: string, errno: number): BootError {
  const code = getSystemErrorName(errno);
  const reasons: Record<string, string> = {
    EADDRINUSE: 'address already in use (is another mycluster, or another server, running on it?)',
    EACCES: 'permission denied',
    EADDRNOTAVAIL: 'address not available on this host',
  };
  return cannotListen(where, reasons[code] ?? code);
}

function cannotListen(where: string, reason: string): BootError {
  return new BootError(`cannot listen on ${where}: ${reason}`);
}
