// Websocket clients for tests and the bench (the real `ws` package): open many, keep messages flowing,
// and record how each one ended.
import WebSocket from 'ws';
import { within } from './wait.mjs';

/**
 * Open `count` websockets to `url`; each resolves `opened` with the worker pid the server greets it with, and
 * `closed` with `{ code, reason, at }` however it ends. With `intervalMs`, each sends a message that often
 * until it closes (the server echoes it): a busy connection.
 */
export async function openWebsockets(url, count, { intervalMs = 0, timeoutMs = 10_000 } = {}) {
  const clients = Array.from({ length: count }, () => openWebsocket(url, { intervalMs }));
  await within(timeoutMs, `${count} websockets to open`, Promise.all(clients.map((client) => client.opened)));
  return clients;
}

function openWebsocket(url, { intervalMs }) {
  const socket = new WebSocket(url);
  const client = { socket, received: 0, pid: undefined };
  let timer;
  client.opened = new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('message', (data) => {
      client.pid = JSON.parse(String(data)).pid;
      resolve(client.pid);
      if (intervalMs > 0) timer = setInterval(() => socket.readyState === WebSocket.OPEN && socket.send('ping'), intervalMs);
    });
  });
  client.opened.catch(() => undefined);
  socket.on('message', () => (client.received += 1));
  socket.on('error', () => undefined); // a reset shows as code 1006 in 'close'
  client.closed = new Promise((resolve) => {
    socket.once('close', (code, reason) => {
      clearInterval(timer);
      resolve({ code, reason: String(reason), at: Date.now() });
    });
  });
  return client;
}

/** Close whatever is still open (in finally). */
export function terminateWebsockets(clients) {
  for (const client of clients ?? []) client.socket.terminate();
}
