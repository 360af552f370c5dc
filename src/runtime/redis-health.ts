import type { Logger } from 'pino';
import type { RedisConnectionHealth, WorkerRedisHealth } from '../protocol';

/** The connections a worker reports in its heartbeat (one-shot `cli` clients are not tracked). */
export type TrackedPurpose = keyof WorkerRedisHealth;

/** What a user loses while a connection is down, for the outage's error line. */
const CONSEQUENCE: Record<TrackedPurpose, string> = {
  tasks: 'no task is processed',
  enqueue: 'enqueues fail',
  app: "the app's own redis commands (context.redis) fail",
};

/** An outage longer than this is logged at error: past a failover's or a restart's few seconds. */
const BLIP_MS = 10_000;
/** While a connection is down past BLIP_MS, a fresh connection tests Redis itself at most this often. */
const PROBE_EVERY_MS = 5_000;

/** What a connection's events tell the registry. */
export interface ConnectionHealth {
  up(): void;
  down(): void;
  /** Closed on purpose: no longer reported. */
  forget(): void;
}

interface Tracked {
  downSince: number | null;
  reachable: boolean | null;
  /** When a probe first reached Redis while this connection stayed down; reset by a probe that did not. */
  reachableSince: number | null;
  loggedError: boolean;
}

/**
 * Each Redis connection's health in this process, for the heartbeat: down since when, and whether a fresh
 * connection reaches Redis meanwhile. "Down but reachable" means this connection is dead, not Redis: the
 * master replaces such a worker (see master/redis-health.ts); "down and unreachable" is an outage, which
 * replacing workers cannot cure.
 */
export class RedisHealthRegistry {
  private readonly connections = new Map<TrackedPurpose, Tracked>();
  private probe: (() => Promise<boolean>) | undefined;
  private probing = false;
  private lastProbeAt = 0;

  constructor(private readonly clock: () => number = Date.now) {}

  /** Called by the client's events; `probe` connects afresh and answers whether Redis answered. */
  track(purpose: TrackedPurpose, probe: () => Promise<boolean>): ConnectionHealth {
    this.probe = probe;
    const entry: Tracked = { downSince: null, reachable: null, reachableSince: null, loggedError: false };
    this.connections.set(purpose, entry);
    return {
      up: () => {
        Object.assign(entry, { downSince: null, reachable: null, reachableSince: null, loggedError: false });
        this.connections.set(purpose, entry);
      },
      down: () => {
        entry.downSince ??= this.clock();
      },
      forget: () => {
        if (this.connections.get(purpose) === entry) this.connections.delete(purpose);
      },
    };
  }

  /** What the heartbeat carries; logs an outage past a blip once, and starts a probe when one is due. */
  snapshot(log: Logger, now = this.clock()): WorkerRedisHealth {
    const health: WorkerRedisHealth = {};
    let probeDue = false;
    for (const [purpose, entry] of this.connections) {
      const downMs = entry.downSince === null ? null : now - entry.downSince;
      const reachableMs = downMs === null || entry.reachableSince === null ? null : now - entry.reachableSince;
      health[purpose] = { downMs, reachable: entry.reachable, reachableMs } satisfies RedisConnectionHealth;
      if (downMs === null || downMs < BLIP_MS) continue;
      probeDue = true;
      if (!entry.loggedError) {
        entry.loggedError = true;
        log.error({ purpose, downMs }, `redis down for ${purpose} for ${Math.round(downMs / 1000)} s: ${CONSEQUENCE[purpose]} until it is back`);
      }
    }
    if (probeDue && !this.probing && now - this.lastProbeAt >= PROBE_EVERY_MS) void this.runProbe(now);
    return health;
  }

  private async runProbe(now: number): Promise<void> {
    if (!this.probe) return;
    this.probing = true;
    this.lastProbeAt = now;
    const reachable = await this.probe().catch(() => false);
    this.probing = false;
    // Redis answered by the time the probe finished, not necessarily when it started.
    const answeredAt = this.clock();
    for (const entry of this.connections.values()) {
      if (entry.downSince === null) continue;
      entry.reachable = reachable;
      entry.reachableSince = reachable ? (entry.reachableSince ?? answeredAt) : null;
    }
  }
}

export const redisHealth = new RedisHealthRegistry();
