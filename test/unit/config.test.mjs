import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig, roleFromEnv } from '../../dist/config/index.js';
import { ConfigError } from '../../dist/errors.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'config');
const root = (name) => path.join(fixtures, name);
const load = (name, env = {}) => loadConfig({ projectRoot: root(name), env });

/** Asserts a one-line ConfigError whose message matches and whose file/key fields are as given. */
async function rejectsWithConfigError(promise, { message, file, key }) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${error}`);
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, /\n/);
    if (file !== undefined) assert.equal(error.file, file);
    if (key !== undefined) assert.equal(error.key, key);
    return true;
  });
}

describe('merge order', () => {
  it('applies every file default in path order over the built-in defaults, deeply', async () => {
    const config = await load('layers');
    assert.equal(config.cluster.workers, 3, 'b-override.mjs wins over a-general.js');
    assert.deepEqual(config.general.filteredParams, ['password']);
    assert.equal(config.general.pidFileMode, 0o644, 'keys a file does not set keep their defaults');
    assert.equal(config.cluster.stopTimeout, 30_000);
    assert.equal(config.servers.web.port, 9000);
    assert.equal(config.myApp.name, 'a');
  });

  it('replaces arrays instead of concatenating them', async () => {
    const config = await load('layers');
    assert.deepEqual(config.myApp.list, [9]);
  });

  it('deletes a key set to null and keeps its siblings', async () => {
    const config = await load('layers');
    assert.deepEqual(config.myApp.nested, { keep: 1 });
  });

  it('applies the NODE_ENV sections of every file after all the defaults', async () => {
    const production = await load('layers', { NODE_ENV: 'production' });
    assert.equal(production.myApp.name, 'a-production');
    assert.equal(production.myApp.fromCjs, true, 'a CommonJS file with only a production section');

    const test = await load('layers', { NODE_ENV: 'test' });
    assert.equal(test.myApp.name, 'a-test');
    assert.equal(test.myApp.fromTs, 'test');
    assert.equal(test.myApp.fromCjs, undefined);
  });

  it('uses the development section when NODE_ENV is unset', async () => {
    const config = await load('layers');
    assert.equal(config.myApp.name, 'a');
    assert.equal(config.myApp.fromCjs, undefined);
    assert.equal(config.myApp.fromTs, undefined);
  });

  it('applies ACTIONHERO_CONFIG_OVERRIDES last, null deleting', async () => {
    const overrides = JSON.stringify({ cluster: { workers: 7 }, myApp: { nested: null }, servers: { web: { port: '/tmp/app.sock' } } });
    const config = await load('layers', { ACTIONHERO_CONFIG_OVERRIDES: overrides });
    assert.equal(config.cluster.workers, 7);
    assert.equal(config.myApp.nested, undefined);
    assert.equal(config.servers.web.port, '/tmp/app.sock');
  });

  it('gives the same config when loaded twice (the modules are not mutated)', async () => {
    const first = await load('layers', { NODE_ENV: 'production' });
    const second = await load('layers', { NODE_ENV: 'production' });
    assert.deepEqual(JSON.parse(JSON.stringify(second)), JSON.parse(JSON.stringify(first)));
  });
});

describe('function values', () => {
  it('calls a function at any depth with the config built so far', async () => {
    const config = await load('layers');
    assert.equal(config.myApp.derived, 30, 'sees cluster.workers from the earlier files');
    assert.equal(config.servers.web.bindIP, '127.0.0.1', 'a function in a .ts file');
  });

  it('resolves functions inside what a function returned', async () => {
    const config = await load('layers');
    assert.deepEqual(config.myApp.deep, { fn: { inner: 'inner sees a' } });
  });

  it('calls a whole section given as a function', async () => {
    const config = await load('layers');
    assert.deepEqual(config.myApp.sectionFunctionSaw, [9]);
  });

  it('merges a key given as a function deeply, as ActionHero seed sections do', async () => {
    const config = await load('layers', { NODE_ENV: 'production' });
    assert.deepEqual(config.tasks.queues, ['queue-of-a-production']);
    assert.equal(config.tasks.maxTaskProcessors, 4);
    assert.equal(config.tasks.timeout, 1_000, 'the other tasks keys keep their defaults');
  });

  it('keeps a function returned by a function and leaves arrays alone', async () => {
    const config = await load('layers');
    assert.equal(config.myApp.keptFunction(), 'kept');
    assert.equal(typeof config.myApp.functionsInArrays[0], 'function');
  });

  it('names the file and the key of a function that throws', async () => {
    await rejectsWithConfigError(load('broken-function'), {
      message: /^config\/servers\/web\.js: the function for servers\.web\.port threw: no port for you$/,
      file: 'config/servers/web.js',
      key: 'servers.web.port',
    });
  });

  it('refuses a section that is not an object', async () => {
    await rejectsWithConfigError(load('section-not-object'), {
      message: /^config\/app\.js: its default section must be an object of config keys, got 0 \(number\)$/,
      file: 'config/app.js',
    });
  });
});

describe('config files', () => {
  it('loads .js, .cjs, .mjs and .ts files, in subfolders too', async () => {
    const config = await load('layers', { NODE_ENV: 'production' });
    assert.equal(config.general.filteredParams[0], 'password', '.js');
    assert.equal(config.myApp.fromCjs, true, '.cjs');
    assert.equal(config.cluster.workers, 3, '.mjs');
    assert.equal(config.servers.web.port, 9000, 'servers/web.ts');
  });

  it('ignores .d.ts, non-module and hidden files', async () => {
    const config = await load('layers');
    assert.equal(config.myApp.fromJson, undefined);
    assert.equal(config.myApp.fromHidden, undefined);
  });

  it('uses the built-in defaults when the project has no config folder', async () => {
    const config = await load('empty');
    assert.equal(config.servers.web.port, 8080);
    assert.equal(config.cluster.workers, 0);
    assert.equal(config.general.paths.pid, path.join(root('empty'), 'pids'));
  });

  it('reads every folder named in ACTIONHERO_CONFIG, in order', async () => {
    const config = await load('layers', { ACTIONHERO_CONFIG: `config, ${path.join(root('layers'), 'extra-config')}` });
    assert.equal(config.myApp.fromExtraFolder, true);
    assert.equal(config.myApp.name, 'extra');
    assert.equal(config.cluster.workers, 3);
  });

  it('refuses an ACTIONHERO_CONFIG folder that does not exist', async () => {
    await rejectsWithConfigError(load('empty', { ACTIONHERO_CONFIG: 'missing-folder' }), {
      message: /ACTIONHERO_CONFIG names missing-folder, but .*missing-folder does not exist/,
      key: 'ACTIONHERO_CONFIG',
    });
  });

  it('names a file with a syntax error, and its line', async () => {
    await rejectsWithConfigError(load('broken-syntax'), {
      message: /^config\/broken\.js: failed to load, line 2: Unexpected token/,
      file: 'config/broken.js',
    });
  });

  it('names a .ts file that does not compile', async () => {
    await rejectsWithConfigError(load('ts-syntax'), { message: /^config\/web\.ts: failed to load: .*config\/web\.ts:3/, file: 'config/web.ts' });
  });

  it('names a file that throws when imported', async () => {
    await rejectsWithConfigError(load('broken-import'), {
      message: /^config\/throws\.mjs: failed to load: cannot read the secrets file$/,
      file: 'config/throws.mjs',
    });
  });
});

describe('ACTIONHERO_CONFIG_OVERRIDES', () => {
  it('refuses invalid JSON, naming the variable', async () => {
    await rejectsWithConfigError(load('empty', { ACTIONHERO_CONFIG_OVERRIDES: '{cluster:' }), {
      message: /^ACTIONHERO_CONFIG_OVERRIDES is not valid JSON: /,
      key: 'ACTIONHERO_CONFIG_OVERRIDES',
    });
  });

  it('refuses JSON that is not an object', async () => {
    await rejectsWithConfigError(load('empty', { ACTIONHERO_CONFIG_OVERRIDES: '[1]' }), {
      message: /^ACTIONHERO_CONFIG_OVERRIDES must be a JSON object, got \[1\] \(array\)$/,
    });
  });

  it('is named when it sets a value of the wrong type', async () => {
    await rejectsWithConfigError(load('empty', { ACTIONHERO_CONFIG_OVERRIDES: '{"cluster":{"workers":-1}}' }), {
      message: /^ACTIONHERO_CONFIG_OVERRIDES: cluster\.workers must be a whole number >= 0, got -1 \(number\)$/,
      file: 'ACTIONHERO_CONFIG_OVERRIDES',
      key: 'cluster.workers',
    });
  });
});

describe('roles and Procfile env', () => {
  it('runs web, scheduler and task processors when ACTIONHERO_ROLE is unset', async () => {
    const config = await load('empty');
    assert.equal(roleFromEnv({}), 'all');
    assert.equal(config.servers.web.enabled, true);
    assert.equal(config.tasks.scheduler, true);
    assert.ok(config.tasks.maxTaskProcessors > 0);
  });

  it('presets a server: web on, scheduler off, no task processors', async () => {
    const config = await load('empty', { ACTIONHERO_ROLE: 'server' });
    assert.equal(config.servers.web.enabled, true);
    assert.equal(config.tasks.scheduler, false);
    assert.equal(config.tasks.minTaskProcessors, 0);
    assert.equal(config.tasks.maxTaskProcessors, 0);
  });

  it('presets a worker: web off, scheduler on, 1 to 10 task processors', async () => {
    const config = await load('empty', { ACTIONHERO_ROLE: 'worker' });
    assert.equal(config.servers.web.enabled, false);
    assert.equal(config.tasks.scheduler, true);
    assert.equal(config.tasks.minTaskProcessors, 1);
    assert.equal(config.tasks.maxTaskProcessors, 10);
  });

  it('refuses an unknown ACTIONHERO_ROLE', async () => {
    await rejectsWithConfigError(load('empty', { ACTIONHERO_ROLE: 'web' }), { message: /ACTIONHERO_ROLE must be "server" or "worker"/ });
  });

  it('lets the Procfile variables win over the role presets', async () => {
    const config = await load('empty', {
      ACTIONHERO_ROLE: 'worker',
      PORT: '5000',
      ENABLE_WEB_SERVER: 'true',
      SCHEDULER: 'false',
      MIN_TASK_PROCESSORS: '2',
      MAX_TASK_PROCESSORS: '3',
      REDIS_URL: 'redis://cache.internal:6380/2',
    });
    assert.equal(config.servers.web.port, 5000);
    assert.equal(config.servers.web.enabled, true);
    assert.equal(config.tasks.scheduler, false);
    assert.equal(config.tasks.minTaskProcessors, 2);
    assert.equal(config.tasks.maxTaskProcessors, 3);
    assert.equal(config.redis.url, 'redis://cache.internal:6380/2');
  });

  it('takes a PORT that is not a number as a socket path', async () => {
    const config = await load('empty', { PORT: '/tmp/app.sock' });
    assert.equal(config.servers.web.port, '/tmp/app.sock');
  });

  it('lets the config files win over the Procfile variables', async () => {
    const config = await load('layers', { PORT: '5000' });
    assert.equal(config.servers.web.port, 9000);
  });

  it('names the variable that set a wrong value', async () => {
    await rejectsWithConfigError(load('empty', { REDIS_URL: 'localhost:6379' }), {
      message: /^REDIS_URL: redis\.url must be a redis:\/\/ or rediss:\/\/ URL, got "localhost:6379" \(string\)$/,
      file: 'REDIS_URL',
      key: 'redis.url',
    });
  });
});

describe('validation', () => {
  it('names the file and the key of a value of the wrong type', async () => {
    await rejectsWithConfigError(load('wrong-type'), {
      message: /^config\/servers\/web\.js: servers\.web\.port must be a port number or a socket path, got true \(boolean\)$/,
      file: 'config/servers/web.js',
      key: 'servers.web.port',
    });
  });

  it('names both sources when minTaskProcessors exceeds maxTaskProcessors', async () => {
    await rejectsWithConfigError(load('task-limits', { MIN_TASK_PROCESSORS: '5' }), {
      message: /^MIN_TASK_PROCESSORS: tasks\.minTaskProcessors must be <= tasks\.maxTaskProcessors \(2, from config\/tasks\.js\), got 5$/,
      key: 'tasks.minTaskProcessors',
    });
  });

  it('names the file that deleted a required key with null', async () => {
    await rejectsWithConfigError(load('deletes-required'), {
      message: /^config\/logger\.js: logger\.level must be one of fatal, error, warn, info, debug, trace, silent, got nothing$/,
      file: 'config/logger.js',
    });
  });

  it('refuses a timeout setTimeout cannot hold', async () => {
    await rejectsWithConfigError(load('empty', { ACTIONHERO_CONFIG_OVERRIDES: '{"cluster":{"stopTimeout":3000000000}}' }), {
      message: /cluster\.stopTimeout must be a whole number of milliseconds from 0 to 2147483647, got 3000000000 \(number\)$/,
    });
  });

  it('needs redis.name with redis.sentinels', async () => {
    const overrides = JSON.stringify({ redis: { sentinels: [{ host: '10.0.0.1', port: 26379 }] } });
    await rejectsWithConfigError(load('empty', { ACTIONHERO_CONFIG_OVERRIDES: overrides }), { message: /redis\.sentinels needs redis\.name/ });
  });

  it('refuses a sentinel without a port', async () => {
    const overrides = JSON.stringify({ redis: { name: 'mymaster', sentinels: [{ host: '10.0.0.1' }] } });
    await rejectsWithConfigError(load('empty', { ACTIONHERO_CONFIG_OVERRIDES: overrides }), {
      message: /redis\.sentinels must be a list of \{ host, port \}, got \[\{"host":"10\.0\.0\.1"\}\] \(array\)$/,
    });
  });

  it('refuses headersTimeout above requestTimeout, which node:http rejects', async () => {
    const overrides = JSON.stringify({ servers: { web: { headersTimeout: 60_000 } } });
    await rejectsWithConfigError(load('empty', { ACTIONHERO_CONFIG_OVERRIDES: overrides }), {
      message: /servers\.web\.headersTimeout must be <= servers\.web\.requestTimeout \(30000, from built-in defaults\), got 60000$/,
    });
  });

  it('allows any headersTimeout when requestTimeout is 0 (off)', async () => {
    const overrides = JSON.stringify({ servers: { web: { headersTimeout: 60_000, requestTimeout: 0 } } });
    const config = await load('empty', { ACTIONHERO_CONFIG_OVERRIDES: overrides });
    assert.equal(config.servers.web.headersTimeout, 60_000);
  });
});

describe('paths', () => {
  it('resolves relative paths against the project root and takes a single path as a list', async () => {
    const config = await load('paths');
    const { paths } = config.general;
    assert.equal(paths.pid, path.join(root('paths'), 'run', 'pids'));
    assert.deepEqual(paths.actions, [path.join(root('paths'), 'src', 'actions')]);
    assert.deepEqual(paths.tasks, [path.join(root('paths'), 'src', 'tasks'), '/opt/shared/tasks']);
    assert.deepEqual(paths.public, [path.join(root('paths'), 'public')]);
  });
});
