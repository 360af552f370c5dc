import type { WorkerHeartbeat } from '../protocol';

/**
 * What the arbiter tells the outside world about the cluster as it happens: the systemd notifier and the
 * metrics registry listen. Listeners only record; they never change the cluster.
 */
export type ClusterEvent =
  /** Every slot has a ready worker and no reload runs (also after each reload, crash or scale). */
  | { type: 'equilibrium'; workers: number }
  | { type: 'reload-started'; id: number; reason: string; slots: number[] }
  | { type: 'reload-finished'; id: number; ok: boolean; durationMs: number; error?: string }
  /** A serving worker left unasked and its slot gets a new one: crash, hung (killed), failed boot. */
  | { type: 'worker-restart'; slot: number; reason: WorkerRestartReason }
  /** A serving worker is replaced (reload first) because its heartbeat showed a problem. */
  | { type: 'worker-unhealthy'; slot: number; reason: string }
  | { type: 'stopping'; reason: string }
  /** Any worker's heartbeat (spares' too: slot 0); `worker` is node:cluster's id, unique in this master. */
  | { type: 'worker-heartbeat'; worker: number; slot: number; heartbeat: WorkerHeartbeat }
  /** Any worker process ended, for whatever reason. */
  | { type: 'worker-exit'; worker: number; slot: number; pid: number }
  /** The stop's drain begins (after unreadyBeforeStop): the workers stop accepting. */
  | { type: 'draining' };

export type WorkerRestartReason = 'crash' | 'hung' | 'boot-failure';

export type ClusterEventListener = (event: ClusterEvent) => void;
