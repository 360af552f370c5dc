import type { ActionDefinition } from '../types';

/** Extra, non-secret facts for the status action (e.g. the task queues), added by the worker; `problems` make it a 503. */
export type StatusReport = () => Promise<Record<string, unknown> & { problems?: string[] }>;

/** The built-in `status` action: liveness facts only, never env, config values or tokens. */
export function statusAction(statusReport: StatusReport | undefined): ActionDefinition {
  return {
    name: 'status',
    description: 'Whether this process is up, and its pid, uptime, role and worker slot.',
    async run({ role, workerSlot, connection }) {
      const report = (await statusReport?.()) ?? {};
      const healthy = !report.problems?.length;
      // A load balancer or monitor reads the status code: a node whose task side is down is taken out.
      if (!healthy) connection.setStatus(503);
      return {
        status: healthy ? 'ok' : 'unhealthy',
        pid: process.pid,
        uptime: Math.round(process.uptime() * 1000),
        workerSlot,
        role,
        ...report,
      };
    },
  };
}
