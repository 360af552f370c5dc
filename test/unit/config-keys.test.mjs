import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { builtInDefaults } from '../../dist/config/defaults.js';
import { loadConfig } from '../../dist/config/index.js';
import { editDistance, suggestKey } from '../../dist/config/unknown-keys.js';
import { builtInKeyPaths } from '../../dist/config/validate.js';
import { ConfigError } from '../../dist/errors.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'config');
const load = (name, env = {}) => loadConfig({ projectRoot: path.join(fixtures, name), env });
const withOverrides = (overrides) => load('empty', { ACTIONHERO_CONFIG_OVERRIDES: JSON.stringify(overrides) });

async function rejectsWithUnknownKey(promise, { message, file, key }) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, /\n/);
    assert.equal(error.file, file);
    assert.equal(error.key, key);
    return true;
  });
}

describe('unknown keys', () => {
  it('refuses a typo in a section key, naming the file and the nearest key', async () => {
    await rejectsWithUnknownKey(load('unknown-key', { NODE_ENV: 'test' }), {
      message: /^config\/cluster\.js: unknown key cluster\.wokers, did you mean cluster\.workers\?$/,
      file: 'config/cluster.js',
      key: 'cluster.wokers',
    });
  });

  it('refuses a typo in servers.web, set by a function', async () => {
    await rejectsWithUnknownKey(load('unknown-key', { NODE_ENV: 'production' }), {
      message: /^config\/servers\/web\.js: unknown key servers\.web\.prot, did you mean servers\.web\.port\?$/,
      file: 'config/servers/web.js',
      key: 'servers.web.prot',
    });
  });

  it('names ACTIONHERO_CONFIG_OVERRIDES when the typo comes from it', async () => {
    await rejectsWithUnknownKey(withOverrides({ tasks: { minTaskProcesors: 1 } }), {
      message: /^ACTIONHERO_CONFIG_OVERRIDES: unknown key tasks\.minTaskProcesors, did you mean tasks\.minTaskProcessors\?$/,
      file: 'ACTIONHERO_CONFIG_OVERRIDES',
      key: 'tasks.minTaskProcesors',
    });
  });

  it('checks nested objects of the built-in sections', async () => {
    await rejectsWithUnknownKey(withOverrides({ cluster: { restartBackoff: { mx: 100 } } }), {
      message: /unknown key cluster\.restartBackoff\.mx, did you mean cluster\.restartBackoff\.max\?$/,
      file: 'ACTIONHERO_CONFIG_OVERRIDES',
      key: 'cluster.restartBackoff.mx',
    });
    await rejectsWithUnknownKey(withOverrides({ servers: { web: { metadataOptions: { serverInfo: false } } } }), {
      message: /unknown key servers\.web\.metadataOptions\.serverInfo \(servers\.web\.metadataOptions takes serverInformation, requesterInformation\)$/,
      file: 'ACTIONHERO_CONFIG_OVERRIDES',
      key: 'servers.web.metadataOptions.serverInfo',
    });
  });

  it('checks redis and logger, and suggests the same key in another section', async () => {
    await rejectsWithUnknownKey(withOverrides({ redis: { pasword: 'x' } }), {
      message: /unknown key redis\.pasword, did you mean redis\.password\?$/,
      file: 'ACTIONHERO_CONFIG_OVERRIDES',
      key: 'redis.pasword',
    });
    await rejectsWithUnknownKey(withOverrides({ logger: { levle: 'warn' } }), {
      message: /unknown key logger\.levle, did you mean logger\.level\?$/,
      file: 'ACTIONHERO_CONFIG_OVERRIDES',
      key: 'logger.levle',
    });
    await rejectsWithUnknownKey(withOverrides({ cluster: { port: 80 } }), {
      message: /unknown key cluster\.port, did you mean servers\.web\.port\?$/,
      file: 'ACTIONHERO_CONFIG_OVERRIDES',
      key: 'cluster.port',
    });
  });

  it('lists the known keys when none is near', async () => {
    await rejectsWithUnknownKey(withOverrides({ logger: { transports: [] } }), {
      message: /^ACTIONHERO_CONFIG_OVERRIDES: unknown key logger\.transports \(logger takes level\)$/,
      file: 'ACTIONHERO_CONFIG_OVERRIDES',
      key: 'logger.transports',
    });
  });

  it("keeps the app's own keys: its sections, general, general.paths, other servers, redis.options", async () => {
    const config = await load('unknown-key');
    assert.equal(config.general.myAppSetting, 'kept');
    assert.equal(config.general.paths.locale, 'locales');
    assert.deepEqual(config.servers.websocket, { enabled: false });
    assert.equal(config.payments.endpoint, 'https://sandbox.example.com');
    assert.deepEqual(config.redis.options, { connectTimeout: 5_000 });
  });

  it('knows every key of the built-in defaults', () => {
    const leaves = (value, prefix) =>
      Object.entries(value).flatMap(([key, child]) => {
        const keyPath = prefix ? `${prefix}.${key}` : key;
        return child !== null && typeof child === 'object' && !Array.isArray(child) ? [keyPath, ...leaves(child, keyPath)] : [keyPath];
      });
    for (const keyPath of leaves(builtInDefaults('/app', {}, 'all'), '')) assert.ok(builtInKeyPaths.includes(keyPath), keyPath);
  });
});

describe('key suggestions', () => {
  it('counts a swap of two neighbours as one edit', () => {
    assert.equal(editDistance('wokrers', 'workers'), 1);
    assert.equal(editDistance('wokers', 'workers'), 1);
    assert.equal(editDistance('', 'abc'), 3);
  });

  it('ignores case and suggests nothing for an unrelated key', () => {
    assert.equal(suggestKey('cluster', 'StopTimeout'), 'cluster.stopTimeout');
    assert.equal(suggestKey('cluster', 'colour'), undefined);
    assert.equal(suggestKey('servers.web', 'hots'), undefined, 'short keys take one edit only');
  });
});
