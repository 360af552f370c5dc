import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';

/** What the tracker knows about one socket: its responses still in flight, and its idle timer while draining. */
interface SocketState {
  responses: Set<ServerResponse>;
  idleTimer?: NodeJS.Timeout;
}

/**
 * Follows every socket of an http.Server and the requests in flight on each, so a drain can close
 * each connection at the one moment that loses nothing: right after a response, or once it has stayed idle.
 */
class ConnectionTracker {
  private readonly sockets = new Map<Socket, SocketState>();
  /** Set once the drain began. */
  private idleGrace: number | undefined;
  private drained: Promise<void> | undefined;

  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => this.stateOf(socket));
    // Prepended: the Connection header must be set before the app's own listener can send headers.
    server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => this.onRequest(request, response));
  }

  drain(idleGrace: number): Promise<void> {
    this.drained ??= new Promise<void>((resolve) => {
      // Not http.Server#close: on Node >= 19 it resets idle keep-alive sockets, racing requests the client is sending.
      // The callback runs once every connection, tracked or not, has closed.
      net.Server.prototype.close.call(this.server, () => resolve());
      this.idleGrace = idleGrace;
      for (const [socket, state] of this.sockets) {
        for (const response of state.responses) closeAfter(response);
        if (state.responses.size === 0) this.closeWhenIdle(socket, state);
      }
    });
    return this.drained;
  }

  private stateOf(socket: Socket): SocketState {
    let state = this.sockets.get(socket);
    if (state) return state;
    state = { responses: new Set() };
    this.sockets.set(socket, state);
    const forget = (): void => {
      clearTimeout(this.sockets.get(socket)?.idleTimer);
      this.sockets.delete(socket);
    };
    socket.once('close', forget);
    socket.once('error', forget);
    // Accepted in the moment before the drain began, or routed here by the cluster master just before.
    if (this.idleGrace !== undefined) this.closeWhenIdle(socket, state);
    return state;
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    const state = this.stateOf(request.socket);
    clearTimeout(state.idleTimer);
    state.responses.add(response);
    if (this.idleGrace !== undefined) closeAfter(response);
    response.once('close', () => {
      state.responses.delete(response);
      if (this.idleGrace !== undefined && state.responses.size === 0) this.closeWhenIdle(request.socket, state);
    });
  }

  /** Destroy the socket once it has received nothing for idleGrace ms. */
  private closeWhenIdle(socket: Socket, state: SocketState): void {
    clearTimeout(state.idleTimer);
    const bytesReadBefore = socket.bytesRead;
    state.idleTimer = setTimeout(() => {
      // Bytes arrived but no 'request' yet: a request's headers are on their way; wait for it.
      if (socket.bytesRead !== bytesReadBefore) this.closeWhenIdle(socket, state);
      else socket.destroy();
    }, this.idleGrace);
  }
}

/** Node closes the socket after a response whose headers say `Connection: close`. */
function closeAfter(response: ServerResponse): void {
  if (!response.headersSent) response.setHeader('Connection', 'close');
}

const trackers = new WeakMap<Server, ConnectionTracker>();

function trackerOf(server: Server): ConnectionTracker {
  let tracker = trackers.get(server);
  if (!tracker) {
    tracker = new ConnectionTracker(server);
    trackers.set(server, tracker);
  }
  return tracker;
}

/**
 * Start following a server's connections. Call it right after creating the server: a drain then knows
 * every connection. Idempotent.
 */
export function trackConnections(server: Server): void {
  trackerOf(server);
}

/**
 * Stop a server without failing a request: stop accepting, answer every request in flight and every
 * request already on its way with `Connection: close`, destroy a connection only once it has stayed idle
 * for `idleGrace` ms, and resolve when every connection has closed. No overall timeout: the caller decides.
 * On a server not tracked since its creation, idle connections opened before the call end with the
 * server's keepAliveTimeout instead.
 */
export function drainServer(server: Server, options: { idleGrace: number }): Promise<void> {
  return trackerOf(server).drain(options.idleGrace);
}
