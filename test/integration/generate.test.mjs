// `mycluster generate`: the scaffold's files and their contents, refusal to overwrite (nothing changes),
// role-aware config, .gitignore lines, the next steps, and a generated project that boots under the real
// CLI and answers its action and its public/index.html.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { repoRoot, runMycluster, startMycluster } from '../helpers/cluster.mjs';
import { freePort } from '../helpers/net.mjs';

const require = createRequire(import.meta.url);
const { describeGenerated, generate, systemdUserDirective } = require(path.join(repoRoot, 'dist', 'commands', 'generate.js'));
const { MyclusterError } = require(path.join(repoRoot, 'dist', 'errors.js'));

const EXPECTED = [
  'Procfile',
  'actions/hello.js',
  'config/config.js',
  'config/servers/web.js',
  'initializers/example.js',
  'mycluster.service',
  'nginx.conf',
  'public/index.html',
  'tasks/send-greeting.js',
];
/** What generate creates in an empty folder: the templates and a .gitignore. */
const GENERATED = [...EXPECTED, '.gitignore'];

const started = [];
after(async () => {
  for (const cluster of started) await cluster.kill();
});

function tempDir(name = 'gen') {
  return fs.mkdtempSync(path.join(os.tmpdir(), `mycluster-${name}-`));
}

/** Every file under dir (relative, "/"-separated) with its content and mtime. */
function snapshot(dir) {
  const files = {};
  const walk = (folder) => {
    for (const entry of fs.readdirSync(folder, { withFileTypes: true })) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) walk(full);
      else files[path.relative(dir, full).split(path.sep).join('/')] = { content: fs.readFileSync(full, 'utf8'), mtimeMs: fs.statSync(full).mtimeMs };
    }
  };
  walk(dir);
  return files;
}

const read = (dir, file) => fs.readFileSync(path.join(dir, file), 'utf8');

/** The merged config of the project at dir, loaded in a fresh node process with `env` (as a worker would). */
function loadConfigIn(dir, env) {
  const script = `require(${JSON.stringify(path.join(repoRoot, 'dist', 'config', 'index.js'))}).loadConfig({ projectRoot: process.cwd() })
    .then((config) => process.stdout.write(JSON.stringify(config)), (error) => { process.stderr.write(error.message); process.exit(1); });`;
  const childEnv = { ...process.env, ...env };
  for (const key of ['ACTIONHERO_ROLE', 'SCHEDULER', 'MIN_TASK_PROCESSORS', 'MAX_TASK_PROCESSORS', 'ENABLE_WEB_SERVER', 'PORT', 'REDIS_URL']) {
    if (!(key in env)) delete childEnv[key];
  }
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { cwd: dir, env: childEnv, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`loading the config failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout));
    });
  });
}

/** Fail with a clear message while `generate` is not wired in src/cli.ts (commander would say "unknown command"). */
async function assertGenerateIsWired() {
  const help = await runMycluster(['--help'], { cwd: os.tmpdir() });
  if (!/^\s+generate\b/m.test(help.stdout)) {
    assert.fail('"mycluster generate" is not wired in src/cli.ts yet: `mycluster --help` lists no generate command');
  }
}

async function cliGenerate(dir) {
  await assertGenerateIsWired();
  return runMycluster(['generate', dir], { cwd: os.tmpdir() });
}

describe('generate (the function)', () => {
  test('creates the scaffold in a new folder and returns the created paths', async () => {
    const dir = path.join(tempDir(), 'my-app');
    const { root, created, updated } = await generate({ directory: dir });
    assert.equal(root, dir);
    assert.deepEqual(updated, []);
    assert.deepEqual(created.map((file) => path.relative(dir, file).split(path.sep).join('/')).sort(), [...GENERATED].sort());
    for (const file of created) {
      assert.ok(path.isAbsolute(file));
      assert.ok(fs.statSync(file).size > 0, `${file} is empty`);
    }
    assert.deepEqual(Object.keys(snapshot(dir)).sort(), [...GENERATED].sort());
    assert.equal(read(dir, '.gitignore'), '# mycluster: pidfiles, the unix socket, `start --daemon` logs\npids/\nlog/\n');
    assert.match(read(dir, 'public/index.html'), /<title>my_app<\/title>/);
    // When initializers really start: before the web server listens and the task processors poll.
    assert.match(
      read(dir, 'initializers/example.js').replace(/\n\/\/ /g, ' '),
      /started in name order before mycluster's web server listens and its task processors poll/,
    );
    // No placeholder left anywhere.
    for (const file of EXPECTED) assert.doesNotMatch(read(dir, file), /\{\{[A-Z_]+\}\}/, file);
  });

  test('the files: Procfile, nginx.conf and the systemd unit agree with the config', async () => {
    const dir = path.join(tempDir(), 'shop');
    await generate({ directory: dir });
    const socket = path.join(dir, 'pids', 'web.sock');

    // Procfile: web and worker lines, the binary directly, no npm.
    const procfile = read(dir, 'Procfile')
      .split('\n')
      .filter((line) => line && !line.startsWith('#'));
    assert.deepEqual(
      procfile.map((line) => line.split(':')[0]),
      ['web', 'worker'],
    );
    for (const line of procfile) {
      assert.match(line, /\.\/node_modules\/\.bin\/mycluster start/);
      assert.doesNotMatch(line, /\bnpm\b|\bnpx\b/);
    }
    assert.match(procfile[0], /SCHEDULER=false/);
    assert.match(procfile[1], /ENABLE_WEB_SERVER=false/);

    // nginx.conf: the production socket, HTTP/1.1 keep-alive upstream, websocket upgrade, forwarded headers.
    const nginx = read(dir, 'nginx.conf');
    assert.match(nginx, new RegExp(`server unix:${socket.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')};`));
    assert.match(nginx, /map \$http_upgrade \$shop_connection \{/);
    assert.match(nginx, /upstream shop_cluster \{[^}]*keepalive \d+;/);
    assert.match(nginx, /keepalive_timeout [1-4]s;/); // below the app's keepAliveTimeout (5 s)
    assert.match(nginx, /proxy_pass http:\/\/shop_cluster;/);
    assert.match(nginx, /proxy_http_version 1\.1;/);
    assert.match(nginx, /proxy_set_header Upgrade \$http_upgrade;/);
    assert.match(nginx, /proxy_set_header Connection \$shop_connection;/);
    assert.match(nginx, /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
    assert.match(nginx, /proxy_set_header X-Forwarded-Proto \$scheme;/);
    assert.match(nginx, /proxy_next_upstream error;/);

    // systemd unit.
    const unit = read(dir, 'mycluster.service');
    const directive = (name) =>
      unit
        .split('\n')
        .filter((line) => line.startsWith(`${name}=`))
        .map((line) => line.slice(name.length + 1));
    // Type=notify: READY=1 once every worker is ready; messages come from systemd-notify, a child of the master.
    assert.deepEqual(directive('Type'), ['notify']);
    assert.deepEqual(directive('NotifyAccess'), ['all']);
    assert.deepEqual(directive('WorkingDirectory'), [dir]);
    assert.deepEqual(directive('ExecStart'), [`${dir}/node_modules/.bin/mycluster start cluster`]);
    // `systemctl reload` waits for the rolling reload and fails with it (systemd < 253 has no notify-reload).
    assert.deepEqual(directive('ExecReload'), [`${dir}/node_modules/.bin/mycluster reload`]);
    assert.match(unit, /^# +Type=notify-reload\n# +ReloadSignal=SIGUSR2$/m);
    assert.ok(Number(directive('WatchdogSec')[0]) >= 10, unit);
    // The start waits for READY=1 and the reload for `mycluster reload`, which gives up after 300 s.
    assert.ok(Number(directive('TimeoutStartSec')[0]) >= 300, unit);
    assert.deepEqual(directive('KillMode'), ['mixed']);
    assert.deepEqual(directive('Restart'), ['on-failure']);
    assert.ok(directive('Environment').includes('NODE_ENV=production'));
    // Never User=root: generated as root, User= is the sudo user's or left for the reader to fill in.
    assert.ok(!directive('User').includes('root'), unit);
    const user = systemdUserDirective(process.getuid(), os.userInfo().username, process.env).match(/^User=(.+)$/m)?.[1];
    assert.deepEqual(directive('User'), user ? [user] : []);

    // The production config listens where nginx connects; TimeoutStopSec is above stopTimeout.
    const production = await loadConfigIn(dir, { NODE_ENV: 'production', MIN_TASK_PROCESSORS: '0', MAX_TASK_PROCESSORS: '0', SCHEDULER: 'false' });
    assert.equal(production.servers.web.port, socket);
    assert.equal(production.servers.web.socketMode, 0o660);
    assert.ok(Number(directive('TimeoutStopSec')[0]) * 1000 > production.cluster.stopTimeout);
    assert.ok(production.servers.web.keepAliveTimeout > 4_000);
    // PORT still wins in production (Procfile platforms).
    const onPort = await loadConfigIn(dir, { NODE_ENV: 'production', PORT: '5001', SCHEDULER: 'false' });
    assert.equal(onPort.servers.web.port, 5001);
  });

  test('the config is role-aware: ACTIONHERO_ROLE presets, Procfile env overrides', async () => {
    const dir = tempDir();
    await generate({ directory: dir });
    const server = await loadConfigIn(dir, { ACTIONHERO_ROLE: 'server' });
    assert.equal(server.servers.web.enabled, true);
    assert.equal(server.tasks.scheduler, false);
    assert.equal(server.tasks.maxTaskProcessors, 0);

    const worker = await loadConfigIn(dir, { ACTIONHERO_ROLE: 'worker' });
    assert.equal(worker.servers.web.enabled, false);
    assert.equal(worker.tasks.scheduler, true);
    assert.equal(worker.tasks.minTaskProcessors, 1);
    assert.equal(worker.tasks.maxTaskProcessors, 10);

    const development = await loadConfigIn(dir, {});
    assert.equal(development.servers.web.enabled, true);
    assert.equal(development.tasks.scheduler, true);
    assert.equal(development.servers.web.port, 8080);

    // The Procfile's worker line.
    const procfileWorker = await loadConfigIn(dir, { SCHEDULER: 'true', MIN_TASK_PROCESSORS: '5', MAX_TASK_PROCESSORS: '5', ENABLE_WEB_SERVER: 'false' });
    assert.equal(procfileWorker.servers.web.enabled, false);
    assert.equal(procfileWorker.tasks.minTaskProcessors, 5);
    assert.equal(procfileWorker.tasks.maxTaskProcessors, 5);
    // An explicit env override wins over the role preset.
    const quietWorker = await loadConfigIn(dir, { ACTIONHERO_ROLE: 'worker', SCHEDULER: 'false' });
    assert.equal(quietWorker.tasks.scheduler, false);

    const testEnv = await loadConfigIn(dir, { NODE_ENV: 'test', PORT: '5002' });
    assert.equal(testEnv.servers.web.port, 5002);
    assert.equal(testEnv.servers.web.bindIP, '127.0.0.1');
    assert.equal(testEnv.cluster.stopTimeout, 5_000);
  });

  test('a second run refuses, names the existing files and changes nothing', async () => {
    const dir = tempDir();
    await generate({ directory: dir });
    const before = snapshot(dir);
    await assert.rejects(generate({ directory: dir }), (error) => {
      assert.ok(error instanceof MyclusterError, `not a MyclusterError: ${error}`);
      for (const file of EXPECTED) assert.ok(error.message.includes(file), `${file} not named in: ${error.message}`);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    });
    assert.deepEqual(snapshot(dir), before);
  });

  test('one existing file is enough to refuse: nothing else is created, that file is untouched', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'Procfile'), 'web: node server.js\n');
    fs.mkdirSync(path.join(dir, 'config'));
    fs.writeFileSync(path.join(dir, 'config', 'config.js'), 'exports.default = {};\n');
    const before = snapshot(dir);
    await assert.rejects(generate({ directory: dir }), (error) => {
      assert.ok(error instanceof MyclusterError);
      assert.match(error.message, /Procfile/);
      assert.match(error.message, /config\/config\.js/);
      assert.doesNotMatch(error.message, /nginx\.conf/);
      return true;
    });
    assert.deepEqual(snapshot(dir), before);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['Procfile', 'config']);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'config')), ['config.js']);
  });

  test('a "type": "module" project gets .cjs code files, and its config loads', async () => {
    const dir = tempDir('esm');
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: '@acme/esm-app', type: 'module' }));
    const created = (await generate({ directory: dir })).created.map((file) => path.relative(dir, file).split(path.sep).join('/'));
    assert.ok(created.includes('config/config.cjs'));
    assert.ok(created.includes('config/servers/web.cjs'));
    assert.ok(created.includes('actions/hello.cjs'));
    assert.ok(created.includes('Procfile') && created.includes('nginx.conf'));
    assert.match(read(dir, 'nginx.conf'), /upstream esm_app_cluster/);
    const config = await loadConfigIn(dir, { ACTIONHERO_ROLE: 'worker', NODE_ENV: 'production' });
    assert.equal(config.tasks.maxTaskProcessors, 10);
    assert.equal(config.servers.web.port, path.join(fs.realpathSync(dir), 'pids', 'web.sock'));
  });

  test('the systemd unit runs as the user who generated it, never as root', () => {
    assert.equal(systemdUserDirective(1000, 'deploy', {}), 'User=deploy');
    assert.equal(systemdUserDirective(0, 'root', { SUDO_USER: 'deploy' }), 'User=deploy');
    for (const env of [{}, { SUDO_USER: 'root' }]) {
      const directive = systemdUserDirective(0, 'root', env);
      assert.doesNotMatch(directive, /^User=/m);
      assert.match(directive, /^# User=app$/m);
      assert.match(directive, /^# Generated as root: set the account the app runs as/m);
    }
  });

  test('an existing .gitignore gets the lines it lacks, once; one that has them is untouched', async () => {
    const dir = tempDir('gitignore');
    fs.writeFileSync(path.join(dir, '.gitignore'), 'node_modules\n/pids');
    const { created, updated } = await generate({ directory: dir });
    assert.ok(!created.includes(path.join(dir, '.gitignore')));
    assert.deepEqual(updated, [path.join(dir, '.gitignore')]);
    assert.equal(read(dir, '.gitignore'), 'node_modules\n/pids\n# mycluster: pidfiles, the unix socket, `start --daemon` logs\nlog/\n');

    const complete = tempDir('gitignore');
    fs.writeFileSync(path.join(complete, '.gitignore'), 'pids\nlog/\n');
    const before = fs.statSync(path.join(complete, '.gitignore')).mtimeMs;
    const result = await generate({ directory: complete });
    assert.deepEqual(result.updated, []);
    assert.ok(!result.created.includes(path.join(complete, '.gitignore')));
    assert.equal(read(complete, '.gitignore'), 'pids\nlog/\n');
    assert.equal(fs.statSync(path.join(complete, '.gitignore')).mtimeMs, before);
  });

  test('the next steps: cd when elsewhere, install when mycluster is missing, start, the web-only role', async () => {
    const parent = tempDir('steps');
    const dir = path.join(parent, 'app');
    const result = await generate({ directory: dir });
    const fromParent = describeGenerated(result, parent);
    assert.match(fromParent, /^created app\/Procfile$/m);
    assert.match(fromParent, /^created app\/\.gitignore$/m);
    const steps = fromParent
      .split('\nNext steps:\n')[1]
      ?.split('\n')
      .map((line) => line.trim());
    assert.ok(steps, fromParent);
    assert.equal(steps[0], 'cd app');
    assert.equal(steps[1], 'npm install mycluster');
    assert.ok(steps.some((step) => step.startsWith('npx mycluster start ')));
    assert.ok(steps.some((step) => step.startsWith('ACTIONHERO_ROLE=server npx mycluster start')));

    fs.mkdirSync(path.join(dir, 'node_modules', 'mycluster'), { recursive: true });
    const fromInside = describeGenerated(result, dir);
    assert.doesNotMatch(fromInside, /^\s*cd /m);
    assert.doesNotMatch(fromInside, /npm install/);
    assert.match(fromInside, /^created Procfile$/m);
  });

  test('a path that is a file is refused', async () => {
    const file = path.join(tempDir(), 'not-a-dir');
    fs.writeFileSync(file, '');
    await assert.rejects(generate({ directory: file }), /not a directory/);
  });
});

describe('mycluster generate (the CLI)', () => {
  test('generates, prints the files, then refuses a second run with exit 1 and changes nothing', async () => {
    const dir = path.join(tempDir('cli'), 'app');
    const first = await cliGenerate(dir);
    assert.equal(first.code, 0, first.stderr);
    for (const file of GENERATED) {
      assert.ok(fs.existsSync(path.join(dir, file)), `${file} missing`);
      assert.ok(first.stdout.includes(file), `${file} not reported in: ${first.stdout}`);
    }
    assert.match(first.stdout, /\nNext steps:\n {2}cd .*\n/);
    const before = snapshot(dir);
    const second = await cliGenerate(dir);
    assert.equal(second.code, 1, second.stderr);
    assert.equal(second.stderr.trim().split('\n').length, 1, second.stderr);
    assert.match(second.stderr, /refusing to overwrite/);
    assert.match(second.stderr, /nginx\.conf/);
    assert.doesNotMatch(second.stderr, /\n\s+at /);
    assert.deepEqual(snapshot(dir), before);
  });

  test('--help describes it', async () => {
    await assertGenerateIsWired();
    const { code, stdout } = await runMycluster(['generate', '--help'], { cwd: os.tmpdir() });
    assert.equal(code, 0);
    assert.match(stdout, /Usage: mycluster generate/);
    assert.match(stdout, /\[dir\]/);
  });
});

describe('the generated project boots', () => {
  test('start --workers=1 with tasks off answers GET /api/hello, then stops cleanly', async () => {
    const dir = tempDir('boot');
    await generate({ directory: dir });
    const port = await freePort();
    const cluster = startMycluster(['start', '--workers=1'], {
      cwd: dir,
      env: { PORT: String(port), MIN_TASK_PROCESSORS: '0', MAX_TASK_PROCESSORS: '0', SCHEDULER: 'false', ACTIONHERO_ROLE: '' },
    });
    started.push(cluster);
    await cluster.waitForEquilibrium();
    const response = await fetch(`http://127.0.0.1:${port}/api/hello?name=Ada`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(response.status, 200);
    const body = await response.json();
    assert.equal(body.message, 'hello Ada');
    // The test section asks for requester information in each response.
    assert.deepEqual(body.requesterInformation?.receivedParams, { name: 'Ada' });
    const fallback = await fetch(`http://127.0.0.1:${port}/api/hello`, { signal: AbortSignal.timeout(10_000) });
    assert.equal((await fallback.json()).message, 'hello world');
    const page = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /^text\/html/);
    assert.match(await page.text(), /public\/index\.html/);
    process.kill(cluster.pid, 'SIGTERM');
    assert.equal((await cluster.waitForExit()).code, 0);
  });
});
