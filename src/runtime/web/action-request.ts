import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../../config/types';
import { errorMessage } from '../../errors';
import type { ActionConnection, ActionContext, ActionDefinition, AppContext } from '../types';
import { drainSignal } from './drain';
import { withMetadata } from './metadata';
import { type Params, readParams } from './params';
import { HttpError, sendJson } from './respond';

export interface ActionRuntime {
  actions: Map<string, ActionDefinition>;
  context: AppContext;
  config: Config;
  log: Logger;
  apiVersion: string | undefined;
}

/** Answer one request for an action: params, inputs, run, JSON response, one log line. Never throws. */
export async function handleActionRequest(
  runtime: ActionRuntime,
  actionName: string,
  url: URL,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const started = performance.now();
  const web = runtime.config.servers.web;
  let params: Params = {};
  let status = 200;
  let body: unknown;
  try {
    const action = runtime.actions.get(actionName);
    if (!action) throw new HttpError(404, `unknown action "${actionName}"`);
    params = await readParams(request, url, web.bodyLimit);
    applyInputs(action, params);
    const result = await action.run(actionContext(runtime.context, params, request, (code) => (status = code)));
    body = result === undefined ? {} : result;
  } catch (error) {
    status = error instanceof HttpError ? error.status : 500;
    body = { error: errorMessage(error) };
    if (status === 500) runtime.log.error({ err: error, action: actionName }, 'action failed');
  }
  const durationMs = Math.round(performance.now() - started);
  // A 413 is answered before the body was read: close rather than read the rest of it.
  if (status === 413) response.setHeader('Connection', 'close');
  const payload = withMetadata(body, web.metadataOptions, {
    apiVersion: runtime.apiVersion,
    durationMs,
    remoteIP: request.socket.remoteAddress,
    params,
    filteredParams: runtime.config.general.filteredParams,
  });
  try {
    sendJson(response, status, payload);
  } catch (error) {
    status = 500;
    runtime.log.error({ err: error, action: actionName }, 'action result is not JSON');
    sendJson(response, status, { error: `the result of action "${actionName}" cannot be sent as JSON: ${errorMessage(error)}` });
  }
  runtime.log.info({ action: actionName, status, duration: durationMs, params }, 'action request');
}

/** Defaults for absent inputs, then a 422 for a required one still missing. */
function applyInputs(action: ActionDefinition, params: Params): void {
  for (const [name, input] of Object.entries(action.inputs ?? {})) {
    if (isMissing(params[name]) && input.default !== undefined) params[name] = input.default;
    if (input.required && isMissing(params[name])) throw new HttpError(422, `${name} is a required parameter for this action`);
  }
}

function isMissing(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

function actionContext(context: AppContext, params: Params, request: IncomingMessage, setStatus: (code: number) => void): ActionContext {
  // The app context as prototype: no copy per request, and its lazy `redis` is not touched unless used.
  return Object.assign(Object.create(context) as AppContext, {
    params: params as ActionContext['params'],
    connection: new RequestConnection(request, setStatus),
  }) as ActionContext;
}

/**
 * `context.connection`. A class, not an object literal: a literal with a getter is built in V8's slow
 * (dictionary) mode on every request, and those objects outlived their requests in the young generation
 * (about 700 bytes promoted per request, a young generation grown to 32 MiB, major GCs under load).
 */
class RequestConnection implements ActionConnection {
  readonly method: string;
  readonly url: string;
  readonly remoteIP: string | undefined;
  readonly headers: IncomingHttpHeaders;
  /** An own function, not a method: it works destructured too (`const { setStatus } = connection`). */
  readonly setStatus: (code: number) => void;
  readonly #request: IncomingMessage;

  constructor(request: IncomingMessage, setStatus: (code: number) => void) {
    this.method = request.method ?? 'GET';
    this.url = request.url ?? '/';
    this.remoteIP = request.socket.remoteAddress;
    this.headers = request.headers;
    this.setStatus = (code) => {
      if (!Number.isInteger(code) || code < 200 || code > 599) throw new RangeError(`setStatus takes an HTTP status 200..599, got ${code}`);
      setStatus(code);
    };
    this.#request = request;
  }

  get drainSignal(): AbortSignal {
    return drainSignal(this.#request);
  }
}
