import type { RedisConnectionHealth, WorkerRedisHealth } from '../protocol';

/**
 * Why a worker must be replaced for its Redis connections, or null. A connection that stays down for longer
 * than `redisDownTimeout` while fresh connections from the same worker reach Redis is dead for good: a new
 * process gets new ones. A connection down while Redis does not answer is an outage: a new process would
 * not help, so no worker is replaced (no restart loop; the web side keeps serving). The time counts from the
 * first probe that reached Redis, not from when the connection went down: after an outage longer than
 * `redisDownTimeout`, a connection still reconnecting when Redis is back is not dead.
 */
export function redisReplacementReason(health: WorkerRedisHealth | undefined, redisDownTimeout: number): string | null {
  if (!health || redisDownTimeout <= 0) return null;
  for (const [purpose, connection] of connectionsOf(health)) {
    const { downMs, reachableMs } = connection;
    // A heartbeat from a worker of an older version has no reachableMs: no decision on it.
    if (downMs !== null && typeof reachableMs === 'number' && reachableMs > redisDownTimeout) {
      return `its redis connection for ${purpose} has been down for ${seconds(downMs)}, ${seconds(reachableMs)} of them while redis answers (redisDownTimeout ${redisDownTimeout} ms)`;
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
