// ActionHero mode, in-process: which projects run it, where mycluster's own config is read from then, what
// mycluster hands ActionHero through ACTIONHERO_CONFIG_OVERRIDES, and the clean-up of a dead worker's pidfiles.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { formatCheckLine, formatConfigJson } from '../../dist/commands/config.js';
import { appKind, dependsOnActionhero } from '../../dist/config/app-kind.js';
import { loadConfigWithSources } from '../../dist/config/index.js';
import { removePidfilesOf } from '../../dist/pids.js';
import { resolveActionhero } from '../../dist/runtime/actionhero/app.js';
import { actionheroOverrides, withUserOverrides } from '../../dist/runtime/actionhero/overrides.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mycluster-actionhero-unit-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A project folder with a package.json and the given files (relative path → content). */
function project(name, dependencies, files = {}) {
  const root = path.join(tmp, name);
  fs.mkdirSync(root, { recursive: true });
  if (dependencies) fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name, dependencies }));
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    fs.writeFileSync(path.join(root, file), content);
  }
  return root;
}

describe('which projects run ActionHero', () => {
  it('a dependency on actionhero 22 or later, a tag or a URL', () => {
    for (const spec of ['29.3.5', '^29.3.5', '~22.0.0', '>=22', 'v25.0.0', 'latest', 'github:actionhero/actionhero']) {
      assert.equal(dependsOnActionhero({ dependencies: { actionhero: spec } }), true, spec);
    }
  });

  it('not an ActionHero 21 or earlier (it had start cluster), nor a devDependency, nor no package.json', () => {
    assert.equal(dependsOnActionhero({ dependencies: { actionhero: '^21.0.0' } }), false);
    assert.equal(dependsOnActionhero({ devDependencies: { actionhero: '29.3.5' } }), false);
    assert.equal(dependsOnActionhero(undefined), false);
  });

  it('MYCLUSTER_APP opts in or out; a wrong value is an error naming the variable and the value', () => {
    const ah = project('kind-ah', { actionhero: '29.3.5' });
    const plain = project('kind-plain', { express: '5.0.0' });
    assert.equal(appKind(ah, {}), 'actionhero');
    assert.equal(appKind(plain, {}), 'mycluster');
    assert.equal(appKind(ah, { MYCLUSTER_APP: 'mycluster' }), 'mycluster');
    assert.equal(appKind(plain, { MYCLUSTER_APP: 'actionhero' }), 'actionhero');
    assert.equal(appKind(ah, { MYCLUSTER_APP: 'auto' }), 'actionhero');
    assert.throws(() => resolveActionhero(plain), {
      name: 'BootError',
      message:
        /^this project runs ActionHero, but actionhero cannot be loaded from \S+ \(Cannot find module 'actionhero'\): run npm install, or set MYCLUSTER_APP=mycluster$/,
    });
    assert.throws(() => appKind(ah, { MYCLUSTER_APP: 'ah' }), {
      name: 'ConfigError',
      message: /MYCLUSTER_APP must be one of auto, actionhero, mycluster, got "ah"/,
    });
  });
});

describe("mycluster's own config in an ActionHero project", () => {
  const ahConfig = { 'config/api.js': 'exports.production = { general: () => ({ fileRequestLogLevel: "debug" }) };' };

  it('ignores ACTIONHERO_CONFIG, ACTIONHERO_CONFIG_OVERRIDES and config/: they are ActionHero’s', async () => {
    const root = project('cfg-ah', { actionhero: '29.3.5' }, ahConfig);
    const loaded = await loadConfigWithSources({
      projectRoot: root,
      env: { NODE_ENV: 'production', ACTIONHERO_CONFIG: 'config', ACTIONHERO_CONFIG_OVERRIDES: '{"web":{"port":1}}' },
    });
    assert.equal(loaded.app, 'actionhero');
    assert.deepEqual(loaded.files, []);
    assert.equal(loaded.config.servers.web.port, 8080);
  });

  it('reads <root>/mycluster/, then MYCLUSTER_CONFIG_OVERRIDES', async () => {
    const root = project(
      'cfg-ah-own',
      { actionhero: '29.3.5' },
      {
        ...ahConfig,
        'mycluster/cluster.js': 'exports.default = { cluster: { stopTimeout: 7000, workers: 3 } };',
      },
    );
    const loaded = await loadConfigWithSources({ projectRoot: root, env: { MYCLUSTER_CONFIG_OVERRIDES: '{"cluster":{"workers":4}}' } });
    assert.deepEqual(loaded.files, ['mycluster/cluster.js']);
    assert.equal(loaded.config.cluster.stopTimeout, 7000);
    assert.equal(loaded.config.cluster.workers, 4);
    assert.equal(loaded.sources.sourceOf('cluster.workers'), 'MYCLUSTER_CONFIG_OVERRIDES');
  });

  it('mycluster config says it is an ActionHero project', async () => {
    const loaded = await loadConfigWithSources({ projectRoot: project('cfg-ah-check', { actionhero: '29.3.5' }), env: { NODE_ENV: 'production' } });
    assert.equal(
      formatCheckLine(loaded),
      "config OK: 0 files, NODE_ENV=production, both roles (ACTIONHERO_ROLE unset), ActionHero project (workers run ActionHero; this is mycluster's own config)",
    );
    assert.equal(JSON.parse(formatConfigJson(loaded)).app, 'actionhero');
  });

  it('MYCLUSTER_CONFIG names other folders, and a missing one is an error naming MYCLUSTER_CONFIG', async () => {
    const root = project('cfg-ah-named', { actionhero: '29.3.5' }, { 'ops/mycluster.js': 'exports.default = { cluster: { workers: 5 } };' });
    const loaded = await loadConfigWithSources({ projectRoot: root, env: { MYCLUSTER_CONFIG: 'ops' } });
    assert.equal(loaded.config.cluster.workers, 5);
    await assert.rejects(loadConfigWithSources({ projectRoot: root, env: { MYCLUSTER_CONFIG: 'nope' } }), {
      name: 'ConfigError',
      message: /^MYCLUSTER_CONFIG names nope, but .* does not exist$/,
    });
  });

  it('in a mycluster app the MYCLUSTER_ variables win over the ACTIONHERO_ ones, which still work alone', async () => {
    const root = project('cfg-plain', undefined, {
      'config/a.js': 'exports.default = { cluster: { workers: 2 } };',
      'other/b.js': 'exports.default = { cluster: { workers: 6 } };',
    });
    const load = (env) => loadConfigWithSources({ projectRoot: root, env });
    assert.equal((await load({})).config.cluster.workers, 2);
    assert.equal((await load({ ACTIONHERO_CONFIG: 'other' })).config.cluster.workers, 6);
    assert.equal((await load({ ACTIONHERO_CONFIG: 'other', MYCLUSTER_CONFIG: 'config' })).config.cluster.workers, 2);
    const overrides = { ACTIONHERO_CONFIG_OVERRIDES: '{"cluster":{"workers":8}}', MYCLUSTER_CONFIG_OVERRIDES: '{"cluster":{"workers":9}}' };
    assert.equal((await load(overrides)).config.cluster.workers, 9);
  });
});

describe('what mycluster tells ActionHero (ACTIONHERO_CONFIG_OVERRIDES)', () => {
  const overrides = (role, env = {}, extra = {}) => actionheroOverrides({ role, env, ...extra });

  it('server: web and websocket on, scheduler off, no task processors', () => {
    assert.deepEqual(overrides('server'), {
      web: { enabled: true },
      websocket: { enabled: true },
      tasks: { scheduler: false, minTaskProcessors: 0, maxTaskProcessors: 0 },
    });
  });

  it('worker: no web and no websocket, scheduler on, task processors 1..10', () => {
    assert.deepEqual(overrides('worker'), {
      web: { enabled: false },
      websocket: { enabled: false },
      tasks: { scheduler: true, minTaskProcessors: 1, maxTaskProcessors: 10 },
    });
  });

  it('no role: ActionHero’s config is left alone, but for the port and the pid folder', () => {
    assert.deepEqual(overrides('all'), {});
    assert.deepEqual(overrides('all', {}, { port: 8080, pidFolder: '/srv/app/pids' }), { general: { paths: { pid: ['/srv/app/pids'] } }, web: { port: 8080 } });
  });

  it('the seed’s Procfile variables win over the presets', () => {
    const env = { SCHEDULER: 'false', MIN_TASK_PROCESSORS: '5', MAX_TASK_PROCESSORS: '5', ENABLE_WEB_SERVER: 'true', ENABLE_WEBSOCKET_SERVER: 'false' };
    assert.deepEqual(overrides('worker', env, { port: 9000 }), {
      web: { enabled: true, port: 9000 },
      websocket: { enabled: false },
      tasks: { scheduler: false, minTaskProcessors: 5, maxTaskProcessors: 5 },
    });
  });

  it('Procfile variables without a role; no web server means no websocket server unless asked', () => {
    assert.deepEqual(overrides('all', { ENABLE_WEB_SERVER: 'false', MIN_TASK_PROCESSORS: '3' }), {
      web: { enabled: false },
      websocket: { enabled: false },
      tasks: { minTaskProcessors: 3, maxTaskProcessors: 3 },
    });
    assert.deepEqual(overrides('server', { MAX_TASK_PROCESSORS: '4' }).tasks, { scheduler: false, minTaskProcessors: 0, maxTaskProcessors: 4 });
  });

  it('a bad variable is an error naming it', () => {
    assert.throws(() => overrides('all', { SCHEDULER: 'maybe' }), { name: 'ConfigError', message: /^SCHEDULER must be true or false, got "maybe"$/ });
  });

  it('the user’s own ACTIONHERO_CONFIG_OVERRIDES wins over everything, merged deeply', () => {
    const ours = overrides('server', {}, { port: 8080 });
    const merged = withUserOverrides(ours, JSON.stringify({ web: { port: 3000, secure: false }, tasks: { queues: ['a'] } }));
    assert.deepEqual(merged, {
      web: { enabled: true, port: 3000, secure: false },
      websocket: { enabled: true },
      tasks: { scheduler: false, minTaskProcessors: 0, maxTaskProcessors: 0, queues: ['a'] },
    });
    assert.throws(() => withUserOverrides(ours, '{nope'), { name: 'ConfigError', message: /^ACTIONHERO_CONFIG_OVERRIDES is not valid JSON/ });
  });
});

describe('pidfiles of an exited worker', () => {
  it('every pidfile holding its pid goes, whatever its name; the others and the state file stay', () => {
    const folder = project('pids-folder', undefined, {
      'actionhero-192.0.2.2-4242': '4242',
      'mycluster-worker-1': '4242\n',
      'mycluster-worker-2': '4243\n',
      cluster_pidfile: '4000\n',
      'cluster_state.json': JSON.stringify({ pid: 4242, padding: 'x'.repeat(64) }),
    });
    assert.deepEqual(removePidfilesOf(folder, 4242).sort(), ['actionhero-192.0.2.2-4242', 'mycluster-worker-1']);
    assert.deepEqual(fs.readdirSync(folder).sort(), ['cluster_pidfile', 'cluster_state.json', 'mycluster-worker-2']);
    assert.deepEqual(removePidfilesOf(path.join(folder, 'missing'), 4242), []);
  });
});
