import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { isRestarting } from '../restart-intent';
import { closeUpgraded, type UpgradedConnection } from './upgraded';

/**
 * What the tracker knows about one socket: its responses still in flight, whether the drain has reached it
 * (`closing`: its next response says `Connection: close`), whether it was upgraded (a websocket), who
 * waits for the drain to reach it (drainSignal), and its timers while draining.
 */
interface SocketState {
  responses: Set<ServerResponse>;
  closing: boolean;
  upgrade?: UpgradedConnection;
  reached?: AbortController;
  idleTimer?: NodeJS.Timeout;
  rampTimer?: NodeJS.Timeout;
}

/** Websocket close codes (RFC 6455): the server goes away for good, or restarts (clients should come back). */
const CLOSE_GOING_AWAY = 1001;
const CLOSE_SERVICE_RESTART = 1012;

export interface DrainOptions {
  /**
   * ms a keep-alive connection must have been idle before it is closed; also the most a websocket told to
   * close gets to finish its close handshake before it is destroyed.
   */
  idleGrace: number;
  /**
   * ms over which the open connections are told to close, one after another, instead of all at once: their
   * clients reconnect (to the other workers) in a trickle, not a burst on a replacement that is still cold.
   */
  ramp?: number;
  /**
   * The close code each websocket gets. Default: 1012 (Service Restart) when this worker is being replaced by
   * a rolling reload, else 1001 (Going Away).
   */
  closeCode?: number;
}

/**
 * Follows every socket of an http.Server and the requests in flight on each, so a drain can close
 * each connection at the one moment that loses nothing: right after a response, or once it has stayed idle;
 * an upgraded one (a websocket) with a close frame, within a bound.
 */
class ConnectionTracker {
  private readonly sockets = new Map<Socket, SocketState>();
  /** Set once the drain began. */
  private idleGrace: number | undefined;
  private closeCode = CLOSE_GOING_AWAY;
  private drained: Promise<void> | undefined;

  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => this.stateOf(socket));
    // Prepended: the Connection header must be set before the app's own listener can send headers.
    server.prependListener('request', (request: IncomingMessage, response: ServerResponse) => this.onRequest(request, response));
    this.followUpgrades();
  }

  drain({ idleGrace, ramp = 0, closeCode }: DrainOptions): Promise<void> {
    this.drained ??= new Promise<void>((resolve) => {
      // Not http.Server#close: on Node >= 19 it resets idle keep-alive sockets, racing requests the client is sending.
      // The callback runs once every connection, tracked or not, has closed.
      net.Server.prototype.close.call(this.server, () => resolve());
      this.idleGrace = idleGrace;
      this.closeCode = closeCode ?? (isRestarting() ? CLOSE_SERVICE_RESTART : CLOSE_GOING_AWAY);
      const sockets = [...this.sockets];
      sockets.forEach(([socket, state], index) => {
        const delay = (ramp * index) / sockets.length;
        if (delay === 0) this.beginClosing(socket, state);
        else state.rampTimer = setTimeout(() => this.beginClosing(socket, state), delay);
      });
    });
    return this.drained;
  }

  /** Aborted when the drain reaches this socket's connection (at once if it already has). */
  signalFor(socket: Socket): AbortSignal {
    const state = this.stateOf(socket);
    state.reached ??= new AbortController();
    if (state.closing) state.reached.abort();
    return state.reached.signal;
  }

  /**
   * Learn which sockets the server hands to the app's 'upgrade' listeners (websockets), listening only while
   * the app does: a server with no 'upgrade' listener answers an upgrade request as a plain request, and a
   * listener of ours alone would leave it unanswered.
   */
  private followUpgrades(): void {
    const listener = (request: IncomingMessage, socket: Duplex): void => this.onUpgrade(request, socket as Socket);
    const update = (): void => {
      const listeners = this.server.listeners('upgrade');
      const ours = listeners.includes(listener);
      if (!ours && listeners.length > 0) this.server.prependListener('upgrade', listener);
      else if (ours && listeners.length === 1) this.server.off('upgrade', listener);
    };
    // After the change: 'newListener' is emitted before the listener is added.
    const onChange = (event: string | symbol): void => {
      if (event === 'upgrade') queueMicrotask(update);
    };
    this.server.on('newListener', onChange);
    this.server.on('removeListener', onChange);
    update();
  }

  private onUpgrade(request: IncomingMessage, socket: Socket): void {
    const state = this.stateOf(socket);
    clearTimeout(state.idleTimer);
    const upgrade = { websocket: /\bwebsocket\b/i.test(request.headers.upgrade ?? ''), bytesWrittenBefore: socket.bytesWritten };
    state.upgrade = upgrade;
    // Upgraded while draining: let the app answer the handshake first, then close it like the others.
    if (state.closing) setImmediate(() => this.closeUpgraded(socket, state, upgrade));
  }

  private closeUpgraded(socket: Socket, state: SocketState, upgrade: UpgradedConnection): void {
    if (socket.destroyed) return;
    closeUpgraded(socket, upgrade, this.closeCode);
    // The close handshake is bounded: a client that does not answer must not hold the drain.
    state.idleTimer = setTimeout(() => socket.destroy(), this.idleGrace);
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
    state.reached?.abort();
    if (state.upgrade) {
      this.closeUpgraded(socket, state, state.upgrade);
      return;
    }
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

// Kept on `process`: a worker runs mycluster bundled into one file (dist/worker/main.js), and an app that
// imports mycluster's drain helpers (`require('mycluster')`) loads another copy of this module. Both copies
// must know the same servers, or drainSignal() of the app's copy would never hear of the worker's drain.
const TRACKERS = Symbol.for('mycluster.connectionTrackers');
const shared = process as NodeJS.Process & { [TRACKERS]?: WeakMap<Server, ConnectionTracker> };
const trackers: WeakMap<Server, ConnectionTracker> = shared[TRACKERS] ?? new WeakMap();
shared[TRACKERS] = trackers;

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
 * has closed. Upgraded connections are told to close at their turn in the ramp (a websocket gets a close
 * frame with `closeCode`) and destroyed if still open `idleGrace` ms later. No overall timeout: the caller
 * decides. On a server not tracked since its creation, idle connections opened before the call end with the
 * server's keepAliveTimeout instead.
 */
export function drainServer(server: Server, options: DrainOptions): Promise<void> {
  return trackerOf(server).drain(options);
}

/**
 * An AbortSignal aborted when a drain of the request's server reaches the request's connection (at its turn in
 * the ramp): the moment a long poll should answer and a server-sent event stream should end.
 */
export function drainSignal(request: IncomingMessage): AbortSignal {
  const server = (request.socket as Socket & { server?: Server }).server;
  if (!server) throw new TypeError('drainSignal takes a request a node:http server received');
  return trackerOf(server).signalFor(request.socket);
}
