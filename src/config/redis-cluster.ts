/** Redis Cluster is refused with its reason, not as an unknown key: the user meant it, and must learn why not. */
import { ConfigError } from '../errors';
import type { PlainObject, Provenance } from './merge';
import { valueAt } from './validate';

/** The keys a Redis Cluster config is written with (ioredis's Cluster takes a list of startup nodes). */
const CLUSTER_KEYS = ['redis.cluster', 'redis.nodes', 'redis.clusterNodes', 'redis.startupNodes'];

/** Throws a ConfigError naming the first Redis Cluster key set, and why mycluster does not support it. */
export function refuseRedisCluster(config: PlainObject, provenance: Provenance): void {
  const keyPath = CLUSTER_KEYS.find((key) => valueAt(config, key) !== undefined);
  if (keyPath === undefined) return;
  const source = provenance.sourceOf(keyPath) ?? 'config';
  throw new ConfigError(
    `${source}: ${keyPath}: Redis Cluster is not supported: node-resque claims jobs there without its atomic script, which can lose a job (node-resque #786); use one Redis master, with redis.sentinels for failover`,
    source,
    keyPath,
  );
}
