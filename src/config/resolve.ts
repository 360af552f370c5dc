/** Function values in a config section: called with the config built so far and replaced by their result. */

import { isPlainObject, joinKeyPath } from './merge';
import type { Config } from './types';

/** A function value threw (or its promise rejected); `keyPath` is empty for a whole-section function. */
export class ValueFunctionError extends Error {
  constructor(
    readonly keyPath: string,
    readonly original: unknown,
  ) {
    super(`the function for ${keyPath} threw`);
  }
}

/**
 * Calls every function found in `value` (at any depth of plain objects; arrays are values and left as they
 * are) and resolves inside what it returns. A function that returns a function keeps that function: that is
 * how a config value can itself be a function.
 */
export async function resolveFunctions(value: unknown, config: Config, keyPath = ''): Promise<unknown> {
  if (typeof value === 'function') {
    let result: unknown;
    try {
      result = await (value as (config: Config) => unknown)(config);
    } catch (error) {
      throw new ValueFunctionError(keyPath, error);
    }
    return typeof result === 'function' ? result : resolveFunctions(result, config, keyPath);
  }
  if (!isPlainObject(value)) return value;
  const resolved: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    resolved[key] = await resolveFunctions(child, config, joinKeyPath(keyPath, key));
  }
  return resolved;
}
