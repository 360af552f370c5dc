import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import pino from 'pino';
import { APP_PROCESS_TAG_ENV, stopAppProcesses } from '../../dist/shared/app-processes.js';
import { childPids, isRunning } from '../helpers/cluster.mjs';
import { waitFor } from '../helpers/wait.mjs';

const log = pino({ level: 'silent' });

/** A shell (and its sleep, a grandchild of this process) carrying `tag` in its environment. */
function sleeper(tag, script = 'sleep 30') {
  return spawn('sh', ['-c', script], { stdio: 'ignore', env: { ...process.env, [APP_PROCESS_TAG_ENV]: tag } });
}

test('stops exactly the processes carrying the tag: TERM first, KILL for the ones that ignore it', async (t) => {
  const tag = `unit.${process.pid}.1`;
  const polite = sleeper(tag);
  const stubborn = sleeper(tag, 'trap "" TERM; sleep 30');
  // A tag that merely starts with ours is another worker's.
  const other = sleeper(`${tag}2`);
  t.after(() => {
    for (const child of [polite, stubborn, other]) child.kill('SIGKILL');
  });
  // Each shell has forked its sleep (the stubborn one after setting its trap).
  await waitFor('the shells to start their sleeps', () => [polite, stubborn].every((shell) => childPids(shell.pid).length > 0), { timeoutMs: 10_000 });

  const count = await stopAppProcesses(tag, { owner: 'test', graceMs: 500, log });
  assert.equal(count >= 4, true, `the shells and their sleeps: ${count}`);
  await waitFor('the tagged processes gone', () => (isRunning(polite.pid) || isRunning(stubborn.pid) ? null : true), { timeoutMs: 5_000 });
  assert.equal(isRunning(other.pid), true, 'the process with a longer tag was left alone');
  assert.equal(await stopAppProcesses(`unit.${process.pid}.none`, { owner: 'test', graceMs: 500, log }), 0);
});
