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

test('garbage in a pidfile reads as no pid (stale), and is replaced on claim', () => {
  const dir = tempDir();
  const file = path.join(dir, 'cluster_pidfile');
  for (const garbage of ['', 'abc', '12 34', '-5', '\0\0', '99999999999999999999']) {
    fs.writeFileSync(file, garbage);
    assert.equal(readPidfile(file), null, JSON.stringify(garbage));
  }
  claimPidfile(file, process.pid, { what: 'test' });
  assert.equal(readPidfile(file), process.pid);
});

test('a dead pid is stale and replaced', () => {
  const dir = tempDir();
  const file = path.join(dir, 'p');
  fs.writeFileSync(file, `${2 ** 22 - 1}\n`);
  claimPidfile(file, process.pid, { what: 'test' });
  assert.equal(readPidfile(file), process.pid);
});

test('a live pid that is not a mycluster process is stale (pid reused)', () => {
  const dir = tempDir();
  const file = path.join(dir, 'p');
  const other = spawn('sleep', ['20'], { stdio: 'ignore' });
  try {
    fs.writeFileSync(file, `${other.pid}\n`);
    claimPidfile(file, 1, { what: 'test' });
    assert.equal(readPidfile(file), 1);
  } finally {
    other.kill('SIGKILL');
  }
});

test('a live mycluster process makes claim refuse, naming its pid', async () => {
  const dir = tempDir();
  const file = path.join(dir, 'p');
  const child = spawn(process.execPath, ['-e', 'process.title = "mycluster master test"; setTimeout(() => {}, 20000)'], { stdio: 'ignore' });
  try {
    await waitFor('the child to carry its mycluster title', () => isMyclusterProcess(child.pid), { timeoutMs: 5_000 });
    fs.writeFileSync(file, `${child.pid}\n`);
    assert.throws(() => claimPidfile(file, process.pid, { what: 'a mycluster cluster' }), new RegExp(`already running with pid ${child.pid}`));
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
