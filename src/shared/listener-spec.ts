import type { WebServerConfig } from '../config/types';
import { WORKER_ENV } from '../protocol';

/** One of the master's listening sockets as a process that inherits it sees it. */
export interface ListenerSpec {
  /** What it is bound to, as the config names it: `tcp:<bindIP>:<port>` or `unix:<path>`. */
  address: string;
  /** The fd it is open at in that process. */
  fd: number;
}

/** The address key of a web server config, to compare with an inherited listener's. */
export function listenerAddress(web: Pick<WebServerConfig, 'port' | 'bindIP'>): string {
  return typeof web.port === 'number' ? `tcp:${web.bindIP}:${web.port}` : `unix:${web.port}`;
}

/**
 * In a worker: the fd of the master's listener for this web config, if the master has one. A worker whose config
 * names another port or path (changed since the master started) listens through node:cluster instead.
 */
export function inheritedListenerFd(web: Pick<WebServerConfig, 'port' | 'bindIP'>, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const raw = env[WORKER_ENV.listeners];
  if (!raw) return undefined;
  const address = listenerAddress(web);
  return (JSON.parse(raw) as ListenerSpec[]).find((listener) => listener.address === address)?.fd;
}
