import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configEntries, formatCheckLine, formatConfigJson, formatConfigTable } from '../../dist/commands/config.js';
import { loadConfigWithSources } from '../../dist/config/index.js';
import { redactSecrets } from '../../dist/config/redact.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'config');
const load = (name, env = {}) => loadConfigWithSources({ projectRoot: path.join(fixtures, name), env });
const sourceOf = (entries, key) => entries.find((entry) => entry.key === key)?.source;

describe('where each value came from', () => {
  it('names the built-in defaults, a file, an env variable, the role preset and the overrides', async () => {
    const loaded = await load('layers', {
      NODE_ENV: 'production',
      ACTIONHERO_ROLE: 'worker',
      MAX_TASK_PROCESSORS: '6',
      REDIS_URL: 'redis://cache:6379/0',
      ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ logger: { level: 'warn' } }),
    });
    const entries = configEntries(loaded);
    assert.equal(sourceOf(entries, 'cluster.stopTimeout'), 'built-in defaults');
    assert.equal(sourceOf(entries, 'cluster.workers'), 'config/b-override.mjs');
    assert.equal(sourceOf(entries, 'servers.web.port'), 'config/servers/web.ts');
    assert.equal(sourceOf(entries, 'servers.web.enabled'), 'ACTIONHERO_ROLE');
    assert.equal(sourceOf(entries, 'tasks.scheduler'), 'ACTIONHERO_ROLE');
    assert.equal(sourceOf(entries, 'tasks.maxTaskProcessors'), 'config/b-override.mjs', 'a section function wins over MAX_TASK_PROCESSORS');
    assert.equal(sourceOf(entries, 'redis.url'), 'REDIS_URL');
    assert.equal(sourceOf(entries, 'logger.level'), 'ACTIONHERO_CONFIG_OVERRIDES');
    assert.equal(sourceOf(entries, 'myApp.fromCjs'), 'config/c-production-only.cjs');
    assert.deepEqual(loaded.files.slice(0, 2), ['config/a-general.js', 'config/b-override.mjs']);
  });

  it('names a Procfile variable over the role preset it overrides', async () => {
    const entries = configEntries(await load('empty', { ACTIONHERO_ROLE: 'worker', MAX_TASK_PROCESSORS: '6' }));
    assert.equal(sourceOf(entries, 'tasks.maxTaskProcessors'), 'MAX_TASK_PROCESSORS');
    assert.equal(sourceOf(entries, 'tasks.minTaskProcessors'), 'ACTIONHERO_ROLE');
  });

  it('prints a table of key, value and source under the NODE_ENV and role', async () => {
    const table = formatConfigTable(await load('layers', { ACTIONHERO_ROLE: 'server', PORT: '5000' }));
    const lines = table.split('\n');
    assert.equal(lines[0], 'config for NODE_ENV=development, ACTIONHERO_ROLE=server');
    assert.match(lines[1], /^files: config\/a-general\.js, config\/b-override\.mjs, /);
    assert.match(table, /^cluster\.workers +3 +config\/b-override\.mjs$/m);
    assert.match(table, /^general\.pidFileMode +0o644 +built-in defaults$/m);
    assert.match(table, /^servers\.web\.port +9000 +config\/servers\/web\.ts$/m, 'the file wins over PORT');
    assert.match(table, /^myApp\.keptFunction +"\[function\]" +config\/d-functions\.js$/m);
  });

  it('gives the config nested and the sources by key path in JSON', async () => {
    const report = JSON.parse(formatConfigJson(await load('empty', { PORT: '5000' })));
    assert.equal(report.environment, 'development');
    assert.equal(report.role, 'all');
    assert.deepEqual(report.files, []);
    assert.equal(report.config.servers.web.port, 5000);
    assert.equal(report.sources['servers.web.port'], 'PORT');
  });

  it('prints functions, class instances, BigInts and dates of an app section', async () => {
    const loaded = await load('app-values');
    const { myApp } = JSON.parse(formatConfigJson(loaded)).config;
    assert.deepEqual(myApp, { client: '[Client]', big: '10', when: '1970-01-01T00:00:00.000Z', format: '[function]' });
    assert.match(formatConfigTable(loaded), /^myApp\.client +"\[Client\]" +config\/app\.js$/m);
  });

  it('checks in one line', async () => {
    assert.equal(
      formatCheckLine(await load('empty', { NODE_ENV: 'production' })),
      'config OK: 0 files, NODE_ENV=production, both roles (ACTIONHERO_ROLE unset)',
    );
  });
});

describe('secrets', () => {
  it('redacts secret-named keys at any depth, sentinelPassword included', () => {
    const redacted = redactSecrets({
      redis: { password: 'p', sentinelPassword: 's', host: 'h', options: { tls: { passphrase: 'kept', privateKey: 'k' } } },
      payments: { apiKey: 'a', api_key: 'b', webhookSecret: 'c', authToken: 'd', credentials: { user: 'u' } },
    });
    assert.deepEqual(redacted, {
      redis: { password: '[REDACTED]', sentinelPassword: '[REDACTED]', host: 'h', options: { tls: { passphrase: 'kept', privateKey: '[REDACTED]' } } },
      payments: { apiKey: '[REDACTED]', api_key: '[REDACTED]', webhookSecret: '[REDACTED]', authToken: '[REDACTED]', credentials: '[REDACTED]' },
    });
  });

  it('redacts the credentials of URLs, in arrays too', () => {
    assert.equal(redactSecrets('redis://user:s3cret@cache:6379/0'), 'redis://user:[REDACTED]@cache:6379/0');
    assert.equal(redactSecrets('rediss://:s3cret@cache:6380'), 'rediss://:[REDACTED]@cache:6380');
    assert.equal(redactSecrets('https://ghp_token@github.com/a/b'), 'https://[REDACTED]@github.com/a/b');
    assert.equal(redactSecrets('redis://cache:6379/0'), 'redis://cache:6379/0');
    assert.equal(redactSecrets('someone@example.com'), 'someone@example.com');
    assert.deepEqual(redactSecrets(['postgres://a:b@db/x']), ['postgres://a:[REDACTED]@db/x']);
  });

  it('prints no secret in the table or the JSON', async () => {
    const loaded = await load('empty', {
      REDIS_URL: 'redis://app:url-s3cret@cache:6379/0',
      ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify({ redis: { password: 'pw-s3cret', sentinelPassword: 'sentinel-s3cret' } }),
    });
    for (const output of [formatConfigTable(loaded), formatConfigJson(loaded)]) {
      assert.doesNotMatch(output, /s3cret/);
      assert.match(output, /redis:\/\/app:\[REDACTED\]@cache:6379\/0/);
    }
    assert.equal(loaded.config.redis.password, 'pw-s3cret', 'the loaded config itself is untouched');
  });
});
