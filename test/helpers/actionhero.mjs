// The ActionHero 29 fixture (test/fixtures/actionhero-app) for integration tests and the bench: a copy in a temp
// dir whose node_modules links the repository's packages (actionhero and its dependencies) and this mycluster
// (node_modules/.bin/mycluster, as its Procfile runs it), with the tests' short timings as mycluster's own
// config (<root>/mycluster/); and websocket clients of ActionHero's primus server.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { fixtures, repoRoot } from './cluster.mjs';
import { within } from './wait.mjs';

export function copyActionheroFixture() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-actionhero-app-'));
  fs.cpSync(path.join(fixtures, 'actionhero-app'), dir, { recursive: true });
  const modules = path.join(dir, 'node_modules');
  fs.mkdirSync(path.join(modules, '.bin'), { recursive: true });
  for (const name of fs.readdirSync(path.join(repoRoot, 'node_modules'))) {
    if (!name.startsWith('.')) fs.symlinkSync(path.join(repoRoot, 'node_modules', name), path.join(modules, name));
  }
  fs.symlinkSync(repoRoot, path.join(modules, 'mycluster'), 'dir');
  fs.symlinkSync(path.join(repoRoot, 'bin', 'mycluster'), path.join(modules, '.bin', 'mycluster'));
  fs.mkdirSync(path.join(dir, 'mycluster'));
  fs.copyFileSync(path.join(fixtures, 'test-timings.js'), path.join(dir, 'mycluster', '00-test-timings.js'));
  fs.mkdirSync(path.join(dir, 'pids'));
  return dir;
}

/**
 * Open `count` websockets to ActionHero's primus endpoint (`ws://host:port/primus`, its websockets transformer)
 * with the `ws` package; each asks the `hello` action which worker it reached. Each client has `pid` (once
 * `opened` resolves) and `closed`, resolved with `{ code, reason }` however it ends.
 */
export async function openPrimusClients(url, count, { timeoutMs = 10_000 } = {}) {
  const clients = Array.from({ length: count }, () => openPrimusClient(url));
  await within(timeoutMs, `${count} primus websockets to open`, Promise.all(clients.map((client) => client.opened)));
  return clients;
}

function openPrimusClient(url) {
  const socket = new WebSocket(new URL('/primus', url));
  const client = { socket, pid: undefined };
  client.opened = new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ event: 'action', params: { action: 'hello' }, messageId: 1 })));
    socket.on('message', (data) => {
      const message = parse(String(data));
      if (message?.messageId === 1 && message.pid) {
        client.pid = message.pid;
        resolve(client.pid);
      }
    });
  });
  client.opened.catch(() => undefined);
  socket.on('error', () => undefined); // a reset shows as code 1006 in 'close'
  client.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: String(reason) })));
  return client;
}

/** Primus frames are JSON (its pings too: `"primus::ping::<time>"`). */
function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Close whatever is still open (in finally). */
export function terminatePrimusClients(clients) {
  for (const client of clients ?? []) client.socket.terminate();
}
