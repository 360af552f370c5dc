import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { rawExchange } from '../helpers/net.mjs';
import { request, startTestServer } from '../helpers/web-server.mjs';

let web;
before(async () => {
  web = await startTestServer();
});
after(() => web?.drain());

/** A raw request line, for paths an HTTP client would normalise: what the server answered before closing. */
async function rawGet(address, path) {
  const { text, closed } = await rawExchange(address, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  assert.ok(closed, `the server kept the connection of GET ${path} open`);
  return text;
}

test('/ serves public/index.html with a content type and Last-Modified', async () => {
  const response = await request(web.address, { path: '/' });
  assert.equal(response.status, 200);
  assert.equal(response.text, '<h1>home</h1>\n');
  assert.equal(response.headers['content-type'], 'text/html; charset=utf-8');
  assert.ok(!Number.isNaN(Date.parse(response.headers['last-modified'])));
});

test('a file gets its content type; a folder its index.html', async () => {
  const css = await request(web.address, { path: '/style.css' });
  assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
  const docs = await request(web.address, { path: '/docs/' });
  assert.equal(docs.text, '<h1>docs</h1>\n');
});

test('If-Modified-Since at or after Last-Modified is a 304 without a body', async () => {
  const first = await request(web.address, { path: '/style.css' });
  const second = await request(web.address, { path: '/style.css', headers: { 'if-modified-since': first.headers['last-modified'] } });
  assert.equal(second.status, 304);
  assert.equal(second.text, '');
  const stale = await request(web.address, { path: '/style.css', headers: { 'if-modified-since': new Date(0).toUTCString() } });
  assert.equal(stale.status, 200);
});

test('HEAD answers the headers only', async () => {
  const response = await request(web.address, { method: 'HEAD', path: '/style.css' });
  assert.equal(response.status, 200);
  assert.equal(response.text, '');
  assert.equal(response.headers['content-length'], '21');
});

test('a missing file is a 404', async () => {
  const response = await request(web.address, { path: '/missing.txt' });
  assert.equal(response.status, 404);
});

test('paths leaving the public folder are refused, plain or encoded', async () => {
  for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/docs/..%2f..%2fsecret.txt', '/..%5csecret.txt', '/%2e%2e%2fsecret.txt', '/x%00.html']) {
    const response = await rawGet(web.address, path);
    assert.match(response, /^HTTP\/1\.1 404/, path);
    assert.doesNotMatch(response, /secret outside public/, path);
  }
});

test('POST to a static path is a 404', async () => {
  const response = await request(web.address, { method: 'POST', path: '/style.css' });
  assert.equal(response.status, 404);
});
