import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { copyFixture, runMycluster } from '../helpers/cluster.mjs';

const dirs = [];
after(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function app() {
  const dir = copyFixture('http-app');
  dirs.push(dir);
  return dir;
}

test('mycluster config --check prints one OK line and exits 0', async () => {
  const { code, stdout, stderr } = await runMycluster(['config', '--check'], { cwd: app(), env: { ACTIONHERO_ROLE: 'server' } });
  assert.equal(code, 0, stderr);
  assert.equal(stdout, 'config OK: 2 files, NODE_ENV=test, ACTIONHERO_ROLE=server\n');
  assert.equal(stderr, '');
});

test('mycluster config --json shows where values came from and redacts secrets', async () => {
  const env = {
    PORT: '5123',
    REDIS_URL: 'redis://app:url-s3cret@127.0.0.1:6379/0',
    ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ redis: { password: 'pw-s3cret' } }),
  };
  const { code, stdout, stderr } = await runMycluster(['config', '--json'], { cwd: app(), env });
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stdout, /s3cret/);
  const report = JSON.parse(stdout);
  assert.equal(report.config.servers.web.port, 5123);
  assert.equal(report.sources['servers.web.port'], 'PORT');
  assert.equal(report.sources['cluster.stopTimeout'], 'config/00-test-timings.js');
  assert.equal(report.config.redis.url, 'redis://app:[REDACTED]@127.0.0.1:6379/0');
  assert.equal(report.sources['redis.password'], 'ACTIONHERO_CONFIG_OVERRIDES');
});

test('a typo in the config stops config --check and start with one line naming the file and the nearest key', async () => {
  const dir = app();
  fs.writeFileSync(path.join(dir, 'config', 'cluster.js'), 'exports.default = { cluster: { wokers: 4 } };\n');
  const line = 'mycluster: config/cluster.js: unknown key cluster.wokers, did you mean cluster.workers?\n';

  const check = await runMycluster(['config', '--check'], { cwd: dir });
  assert.deepEqual({ code: check.code, stdout: check.stdout, stderr: check.stderr }, { code: 1, stdout: '', stderr: line });

  const start = await runMycluster(['start', '--workers=2'], { cwd: dir });
  assert.deepEqual({ code: start.code, stderr: start.stderr }, { code: 1, stderr: line });
  assert.deepEqual(fs.readdirSync(path.join(dir, 'pids')), [], 'nothing was started');
});
