import fs from 'node:fs';
import { chmod } from 'node:fs/promises';
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsConfig } from '../../config/types';
import { BootError, errorMessage } from '../../errors';
import { clearStaleSocket } from '../../shared/unix-socket';
import { CONTENT_TYPE } from './exposition';

export interface MetricsServer {
  /** `http://host:port/metrics`, or the unix socket path. */
  address: string;
  /** Stop listening, and remove the unix socket file. */
  close(): void;
}

/**
 * Serve `GET /metrics` (any other path: 404) with what `render` returns at that moment. A unix socket gets
 * `socketMode`, the web server's (servers.web.socketMode), so the proxy that reads one can read the other.
 */
export async function serveMetrics(settings: MetricsConfig, socketMode: number, render: () => string): Promise<MetricsServer> {
  const server = http.createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (path !== '/metrics' || (request.method !== 'GET' && request.method !== 'HEAD')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at GET /metrics\n');
      return;
    }
    const body = render();
    response.writeHead(200, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) }).end(request.method === 'HEAD' ? undefined : body);
  });
  const socketPath = typeof settings.port === 'string' ? settings.port : null;
  if (socketPath !== null) await clearStaleSocket(socketPath);
  await listen(server, settings);
  if (socketPath !== null) {
    await chmod(socketPath, socketMode).catch((error: unknown) => {
      server.close();
      throw new BootError(`cannot chmod the metrics socket ${socketPath} to ${socketMode.toString(8)}: ${errorMessage(error)}`);
    });
  }
  return {
    address: socketPath ?? describeTcp(server.address() as AddressInfo),
    close() {
      server.close();
      if (socketPath !== null) fs.rmSync(socketPath, { force: true });
    },
  };
}

function listen(server: Server, settings: MetricsConfig): Promise<void> {
  const where = typeof settings.port === 'string' ? `unix socket ${settings.port}` : `${settings.bindIP}:${settings.port}`;
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new BootError(
          `cannot serve metrics on ${where} (metrics.port, metrics.bindIP): ${error.code === 'EADDRINUSE' ? 'address already in use' : error.message}`,
        ),
      ),
    );
    if (typeof settings.port === 'string') server.listen({ path: settings.port }, resolve);
    else server.listen({ port: settings.port, host: settings.bindIP }, resolve);
  });
}

function describeTcp({ address, port, family }: AddressInfo): string {
  return `http://${family === 'IPv6' ? `[${address}]` : address}:${port}/metrics`;
}
