import type { ClusterConfig } from '../config/types';
import type { WorkerHeartbeat } from '../protocol';
import { redisReplacementReason } from './redis-health';

/** Why a worker that still answers should be replaced (ready-first, like a one-slot rolling reload). */
export interface HealthProblem {
  /** The reload's reason, e.g. 'maxMemory'. */
  reason: string;
  /** Log fields. */
  details: Record<string, unknown>;
  /** Completes "worker #N (pid P) …: replacing it". */
  description: string;
  /** A heavy worker is routine upkeep; a dead Redis connection is a fault someone should look at. */
  level: 'warn' | 'error';
}

type HealthCheck = (heartbeat: WorkerHeartbeat, cluster: ClusterConfig) => HealthProblem | null;

const overMemory: HealthCheck = (heartbeat, cluster) => {
  const limit = cluster.maxMemory;
  if (limit <= 0 || heartbeat.rss <= limit) return null;
  return {
    reason: 'maxMemory',
    details: { rss: heartbeat.rss, maxMemory: limit },
    description: `uses ${heartbeat.rss} bytes, above maxMemory ${limit}`,
    level: 'warn',
  };
};

const deadRedisConnection: HealthCheck = (heartbeat, cluster) => {
  const reason = redisReplacementReason(heartbeat.redis, cluster.redisDownTimeout);
  if (!reason) return null;
  return { reason: 'redisDownTimeout', details: { redis: heartbeat.redis }, description: `has a dead redis connection: ${reason}`, level: 'error' };
};

/** The checks each heartbeat goes through, in order; the first problem found replaces the worker. */
const HEALTH_CHECKS: readonly HealthCheck[] = [overMemory, deadRedisConnection];

export function findHealthProblem(heartbeat: WorkerHeartbeat, cluster: ClusterConfig): HealthProblem | null {
  for (const check of HEALTH_CHECKS) {
    const problem = check(heartbeat, cluster);
    if (problem) return problem;
  }
  return null;
}
