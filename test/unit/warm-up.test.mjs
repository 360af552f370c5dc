// What a spare loads ahead of its activation: the lazy parts its role and its project's folders call for.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { neededLazyParts } from '../../dist/worker/warm-up.js';

/** A project with these files (relative path → content). */
function project(files) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-warm-up-'));
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  }
  return root;
}

test('a web-only project with no public folder and plain JS needs no lazy part', () => {
  const root = project({ 'config/config.js': '', 'actions/a.js': '', 'tasks/t.js': '' });
  assert.deepEqual(neededLazyParts('server', root), []);
});

test('static files are warmed up for a role that serves the web and a project with public/', () => {
  const root = project({ 'public/index.html': '' });
  assert.deepEqual(neededLazyParts('server', root), ['static']);
  assert.deepEqual(neededLazyParts('all', root), ['static']);
  assert.deepEqual(neededLazyParts('worker', root), ['tasks']);
});

test('task processing is warmed up for a task worker, and for both roles only when the app defines tasks', () => {
  assert.deepEqual(neededLazyParts('worker', project({})), ['tasks']);
  assert.deepEqual(neededLazyParts('all', project({})), []);
  assert.deepEqual(neededLazyParts('all', project({ 'tasks/nested/greet.js': '' })), ['tasks']);
});

test('the TypeScript loader is warmed up when a config, action, task or initializer file is .ts (not .d.ts)', () => {
  assert.deepEqual(neededLazyParts('server', project({ 'config/web.ts': '' })), ['typescript']);
  assert.deepEqual(neededLazyParts('server', project({ 'initializers/db.ts': '' })), ['typescript']);
  assert.deepEqual(neededLazyParts('server', project({ 'actions/types.d.ts': '' })), []);
});
