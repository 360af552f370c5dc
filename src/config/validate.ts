/** Type checks of the built-in sections of a merged config; the error names the source of the bad key. */
import { ConfigError } from '../errors';
import { isPlainObject, type PlainObject, type Provenance } from './merge';
import type { Config } from './types';

interface Expectation {
  /** Completes "<key> must be …". */
  description: string;
  test(value: unknown): boolean;
}

const MAX_TIMER_MS = 2 ** 31 - 1; // larger setTimeout delays fire at once
const MAX_AGE_SECONDS = 365 * 24 * 60 * 60; // one year, the most send sets
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const isNonEmptyString = (value: unknown): value is string => typeof value === 'string' && value !== '';
const isTcpPort = (value: unknown): boolean => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535;

const anObject: Expectation = { description: 'an object', test: isPlainObject };
const aBoolean: Expectation = { description: 'true or false', test: (value) => typeof value === 'boolean' };
const aNonEmptyString: Expectation = { description: 'a non-empty string', test: isNonEmptyString };
const aString: Expectation = { description: 'a string', test: (value) => typeof value === 'string' };
const aPath: Expectation = { description: 'a path', test: isNonEmptyString };
const aPathList: Expectation = {
  description: 'a path or a list of paths',
  test: (value) => Array.isArray(value) && value.every(isNonEmptyString),
};
const aStringList: Expectation = {
  description: 'a list of strings',
  test: (value) => Array.isArray(value) && value.every((item) => typeof item === 'string'),
};
const aNameList: Expectation = {
  description: 'a list of non-empty strings',
  test: (value) => Array.isArray(value) && value.every(isNonEmptyString),
};
const aCount: Expectation = { description: 'a whole number >= 0', test: (value) => Number.isInteger(value) && (value as number) >= 0 };
// Whole numbers: node:http refuses fractional timeouts.
const aDuration: Expectation = {
  description: `a whole number of milliseconds from 0 to ${MAX_TIMER_MS}`,
  test: (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_TIMER_MS,
};
const aPollInterval: Expectation = {
  description: `a whole number of milliseconds from 1 to ${MAX_TIMER_MS}`,
  test: (value) => Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_TIMER_MS,
};
const aByteCount: Expectation = { description: 'a number of bytes >= 0', test: (value) => Number.isFinite(value) && (value as number) >= 0 };
const aFileMode: Expectation = {
  description: 'a file mode such as 0o644',
  test: (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 0o777,
};
const aListenPort: Expectation = {
  description: 'a port number or a socket path',
  test: (value) => isNonEmptyString(value) || (Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535),
};
const aTcpPort: Expectation = { description: 'a port number from 1 to 65535', test: isTcpPort };
const aTitlePrefix: Expectation = {
  description: 'a non-empty file name prefix (no "/")',
  test: (value) => isNonEmptyString(value) && !value.includes('/'),
};
const aRedisUrl: Expectation = {
  description: 'a redis:// or rediss:// URL',
  test: (value) => typeof value === 'string' && /^rediss?:\/\//.test(value),
};
const aSentinelList: Expectation = {
  description: 'a list of { host, port }',
  test: (value) => Array.isArray(value) && value.every((item) => isPlainObject(item) && isNonEmptyString(item.host) && isTcpPort(item.port)),
};
const aDotfilesRule: Expectation = { description: '"ignore" or "allow"', test: (value) => value === 'ignore' || value === 'allow' };
const aMaxAge: Expectation = {
  description: `a whole number of seconds from 0 to ${MAX_AGE_SECONDS}`,
  test: (value) => Number.isInteger(value) && (value as number) >= 0 && (value as number) <= MAX_AGE_SECONDS,
};
const aLogLevel: Expectation = { description: `one of ${LOG_LEVELS.join(', ')}`, test: (value) => LOG_LEVELS.includes(value as string) };

function optional(expectation: Expectation): Expectation {
  return { description: expectation.description, test: (value) => value === undefined || expectation.test(value) };
}

/** Parents come before their children, so a child is only checked inside an object. */
const rules: ReadonlyArray<readonly [string, Expectation]> = [
  ['general', anObject],
  ['general.id', optional(aNonEmptyString)],
  ['general.paths', anObject],
  ['general.paths.pid', aPath],
  ['general.paths.log', aPath],
  ['general.paths.actions', aPathList],
  ['general.paths.tasks', aPathList],
  ['general.paths.public', aPathList],
  ['general.paths.initializers', aPathList],
  ['general.filteredParams', aStringList],
  ['general.pidFileMode', aFileMode],
  ['cluster', anObject],
  ['cluster.workers', aCount],
  ['cluster.workerTitlePrefix', aTitlePrefix],
  ['cluster.stopTimeout', aDuration],
  ['cluster.unreadyBeforeStop', aDuration],
  ['cluster.readyTimeout', aDuration],
  ['cluster.workerTimeout', aDuration],
  ['cluster.maxMemory', aByteCount],
  ['cluster.redisDownTimeout', aDuration],
  ['cluster.spareWorker', aBoolean],
  ['cluster.stopChildProcesses', aBoolean],
  ['cluster.restartBackoff', anObject],
  ['cluster.restartBackoff.min', aDuration],
  ['cluster.restartBackoff.max', aDuration],
  ['cluster.restartBackoff.resetAfter', aDuration],
  ['servers', anObject],
  ['servers.web', anObject],
  ['servers.web.enabled', aBoolean],
  ['servers.web.port', aListenPort],
  ['servers.web.bindIP', aNonEmptyString],
  ['servers.web.urlPathForActions', aString],
  ['servers.web.handler', optional(aPath)],
  ['servers.web.bodyLimit', aByteCount],
  ['servers.web.keepAliveTimeout', aDuration],
  ['servers.web.requestTimeout', aDuration],
  ['servers.web.headersTimeout', aDuration],
  ['servers.web.drainIdleGrace', aDuration],
  ['servers.web.drainRamp', aDuration],
  ['servers.web.socketMode', aFileMode],
  ['servers.web.staticDotfiles', aDotfilesRule],
  ['servers.web.staticMaxAge', aMaxAge],
  ['servers.web.metadataOptions', anObject],
  ['servers.web.metadataOptions.serverInformation', aBoolean],
  ['servers.web.metadataOptions.requesterInformation', aBoolean],
  ['tasks', anObject],
  ['tasks.scheduler', aBoolean],
  ['tasks.queues', aNameList],
  ['tasks.minTaskProcessors', aCount],
  ['tasks.maxTaskProcessors', aCount],
  ['tasks.timeout', aPollInterval],
  ['tasks.checkTimeout', aPollInterval],
  ['tasks.maxEventLoopDelay', aDuration],
  ['tasks.stuckWorkerTimeout', aDuration],
  ['tasks.retryStuckJobs', aBoolean],
  ['tasks.enqueueReplicas', aCount],
  ['tasks.enqueueReplicaTimeout', aDuration],
  ['redis', anObject],
  ['redis.url', optional(aRedisUrl)],
  ['redis.host', aNonEmptyString],
  ['redis.port', aTcpPort],
  ['redis.password', optional(aString)],
  ['redis.db', aCount],
  ['redis.sentinels', optional(aSentinelList)],
  ['redis.name', optional(aNonEmptyString)],
  ['redis.sentinelPassword', optional(aString)],
  ['redis.namespace', aNonEmptyString],
  ['redis.options', optional(anObject)],
  ['logger', anObject],
  ['logger.level', aLogLevel],
  ['metrics', anObject],
  ['metrics.enabled', aBoolean],
  ['metrics.port', aListenPort],
  ['metrics.bindIP', aNonEmptyString],
];

/** Every key path of the built-in sections, parents included. */
export const builtInKeyPaths: readonly string[] = rules.map(([keyPath]) => keyPath);

/**
 * Pairs of keys where the first must not exceed the second, unless `zeroDisables` and one is 0
 * (node:http refuses headersTimeout > requestTimeout when both are on).
 */
const orderedPairs: ReadonlyArray<{ lower: string; upper: string; zeroDisables: boolean }> = [
  { lower: 'tasks.minTaskProcessors', upper: 'tasks.maxTaskProcessors', zeroDisables: false },
  { lower: 'cluster.restartBackoff.min', upper: 'cluster.restartBackoff.max', zeroDisables: false },
  { lower: 'servers.web.headersTimeout', upper: 'servers.web.requestTimeout', zeroDisables: true },
];

/** Throws a ConfigError for the first key of a built-in section that has the wrong type or range. */
export function validateConfig(config: PlainObject, provenance: Provenance): asserts config is Config {
  const fail = (keyPath: string, problem: string): never => {
    const source = provenance.sourceOf(keyPath) ?? 'config';
    throw new ConfigError(`${source}: ${keyPath} ${problem}`, source, keyPath);
  };
  for (const [keyPath, expectation] of rules) {
    const value = valueAt(config, keyPath);
    if (!expectation.test(value)) fail(keyPath, `must be ${expectation.description}, got ${describeValue(value)}`);
  }
  for (const { lower, upper, zeroDisables } of orderedPairs) {
    const [low, high] = [valueAt(config, lower) as number, valueAt(config, upper) as number];
    if (zeroDisables && (low === 0 || high === 0)) continue;
    if (low > high) fail(lower, `must be <= ${upper} (${high}, from ${provenance.sourceOf(upper)}), got ${low}`);
  }
  if (valueAt(config, 'redis.sentinels') !== undefined && valueAt(config, 'redis.name') === undefined) {
    fail('redis.sentinels', 'needs redis.name, the name of the master the sentinels monitor');
  }
}

export function valueAt(config: PlainObject, keyPath: string): unknown {
  let value: unknown = config;
  for (const key of keyPath.split('.')) value = isPlainObject(value) ? value[key] : undefined;
  return value;
}

/** A value for an error message: `true (boolean)`, `"abc" (string)`, `[1,2] (array)`. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') return `${JSON.stringify(shorten(value))} (string)`;
  if (Array.isArray(value)) return `${shorten(safeJson(value))} (array)`;
  if (isPlainObject(value)) return `${shorten(safeJson(value))} (object)`;
  if (typeof value === 'object') return `a ${value.constructor?.name ?? 'object'}`;
  return `${String(value)} (${typeof value})`;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
