/**
 * Prometheus metrics, served by the master when `metrics.enabled`. Loaded only then (main.ts requires it
 * lazily): with metrics off the master loads neither this nor a second HTTP server.
 */
import type { MetricsConfig } from '../../config/types';
import type { ClusterEventListener } from '../events';
import type { ClusterState } from '../state';
import { renderMetrics } from './render';
import { serveMetrics } from './server';
import { ClusterMetrics } from './totals';

export interface MetricsService {
  address: string;
  /** The arbiter's event listener. */
  record: ClusterEventListener;
  /** Each state the arbiter publishes: the desired and ready worker counts. */
  publish(state: ClusterState): void;
  close(): void;
}

export async function startMetrics(settings: MetricsConfig, socketMode: number): Promise<MetricsService> {
  const metrics = new ClusterMetrics();
  let workers = { desired: 0, ready: 0, upgrades: 0 };
  const server = await serveMetrics(settings, socketMode, () => renderMetrics(metrics, workers));
  return {
    address: server.address,
    record: metrics.record,
    publish(state) {
      workers = {
        desired: state.desiredWorkers,
        ready: state.slots.filter((slot) => slot.worker?.state === 'ready').length,
        upgrades: state.master.upgrades ?? 0,
      };
    },
    close: () => server.close(),
  };
}
