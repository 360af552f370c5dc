import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';

/**
 * What the tracker knows about one socket: its responses still in flight, whether the drain has reached it
 * (`closing`: its next response says `Connection: close`), and its timers while draining.
 */
interface SocketState {
  responses: Set<ServerResponse>;
  closing: boolean;
  idleTimer?: NodeJS.Timeout;
  rampTimer?: NodeJS.Timeout;
}

export interface DrainOptions {
  /** ms a keep-alive connection must have been idle before it is closed. */
  idleGrace: number;
  /**
   * ms over which the open connections are told to close, one after another, instead of all at once: their
   * clients reconnect (to the other workers) in a trickle, not a burst on a replacement that is still cold.
   */
  ramp?: number;
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

  drain({ idleGrace, ramp = 0 }: DrainOptions): Promise<void> {
    this.drained ??= new Promise<void>((resolve) => {
      // Not http.Server#close: on Node >= 19 it resets idle keep-alive sockets, racing requests the client is sending.
      // The callback runs once every connection, tracked or not, has closed.
      net.Server.prototype.close.call(this.server, () => resolve());
      this.idleGrace = idleGrace;
      const sockets = [...this.sockets];
      sockets.forEach(([socket, state], index) => {
        const delay = (ramp * index) / sockets.length;
        if (delay === 0) this.beginClosing(socket, state);
        else state.rampTimer = setTimeout(() => this.beginClosing(socket, state), delay);
      });
    });
    return this.drained;
  }

  private stateOf(socket: Socket): SocketState {
    let state = this.sockets.get(socket);
    if (state) return state;
    state = { responses: new Set(), closing: false };
    this.sockets.set(socket, state);
    const forget = (): void => {
      const known = this.sockets.get(socket);
      clearTimeout(known?.idleTimer);
      clearTimeout(known?.rampTimer);
      this.sockets.delete(socket);
    };
    socket.once('close', forget);
    socket.once('error', forget);
    // Accepted in the moment before the drain began, or routed here by the cluster master just before.
    if (this.idleGrace !== undefined) this.beginClosing(socket, state);
    return state;
  }

  /** From now on this socket closes after its current or next response, or once it has stayed idle. */
  private beginClosing(socket: Socket, state: SocketState): void {
    state.closing = true;
    for (const response of state.responses) closeAfter(response);
    if (state.responses.size === 0) this.closeWhenIdle(socket, state);
  }

  private onRequest(request: IncomingMessage, response: ServerResponse): void {
    const state = this.stateOf(request.socket);
    clearTimeout(state.idleTimer);
    state.responses.add(response);
    if (state.closing) closeAfter(response);
    response.once('close', () => {
      state.responses.delete(response);
      if (state.closing && state.responses.size === 0) this.closeWhenIdle(request.socket, state);
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
 * request already on its way with `Connection: close` (connection after connection over `ramp` ms, if given),
 * destroy a connection only once it has stayed idle for `idleGrace` ms, and resolve when every connection
 * has closed. No overall timeout: the caller decides. On a server not tracked since its creation, idle
 * connections opened before the call end with the server's keepAliveTimeout instead.
 */
export function drainServer(server: Server, options: DrainOptions): Promise<void> {
  return trackerOf(server).drain(options);
}
