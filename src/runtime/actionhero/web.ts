import type { Server } from 'node:http';
import { trackConnections } from '../web/drain';
import { listenOnFd } from '../web/listen';

/** ActionHero's web server instance (`api.servers.servers.web`): it creates its http.Server in start(). */
export interface ActionheroWebServer {
  server?: Server;
}

/**
 * Take ActionHero's web server in hand the moment it creates its http.Server, before it listens: its
 * connections are tracked from the first (so a drain loses none), and with `fd` (the master's listening
 * socket, inherited) its `listen()` accepts from that fd in this process instead of binding the port.
 */
export function adoptWebServer(instance: ActionheroWebServer, fd: number | undefined): void {
  let current = instance.server;
  Object.defineProperty(instance, 'server', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (server: Server) => {
      current = server;
      trackConnections(server);
      if (fd !== undefined) redirectListen(server, fd);
    },
  });
}

/** That one server's listen(port, host, callback) opens the inherited fd instead; the callback runs once listening. */
function redirectListen(server: Server, fd: number): void {
  const redirected = (...args: unknown[]): Server => {
    const callback = args.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    if (callback) server.once('listening', callback);
    listenOnFd(server, fd);
    return server;
  };
  Object.defineProperty(server, 'listen', { configurable: true, value: redirected });
}
