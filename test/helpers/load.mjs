/**
 * Keep-alive HTTP load for drain and rolling-reload tests.
 *
 *   const load = startLoad({ url: 'http://127.0.0.1:8080', path: '/api/slow', concurrency: 20 });
 *   ... reload / drain while it runs; load.snapshot() tells how far it got ...
 *   const { sent, ok, failed, errors, latencies } = await load.stop();
 *   assert.deepEqual(errors, []);
 *
 * - `url` (base URL, e.g. a web server's address) or `socketPath` (a unix socket); `path` is the request path.
 * - `concurrency` loops each send one GET, wait for the whole response, then send the next, over one shared
 *   `http.Agent({ keepAlive: true, maxSockets: concurrency })`. A response with `Connection: close` makes the
 *   agent open a new connection for the loop's next request (in a cluster: to whichever worker accepts it).
 * - `stopOnConnectionClose: true` ends a loop after its first `Connection: close` response: for a single
 *   server that stops accepting, where a new connection could only be refused.
 * - A request counts as failed on any error (ECONNRESET, socket hang up, ECONNREFUSED, its timeout) or a
 *   non-2xx status; `errors` holds one line per failure, `failures` the same with wall-clock `start`/`end` (ms since
 *   the epoch, to tell which event a failed request overlapped). `latencies` are ms of the successful requests.
 * - Every request has a timeout (`requestTimeout`, default 10 s), so stop() always resolves.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { sleep } from './wait.mjs';

export function startLoad({ url, socketPath, path = '/', concurrency = 10, stopOnConnectionClose = false, requestTimeout = 10_000 }) {
  if (!url && !socketPath) throw new Error('startLoad needs url or socketPath');
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const target = socketPath ? { socketPath, path } : { ...urlParts(new URL(path, url)) };
  const stats = { sent: 0, ok: 0, failed: 0, errors: [], failures: [], latencies: [] };
  let stopping = false;

  async function loop() {
    while (!stopping) {
      const { closing } = await sendOne();
      if (stopOnConnectionClose && closing) return;
    }
  }

  function sendOne() {
    stats.sent += 1;
    const started = performance.now();
    const startedAt = Date.now();
    return new Promise((resolve) => {
      let outcome;
      const settle = (result) => {
        if (outcome) return;
        outcome = result;
        if (result.error) {
          stats.failed += 1;
          stats.errors.push(result.error);
          stats.failures.push({ start: startedAt, end: Date.now(), error: result.error });
        } else {
          stats.ok += 1;
          stats.latencies.push(performance.now() - started);
        }
      };
      let response;
      const chunks = [];
      const settleResponse = () => {
        const status = response.statusCode;
        settle(status >= 200 && status < 300 ? {} : { error: `HTTP ${status}: ${Buffer.concat(chunks).toString().slice(0, 200)}` });
      };
      const request = http.request({ ...target, agent, method: 'GET' }, (incoming) => {
        response = incoming;
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', settleResponse);
        response.on('error', (error) => settle({ error: describe(error) }));
      });
      request.setTimeout(requestTimeout, () => request.destroy(new Error(`no response within ${requestTimeout} ms`)));
      request.on('error', (error) => settle({ error: describe(error) }));
      // 'close' comes once the socket went back to the agent (or closed): the next request then reuses it.
      // After a `Connection: close` response it may come before the response's 'end'.
      request.on('close', () => {
        if (response?.complete) settleResponse();
        else settle({ error: 'request closed without a complete response' });
        resolve({ closing: response?.headers.connection === 'close' });
      });
      request.end();
    });
  }

  const loops = Array.from({ length: concurrency }, loop);

  return {
    /** The counts so far (a copy). */
    snapshot() {
      return { sent: stats.sent, ok: stats.ok, failed: stats.failed, errors: [...stats.errors] };
    },
    /** Stop sending, wait for the requests in flight, close the agent; the final counts. */
    async stop() {
      stopping = true;
      await Promise.all(loops);
      agent.destroy();
      return stats;
    },
  };
}

/** Once more than `minimumOk` requests were answered (or one failed), stop the load and assert that none failed. */
export async function assertNoFailures(load, minimumOk) {
  // A slow machine answers fewer requests in the same time: give the load up to 20 s to reach the minimum.
  const until = Date.now() + 20_000;
  for (let now = load.snapshot(); now.ok <= minimumOk && now.failed === 0 && Date.now() < until; now = load.snapshot()) await sleep(50);
  const result = await load.stop();
  assert.deepEqual(result.errors, [], `failed requests: ${result.failed} of ${result.sent}`);
  assert.equal(result.failed, 0);
  assert.ok(result.ok > minimumOk, `only ${result.ok} requests answered`);
  return result;
}

function urlParts(url) {
  return { protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: url.pathname + url.search };
}

function describe(error) {
  return error.code ? `${error.code}: ${error.message}` : error.message;
}
