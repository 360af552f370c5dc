import type { RequestListener } from 'node:http';
import { BootError, errorMessage } from '../../errors';
import { loadUserModule } from '../../shared/load-module';
import type { AppContext } from '../types';

/** The app's own request handler, and what to call after the web server drained (Nest's `app.close()`). */
export interface OwnHandler {
  listener: RequestListener;
  close?: () => unknown;
}

const HANDLER_RULE =
  "export a request handler (req, res) (an Express app, Koa's app.callback()), a Fastify instance, { handler, close? }, or a factory { factory } / (context) => any of these";

/**
 * The app's own request handler: what the module named by `servers.web.handler` exports, resolved by
 * `resolveHandler`. A bare function declaring fewer than 2 parameters is taken for a factory; `{ handler }`
 * and `{ factory }` say which it is explicitly.
 */
export async function loadOwnHandler(file: string, context: AppContext): Promise<OwnHandler> {
  let exported: unknown;
  try {
    const exports = await loadUserModule(file);
    exported = 'default' in exports ? exports.default : exports;
  } catch (error) {
    throw new BootError(`servers.web.handler ${file} failed to load: ${errorMessage(error)}`, { cause: error });
  }
  return resolveHandler(exported, file, context, true);
}

async function resolveHandler(candidate: unknown, file: string, context: AppContext, mayBeFactory: boolean): Promise<OwnHandler> {
  if (isFunction(candidate) && candidate.length >= 2) return { listener: candidate as RequestListener };
  if (isObject(candidate)) {
    if (isFunction(candidate.ready)) await candidate.ready(); // Fastify: plugins load before the worker is ready
    if (isFunction(candidate.routing)) return { listener: candidate.routing as RequestListener };
    const close = candidate.close;
    if (close !== undefined && !isFunction(close)) throw new BootError(`servers.web.handler ${file}: close must be a function, not ${typeof close}`);
    if (candidate.handler !== undefined) {
      // Named a handler: a function is one whatever it declares; an object may still be a Fastify instance.
      const inner = isFunction(candidate.handler)
        ? { listener: candidate.handler as RequestListener, close: undefined }
        : await resolveHandler(candidate.handler, file, context, false);
      return { listener: inner.listener, close: close ?? inner.close };
    }
    if (mayBeFactory && isFunction(candidate.factory)) return callFactory(candidate.factory, file, context);
  }
  if (mayBeFactory && isFunction(candidate)) return callFactory(candidate, file, context);
  throw new BootError(`servers.web.handler ${file} exports ${describe(candidate)}: ${HANDLER_RULE}`);
}

async function callFactory(factory: (context: AppContext) => unknown, file: string, context: AppContext): Promise<OwnHandler> {
  const declared = `a function declaring ${factory.length} parameter${factory.length === 1 ? '' : 's'}`;
  let made: unknown;
  try {
    made = await factory(context);
  } catch (error) {
    throw new BootError(
      `servers.web.handler ${file}: its factory threw: ${errorMessage(error)} (${declared} is called as a factory (context) => handler; a request handler declares (req, res), or export { handler })`,
      { cause: error },
    );
  }
  try {
    return await resolveHandler(made, file, context, false);
  } catch (error) {
    throw new BootError(`servers.web.handler ${file}: ${declared} is called as a factory (context) => handler; it returned ${describe(made)}`, {
      cause: error,
    });
  }
}

function isFunction(value: unknown): value is (...args: unknown[]) => unknown {
  return typeof value === 'function';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (typeof value === 'function') return `a function declaring ${value.length} parameter${value.length === 1 ? '' : 's'}`;
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).join(', ') || '(none)'}`;
  return `a ${typeof value}`;
}
