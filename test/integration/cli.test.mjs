// Bad usage: exit 2 and one line naming the flag and what it takes; never a stack trace.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { copyFixture, runMycluster } from '../helpers/cluster.mjs';

const cwd = copyFixture('http-app');
const packageVersion = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

for (const value of ['0', '-1', '2.5', 'abc', '']) {
  test(`--workers=${value} exits 2 with one line naming --workers`, async () => {
    const { code, stderr, stdout } = await runMycluster(['start', `--workers=${value}`], { cwd });
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, /--workers/);
    assert.doesNotMatch(stderr, /\n\s+at /);
  });
}

for (const args of [
  ['start', '--bogus'],
  ['start', '--workers'],
  ['frobnicate'],
  ['start', 'clusterr'],
  ['start', '--workerTitlePrefix=a b'],
  ['scale', '0'],
  ['scale', '+0'],
  ['scale', 'two'],
  ['scale'],
]) {
  test(`"${args.join(' ')}" exits 2 with one line`, async () => {
    const { code, stderr } = await runMycluster(args, { cwd });
    assert.equal(code, 2, stderr);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.doesNotMatch(stderr, /\n\s+at /);
  });
}

for (const [args, suggestion] of [
  [['start', '--worker=2'], '(Did you mean --workers?)'],
  [['strat'], '(Did you mean start?)'],
]) {
  test(`"${args.join(' ')}" keeps commander's suggestion on its one line`, async () => {
    const { code, stderr } = await runMycluster(args, { cwd });
    assert.equal(code, 2, stderr);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.ok(stderr.includes(suggestion), stderr);
  });
}

test('--help and --version exit 0', async () => {
  const help = await runMycluster(['start', '--help'], { cwd });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--workers <n>/);
  const version = await runMycluster(['--version'], { cwd });
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), packageVersion);
});

test('status with no cluster running: a clear message, exit 1', async () => {
  const { code, stderr } = await runMycluster(['status'], { cwd });
  assert.equal(code, 1);
  assert.match(stderr, /no cluster is running/);
});

test('status outside a project says where it looked and how to point it elsewhere, in one line', async () => {
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-elsewhere-'));
  const { code, stderr } = await runMycluster(['status'], { cwd: elsewhere });
  assert.equal(code, 1);
  assert.equal(stderr.trim().split('\n').length, 1, stderr);
  assert.ok(stderr.includes(path.join(fs.realpathSync(elsewhere), 'pids', 'cluster_pidfile')), stderr);
  assert.match(stderr, /--pids <dir>/);
  assert.match(stderr, /PROJECT_ROOT=/);
});

test('a broken config file stops start with the file named, exit 1, no stack', async () => {
  const dir = copyFixture('http-app');
  fs.writeFileSync(`${dir}/config/broken.js`, 'exports.default = { general: { ;\n');
  for (const args of [['start'], ['start', '--workers=2']]) {
    const { code, stderr } = await runMycluster(args, { cwd: dir });
    assert.equal(code, 1, stderr);
    assert.match(stderr, /config\/broken\.js/);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
  }
});
