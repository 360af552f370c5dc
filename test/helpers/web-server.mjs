/** Start the web runtime in-process on a fixture app, and send single requests to it. */
import http from 'node:http';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { builtInDefaults } from '../../dist/config/defaults.js';
import { loadActions, startWebServer } from '../../dist/runtime/web/index.js';

export const fixtureApp = fileURLToPath(new URL('../fixtures/web/app/', import.meta.url));

/** A logger whose JSON lines land in `lines`; redacts `params[<name>]` as the real logger does. */
export function memoryLogger(filteredParams = []) {
  const lines = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString()));
      callback();
    },
  });
  const redact = { paths: filteredParams.map((name) => `params[${JSON.stringify(name)}]`), censor: '[FILTERED]' };
  return { log: pino({ level: 'debug', redact }, stream), lines };
}

/** The built-in config for the fixture app, on 127.0.0.1 port 0, with `web` fields overridden. */
export function testConfig(web = {}, general = {}) {
  const config = builtInDefaults(fixtureApp, {}, 'server');
  config.servers.web = { ...config.servers.web, port: 0, bindIP: '127.0.0.1', ...web };
  config.general = { ...config.general, ...general };
  return config;
}

/** startWebServer on the fixture app's actions (or `actions`), not clustered. */
export async function startTestServer({ config = testConfig(), actions, log = memoryLogger().log, ...rest } = {}) {
  const context = { config, log, tasks: undefined, redis: undefined, role: 'server', workerSlot: null, projectRoot: fixtureApp };
  const loaded = actions ?? (await loadActions(config.general.paths.actions, log));
  return startWebServer({ config, context, actions: loaded, log, clustered: false, ...rest });
}

export function fixturePath(...parts) {
  return path.join(fixtureApp, ...parts);
}

/**
 * One request on its own connection. `target` is a base URL or `{ socketPath }`.
 * Resolves with { status, headers, text, json }.
 */
export function request(target, { method = 'GET', path: requestPath = '/', headers = {}, body } = {}) {
  const where = typeof target === 'string' ? urlOptions(new URL(requestPath, target)) : { socketPath: target.socketPath, path: requestPath };
  return new Promise((resolve, reject) => {
    const outgoing = http.request({ ...where, method, headers, agent: false }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: response.statusCode, headers: response.headers, text, json });
      });
    });
    outgoing.setTimeout(5_000, () => outgoing.destroy(new Error(`no response to ${method} ${requestPath} within 5 s`)));
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function urlOptions(url) {
  return { hostname: url.hostname, port: url.port, path: url.pathname + url.search };
}
