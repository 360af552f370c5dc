/**
 * A worker's counters for the master's Prometheus metrics: HTTP responses by status class and duration,
 * task jobs by queue, and the queue lengths last read. Cumulative since the process started; each
 * heartbeat carries a copy, and the master adds them up.
 */
import diagnostics from 'node:diagnostics_channel';
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { HTTP_DURATION_BUCKETS, type WorkerMetrics } from '../protocol';

const STATUS_CLASSES = 5;
const requestStart = Symbol('mycluster.requestStart');
type TimedResponse = ServerResponse & { [requestStart]?: number };

export class WorkerMeters {
  private readonly httpResponses: number[] = new Array(STATUS_CLASSES).fill(0);
  private readonly httpDurationCounts: number[] = new Array(HTTP_DURATION_BUCKETS.length + 1).fill(0);
  private httpDurationSum = 0;
  private readonly jobs = new Map<string, { processed: number; failed: number }>();
  private queueLengths: Record<string, number> | undefined;
  private readingQueues = false;

  countResponse(status: number, seconds: number): void {
    const statusClass = Math.floor(status / 100) - 1;
    if (statusClass >= 0 && statusClass < STATUS_CLASSES) this.httpResponses[statusClass] += 1;
    let bucket = 0;
    while (bucket < HTTP_DURATION_BUCKETS.length && seconds > HTTP_DURATION_BUCKETS[bucket]) bucket += 1;
    this.httpDurationCounts[bucket] += 1;
    this.httpDurationSum += seconds;
  }

  countJob(queue: string, failed: boolean): void {
    let counts = this.jobs.get(queue);
    if (!counts) {
      counts = { processed: 0, failed: 0 };
      this.jobs.set(queue, counts);
    }
    if (failed) counts.failed += 1;
    else counts.processed += 1;
  }

  /** Start reading the queue lengths for a later snapshot, unless a read is still under way (Redis down). */
  refreshQueueLengths(read: () => Promise<Record<string, number>>): void {
    if (this.readingQueues) return;
    this.readingQueues = true;
    read().then(
      (lengths) => {
        this.queueLengths = lengths;
        this.readingQueues = false;
      },
      () => {
        // Stale lengths would look current: report none until a read succeeds.
        this.queueLengths = undefined;
        this.readingQueues = false;
      },
    );
  }

  snapshot(): WorkerMetrics {
    const cpu = process.cpuUsage();
    return {
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      httpResponses: [...this.httpResponses],
      httpDurationCounts: [...this.httpDurationCounts],
      httpDurationSum: this.httpDurationSum,
      jobs: Object.fromEntries([...this.jobs].map(([queue, counts]) => [queue, { ...counts }])),
      ...(this.queueLengths && { queueLengths: this.queueLengths }),
    };
  }
}

/** The process's meters: the task processors count into them whether or not anyone reads them (an increment per job). */
export const workerMeters = new WorkerMeters();

/**
 * Count every response of the HTTP servers in this process, from Node's diagnostics channels: nothing is
 * wrapped around the request path, and nothing runs per request until this is called.
 */
export function meterHttpServers(meters: WorkerMeters = workerMeters): void {
  diagnostics.subscribe('http.server.request.start', (message) => {
    (message as { response: TimedResponse }).response[requestStart] = performance.now();
  });
  diagnostics.subscribe('http.server.response.finish', (message) => {
    const response = (message as { response: TimedResponse }).response;
    const start = response[requestStart];
    meters.countResponse(response.statusCode, start === undefined ? 0 : (performance.now() - start) / 1000);
  });
}
