/** Every series the master serves on /metrics, from its cached figures: a scrape never waits for a worker. */
import { HTTP_DURATION_BUCKETS } from '../../protocol';
import { Exposition } from './exposition';
import { type ClusterMetrics, RELOAD_DURATION_BUCKETS } from './totals';

export interface WorkerCounts {
  desired: number;
  /** Slots whose current worker reported ready. */
  ready: number;
  /** Upgrades of the master this cluster has been through (carried from master to master). */
  upgrades: number;
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** A slot as a label value: the spare worker has slot 0 until it is given one. */
function slotLabel(slot: number): string {
  return slot === 0 ? 'spare' : String(slot);
}

export function renderMetrics(metrics: ClusterMetrics, workers: WorkerCounts): string {
  const out = new Exposition();
  out.family('mycluster_workers_desired', 'gauge', 'Workers the cluster should run (--workers, cluster.workers, TTIN/TTOU).');
  out.sample('mycluster_workers_desired', {}, workers.desired);
  out.family('mycluster_workers_ready', 'gauge', 'Slots whose worker reported ready.');
  out.sample('mycluster_workers_ready', {}, workers.ready);

  out.family('mycluster_worker_restarts_total', 'counter', 'Serving workers replaced unasked, by reason (crash, hung, boot-failure, unhealthy).');
  for (const [reason, count] of metrics.restarts) out.sample('mycluster_worker_restarts_total', { reason }, count);
  out.family('mycluster_reloads_total', 'counter', 'Rolling reloads finished, by result (ok, aborted).');
  out.sample('mycluster_reloads_total', { result: 'ok' }, metrics.reloads.ok);
  out.sample('mycluster_reloads_total', { result: 'aborted' }, metrics.reloads.aborted);
  out.family('mycluster_reload_duration_seconds', 'histogram', 'Duration of rolling reloads, from start to done or aborted.');
  out.histogram('mycluster_reload_duration_seconds', {}, RELOAD_DURATION_BUCKETS, metrics.reloadDurations.counts, metrics.reloadDurations.sum);
  out.family('mycluster_upgrades_total', 'counter', 'Upgrades of the master (mycluster upgrade) this cluster has been through.');
  out.sample('mycluster_upgrades_total', {}, workers.upgrades);

  const latest = [...metrics.latestBySlot()].sort(([a], [b]) => a - b);
  out.family('mycluster_worker_resident_memory_bytes', 'gauge', "Resident set size of each slot's worker, at its last heartbeat.");
  for (const [slot, heartbeat] of latest) out.sample('mycluster_worker_resident_memory_bytes', { slot: slotLabel(slot) }, heartbeat.rss);
  out.family('mycluster_worker_event_loop_delay_seconds', 'gauge', "Worst event-loop delay of each slot's worker between its last two heartbeats.");
  for (const [slot, heartbeat] of latest) out.sample('mycluster_worker_event_loop_delay_seconds', { slot: slotLabel(slot) }, heartbeat.loopDelayMs / 1000);
  out.family('mycluster_worker_cpu_seconds_total', 'counter', "User and system CPU time of each slot's workers, past ones included.");
  for (const [slot, seconds] of [...metrics.cpuBySlot()].sort(([a], [b]) => a - b)) {
    out.sample('mycluster_worker_cpu_seconds_total', { slot: slotLabel(slot) }, seconds);
  }
  out.family('mycluster_redis_up', 'gauge', "1 while a worker's Redis connection (tasks, enqueue, app) is up, 0 while it is down.");
  for (const [slot, heartbeat] of latest) {
    for (const [connection, health] of Object.entries(heartbeat.redis)) {
      if (health) out.sample('mycluster_redis_up', { slot: slotLabel(slot), connection }, health.downMs === null ? 1 : 0);
    }
  }

  const totals = metrics.totals();
  out.family('mycluster_http_requests_total', 'counter', 'HTTP responses of every worker, by status class.');
  for (const [index, statusClass] of STATUS_CLASSES.entries()) {
    out.sample('mycluster_http_requests_total', { status_class: statusClass }, totals.httpResponses[index]);
  }
  out.family('mycluster_http_request_duration_seconds', 'histogram', 'Time from request to response finished, every worker.');
  out.histogram('mycluster_http_request_duration_seconds', {}, HTTP_DURATION_BUCKETS, totals.httpDurationCounts, totals.httpDurationSum);

  const jobs = [...totals.jobs].sort(([a], [b]) => a.localeCompare(b));
  out.family('mycluster_task_jobs_processed_total', 'counter', 'Task jobs that succeeded, by queue.');
  for (const [queue, counts] of jobs) out.sample('mycluster_task_jobs_processed_total', { queue }, counts.processed);
  out.family('mycluster_task_jobs_failed_total', 'counter', 'Task jobs that failed, by queue.');
  for (const [queue, counts] of jobs) out.sample('mycluster_task_jobs_failed_total', { queue }, counts.failed);
  out.family('mycluster_task_queue_length', 'gauge', 'Jobs waiting in each queue, as a task-processing worker last read them.');
  for (const [queue, length] of Object.entries(metrics.queueLengths() ?? {})) out.sample('mycluster_task_queue_length', { queue }, length);
  return out.text();
}
