// `mycluster logs`: the last lines of a --daemon cluster's log file, JSON in a pipe; -f follows it across a
// reload and across a logrotate (file renamed, USR1); a missing file is one line and exit 1.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bin, childPids, copyFixture, isAlive, readPid, runMycluster, spawnJsonLogged } from '../helpers/cluster.mjs';
import { freePort } from '../helpers/net.mjs';
import { waitFor } from '../helpers/wait.mjs';

describe('mycluster logs', () => {
  let dir;
  let masterPid;
  let logFile;
  const followers = [];

  before(async () => {
    dir = copyFixture('http-app');
    logFile = path.join(dir, 'log', 'mycluster.log');
    const started = await runMycluster(['start', '--workers=1', '--daemon'], { cwd: dir, env: { PORT: String(await freePort()) } });
    masterPid = readPid(path.join(dir, 'pids', 'cluster_pidfile'));
    assert.equal(started.code, 0, started.stderr);
  });

  after(async () => {
    for (const follower of followers) follower.child.kill('SIGKILL');
    if (!masterPid) return;
    const pids = [masterPid, ...childPids(masterPid)];
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await waitFor('the cluster to be gone', () => pids.every((pid) => !isAlive(pid)), { timeoutMs: 5_000 });
  });

  /** `mycluster logs -f -n 1` in the project, its stdout a pipe (so JSON lines), once it printed that line: it has the file open. */
  async function follow() {
    const follower = spawnJsonLogged(process.execPath, [bin, 'logs', '-f', '-n', '1'], { cwd: dir });
    followers.push(follower);
    await follower.waitForLine(() => true, { what: 'the last line of the log', timeoutMs: 10_000 });
    return follower;
  }

  test('-n 5 --json prints the last 5 lines of the log file as JSON, as does a pipe without --json', async () => {
    for (const args of [
      ['-n', '5', '--json'],
      ['-n', '5'],
      ['-n', '5', '--pids', path.join(dir, 'pids')],
    ]) {
      const { code, stdout, stderr } = await runMycluster(['logs', ...args], { cwd: dir });
      assert.equal(code, 0, stderr);
      const lines = stdout.trimEnd().split('\n');
      assert.equal(lines.length, 5, stdout);
      for (const line of lines) assert.equal(JSON.parse(line).hostname, os.hostname(), line);
    }
  });

  test('-f prints the lines of a reload, then goes on in the new file after a rename and USR1', async () => {
    const follower = await follow();
    const first = await runMycluster(['reload'], { cwd: dir });
    assert.equal(first.code, 0, first.stderr);
    await follower.waitForLine((line) => /rolling reload #1 done/.test(line.msg ?? ''), { what: 'reload #1 in -f', timeoutMs: 10_000 });

    fs.renameSync(logFile, `${logFile}.1`);
    process.kill(masterPid, 'SIGUSR1');
    await waitFor('the master to reopen its log', () => fs.existsSync(logFile), { timeoutMs: 5_000 });
    const second = await runMycluster(['reload'], { cwd: dir });
    assert.equal(second.code, 0, second.stderr);
    const done = await follower.waitForLine((line) => /rolling reload #2 done/.test(line.msg ?? ''), { what: 'reload #2 in -f', timeoutMs: 10_000 });
    assert.match(fs.readFileSync(logFile, 'utf8'), /rolling reload #2 done/, 'the line came from the new file');
    assert.equal(done.role, 'master');
    assert.ok(
      follower.lines.some((line) => /SIGUSR1: reopening log files/.test(line.msg ?? '')),
      'the rest of the old file was read',
    );
    follower.child.kill('SIGTERM');
    await follower.waitForExit(5_000);
  });

  test('no log file: one line saying where it looked, exit 1', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-nolog-'));
    const { code, stdout, stderr } = await runMycluster(['logs'], { cwd: empty });
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(
      stderr,
      /^mycluster: no log file at \S+mycluster\.log \(general\.paths\.log of \S+\); logs go to stdout unless the cluster was started with --daemon\n$/,
    );
  });
});
