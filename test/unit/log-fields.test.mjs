// The same log field names everywhere: `pid` is the process that wrote the line, `slot` the worker slot the
// line is about, `workerPid` a worker's pid in a master line; `hostname` on every JSON line; no key twice.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startArbiter } from '../helpers/fake-worker.mjs';

const run = promisify(execFile);
const logger = path.resolve(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '../../dist/shared/logger.js');

/** What a process logging through createLogger(options) prints, its stdout a pipe. */
async function printed(options, format) {
  const script = `
    const { createLogger } = require(${JSON.stringify(logger)});
    const log = createLogger(${JSON.stringify(options)});
    log.info({ action: 'hello', status: 200 }, 'action request');
    log.error({ err: new Error('boom') }, 'action failed');`;
  const env = { ...process.env, MYCLUSTER_LOG_FORMAT: format };
  const { stdout } = await run(process.execPath, ['-e', script], { env, timeout: 10_000 });
  return stdout;
}

/** The keys of a JSON object line, in order, duplicates kept (JSON.parse would hide them). */
function topLevelKeys(line) {
  const keys = [];
  let depth = 0;
  for (const match of line.matchAll(/"((?:[^"\\]|\\.)*)"(\s*:)?|[{}[\]]/g)) {
    if (match[0] === '{' || match[0] === '[') depth += 1;
    else if (match[0] === '}' || match[0] === ']') depth -= 1;
    else if (match[2] && depth === 1) keys.push(match[1]);
  }
  return keys;
}

test('a JSON line carries pid, hostname, role and slot once each', async () => {
  const lines = (await printed({ level: 'info', role: 'server', slot: 2 }, 'json')).trim().split('\n');
  assert.equal(lines.length, 2);
  for (const line of lines) {
    const keys = topLevelKeys(line);
    assert.deepEqual(
      keys.filter((key, index) => keys.indexOf(key) !== index),
      [],
      `a key twice in ${line}`,
    );
    const entry = JSON.parse(line);
    assert.equal(entry.hostname, os.hostname());
    assert.equal(entry.role, 'server');
    assert.equal(entry.slot, 2);
    assert.equal(typeof entry.pid, 'number');
  }
});

test('MYCLUSTER_LOG_FORMAT=pretty prints one line per event (an error adds its stack below)', async () => {
  const text = await printed({ level: 'info', role: 'server', slot: 2 }, 'pretty');
  const [request, failure, ...stack] = text.trimEnd().split('\n');
  assert.match(request, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[w2\] action request action=hello status=200$/);
  assert.match(failure, /^\d\d:\d\d:\d\d\.\d{3} ERROR \[w2\] action failed err=boom$/);
  assert.ok(stack.length > 0 && stack.every((line) => /^ {4}at /.test(line)), stack.join('\n'));
});

test('a spare (a cluster worker without a slot yet) is marked spare', async () => {
  const entry = JSON.parse((await printed({ level: 'info', role: 'all', spare: true }, 'json')).split('\n')[0]);
  assert.equal(entry.spare, true);
  assert.equal(entry.slot, undefined);
});

test('master lines about a worker name it by slot and workerPid; their own pid stays the master', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
  const c = startArbiter({ workers: 2 });
  t.after(() => c.cleanup());
  await c.settle();
  c.readyAll();
  await c.settle();
  const [worker] = c.forksFor(1);
  worker.exit(1, null);
  await c.settle();
  const aboutWorker = [...c.logged('starting worker #1'), ...c.logged('worker #1 (pid'), ...c.logged('ready')].filter((line) => line.workerPid === worker.pid);
  assert.ok(aboutWorker.length >= 3, JSON.stringify(c.logs));
  for (const line of aboutWorker) assert.equal(line.slot, 1, JSON.stringify(line));
  assert.deepEqual(
    c.logs.filter((line) => 'workerSlot' in line),
    [],
  );
});
