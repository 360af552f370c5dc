import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { loadTaskDefinitions } from '../../dist/runtime/tasks/index.js';
import { fixtures } from '../helpers/tasks.mjs';

test('loads task files recursively: module.exports, export default and arrays', async () => {
  const definitions = await loadTaskDefinitions([path.join(fixtures, 'basic')]);
  assert.deepEqual([...definitions.keys()].sort(), ['fail', 'record', 'slow']);
  assert.equal(definitions.get('slow').queue, 'slow');
  assert.equal(typeof definitions.get('fail').run, 'function');
});

test('loads a TypeScript task and defaults its queue to "default"', async () => {
  const definitions = await loadTaskDefinitions([path.join(fixtures, 'typescript')]);
  const greet = definitions.get('greet');
  assert.equal(greet.queue, 'default');
  assert.equal(greet.run({ name: 'ada' }), 'hello ada');
});

test('a missing tasks folder means no tasks', async () => {
  assert.equal((await loadTaskDefinitions([path.join(fixtures, 'no-such-folder')])).size, 0);
});

test('an invalid task is a BootError naming the file', async () => {
  const file = path.join(fixtures, 'invalid', 'no-run.js');
  await assert.rejects(loadTaskDefinitions([path.join(fixtures, 'invalid')]), {
    name: 'BootError',
    message: `task file ${file} task "broken" has no run function`,
  });
});

test('a task name defined twice is a BootError naming both files', async () => {
  const folder = path.join(fixtures, 'duplicate');
  await assert.rejects(loadTaskDefinitions([folder]), {
    name: 'BootError',
    message: `task file ${path.join(folder, 'b.mjs')} defines task "same" again (already defined in ${path.join(folder, 'a.js')})`,
  });
});
