import type { ActionDefinition } from '../types';

/** Extra, non-secret facts for the status action (e.g. the task queues), added by the worker; `problems` make it a 503. */
export type StatusReport = () => Promise<Record<string, unknown> & { problems?: string[] }>;

/** Why the process will stop soon (it answers 503 at once, without asking Redis), or null. */
export type StoppingReason = () => string | null;

/** The built-in `status` action: liveness facts only, never env, config values or tokens. */
export function statusAction(statusReport: StatusReport | undefined, stoppingReason: StoppingReason = () => null): ActionDefinition {
  return {
    name: 'status',
    description: 'Whether this process is up, and its pid, uptime, role and worker slot.',
    async run({ role, workerSlot, connection }) {
      const facts = { pid: process.pid, uptime: Math.round(process.uptime() * 1000), workerSlot, role };
      const stopping = stoppingReason();
      // A load balancer takes the node out before it stops accepting: every other request is still served.
      if (stopping !== null) {
        connection.setStatus(503);
        return { status: 'stopping', reason: stopping, ...facts };
      }
      const report = (await statusReport?.()) ?? {};
      const healthy = !report.problems?.length;
      // A load balancer or monitor reads the status code: a node whose task side is down is taken out.
      if (!healthy) connection.setStatus(503);
      return {
        status: healthy ? 'ok' : 'unhealthy',
        ...facts,
        ...report,
      };
    },
  };
}
