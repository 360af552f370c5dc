import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { type ActionRuntime, handleActionRequest } from './action-request';
import { sendJson } from './respond';
import { serveStatic } from './static';

/** Actions under `/<urlPathForActions>/<name>`, static files for other GET/HEAD paths, 404 for the rest. */
export function createRouter(runtime: ActionRuntime): RequestListener {
  const prefix = `/${runtime.config.servers.web.urlPathForActions.replace(/^\/+|\/+$/g, '')}/`;
  const publicFolders = runtime.config.general.paths.public;
  const { staticDotfiles, staticMaxAge } = runtime.config.servers.web;
  const staticOptions = { dotfiles: staticDotfiles, maxAge: staticMaxAge, log: runtime.log };
  return (request, response) => {
    route(request, response).catch((error: unknown) => failRequest(runtime.log, error, request, response));
  };

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname.startsWith(prefix)) {
      await handleActionRequest(runtime, decodeActionName(url.pathname.slice(prefix.length)), url, request, response);
      return;
    }
    const isRead = request.method === 'GET' || request.method === 'HEAD';
    if (isRead && (await serveStatic(publicFolders, url, request, response, staticOptions))) return;
    sendJson(response, 404, { error: `nothing at ${url.pathname}` });
  }
}

function decodeActionName(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}

/** The app's own request handler (e.g. an Express app): a throw or a rejection is logged and answered with a 500. */
export function guardHandler(handler: RequestListener, log: Logger): RequestListener {
  return (request, response) => {
    try {
      const result: unknown = handler(request, response);
      if (result instanceof Promise) result.catch((error: unknown) => failRequest(log, error, request, response));
    } catch (error) {
      failRequest(log, error, request, response);
    }
  };
}

function failRequest(log: Logger, error: unknown, request: IncomingMessage, response: ServerResponse): void {
  log.error({ err: error, method: request.method, url: request.url }, 'request failed');
  if (response.headersSent) response.destroy();
  else sendJson(response, 500, { error: 'internal server error' });
}
