import type { ActionDefinition } from '../types';

/** Extra, non-secret facts for the status action (e.g. task processors), added by the worker. */
export type StatusReport = () => Promise<Record<string, unknown>>;

/** The built-in `status` action: liveness facts only, never env, config values or tokens. */
export function statusAction(statusReport: StatusReport | undefined): ActionDefinition {
  return {
    name: 'status',
    description: 'Whether this process is up, and its pid, uptime, role and worker slot.',
    async run({ role, workerSlot }) {
      return {
        status: 'ok',
        pid: process.pid,
        uptime: Math.round(process.uptime() * 1000),
        workerSlot,
        role,
        ...(await statusReport?.()),
      };
    },
  };
}
