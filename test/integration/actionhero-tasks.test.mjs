// An ActionHero 29 project's task workers under mycluster (ACTIONHERO_ROLE=worker, the real `actionhero` package):
// they run tasks and no web server, `mycluster queues` reads their queues, a job whose worker was SIGKILLed in the middle is re-run within seconds (not
// after ActionHero's stuckWorkerTimeout, an hour by default), and no pidfile of the dead worker is left behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { copyActionheroFixture } from '../helpers/actionhero.mjs';
import { isRunning, runMycluster, slotPids, startMycluster } from '../helpers/cluster.mjs';
import { freePort, tcpProbe } from '../helpers/net.mjs';
import { startRedis } from '../helpers/redis.mjs';
import { testClient } from '../helpers/tasks.mjs';
import { parseProcfile, spawnProcfileProcess } from '../helpers/tasks-app.mjs';
import { waitFor } from '../helpers/wait.mjs';

/** Enqueue the fixture's `slow` task as node-resque does (default namespace `resque`, ActionHero's too). */
async function enqueueSlow(client, id, ms) {
  await client.sadd('resque:queues', 'default');
  await client.rpush('resque:queue:default', JSON.stringify({ class: 'slow', queue: 'default', args: [{ id, ms }] }));
}

describe('ActionHero task workers (ACTIONHERO_ROLE=worker) in a 2-worker cluster', () => {
  let redis;
  let client;
  let dir;
  let port;
  let cluster;

  before(async () => {
    redis = await startRedis();
    client = testClient(redis.url);
    dir = copyActionheroFixture();
    port = await freePort();
    cluster = startMycluster(['start', '--workers=2'], {
      cwd: dir,
      env: { PORT: String(port), REDIS_URL: redis.url, ACTIONHERO_ROLE: 'worker', ACTIONHERO_TITLE: 'tasks' },
    });
    await cluster.waitForEquilibrium({ timeoutMs: 30_000 });
  });

  after(async () => {
    client?.disconnect();
    await cluster?.kill();
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('they run tasks and no web server', async () => {
    await enqueueSlow(client, 'quick', 10);
    await waitFor('the task to run', async () => (await client.get('fixture:done:quick')) !== null, { timeoutMs: 10_000 });
    assert.equal((await tcpProbe(port)).code, 'ECONNREFUSED', 'nothing listens on the web port');
  });

  test('with ACTIONHERO_TITLE, each worker’s ActionHero has an id of its own (its pidfile names the slot)', () => {
    const names = fs.readdirSync(path.join(dir, 'pids')).filter((name) => name.startsWith('actionhero-'));
    assert.deepEqual(names.sort(), ['actionhero-tasks-1', 'actionhero-tasks-2']);
  });

  test('mycluster queues shows ActionHero’s task processors and the job each holds (REDIS_URL names the Redis)', async () => {
    await enqueueSlow(client, 'shown', 60_000);
    await waitFor('the task to start', () => client.get('fixture:pid:shown'), { timeoutMs: 10_000 });
    let result;
    try {
      result = await runMycluster(['queues', '--json'], { cwd: dir, env: { REDIS_URL: redis.url } });
    } finally {
      await client.set('fixture:release:shown', '1');
    }
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const report = JSON.parse(result.stdout);
    assert.ok(report.workers.length >= 2, `task processors of both workers: ${report.workers.map((worker) => worker.name)}`);
    assert.deepEqual(
      report.workers.filter((worker) => worker.job).map((worker) => worker.job.task),
      ['slow'],
    );
    await waitFor('the task to finish', () => client.get('fixture:done:shown'), { timeoutMs: 10_000 });
  });

  test('a job whose worker is SIGKILLed in the middle is re-run within seconds, and the dead worker leaves no pidfile', async () => {
    await enqueueSlow(client, 'killed', 60_000);
    const victim = Number(await waitFor('the task to start', () => client.get('fixture:pid:killed'), { timeoutMs: 10_000 }));
    assert.ok(slotPids(dir, 2).includes(victim), `${victim} is one of the workers`);
    process.kill(victim, 'SIGKILL');
    await waitFor('the job to run again', async () => (await client.get('fixture:runs:killed')) === '2', { timeoutMs: 15_000 });
    await client.set('fixture:release:killed', '1');
    const finishedBy = Number(await waitFor('the re-run to finish', () => client.get('fixture:done:killed'), { timeoutMs: 10_000 }));
    assert.notEqual(finishedBy, victim);
    await waitFor('the replacement worker', () => slotPids(dir, 2).every((pid) => pid && pid !== victim && isRunning(pid)), { timeoutMs: 15_000 });
    const left = fs.readdirSync(path.join(dir, 'pids')).filter((name) => fs.readFileSync(path.join(dir, 'pids', name), 'utf8').trim() === String(victim));
    assert.deepEqual(left, []);
  });

  test('a stop leaves no process and no pidfile', async () => {
    const result = await runMycluster(['stop'], { cwd: dir });
    assert.equal(result.code, 0, result.stdout + result.stderr);
    await waitFor('every process of the cluster gone', () => cluster.knownPids().every((pid) => !isRunning(pid)), { timeoutMs: 15_000 });
    assert.deepEqual(fs.readdirSync(path.join(dir, 'pids')), []);
  });
});

describe('the ActionHero seed’s Procfile, with mycluster start in place of npm start', () => {
  let redis;
  let client;
  let dir;
  const processes = [];

  before(async () => {
    redis = await startRedis();
    client = testClient(redis.url);
    dir = copyActionheroFixture();
  });

  after(async () => {
    client?.disconnect();
    for (const proc of processes) await proc.kill();
    await redis?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the web line serves and enqueues, the worker line runs the job; TERM stops both, leaving no pidfile', async () => {
    const port = await freePort();
    for (const proc of parseProcfile(path.join(dir, 'Procfile'))) {
      processes.push(spawnProcfileProcess(proc, { cwd: dir, env: { PORT: String(port), REDIS_URL: redis.url } }));
    }
    const [web, worker] = processes;
    await web.waitForLine((line) => /cluster equilibrium state reached/.test(line.msg ?? ''), { timeoutMs: 30_000, what: 'the web cluster' });
    await worker.waitForLine((line) => /ready \(pid/.test(line.msg ?? ''), { timeoutMs: 30_000, what: 'the worker process' });
    const response = await fetch(`http://127.0.0.1:${port}/api/enqueueSlow?id=procfile&ms=10`);
    assert.equal(response.status, 200, await response.text());
    const ranIn = Number(await waitFor('the job to run', () => client.get('fixture:done:procfile'), { timeoutMs: 10_000 }));
    assert.ok(worker.knownPids().includes(ranIn), `run by the worker line (${ranIn})`);
    for (const proc of processes) process.kill(proc.pid, 'SIGTERM');
    for (const proc of processes) {
      const exit = await proc.waitForExit(20_000);
      const last = proc.lines.slice(-20).map((line) => JSON.stringify(line));
      assert.deepEqual(
        exit,
        { code: 0, signal: null },
        `the ${proc.name} line's exit; its last lines:\n${last.join('\n')}\nstderr: ${proc.stderr.slice(-2000)}`,
      );
    }
    const pidfiles = fs.readdirSync(path.join(dir, 'pids'), { recursive: true }).filter((name) => !fs.statSync(path.join(dir, 'pids', name)).isDirectory());
    assert.deepEqual(pidfiles, []);
  });
});
