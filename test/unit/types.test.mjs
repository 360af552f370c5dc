// The typed public API: test/types/valid.ts must compile, and every `@ts-expect-error` line in
// test/types/invalid-*.ts must really be an error (tsc reports an unused directive otherwise).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('tsc -p test/types: correct definitions compile, wrong params and config keys do not', () => {
  const result = spawnSync(path.join(repoRoot, 'node_modules', '.bin', 'tsc'), ['-p', path.join('test', 'types')], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(result.error, undefined, String(result.error));
  assert.equal(result.status, 0, `tsc failed:\n${result.stdout}${result.stderr}`);
});
