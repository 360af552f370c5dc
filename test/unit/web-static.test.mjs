import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../dist/config/index.js';
import { rawExchange } from '../helpers/net.mjs';
import { request, startTestServer, testConfig } from '../helpers/web-server.mjs';

let web;
/** A public folder with dotfiles, symlinks and odd types, beside files it must never serve. */
let site;
/** On `site`: the defaults. */
let strict;
/** On `site`: `staticDotfiles: 'allow'`, `staticMaxAge: 3600`. */
let open;
before(async () => {
  web = await startTestServer();
  site = await makeSite();
  strict = await startSiteServer({});
  open = await startSiteServer({ staticDotfiles: 'allow', staticMaxAge: 3600 });
});
after(async () => {
  await Promise.all([web?.drain(), strict?.drain(), open?.drain()]);
  if (site) await rm(site, { recursive: true, force: true });
});

async function makeSite() {
  const base = await mkdtemp(path.join(os.tmpdir(), 'mycluster-static-'));
  const files = {
    'secret.txt': 'secret outside public',
    'private/index.html': 'secret outside public',
    'public/index.html': '<h1>site</h1>',
    'public/digits.txt': '0123456789',
    'public/.env': 'SECRET=dotenv',
    'public/.git/config': '[remote] secret-git',
    'public/docs/index.html': '<h1>docs</h1>',
    'public/docs/.draft.html': 'secret draft',
    'public/empty/readme.txt': 'no index here',
    'public/.well-known/security.txt': 'Contact: mailto:security@example.com',
    'public/app.webmanifest': '{}',
    'public/clip.mp4': 'not really a video',
  };
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(base, name)), { recursive: true });
    await writeFile(path.join(base, name), text);
  }
  const links = { 'inside.txt': 'digits.txt', 'outside.txt': '../secret.txt', 'outside-dir': '../private', 'env-link.txt': '.env' };
  for (const [name, target] of Object.entries(links)) await symlink(target, path.join(base, 'public', name));
  return base;
}

function startSiteServer(web) {
  const config = testConfig(web);
  config.general.paths = { ...config.general.paths, public: [path.join(site, 'public')] };
  return startTestServer({ config });
}

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

test('dotfiles and dot-folders are a 404 by default, named plainly, encoded or through a symlink; /.well-known/ is served', async () => {
  for (const name of ['/.env', '/%2eenv', '/.git/config', '/.git/', '/docs/.draft.html', '/env-link.txt']) {
    const response = await request(strict.address, { path: name });
    assert.equal(response.status, 404, name);
    assert.doesNotMatch(response.text, /secret|SECRET/, name);
  }
  const wellKnown = await request(strict.address, { path: '/.well-known/security.txt' });
  assert.equal(wellKnown.status, 200);
  assert.equal(wellKnown.text, 'Contact: mailto:security@example.com');
});

test('servers.web.staticDotfiles: allow serves dotfiles, and still nothing outside public', async () => {
  assert.equal((await request(open.address, { path: '/.env' })).text, 'SECRET=dotenv');
  assert.equal((await request(open.address, { path: '/.git/config' })).status, 200);
  for (const name of ['/%2e%2e/secret.txt', '/docs/..%2f..%2fsecret.txt', '/%2e%2e%2fsecret.txt', '/.env%00.html', '/%zz.txt', '/outside.txt']) {
    const response = await rawGet(open.address, name);
    assert.match(response, /^HTTP\/1\.1 404/, name);
    assert.doesNotMatch(response, /secret outside public/, name);
  }
});

test('a symlink is followed inside public, refused when it leads outside', async () => {
  assert.equal((await request(strict.address, { path: '/inside.txt' })).text, '0123456789');
  for (const name of ['/outside.txt', '/outside-dir/', '/outside-dir/index.html', '/outside-dir']) {
    const response = await request(strict.address, { path: name });
    assert.equal(response.status, 404, name);
    assert.doesNotMatch(response.text, /secret outside public/, name);
  }
});

test('a Range is a 206 with Content-Range; an unsatisfiable one a 416', async () => {
  const whole = await request(strict.address, { path: '/digits.txt' });
  assert.equal(whole.headers['accept-ranges'], 'bytes');
  const part = await request(strict.address, { path: '/digits.txt', headers: { range: 'bytes=2-5' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-range'], 'bytes 2-5/10');
  assert.equal(part.text, '2345');
  const tail = await request(strict.address, { path: '/digits.txt', headers: { range: 'bytes=-3' } });
  assert.equal(tail.text, '789');
  const beyond = await request(strict.address, { path: '/digits.txt', headers: { range: 'bytes=50-60' } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers['content-range'], 'bytes */10');
});

test('an ETag: If-None-Match with it is a 304 without a body, If-Match without it a 412', async () => {
  const first = await request(strict.address, { path: '/digits.txt' });
  assert.ok(first.headers.etag, 'no ETag');
  const second = await request(strict.address, { path: '/digits.txt', headers: { 'if-none-match': first.headers.etag } });
  assert.equal(second.status, 304);
  assert.equal(second.text, '');
  const other = await request(strict.address, { path: '/digits.txt', headers: { 'if-none-match': '"something-else"' } });
  assert.equal(other.status, 200);
  const precondition = await request(strict.address, { path: '/digits.txt', headers: { 'if-match': '"something-else"' } });
  assert.equal(precondition.status, 412);
  assert.deepEqual(precondition.json, { error: 'Precondition Failed' });
});

test('Cache-Control comes from servers.web.staticMaxAge (seconds, 0 by default)', async () => {
  assert.equal((await request(strict.address, { path: '/digits.txt' })).headers['cache-control'], 'public, max-age=0');
  assert.equal((await request(open.address, { path: '/digits.txt' })).headers['cache-control'], 'public, max-age=3600');
});

test('content types come from mime-types', async () => {
  assert.equal((await request(strict.address, { path: '/app.webmanifest' })).headers['content-type'], 'application/manifest+json; charset=utf-8');
  assert.equal((await request(strict.address, { path: '/clip.mp4' })).headers['content-type'], 'video/mp4');
});

test('a folder named without its slash is a 301 to it, query kept; a folder without index.html is a 404', async () => {
  const docs = await request(strict.address, { path: '/docs?page=2' });
  assert.equal(docs.status, 301);
  assert.equal(docs.headers.location, '/docs/?page=2');
  assert.equal((await request(strict.address, { path: docs.headers.location })).text, '<h1>docs</h1>');
  // `//docs/` would be another host to the client.
  assert.match(await rawGet(strict.address, '/.//docs'), /\r\nLocation: \/docs\/\r\n/i);
  assert.equal((await request(strict.address, { path: '/empty' })).status, 404);
  assert.equal((await request(strict.address, { path: '/empty/' })).status, 404);
  assert.equal((await request(strict.address, { path: '/digits.txt/' })).status, 404);
});

test('a bad servers.web.staticDotfiles or staticMaxAge stops the config load with the key named', async () => {
  const projectRoot = fileURLToPath(new URL('../fixtures/config/empty/', import.meta.url));
  for (const [web, message] of [
    [{ staticDotfiles: 'deny' }, /servers\.web\.staticDotfiles must be "ignore" or "allow", got "deny" \(string\)$/],
    [{ staticMaxAge: 1.5 }, /servers\.web\.staticMaxAge must be a whole number of seconds from 0 to 31536000, got 1\.5 \(number\)$/],
  ]) {
    const env = { ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ servers: { web } }) };
    await assert.rejects(loadConfig({ projectRoot, env }), message);
  }
});
