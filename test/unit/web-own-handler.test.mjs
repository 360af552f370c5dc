import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { loadOwnHandler } from '../../dist/runtime/web/own-handler.js';

// What `servers.web.handler` may export, and the errors that name the setting and the rule.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-own-handler-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const context = { role: 'all', workerSlot: 1 };
let files = 0;

/** Write a CommonJS module exporting `source` and load it as servers.web.handler. */
function load(source) {
  files += 1;
  const file = path.join(dir, `handler-${files}.js`);
  fs.writeFileSync(file, `module.exports = ${source};\n`);
  return loadOwnHandler(file, context);
}

describe('servers.web.handler', () => {
  test('a function declaring (req, res) is the request handler', async () => {
    const own = await load('(req, res) => res.end("hi")');
    assert.equal(own.listener.length, 2);
    assert.equal(own.close, undefined);
  });

  test('{ handler, close } marks a handler explicitly, whatever it declares, and gives the close hook', async () => {
    const own = await load('{ handler: (...args) => args, close: () => "closed" }');
    assert.deepEqual(own.listener(1, 2), [1, 2]);
    assert.equal(own.close(), 'closed');
  });

  test('a factory (one parameter, or { factory }) is called with the app context; it may return { handler, close }', async () => {
    const plain = await load('(context) => (req, res) => context.role');
    assert.equal(plain.listener(), 'all');
    const explicit = await load('{ factory: async (context) => ({ handler: (req, res) => context.workerSlot, close: () => "bye" }) }');
    assert.equal(explicit.listener(), 1);
    assert.equal(explicit.close(), 'bye');
  });

  test('a wrapper declaring no parameters is called as a factory, and its failure names the setting and the rule', async () => {
    // Koa's `(...args) => callback(...args)` wrapped by hand: called with the context, Koa throws inside.
    const error = await load('(...args) => { const [req, res] = args; res.statusCode = 200; }').catch((thrown) => thrown);
    assert.equal(error.name, 'BootError');
    assert.match(error.message, /servers\.web\.handler .*handler-\d+\.js: its factory threw: .*a function declaring 0 parameters is called as a factory/);
    assert.match(error.message, /export \{ handler \}/);
  });

  test('a factory that returns nothing, and an export that is no handler, are refused with the rule', async () => {
    const nothing = await load('() => undefined').catch((thrown) => thrown);
    assert.match(nothing.message, /is called as a factory \(context\) => handler; it returned undefined/);
    const object = await load('{ port: 3000 }').catch((thrown) => thrown);
    assert.match(object.message, /exports an object with keys port: export a request handler \(req, res\)/);
    const badClose = await load('{ handler: (req, res) => undefined, close: "soon" }').catch((thrown) => thrown);
    assert.match(badClose.message, /close must be a function, not string/);
  });
});
