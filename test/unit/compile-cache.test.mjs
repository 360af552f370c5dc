// Node's compile cache (Node >= 22.1): the CLI (and so the master) and a worker keep what they compiled in a
// per-user folder under the tmpdir, for the next process to skip the compilation.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { bin, repoRoot } from '../helpers/cluster.mjs';

const skip = module.enableCompileCache ? false : `Node ${process.version} has no compile cache`;

/** Run `args` with node in a fresh tmpdir; the files of the compile cache it left there. */
function cachedFiles(args, env = {}) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-compile-cache-test-'));
  try {
    execFileSync(process.execPath, args, { cwd: repoRoot, env: { ...process.env, TMPDIR: tmp, ...env }, stdio: 'ignore', timeout: 20_000 });
    const folder = path.join(tmp, `mycluster-compile-cache-${process.getuid()}`);
    return fs.existsSync(folder) ? fs.readdirSync(folder, { recursive: true }) : [];
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

test('the CLI keeps its compiled modules in the compile cache', { skip }, () => {
  assert.ok(cachedFiles([bin, '--version']).length > 1);
});

test('a worker keeps its compiled modules in the compile cache', { skip }, () => {
  // Forked without a master it is a spare with nothing to wait for: it loads mycluster and exits.
  const files = cachedFiles([path.join(repoRoot, 'dist', 'worker', 'main.js')], { MYCLUSTER_WORKER_SLOT: '', PROJECT_ROOT: repoRoot });
  assert.ok(files.length > 1);
});

test('NODE_DISABLE_COMPILE_CACHE=1 still turns it off', { skip }, () => {
  assert.deepEqual(cachedFiles([bin, '--version'], { NODE_DISABLE_COMPILE_CACHE: '1' }), []);
});
