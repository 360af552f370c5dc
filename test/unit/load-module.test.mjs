// The user-module loader without tsx (an optional peer dependency): a .ts file is one line naming the
// package and how to install it; .js files load as ever. The loader runs from a copy of dist/ outside the
// repository, where no node_modules holds tsx.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** dist/shared/load-module.js and what it requires, copied into a fresh folder with no node_modules above it. */
function loaderWithoutTsx(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-no-tsx-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'dist', 'shared'), { recursive: true });
  for (const file of ['errors.js', 'shared/load-module.js']) fs.copyFileSync(path.join(repoRoot, 'dist', file), path.join(dir, 'dist', file));
  fs.mkdirSync(path.join(dir, 'app'));
  return { dir, loader: createRequire(import.meta.url)(path.join(dir, 'dist', 'shared', 'load-module.js')) };
}

test('without tsx installed, a .ts file is one line naming tsx and how to install it', async (t) => {
  const { dir, loader } = loaderWithoutTsx(t);
  assert.throws(() => createRequire(path.join(dir, 'app', 'x.js')).resolve('tsx/cjs/api'), /Cannot find module/, 'tsx resolvable from the temp folder');
  const file = path.join(dir, 'app', 'typed.ts');
  fs.writeFileSync(file, "export default { name: 'typed' };\n");
  await assert.rejects(loader.loadUserModule(file), (error) => {
    assert.equal(error.name, 'TypeScriptLoaderMissingError');
    assert.equal(error.message, `${file} is TypeScript: install tsx (npm install --save-dev tsx) to load .ts files`);
    return true;
  });
});

test('without tsx installed, .js, .cjs and .mjs files load', async (t) => {
  const { dir, loader } = loaderWithoutTsx(t);
  const files = {
    'a.js': "module.exports = { name: 'a' };\n",
    'b.cjs': "module.exports = { name: 'b' };\n",
    'c.mjs': "export default { name: 'c' };\n",
  };
  for (const [name, source] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, 'app', name), source);
    const exports = await loader.loadUserModule(path.join(dir, 'app', name));
    assert.deepEqual(loader.exportedDefinitions(exports), [{ name: name[0] }]);
  }
});
