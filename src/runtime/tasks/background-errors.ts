import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { errorMessage } from '../../errors';

/**
 * A listener for node-resque's 'error' events (its background loops report errors as events).
 * While Redis is away they are the outage again, already logged once by the client: debug only.
 */
export function resqueErrorLogger(log: Logger, redis: Redis, source: string): (error: unknown) => void {
  return (error) => {
    const fields = { source, err: error instanceof Error ? error : new Error(errorMessage(error)) };
    if (redis.status === 'ready') log.warn(fields, `${source}: ${errorMessage(error)}`);
    else log.debug(fields, `${source} waits for redis: ${errorMessage(error)}`);
  };
}
