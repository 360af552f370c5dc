import type { RedisConnectionHealth, WorkerRedisHealth } from '../protocol';

/**
 * Why a worker must be replaced for its Redis connections, or null. A connection down for longer than
 * `redisDownTimeout` while a fresh connection from the same worker reaches Redis is dead for good: a new
 * process gets new ones. A connection down while Redis does not answer is an outage: a new process would
 * not help, so no worker is replaced (no restart loop; the web side keeps serving).
 */
export function redisReplacementReason(health: WorkerRedisHealth | undefined, redisDownTimeout: number): string | null {
  if (!health || redisDownTimeout <= 0) return null;
  for (const [purpose, connection] of connectionsOf(health)) {
    if (connection.downMs !== null && connection.downMs > redisDownTimeout && connection.reachable === true) {
      return `its redis connection for ${purpose} has been down for ${seconds(connection.downMs)} while redis answers (redisDownTimeout ${redisDownTimeout} ms)`;
    }
  }
  return null;
}

/** For `mycluster status`: "tasks: redis down 12 s" per connection that is down, or "ok". */
export function describeRedisHealth(health: WorkerRedisHealth | undefined): string {
  if (!health) return '-';
  const down = connectionsOf(health)
    .filter(([, connection]) => connection.downMs !== null)
    .map(([purpose, connection]) => `${purpose}: redis down ${seconds(connection.downMs ?? 0)}${connection.reachable === true ? ' (redis answers)' : ''}`);
  if (down.length) return down.join(', ');
  return connectionsOf(health).length ? 'ok' : '-';
}

function connectionsOf(health: WorkerRedisHealth): Array<[string, RedisConnectionHealth]> {
  return Object.entries(health).filter((entry): entry is [string, RedisConnectionHealth] => entry[1] !== undefined);
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}
