import { createReadStream, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.pdf': 'application/pdf',
  '.wasm': 'application/wasm',
};
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

/**
 * Serve the first file under one of `roots` that the URL path names (a folder: its index.html).
 * Returns false when there is none, or when the path would leave the root.
 */
export async function serveStatic(roots: string[], urlPath: string, request: IncomingMessage, response: ServerResponse): Promise<boolean> {
  for (const root of roots) {
    const found = await findFile(path.resolve(root), urlPath);
    if (found) {
      sendFile(found.file, found.stats, request, response);
      return true;
    }
  }
  return false;
}

async function findFile(root: string, urlPath: string): Promise<{ file: string; stats: Stats } | undefined> {
  const file = resolveInside(root, urlPath);
  if (!file) return undefined;
  const stats = await stat(file).catch(() => undefined);
  if (stats?.isFile()) return { file, stats };
  if (!stats?.isDirectory()) return undefined;
  const index = path.join(file, 'index.html');
  const indexStats = await stat(index).catch(() => undefined);
  return indexStats?.isFile() ? { file: index, stats: indexStats } : undefined;
}

/** The file a URL path names inside root, or undefined for anything that could escape it. */
function resolveInside(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const segments = decoded.split(/[\\/]+/).filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) return undefined;
  const file = path.join(root, ...segments);
  return file === root || file.startsWith(root + path.sep) ? file : undefined;
}

function sendFile(file: string, stats: Stats, request: IncomingMessage, response: ServerResponse): void {
  const lastModified = new Date(Math.floor(stats.mtimeMs / 1000) * 1000);
  response.setHeader('Last-Modified', lastModified.toUTCString());
  const since = Date.parse(request.headers['if-modified-since'] ?? '');
  if (!Number.isNaN(since) && lastModified.getTime() <= since) {
    response.statusCode = 304;
    response.end();
    return;
  }
  response.statusCode = 200;
  response.setHeader('Content-Type', CONTENT_TYPES[path.extname(file).toLowerCase()] ?? DEFAULT_CONTENT_TYPE);
  response.setHeader('Content-Length', stats.size);
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  // pipeline destroys the response if the file cannot be read mid-way, and the file if the client leaves.
  pipeline(createReadStream(file), response, () => undefined);
}
