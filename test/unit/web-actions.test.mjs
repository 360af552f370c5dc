import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadActions } from '../../dist/runtime/web/index.js';
import { memoryLogger, request, startTestServer, testConfig } from '../helpers/web-server.mjs';

const fixtures = fileURLToPath(new URL('../fixtures/web/', import.meta.url));
const memory = memoryLogger(['password']);
let web;

before(async () => {
  web = await startTestServer({ config: testConfig({}, { filteredParams: ['password'] }), log: memory.log });
});
after(() => web?.drain());

test('loads actions from .js, .mjs, .ts (an array) and nested .cjs files', async () => {
  const actions = await loadActions([`${fixtures}app/actions`, `${fixtures}missing-folder`], memoryLogger().log);
  assert.deepEqual([...actions.keys()].sort(), ['deep', 'echo', 'fail', 'hello', 'nothing', 'slow']);
});

test('a module export without a run function is a BootError naming the file', async () => {
  await assert.rejects(loadActions([`${fixtures}bad-actions`], memoryLogger().log), (error) => {
    assert.equal(error.name, 'BootError');
    assert.equal(error.message, `action file ${fixtures}bad-actions/not-an-action/thing.js action "thing" has no run function`);
    return true;
  });
});

test('a duplicate action name is a BootError naming both files', async () => {
  await assert.rejects(loadActions([`${fixtures}dup-actions`], memoryLogger().log), (error) => {
    assert.equal(error.name, 'BootError');
    assert.match(error.message, /^action file .*b\.mjs defines action "same" again \(already defined in .*a\.js\)$/);
    return true;
  });
});

test('params come from the query string, as strings', async () => {
  const response = await request(web.address, { path: '/api/echo?a=1&b=two' });
  assert.equal(response.status, 200);
  assert.deepEqual(response.json.params, { a: '1', b: 'two' });
});

test('params come from a JSON body, merged over the query string', async () => {
  const response = await request(web.address, {
    method: 'POST',
    path: '/api/echo?a=1&b=query',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ b: 'body', n: 5 }),
  });
  assert.equal(response.status, 200);
  assert.deepEqual(response.json.params, { a: '1', b: 'body', n: 5 });
  assert.equal(response.json.method, 'POST');
});

test('params come from a urlencoded form body', async () => {
  const response = await request(web.address, {
    method: 'POST',
    path: '/api/echo',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'name=ada&city=l%C3%BCbeck',
  });
  assert.deepEqual(response.json.params, { name: 'ada', city: 'lübeck' });
});

test('input defaults are applied', async () => {
  const response = await request(web.address, { path: '/api/hello?name=ada' });
  assert.equal(response.json.message, 'hello ada');
});

test('a missing required input is a 422 naming it', async () => {
  const response = await request(web.address, { path: '/api/hello' });
  assert.equal(response.status, 422);
  assert.equal(response.json.error, 'name is a required parameter for this action');
});

test('an action returning nothing answers {} (with server information)', async () => {
  const response = await request(web.address, { path: '/api/nothing' });
  assert.equal(response.status, 200);
  assert.deepEqual(Object.keys(response.json), ['serverInformation']);
  assert.equal(response.json.serverInformation.serverName, 'mycluster');
  assert.equal(response.json.serverInformation.apiVersion, '1.2.3');
  assert.equal(typeof response.json.serverInformation.requestDuration, 'number');
});

test('a throwing action is a 500 with its message, and the server keeps answering', async () => {
  const failed = await request(web.address, { path: '/api/fail' });
  assert.equal(failed.status, 500);
  assert.equal(failed.json.error, 'the action broke');
  const next = await request(web.address, { path: '/api/hello?name=again' });
  assert.equal(next.status, 200);
  assert.ok(memory.lines.some((line) => line.msg === 'action failed' && line.err.message === 'the action broke'));
});

test('an unknown action is a 404', async () => {
  const response = await request(web.address, { path: '/api/nope' });
  assert.equal(response.status, 404);
  assert.match(response.json.error, /unknown action "nope"/);
});

test('a body over bodyLimit is a 413 and the connection is closed', async () => {
  const small = await startTestServer({ config: testConfig({ bodyLimit: 100 }) });
  try {
    const declared = await request(small.address, {
      method: 'POST',
      path: '/api/echo',
      headers: { 'content-type': 'application/json', 'content-length': '101' },
      body: JSON.stringify({ x: 'y'.repeat(93) }),
    });
    assert.equal(declared.status, 413);
    assert.equal(declared.headers.connection, 'close');
    const chunked = await request(small.address, {
      method: 'POST',
      path: '/api/echo',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: JSON.stringify({ x: 'y'.repeat(500) }),
    });
    assert.equal(chunked.status, 413);
    assert.match(chunked.json.error, /larger than 100 bytes/);
  } finally {
    await small.drain();
  }
});

test('a body that is not JSON is a 400', async () => {
  const response = await request(web.address, {
    method: 'POST',
    path: '/api/echo',
    headers: { 'content-type': 'application/json' },
    body: '{"a":',
  });
  assert.equal(response.status, 400);
  assert.match(response.json.error, /not valid JSON/);
});

test('one info line per action request, with action, status, duration and redacted params', async () => {
  await request(web.address, { path: '/api/echo?user=ada&password=hunter2' });
  const line = memory.lines.find((entry) => entry.msg === 'action request' && entry.params?.user === 'ada');
  assert.ok(line, 'no log line for the request');
  assert.equal(line.level, 30);
  assert.equal(line.action, 'echo');
  assert.equal(line.status, 200);
  assert.equal(typeof line.duration, 'number');
  assert.equal(line.params.password, '[FILTERED]');
});

test('requesterInformation shows the remote IP and the params, filtered', async () => {
  const config = testConfig({ metadataOptions: { serverInformation: false, requesterInformation: true } }, { filteredParams: ['password'] });
  const server = await startTestServer({ config });
  try {
    const response = await request(server.address, { path: '/api/nothing?user=ada&password=hunter2' });
    assert.deepEqual(response.json, {
      requesterInformation: { remoteIP: '127.0.0.1', receivedParams: { user: 'ada', password: '[FILTERED]' } },
    });
  } finally {
    await server.drain();
  }
});

test('the status action reveals no env, config or secrets', async () => {
  process.env.WEB_TEST_SECRET = 'env-secret-value';
  const config = testConfig({}, { filteredParams: ['config-secret-value'] });
  config.redis.password = 'redis-secret-value';
  const server = await startTestServer({ config, statusReport: async () => ({ taskProcessors: 0 }) });
  try {
    const response = await request(server.address, { path: '/api/status' });
    assert.equal(response.status, 200);
    assert.equal(response.json.status, 'ok');
    assert.equal(response.json.pid, process.pid);
    assert.equal(response.json.role, 'server');
    assert.equal(response.json.workerSlot, null);
    assert.equal(response.json.taskProcessors, 0);
    assert.equal(typeof response.json.uptime, 'number');
    assert.doesNotMatch(response.text, /secret-value|127\.0\.0\.1|6379|resque/);
  } finally {
    delete process.env.WEB_TEST_SECRET;
    await server.drain();
  }
});

test("an app's own status action replaces the built-in one", async () => {
  const actions = new Map([['status', { name: 'status', run: () => ({ mine: true }) }]]);
  const server = await startTestServer({ actions });
  try {
    const response = await request(server.address, { path: '/api/status' });
    assert.equal(response.json.mine, true);
  } finally {
    await server.drain();
  }
});

test('a result that cannot be sent as JSON is a 500 naming the action', async () => {
  const server = await startTestServer({ actions: new Map([['big', { name: 'big', run: () => ({ n: 1n }) }]]) });
  try {
    const response = await request(server.address, { path: '/api/big' });
    assert.equal(response.status, 500);
    assert.match(response.json.error, /result of action "big" cannot be sent as JSON/);
  } finally {
    await server.drain();
  }
});

test('context.connection: its fields and setStatus work destructured, and it serializes without drainSignal', async () => {
  const actions = new Map([
    [
      'created',
      {
        name: 'created',
        run({ connection }) {
          const { setStatus, method, url, remoteIP } = connection;
          setStatus(201);
          return { method, url, remoteIP, own: Object.keys(connection), json: JSON.parse(JSON.stringify(connection)), aborted: connection.drainSignal.aborted };
        },
      },
    ],
  ]);
  const server = await startTestServer({ config: testConfig(), actions });
  try {
    const response = await request(server.address, { path: '/api/created?x=1', headers: { 'x-test': 'yes' } });
    assert.equal(response.status, 201);
    assert.equal(response.json.method, 'GET');
    assert.equal(response.json.url, '/api/created?x=1');
    assert.equal(response.json.remoteIP, '127.0.0.1');
    assert.deepEqual(response.json.own.sort(), ['headers', 'method', 'remoteIP', 'setStatus', 'url']);
    assert.equal(response.json.json.headers['x-test'], 'yes');
    assert.equal(response.json.aborted, false);
  } finally {
    await server.drain();
  }
});
