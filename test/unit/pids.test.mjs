import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { claimPidfile, isMyclusterProcess, preparePidFolder, readPidfile, removePidfile, writePidfile } from '../../dist/pids.js';
import { waitFor } from '../helpers/wait.mjs';

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-pids-'));

test('writes one line with the pid, atomically (no temp file left)', () => {
  const dir = tempDir();
  writePidfile(path.join(dir, 'cluster_pidfile'), 1234);
  assert.equal(fs.readFileSync(path.join(dir, 'cluster_pidfile'), 'utf8'), '1234\n');
  assert.deepEqual(fs.readdirSync(dir), ['cluster_pidfile']);
});

test('garbage in a pidfile reads as no pid (stale), and is replaced on claim', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'cluster_pidfile');
  for (const garbage of ['', 'abc', '12 34', '-5', '\0\0', '99999999999999999999']) {
    fs.writeFileSync(file, garbage);
    assert.equal(readPidfile(file), null, JSON.stringify(garbage));
  }
  await claimPidfile(file, process.pid, { what: 'test' });
  assert.equal(readPidfile(file), process.pid);
});

test('a dead pid is stale and replaced', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'p');
  fs.writeFileSync(file, `${2 ** 22 - 1}\n`);
  await claimPidfile(file, process.pid, { what: 'test' });
  assert.equal(readPidfile(file), process.pid);
});

test('a live pid that is not a mycluster process is stale (pid reused)', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'p');
  const other = spawn('sleep', ['20'], { stdio: 'ignore' });
  try {
    fs.writeFileSync(file, `${other.pid}\n`);
    await claimPidfile(file, 1, { what: 'test' });
    assert.equal(readPidfile(file), 1);
  } finally {
    other.kill('SIGKILL');
  }
});

test('a live mycluster process makes claim refuse, naming its pid and the hint', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'p');
  const child = spawn(process.execPath, ['-e', 'process.title = "mycluster master test"; setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
  try {
    await waitFor('the child to carry its mycluster title', () => isMyclusterProcess(child.pid), { timeoutMs: 5_000 });
    fs.writeFileSync(file, `${child.pid}\n`);
    await assert.rejects(claimPidfile(file, process.pid, { what: 'a mycluster cluster', hint: 'start it with --pids <dir>' }), {
      message: `a mycluster cluster is already running with pid ${child.pid} (pidfile ${file}); start it with --pids <dir>`,
    });
    assert.equal(readPidfile(file), child.pid);
  } finally {
    child.kill('SIGKILL');
  }
});

test('remove only deletes a pidfile that still holds our pid', () => {
  const dir = tempDir();
  const file = path.join(dir, 'p');
  writePidfile(file, 42);
  removePidfile(file, 43);
  assert.ok(fs.existsSync(file));
  removePidfile(file, 42);
  assert.ok(!fs.existsSync(file));
});

test('a world-writable pid folder without the sticky bit is refused', () => {
  const dir = tempDir();
  fs.chmodSync(dir, 0o777);
  assert.throws(() => preparePidFolder(dir), /world-writable/);
  fs.chmodSync(dir, 0o1777);
  preparePidFolder(dir);
});

const racer = `
const fs = require('node:fs');
const { claimPidfile } = require(process.argv[1]);
const [file, go] = process.argv.slice(2);
process.title = 'mycluster racer';
process.stdout.write('armed\\n');
while (!fs.existsSync(go)) {}
Promise.resolve()
  .then(() => claimPidfile(file, process.pid, { what: 'a mycluster cluster' }))
  .then(() => process.stdout.write('won\\n'), (error) => process.stdout.write(\`lost: \${error.message}\\n\`));
setTimeout(() => {}, 30_000);
`;

/** Start `count` processes that claim `file` at the same moment; resolve with what each printed once all have. */
async function race(file, count) {
  const go = `${file}.go`;
  const children = Array.from({ length: count }, () =>
    spawn(process.execPath, ['-e', racer, path.resolve('dist/pids.js'), file, go], { stdio: ['ignore', 'pipe', 'inherit'] }),
  );
  const outputs = children.map((child) => {
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    return () => out;
  });
  try {
    await waitFor('every racer to be armed', () => outputs.every((out) => out().includes('armed')), { timeoutMs: 20_000 });
    fs.writeFileSync(go, '');
    await waitFor('every racer to finish its claim', () => outputs.every((out) => /won|lost/.test(out())), { timeoutMs: 10_000 });
    return { results: outputs.map((out) => out().split('\n')[1]), pids: children.map((child) => child.pid), holder: readPidfile(file) };
  } finally {
    for (const child of children) child.kill('SIGKILL');
  }
}

for (const [what, content] of [
  ['no pidfile', null],
  ['a stale pidfile (dead pid)', `${2 ** 22 - 1}\n`],
  ['an empty pidfile', ''],
]) {
  test(`of 4 simultaneous claims with ${what}, exactly one wins and the others name its pid`, async () => {
    const dir = tempDir();
    const file = path.join(dir, 'cluster_pidfile');
    if (content !== null) fs.writeFileSync(file, content);
    const { results, pids, holder } = await race(file, 4);
    const winners = pids.filter((_, index) => results[index] === 'won');
    assert.equal(winners.length, 1, results.join('\n'));
    assert.equal(holder, winners[0]);
    for (const result of results.filter((line) => line !== 'won')) assert.match(result, new RegExp(`already running with pid ${holder}\\b`));
    assert.deepEqual(fs.readdirSync(dir).sort(), ['cluster_pidfile', 'cluster_pidfile.go']);
  });
}

test('a claimed or rewritten pidfile has the configured mode whatever the umask', async () => {
  const dir = tempDir();
  const previous = process.umask(0o077);
  try {
    await claimPidfile(path.join(dir, 'claimed'), process.pid, { mode: 0o644, what: 'test' });
    writePidfile(path.join(dir, 'rewritten'), 42, 0o644);
  } finally {
    process.umask(previous);
  }
  assert.equal(fs.statSync(path.join(dir, 'claimed')).mode & 0o777, 0o644);
  assert.equal(fs.statSync(path.join(dir, 'rewritten')).mode & 0o777, 0o644);
});
