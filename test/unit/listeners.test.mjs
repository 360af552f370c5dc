// The master's listening socket (src/master/listeners.ts): bound, not listening, by address or by host name;
// a worker that listens on the fd gets the connections.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { bindListener } from '../../dist/master/listeners.js';
import { freePort } from '../helpers/net.mjs';

/** Listen on the bound fd, as a worker does, and answer one connection from 127.0.0.1. */
async function acceptsOn(listener, port) {
  const server = net.createServer((socket) => socket.end('hello'));
  await new Promise((resolve, reject) => server.once('error', reject).listen({ fd: listener.fd }, resolve));
  try {
    const reply = await new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let data = '';
      socket.setTimeout(5_000, () => socket.destroy(new Error('no reply within 5 s')));
      socket.on('data', (chunk) => (data += chunk));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    assert.equal(reply, 'hello');
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

test('binds the port of an IP address given as bindIP', async () => {
  const port = await freePort();
  const listener = await bindListener({ port, bindIP: '127.0.0.1' });
  try {
    assert.equal(listener.address, `tcp:127.0.0.1:${port}`);
    await acceptsOn(listener, port);
  } finally {
    listener.close();
  }
});

test('binds the port of a host name given as bindIP, resolved to its address', async () => {
  const port = await freePort();
  const listener = await bindListener({ port, bindIP: 'localhost' });
  try {
    assert.equal(listener.address, `tcp:localhost:${port}`);
    const bound = net.createServer();
    await new Promise((resolve, reject) => bound.once('error', reject).listen({ fd: listener.fd }, resolve));
    const { address } = bound.address();
    await new Promise((resolve) => bound.close(resolve));
    assert.ok(address === '127.0.0.1' || address === '::1', `bound to ${address}`);
  } finally {
    listener.close();
  }
});

test('a port in use is a BootError that names the address', async () => {
  const taken = net.createServer();
  await new Promise((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address();
  try {
    await assert.rejects(bindListener({ port, bindIP: '127.0.0.1' }), (error) => {
      assert.equal(error.name, 'BootError');
      assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      return true;
    });
  } finally {
    await new Promise((resolve) => taken.close(resolve));
  }
});

test('a host name that does not resolve is a BootError that names the address', async () => {
  await assert.rejects(bindListener({ port: 8080, bindIP: 'no-such-host.invalid' }), (error) => {
    assert.equal(error.name, 'BootError');
    assert.match(error.message, /^cannot listen on no-such-host\.invalid:8080: getaddrinfo /);
    return true;
  });
});
