import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadInitializers } from '../../dist/runtime/initializers.js';

/** A fresh folder holding `files` ({ name: source }), removed after the test. */
function folderWith(t, files) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-initializers-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const [name, source] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), source);
  return dir;
}

test('loads initializers in name order, whatever the file order, arrays included', async (t) => {
  const dir = folderWith(t, {
    'a.js': "module.exports = { name: 'zeta', start() {} };",
    'b.js': "module.exports = [{ name: 'beta', stop() {} }, { name: 'alpha' }];",
  });
  assert.deepEqual(
    (await loadInitializers([dir])).map((initializer) => initializer.name),
    ['alpha', 'beta', 'zeta'],
  );
});

test('an initializer name defined twice is a BootError naming both files, worded as for actions and tasks', async (t) => {
  const dir = folderWith(t, { 'a.js': "module.exports = { name: 'db' };", 'b.js': "module.exports = { name: 'db' };" });
  await assert.rejects(loadInitializers([dir]), {
    name: 'BootError',
    message: `initializer file ${path.join(dir, 'b.js')} defines initializer "db" again (already defined in ${path.join(dir, 'a.js')})`,
  });
});

test('an initializer without a name, or with a start that is not a function, is a BootError naming the file', async (t) => {
  const nameless = folderWith(t, { 'x.js': 'module.exports = { start() {} };' });
  await assert.rejects(loadInitializers([nameless]), {
    name: 'BootError',
    message: `initializer file ${path.join(nameless, 'x.js')} exports an initializer without a name`,
  });
  const badStart = folderWith(t, { 'y.js': "module.exports = { name: 'cache', start: 'soon' };" });
  await assert.rejects(loadInitializers([badStart]), {
    name: 'BootError',
    message: `initializer file ${path.join(badStart, 'y.js')} initializer "cache" has a start that is not a function`,
  });
});

test('a file that fails to load is a BootError naming it', async (t) => {
  const dir = folderWith(t, { 'broken.js': 'module.exports = {' });
  await assert.rejects(loadInitializers([dir]), (error) => {
    assert.equal(error.name, 'BootError');
    assert.ok(error.message.startsWith(`initializer file ${path.join(dir, 'broken.js')} failed to load: `), error.message);
    return true;
  });
});
