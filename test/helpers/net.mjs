// Ports and raw sockets for tests and the bench: a free port, a one-shot TCP probe, a raw HTTP exchange.
import net from 'node:net';
import { sleep } from './wait.mjs';

/** A TCP port on 127.0.0.1 nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * Connect to 127.0.0.1:port once, optionally send `send` and wait for the first reply. Resolves
 * `{ connected, code, reply }` (`code`: the connect error's code, e.g. ECONNREFUSED); never rejects.
 */
export function tcpProbe(port, { send, timeoutMs = 1_000 } = {}) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let connected = false;
    const done = (result) => {
      socket.destroy();
      resolve({ connected, ...result });
    };
    socket.setTimeout(timeoutMs, () => done({ code: 'TIMEOUT' }));
    socket.once('error', (error) => done({ code: error.code }));
    socket.once('connect', () => {
      connected = true;
      if (send === undefined) done({});
      else socket.write(send);
    });
    socket.once('data', (data) => done({ reply: data.toString() }));
  });
}

/**
 * Send raw bytes (`chunks`, `gapMs` apart) on a fresh connection to `target` (a port on 127.0.0.1, or a base
 * URL) and collect the answer. Resolves `{ text, closed }` once the server closed the connection
 * (`closed: true`) or `timeoutMs` passed (`closed: false`); rejects only on a connection error with no answer.
 */
export function rawExchange(target, chunks, { timeoutMs = 5_000, gapMs = 0 } = {}) {
  const { hostname, port } = typeof target === 'number' ? { hostname: '127.0.0.1', port: target } : new URL(target);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closed: false });
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (data) => (text += data));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closed: true });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (text) resolve({ text, closed: true });
      else reject(error);
    });
    socket.on('connect', async () => {
      for (const chunk of [chunks].flat()) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (gapMs) await sleep(gapMs);
      }
    });
  });
}
