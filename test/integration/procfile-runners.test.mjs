// The example's and the generated Procfile under the two Procfile runners people use, Ruby foreman (Debian's
// ruby-foreman) and node-foreman (`nf`, a devDependency), both lines from one checkout, stopped the way a
// service manager, a script or a terminal stops them: INT or TERM to the runner's pid, or INT to its whole
// process group (Ctrl-C). After each stop no process of the project may be left.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { copyFixture, repoRoot, runMycluster, startMycluster } from '../helpers/cluster.mjs';
import { freePort } from '../helpers/net.mjs';
import { startRedis } from '../helpers/redis.mjs';
import { waitFor, within } from '../helpers/wait.mjs';

const NF = path.join(repoRoot, 'node_modules', 'foreman', 'nf.js');

let redis;
const projects = [];

before(async () => {
  const probe = spawnSync('foreman', ['version'], { encoding: 'utf8' });
  if (probe.error) throw new Error(`foreman is not on the PATH (${probe.error.message}): apt-get install ruby-foreman (.ci/run installs it)`);
  redis = await startRedis();
});

after(async () => {
  const left = projects.flatMap((dir) => processesIn(dir));
  for (const { pid } of left) kill(pid);
  await redis?.stop();
  assert.deepEqual(left, [], 'no process of a test project outlives the tests');
  for (const dir of projects) fs.rmSync(dir, { recursive: true, force: true });
});

/** The processes running in `dir` (their cwd), the runner included: mycluster's titles hide the path from `ps`. */
function processesIn(dir) {
  const found = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readlinkSync(`/proc/${entry}/cwd`) !== dir) continue;
      found.push({ pid: Number(entry), args: fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

function kill(pid) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A project in a temp dir with mycluster installed the way npm does it (node_modules/.bin/mycluster). */
function project(name) {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `mycluster-procfile-${name}-`)));
  fs.mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
  fs.symlinkSync(repoRoot, path.join(dir, 'node_modules', 'mycluster'));
  fs.symlinkSync(path.join('..', 'mycluster', 'bin', 'mycluster'), path.join(dir, 'node_modules', '.bin', 'mycluster'));
  projects.push(dir);
  return dir;
}

function exampleProject() {
  const dir = project('example');
  fs.cpSync(path.join(repoRoot, 'example'), dir, { recursive: true, filter: (source) => !source.includes(`${path.sep}pids${path.sep}`) });
  return dir;
}

/** A request that takes 1.5 s and says when it started (`<dir>/slow-started`): is it answered across a stop? */
function addSlowAction(dir) {
  fs.writeFileSync(
    path.join(dir, 'actions', 'slow.js'),
    [
      "const fs = require('node:fs');",
      "const path = require('node:path');",
      'module.exports = {',
      "  name: 'slow',",
      '  async run() {',
      "    fs.writeFileSync(path.join(__dirname, '..', 'slow-started'), '');",
      '    await new Promise((resolve) => setTimeout(resolve, 1500));',
      '    return { slow: true };',
      '  },',
      '};',
      '',
    ].join('\n'),
  );
}

const slowStarted = (dir) => waitFor('the slow request to reach the app', () => fs.existsSync(path.join(dir, 'slow-started')), { timeoutMs: 10_000 });

async function generatedProject() {
  const dir = project('generated');
  const generated = await runMycluster(['generate', dir], { cwd: dir });
  assert.equal(generated.code, 0, generated.stderr);
  addSlowAction(dir);
  return dir;
}

/**
 * Start `runner` (foreman or nf) on the Procfile in `dir`, in a process group of its own as in a terminal;
 * the web line gets `port` (the runner's base port). Its output is in `output()`.
 */
function startRunner(runner, dir, port) {
  const env = { ...process.env, REDIS_URL: redis.url, NODE_ENV: 'development', MYCLUSTER_LOG_FORMAT: 'json' };
  for (const name of ['PS', 'FOREMAN_WORKER_NAME', 'DYNO', 'ACTIONHERO_TITLE', 'ACTIONHERO_ROLE', 'PORT', 'WEB_CONCURRENCY']) delete env[name];
  const [command, args] =
    runner === 'foreman' ? ['foreman', ['start', '-f', 'Procfile', '-p', String(port)]] : [process.execPath, [NF, 'start', '-p', String(port)]];
  const child = spawn(command, args, { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    pid: child.pid,
    output: () => output,
    exited,
    /** Wait for `pattern` in the runner's output (which prefixes each line with its time and `web.1 |`). */
    waitForOutput: (pattern, what) => waitFor(`${what} in the ${runner} output:\n${output.slice(-3000)}`, () => pattern.test(output), { timeoutMs: 20_000 }),
  };
}

/** Stop the runner with `signal` (to its pid, or to its whole process group), then: it exits and nothing of `dir` is left. */
async function stopAndExpectNothingLeft(runner, dir, signal, { group = false } = {}) {
  process.kill(group ? -runner.pid : runner.pid, signal);
  await within(20_000, `the runner to exit on ${signal}; output:\n${runner.output().slice(-3000)}`, runner.exited);
  await waitFor(`every process in ${dir} to end: ${JSON.stringify(processesIn(dir))}`, () => processesIn(dir).length === 0, { timeoutMs: 10_000 }).catch(
    (error) => {
      for (const { pid } of processesIn(dir)) kill(pid);
      throw error;
    },
  );
}

const readyLine = (name) => new RegExp(`"msg":"mycluster ${name.replace('.', '\\.')} ready \\(pid \\d+\\)"`);

for (const runner of ['foreman', 'nf']) {
  test(`${runner}: the example Procfile's web and worker lines run side by side, a job enqueued by web is worked, INT to ${runner} stops both`, async () => {
    const dir = exampleProject();
    const port = await freePort();
    const started = startRunner(runner, dir, port);
    await started.waitForOutput(readyLine('web.1'), 'web.1 ready');
    await started.waitForOutput(readyLine('worker.1'), 'worker.1 ready');
    // Each line its own pidfile: the runner's process name, the worker in its own pid folder.
    assert.ok(fs.existsSync(path.join(dir, 'pids', 'mycluster-web.1')));
    assert.ok(fs.existsSync(path.join(dir, 'pids', 'worker', 'mycluster-worker.1')));

    const response = await fetch(`http://127.0.0.1:${port}/api/hello?name=Ada`);
    assert.equal(response.status, 200);
    await started.waitForOutput(/worker\.1 +\| +\{.*"msg":"greeted Ada"/, 'the worker line working the greet job');

    await stopAndExpectNothingLeft(started, dir, 'SIGINT');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'pids')), ['worker'], 'the pidfiles are removed');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'pids', 'worker')), []);
  });

  test(`${runner}: the generated Procfile's web cluster and worker line stop on TERM to ${runner}`, async () => {
    const dir = await generatedProject();
    const started = startRunner(runner, dir, await freePort());
    await started.waitForOutput(/"msg":"cluster equilibrium state reached with 2 workers"/, 'the web cluster ready');
    await started.waitForOutput(readyLine('worker.1'), 'worker.1 ready');
    // The control commands find the web line's cluster where they look by default. The state file trails the
    // log by up to its 100 ms write interval (more on a loaded machine), so the states are polled.
    await waitFor(
      'status --json to show both workers ready',
      async () => {
        const status = await runMycluster(['status', '--json', '--timeout', '10'], { cwd: dir });
        assert.equal(status.code, 0, status.stderr);
        const states = JSON.parse(status.stdout).slots.map((slot) => slot.worker?.state);
        if (states.join() !== 'ready,ready') throw new Error(`the states are ${states.join(', ')}`);
        return true;
      },
      { timeoutMs: 10_000, intervalMs: 200 },
    );

    // foreman passes TERM on to its lines; nf dies of it alone, and each line sees its runner gone.
    await stopAndExpectNothingLeft(started, dir, 'SIGTERM');
  });
}

test("nf: a terminal's Ctrl-C (INT to the whole group, and nf's copy) drains the web cluster: a request in flight is answered", async () => {
  const dir = await generatedProject();
  const port = await freePort();
  const started = startRunner('nf', dir, port);
  await started.waitForOutput(/"msg":"cluster equilibrium state reached with 2 workers"/, 'the web cluster ready');
  await started.waitForOutput(readyLine('worker.1'), 'worker.1 ready');

  const inFlight = fetch(`http://127.0.0.1:${port}/api/slow`).then(
    async (response) => ({ status: response.status, slow: (await response.json()).slow }),
    (error) => ({ error: error.cause?.code ?? error.message }),
  );
  await slowStarted(dir);
  await stopAndExpectNothingLeft(started, dir, 'SIGINT', { group: true });
  assert.deepEqual(await inFlight, { status: 200, slow: true });
  assert.doesNotMatch(started.output(), /second SIGINT/);
  assert.match(started.output(), /"msg":"cluster stopped"/);
});

test("a single process given INT and TERM at once (Ruby foreman's lines on a terminal's Ctrl-C) stops once, exit 0", async () => {
  const dir = copyFixture('http-app');
  projects.push(fs.realpathSync(dir));
  addSlowAction(dir);
  const port = await freePort();
  const single = startMycluster(['start'], { cwd: dir, env: { PORT: String(port), PS: 'web.1', NODE_ENV: 'development' } });
  try {
    await single.waitForLine((line) => /^mycluster web\.1 ready/.test(line.msg ?? ''), { what: 'ready' });
    // A request in flight keeps the stop going while the second signal arrives.
    const inFlight = fetch(`http://127.0.0.1:${port}/api/slow`).then((response) => response.status);
    await slowStarted(dir);
    process.kill(single.pid, 'SIGINT');
    process.kill(single.pid, 'SIGTERM');
    assert.equal(await inFlight, 200);
    assert.deepEqual(await single.waitForExit(), { code: 0, signal: null });
    // One stop, whichever signal the process handled first (two signals sent together may arrive in either order).
    const stops = single.lines.filter((line) => /^stopping/.test(line.msg ?? '')).map((line) => line.msg);
    assert.equal(stops.length, 1, stops.join(' | '));
    assert.match(stops[0], /^stopping \(SIG(INT|TERM)\)$/);
  } finally {
    await single.kill();
  }
});

test('start --daemon from a Procfile line detaches from its runner: the master does not watch for it', async () => {
  const dir = copyFixture('http-app');
  projects.push(fs.realpathSync(dir));
  const env = { PORT: String(await freePort()), PS: 'web.1', FOREMAN_WORKER_NAME: 'web.1' };
  try {
    const started = await runMycluster(['start', '--workers=1', '--daemon'], { cwd: dir, env });
    assert.equal(started.code, 0, started.stderr);
    const master = Number(fs.readFileSync(path.join(dir, 'pids', 'cluster_pidfile'), 'utf8'));
    const environ = fs.readFileSync(`/proc/${master}/environ`, 'utf8').split('\0');
    assert.deepEqual(
      environ.filter((entry) => /^(PS|FOREMAN_WORKER_NAME)=/.test(entry)),
      [],
    );
  } finally {
    const stopped = await runMycluster(['stop'], { cwd: dir });
    assert.equal(stopped.code, 0, stopped.stderr);
  }
});
