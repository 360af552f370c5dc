/**
 * The cluster's metrics as the master keeps them: what the arbiter's events say (restarts, reloads) and
 * what each worker's heartbeat says (cumulative counters, RSS, loop delay). A worker that leaves keeps its
 * counts in the totals: its last heartbeat's values move into the departed accumulator, so no counter
 * goes backwards when a worker crashes, is reloaded or is replaced (prom-client's cluster aggregator sums
 * live workers only, and its totals drop: prom-client #385).
 */
import { HTTP_DURATION_BUCKETS, type WorkerHeartbeat, type WorkerMetrics } from '../../protocol';
import type { ClusterEvent, WorkerRestartReason } from '../events';

export type RestartReason = WorkerRestartReason | 'unhealthy';
export const RESTART_REASONS: readonly RestartReason[] = ['crash', 'hung', 'boot-failure', 'unhealthy'];
/** Upper bounds, in seconds, of the reload-duration histogram's buckets (then +Inf). */
export const RELOAD_DURATION_BUCKETS: readonly number[] = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Workers that left, remembered this long (by count) for a heartbeat that arrives after their exit. */
const GONE_REMEMBERED = 32;

/** Counts summed over workers; `httpDurationCounts` per bucket, not cumulative. */
export interface Totals {
  httpResponses: number[];
  httpDurationCounts: number[];
  httpDurationSum: number;
  jobs: Map<string, { processed: number; failed: number }>;
}

export interface Histogram {
  /** Per bucket (then one past the last bound), not cumulative. */
  counts: number[];
  sum: number;
}

interface Worker {
  slot: number;
  heartbeat: WorkerHeartbeat;
  metrics: WorkerMetrics;
  /** CPU seconds already counted for an earlier slot (a spare's, before it was given one). */
  cpuCounted: number;
  heardAt: number;
}

const NO_METRICS: WorkerMetrics = {
  cpuSeconds: 0,
  httpResponses: [0, 0, 0, 0, 0],
  httpDurationCounts: new Array(HTTP_DURATION_BUCKETS.length + 1).fill(0),
  httpDurationSum: 0,
  jobs: {},
};

export class ClusterMetrics {
  private readonly live = new Map<number, Worker>();
  private readonly gone = new Map<number, Worker>();
  private readonly departed: Totals = emptyTotals();
  /** CPU seconds of departed workers, by the slot they had. */
  private readonly departedCpu = new Map<number, number>();
  readonly restarts = new Map<RestartReason, number>(RESTART_REASONS.map((reason) => [reason, 0]));
  readonly reloads = { ok: 0, aborted: 0 };
  readonly reloadDurations: Histogram = { counts: new Array(RELOAD_DURATION_BUCKETS.length + 1).fill(0), sum: 0 };

  constructor(private readonly clock: () => number = Date.now) {}

  /** The arbiter's event listener. */
  readonly record = (event: ClusterEvent): void => {
    switch (event.type) {
      case 'worker-heartbeat':
        this.heartbeat(event.worker, event.slot, event.heartbeat);
        break;
      case 'worker-exit':
        this.exited(event.worker);
        break;
      case 'worker-restart':
        this.countRestart(event.reason);
        break;
      case 'worker-unhealthy':
        this.countRestart('unhealthy');
        break;
      case 'reload-finished':
        this.reloads[event.ok ? 'ok' : 'aborted'] += 1;
        observe(this.reloadDurations, RELOAD_DURATION_BUCKETS, event.durationMs / 1000);
        break;
    }
  };

  private countRestart(reason: RestartReason): void {
    this.restarts.set(reason, (this.restarts.get(reason) ?? 0) + 1);
  }

  private heartbeat(id: number, slot: number, heartbeat: WorkerHeartbeat): void {
    const metrics = heartbeat.metrics ?? NO_METRICS;
    const gone = this.gone.get(id);
    if (gone) {
      // Sent before the exit, read after it: only what it adds to the final values already counted.
      addTotals(this.departed, metrics, 1);
      addTotals(this.departed, gone.metrics, -1);
      addCpu(this.departedCpu, gone.slot, Math.max(0, metrics.cpuSeconds - gone.metrics.cpuSeconds));
      gone.metrics = metrics;
      return;
    }
    const worker = this.live.get(id);
    if (!worker) {
      this.live.set(id, { slot, heartbeat, metrics, cpuCounted: 0, heardAt: this.clock() });
      return;
    }
    if (worker.slot !== slot) {
      addCpu(this.departedCpu, worker.slot, worker.metrics.cpuSeconds - worker.cpuCounted);
      worker.cpuCounted = worker.metrics.cpuSeconds;
      worker.slot = slot;
    }
    Object.assign(worker, { heartbeat, metrics, heardAt: this.clock() });
  }

  private exited(id: number): void {
    const worker = this.live.get(id);
    if (!worker) return;
    this.live.delete(id);
    addTotals(this.departed, worker.metrics, 1);
    addCpu(this.departedCpu, worker.slot, worker.metrics.cpuSeconds - worker.cpuCounted);
    this.gone.set(id, worker);
    for (const oldest of this.gone.keys()) {
      if (this.gone.size <= GONE_REMEMBERED) break;
      this.gone.delete(oldest);
    }
  }

  /** Departed workers' final counts plus every live worker's latest. */
  totals(): Totals {
    const totals: Totals = {
      httpResponses: [...this.departed.httpResponses],
      httpDurationCounts: [...this.departed.httpDurationCounts],
      httpDurationSum: this.departed.httpDurationSum,
      jobs: new Map([...this.departed.jobs].map(([queue, counts]) => [queue, { ...counts }])),
    };
    for (const worker of this.live.values()) addTotals(totals, worker.metrics, 1);
    return totals;
  }

  /** CPU seconds by slot (0: the spare), departed workers' included. */
  cpuBySlot(): Map<number, number> {
    const cpu = new Map(this.departedCpu);
    for (const worker of this.live.values()) addCpu(cpu, worker.slot, worker.metrics.cpuSeconds - worker.cpuCounted);
    return cpu;
  }

  /** Each slot's newest live worker's last heartbeat (during a reload, the replacement's), by slot. */
  latestBySlot(): Map<number, WorkerHeartbeat> {
    const latest = new Map<number, WorkerHeartbeat>();
    // Map order is insertion order: the worker first heard last, which node:cluster forked last.
    for (const worker of this.live.values()) latest.set(worker.slot, worker.heartbeat);
    return latest;
  }

  /** The queue lengths a live worker read most recently; none when no live worker reads them. */
  queueLengths(): Record<string, number> | undefined {
    let freshest: Worker | undefined;
    for (const worker of this.live.values()) {
      if (worker.metrics.queueLengths && (!freshest || worker.heardAt >= freshest.heardAt)) freshest = worker;
    }
    return freshest?.metrics.queueLengths;
  }
}

function emptyTotals(): Totals {
  return { httpResponses: [...NO_METRICS.httpResponses], httpDurationCounts: [...NO_METRICS.httpDurationCounts], httpDurationSum: 0, jobs: new Map() };
}

function addTotals(totals: Totals, metrics: WorkerMetrics, sign: 1 | -1): void {
  addArray(totals.httpResponses, metrics.httpResponses, sign);
  addArray(totals.httpDurationCounts, metrics.httpDurationCounts, sign);
  totals.httpDurationSum += sign * metrics.httpDurationSum;
  for (const [queue, counts] of Object.entries(metrics.jobs)) {
    const sum = totals.jobs.get(queue) ?? { processed: 0, failed: 0 };
    sum.processed += sign * counts.processed;
    sum.failed += sign * counts.failed;
    totals.jobs.set(queue, sum);
  }
}

function addArray(target: number[], values: readonly number[], sign: 1 | -1): void {
  for (const [index, value] of values.entries()) target[index] += sign * value;
}

function addCpu(cpu: Map<number, number>, slot: number, seconds: number): void {
  cpu.set(slot, (cpu.get(slot) ?? 0) + seconds);
}

export function observe(histogram: Histogram, bounds: readonly number[], value: number): void {
  let bucket = 0;
  while (bucket < bounds.length && value > bounds[bucket]) bucket += 1;
  histogram.counts[bucket] += 1;
  histogram.sum += value;
}
