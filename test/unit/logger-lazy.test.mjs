// pino is loaded by the first line a logger writes: a process whose level hides every line it logged so far
// has not loaded it, and once loaded the lines are pino's own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const logger = path.resolve(import.meta.dirname, '../../dist/shared/logger.js');

/** Run `body` with `log` = createLogger({ level, role: 'server', slot: 1 }); `loaded()` says whether pino is. */
async function script(level, body) {
  const source = `
    const { createLogger } = require(${JSON.stringify(logger)});
    const loaded = () => Object.keys(require.cache).some((file) => /[\\\\/]node_modules[\\\\/]pino[\\\\/]/.test(file));
    const log = createLogger({ level: ${JSON.stringify(level)}, role: 'server', slot: 1 });
    ${body}`;
  const { stdout } = await run(process.execPath, ['-e', source], { env: { ...process.env, MYCLUSTER_LOG_FORMAT: 'json' }, timeout: 10_000 });
  return stdout.trim().split('\n').filter(Boolean);
}

test('lines below the level load no pino; the first line written does, and is a pino line', async () => {
  const lines = await script(
    'warn',
    `log.info({ a: 1 }, 'hidden'); log.debug('hidden too');
     console.log(JSON.stringify({ loadedBefore: loaded() }));
     log.warn({ status: 503 }, 'shown');
     console.log(JSON.stringify({ loadedAfter: loaded() }));`,
  );
  assert.deepEqual(JSON.parse(lines[0]), { loadedBefore: false });
  const shown = JSON.parse(lines[1]);
  assert.deepEqual(Object.keys(shown), ['level', 'time', 'pid', 'hostname', 'role', 'slot', 'status', 'msg']);
  assert.equal(shown.level, 40);
  assert.equal(shown.msg, 'shown');
  assert.deepEqual(JSON.parse(lines[2]), { loadedAfter: true });
});

test('a level change, a child logger and isLevelEnabled work as pino does', async () => {
  const lines = await script(
    'warn',
    `log.level = 'debug';
     log.debug('now shown');
     log.child({ job: 7 }).info('from a child');
     console.log(JSON.stringify({ enabled: log.isLevelEnabled('trace') }));`,
  );
  assert.equal(JSON.parse(lines[0]).msg, 'now shown');
  assert.equal(JSON.parse(lines[1]).job, 7);
  assert.deepEqual(JSON.parse(lines[2]), { enabled: false });
});
