import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/types';
import { errorMessage, MyclusterError } from '../errors';
import { type ConnectionHealth, redisHealth, type TrackedPurpose } from './redis-health';
import { guardFailoverDetector } from './sentinel-guards';

/**
 * What a connection is for; each purpose has its own connection and its own behaviour while Redis is away.
 * - `tasks`: node-resque's processors and scheduler. A command waits for Redis to come back instead of
 *   failing, because node-resque's background loops do not handle every rejected command.
 * - `enqueue`: enqueueing from actions and tasks. Fails after a few reconnect attempts, so a request
 *   gets an error instead of hanging.
 * - `app`: the app's own connection (`context.redis`), connected on first use.
 * - `cli`: one-shot commands (`mycluster queues`): one attempt, no retry.
 */
export type RedisPurpose = 'tasks' | 'enqueue' | 'app' | 'cli';

const purposeOptions: Record<RedisPurpose, { maxRetriesPerRequest: number | null; lazyConnect: boolean; keepRetrying: boolean }> = {
  tasks: { maxRetriesPerRequest: null, lazyConnect: false, keepRetrying: true },
  enqueue: { maxRetriesPerRequest: 3, lazyConnect: true, keepRetrying: true },
  app: { maxRetriesPerRequest: 3, lazyConnect: true, keepRetrying: true },
  cli: { maxRetriesPerRequest: 0, lazyConnect: true, keepRetrying: false },
};

/** What to do about an unreachable Redis, per purpose, for the outage's warn line. */
const HINT: Record<TrackedPurpose, string> = {
  tasks: 'point REDIS_URL (or the redis config) at your Redis, or set ACTIONHERO_ROLE=server for a process that processes no tasks',
  enqueue: 'point REDIS_URL (or the redis config) at your Redis',
  app: 'point REDIS_URL (or the redis config) at your Redis',
};

/** Longest pause between two reconnect attempts. */
const maxReconnectDelay = 2_000;

/** Redis could not be reached (one-shot commands). */
export class RedisUnavailableError extends MyclusterError {}

/** Where a config points, for log lines and messages: `host:port`, or the sentinels and master name. Never the password. */
export function describeRedisAddress(config: RedisConfig): string {
  if (config.url) {
    const url = new URL(config.url);
    return `${url.hostname}:${url.port || 6379}`;
  }
  if (config.sentinels?.length) {
    const sentinels = config.sentinels.map(({ host, port }) => `${host}:${port}`).join(',');
    return `sentinel master "${config.name ?? 'mymaster'}" via ${sentinels}`;
  }
  return `${config.host}:${config.port}`;
}

function connectionOptions(config: RedisConfig, keepRetrying: boolean): RedisOptions {
  if (config.sentinels?.length) {
    return {
      sentinels: config.sentinels,
      name: config.name,
      sentinelPassword: config.sentinelPassword,
      password: config.password,
      db: config.db,
      // Switch to the new master as soon as the sentinels announce a failover. Not for one-shot clients:
      // quit() leaves the detector's sentinel subscriptions open, which keeps the process alive (ioredis #1362).
      failoverDetector: keepRetrying,
      sentinelRetryStrategy: (attempt: number) => (keepRetrying ? Math.min(attempt * 200, maxReconnectDelay) : null),
    };
  }
  return { host: config.host, port: config.port, password: config.password, db: config.db };
}

function failureReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? errorMessage(error);
}

/** Clients mycluster closed on purpose: their 'end' is expected. */
const closedOnPurpose = new WeakSet<Redis>();

/**
 * Keep a long-lived client connected, and its health reported. A client that reaches ioredis's final `end`
 * state without being closed (a connect() that rejected, as in the bug above, or any other path) is
 * connected again after a pause: the same client, so node-resque's objects that hold it keep working.
 * A client closed on purpose (disconnect(), quit()) is left closed and no longer reported.
 */
function superviseClient(client: Redis, purpose: TrackedPurpose, config: RedisConfig, address: string, log: Logger): void {
  // Tracked from its first connection attempt: a lazy client never used is no connection to report.
  let tracked: ConnectionHealth | undefined;
  const health = (): ConnectionHealth => (tracked ??= redisHealth.track(purpose, () => redisAnswers(config, log)));
  const disconnect = client.disconnect.bind(client);
  client.disconnect = (reconnect = false) => {
    if (!reconnect) closedOnPurpose.add(client);
    disconnect(reconnect);
  };
  let attempt = 0;
  // ioredis reaches `end` after `close` when the connection was closed (quit, disconnect); straight from
  // `connecting` when connect() itself rejected.
  let closedSinceConnecting = false;
  client.on('connecting', () => {
    closedSinceConnecting = false;
    health();
  });
  client.on('close', () => {
    closedSinceConnecting = true;
    health().down();
  });
  // Not while ready: an 'error' can also report a failed command of a live connection (a SELECT, say).
  client.on('error', () => client.status !== 'ready' && health().down());
  client.on('ready', () => {
    attempt = 0;
    closedOnPurpose.delete(client);
    health().up();
  });
  client.on('end', () => {
    if (closedOnPurpose.has(client) || closedSinceConnecting) return tracked?.forget();
    health().down();
    attempt += 1;
    const delay = Math.min(attempt * 500, maxReconnectDelay);
    log.warn({ purpose, redis: address, attempt }, `redis connection for ${purpose} at ${address} ended by itself: connecting again in ${delay} ms`);
    setTimeout(() => {
      if (!closedOnPurpose.has(client) && client.status === 'end') client.connect().catch(() => undefined);
    }, delay).unref();
  });
}

/** A fresh one-shot connection answers PING: Redis is up, whatever the long-lived connections say. */
async function redisAnswers(config: RedisConfig, log: Logger): Promise<boolean> {
  const probe = createRedisClient(config, 'cli', log.child({}, { level: 'silent' }));
  try {
    await connectOnce(probe, config);
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * An ioredis client for one purpose. It reconnects forever (backoff capped at 2 s), except for `cli`,
 * and logs one warn line per outage and one info line when Redis is back; it never emits an unhandled 'error'.
 * Its health (down since when) goes into the worker's heartbeat.
 */
export function createRedisClient(config: RedisConfig, purpose: RedisPurpose, log: Logger): Redis {
  const { maxRetriesPerRequest, lazyConnect, keepRetrying } = purposeOptions[purpose];
  const address = describeRedisAddress(config);
  const options: RedisOptions = {
    ...(config.url ? {} : connectionOptions(config, keepRetrying)),
    maxRetriesPerRequest,
    lazyConnect,
    connectionName: `mycluster-${purpose}`,
    retryStrategy: (attempt: number) => (keepRetrying ? Math.min(attempt * 200, maxReconnectDelay) : null),
    // A master demoted by a failover answers writes with READONLY: reconnect (to the new master) and resend.
    reconnectOnError: (error: Error) => (error.message.startsWith('READONLY') ? 2 : false),
    ...config.options,
  };
  const client = config.url ? new Redis(config.url, options) : new Redis(options);

  let unavailable = false;
  client.on('error', (error: unknown) => {
    if (unavailable) return;
    unavailable = true;
    const fields = { purpose, redis: address };
    const reason = failureReason(error);
    if (purpose === 'cli') log.debug(fields, `redis unavailable for cli at ${address}: ${reason}`);
    else log.warn(fields, `redis unavailable for ${purpose} at ${address}, retrying: ${reason} (${HINT[purpose]})`);
  });
  client.on('ready', () => {
    if (!unavailable) return;
    unavailable = false;
    log.info({ purpose, redis: address }, `redis available again for ${purpose} at ${address}`);
  });
  if (purpose === 'cli') return client;

  guardFailoverDetector(client);
  superviseClient(client, purpose, config, address, log);
  return client;
}

/** Resolves once the client is connected and ready; rejects with the signal's reason when aborted. */
export function whenRedisReady(client: Redis, signal: AbortSignal): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = (): void => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = (): void => {
      client.off('ready', onReady);
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    client.once('ready', onReady);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Connect a `cli` client once, or throw RedisUnavailableError naming the address and the reason. */
export async function connectOnce(client: Redis, config: RedisConfig): Promise<void> {
  // connect() rejects with "Connection is closed"; the 'error' event before it has the reason (ECONNREFUSED, …).
  let reason: unknown;
  const remember = (error: unknown): void => {
    reason ??= error;
  };
  client.on('error', remember);
  try {
    await client.connect();
  } catch (error) {
    client.disconnect();
    throw new RedisUnavailableError(`cannot reach redis at ${describeRedisAddress(config)}: ${failureReason(reason ?? error)}`, { cause: error });
  } finally {
    client.off('error', remember);
  }
}

/** Close a client: QUIT when connected, else drop the connection attempt. */
export async function closeRedisClient(client: Redis): Promise<void> {
  closedOnPurpose.add(client);
  if (client.status === 'ready') {
    try {
      await client.quit();
    } catch {
      // Lost the connection while quitting: dropped below.
    }
  }
  // Also closes a Sentinel failover detector's subscriptions, which quit() leaves open (ioredis #1362).
  client.disconnect();
}

/**
 * Drop a client that is between two reconnect attempts without failing its pending commands (ioredis
 * flushes them only when a live socket closes): node-resque's loops waiting on them stay parked instead of
 * turning into unhandled rejections. Only for a process that is about to exit.
 */
export function abandonRedisClient(client: Redis): void {
  closedOnPurpose.add(client);
  client.disconnect();
}
