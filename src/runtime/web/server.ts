import http, { type RequestListener, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Config, WebServerConfig } from '../../config/types';
import { BootError, errorMessage } from '../../errors';
import type { ActionDefinition, AppContext } from '../types';
import { drainServer, trackConnections } from './drain';
import { listen } from './listen';
import { readApiVersion } from './metadata';
import { createRouter, guardHandler } from './router';
import { type StatusReport, type StoppingReason, statusAction } from './status-action';

export interface WebServerOptions {
  config: Config;
  context: AppContext;
  actions: Map<string, ActionDefinition>;
  /** The app's own request handler: when set, it gets every request (no actions, no static files). */
  handler?: RequestListener;
  log: Logger;
  /** In a node:cluster worker: the master owns the listening handle (and the unix socket file). */
  clustered: boolean;
  statusReport?: StatusReport;
  stoppingReason?: StoppingReason;
}

export interface WebServer {
  /** `http://host:port`, or the unix socket path. */
  address: string;
  server: Server;
  /** Stop without failing a request: see drainServer. */
  drain(): Promise<void>;
}

/** Create the web server and resolve once it is listening; a BootError when it cannot listen. */
export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const web = options.config.servers.web;
  const listener = options.handler ? guardHandler(options.handler, options.log) : await createActionRouter(options);
  const server = createServer(web, listener, options.log);
  trackConnections(server);
  const address = await listen(server, web, options.clustered);
  server.on('error', (error) => options.log.error({ err: error }, 'web server error'));
  options.log.info({ address, handler: Boolean(options.handler) }, 'web server listening');
  return { address, server, drain: () => drainServer(server, { idleGrace: web.drainIdleGrace, ramp: web.drainRamp }) };
}

async function createActionRouter(options: WebServerOptions): Promise<RequestListener> {
  const actions = new Map(options.actions);
  if (!actions.has('status')) actions.set('status', statusAction(options.statusReport, options.stoppingReason));
  return createRouter({
    actions,
    context: options.context,
    config: options.config,
    log: options.log,
    apiVersion: await readApiVersion(options.context.projectRoot),
  });
}

function createServer(web: WebServerConfig, listener: RequestListener, log: Logger): Server {
  let server: Server;
  try {
    server = http.createServer(
      {
        requestTimeout: web.requestTimeout,
        headersTimeout: web.headersTimeout,
        // Node checks those timeouts only this often (30 s by default): slow clients would linger far past them.
        connectionsCheckingInterval: Math.max(250, Math.min(web.headersTimeout || 30_000, web.requestTimeout || 30_000) / 4),
      },
      listener,
    );
  } catch (error) {
    throw new BootError(`cannot create the web server (check servers.web timeouts): ${errorMessage(error)}`, { cause: error });
  }
  server.keepAliveTimeout = web.keepAliveTimeout;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    log.debug({ err: error, code: error.code }, 'bad request from client');
    answerClientError(error, socket);
  });
  return server;
}

const CLIENT_ERROR_LINGER_MS = 1_000;

/** A malformed, oversized or too slow request: answer with a bare status line and close, never crash. */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  // Node's own marker of a response already started on this socket: a status line then would corrupt it.
  const responseStarted = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
  if (error.code !== 'ECONNRESET' && socket.writable && !responseStarted) {
    // end(), not write() then destroy(): the status line must be flushed before the socket closes.
    socket.end(`HTTP/1.1 ${clientErrorStatus(error.code)}\r\nConnection: close\r\n\r\n`);
    // A client that never reads or closes must not hold the socket.
    setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
  } else {
    socket.destroy();
  }
}

function clientErrorStatus(code: string | undefined): string {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return '431 Request Header Fields Too Large';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return '408 Request Timeout';
    default:
      return '400 Bad Request';
  }
}
