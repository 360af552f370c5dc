import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import type { Logger } from 'pino';
import type Send from 'send';
import { sendJson } from './respond';
import { findStatic, type StaticDotfiles } from './static-path';

/** What send emits: an http-errors error. */
interface SendFailure extends Error {
  status?: number;
  headers?: Record<string, string>;
}

export interface StaticOptions {
  dotfiles: StaticDotfiles;
  /** Seconds, for `Cache-Control: public, max-age=<n>`. */
  maxAge: number;
  log: Logger;
}

let send: typeof Send | undefined;

/** `send` and the MIME database it reads (~4 MiB and tens of ms at boot): loaded by the first static file served. */
export function loadSend(): typeof Send {
  send ??= require('send') as typeof Send;
  return send;
}

/**
 * Serve what `url` names under one of `roots` (see findStatic for what is refused). `send` answers the HTTP
 * side: MIME type, ETag, Last-Modified, 304, Range (206/416), HEAD, Cache-Control.
 * Returns false when nothing there is servable.
 */
export async function serveStatic(roots: string[], url: URL, request: IncomingMessage, response: ServerResponse, options: StaticOptions): Promise<boolean> {
  const target = await findStatic(roots, url.pathname, options.dotfiles);
  if (!target) return false;
  if (target.kind === 'folder') {
    // One leading slash: `//host/` in Location would send the client to another site.
    const location = `/${url.pathname.replace(/^\/+/, '')}/${url.search}`;
    response.setHeader('Location', location);
    sendJson(response, 301, { location });
    return true;
  }
  const relativeUrl = `/${path.relative(target.root, target.file).split(path.sep).map(encodeURIComponent).join('/')}`;
  // Hidden names and index files were settled by findStatic, on real paths; send only sends that file.
  loadSend()(request, relativeUrl, { root: target.root, dotfiles: 'allow', index: false, maxAge: options.maxAge * 1000 })
    .on('error', (error: SendFailure) => failSend(error, request, response, options.log))
    .pipe(response);
  return true;
}

/** A 412, a 416 (with its Content-Range), or a file that vanished or could not be read. */
function failSend(error: SendFailure, request: IncomingMessage, response: ServerResponse, log: Logger): void {
  const status = error.status ?? 500;
  if (status >= 500) log.error({ err: error, method: request.method, url: request.url }, 'static file failed');
  if (response.headersSent) {
    response.destroy();
    return;
  }
  for (const [name, value] of Object.entries(error.headers ?? {})) response.setHeader(name, value);
  sendJson(response, status, { error: status >= 500 ? 'internal server error' : error.message });
}
