/**
 * Running under a Procfile runner. Each sets the process's name (`web.1`) in its own variable, and a local
 * runner can go away without stopping its processes: node-foreman dies on TERM without passing it on, any
 * runner on `kill -9`. A process it started then watches for its parent to change and stops itself.
 */

/** How often the parent is checked: a stop follows the runner's exit within this. */
const PARENT_CHECK_MS = 1_000;

/** Set by a local runner that the line's process stops with: `PS` (Ruby foreman), `FOREMAN_WORKER_NAME` (node-foreman). */
export const PROCFILE_RUNNER_VARIABLES = ['PS', 'FOREMAN_WORKER_NAME'] as const;

/** The Procfile process name: `PS` (Ruby foreman), `FOREMAN_WORKER_NAME` (node-foreman), `DYNO` (Heroku). */
export function procfileProcessName(env: NodeJS.ProcessEnv): string | undefined {
  return env.PS || env.FOREMAN_WORKER_NAME || env.DYNO || undefined;
}

export interface ParentWatchOptions {
  env?: NodeJS.ProcessEnv;
  /** The current parent pid; process.ppid by default (read afresh each time). */
  parentPid?: () => number;
  intervalMs?: number;
}

/**
 * When a local Procfile runner started this process (one of PROCFILE_RUNNER_VARIABLES set), call `onGone` once
 * with the runner's pid when the parent changes (the runner exited, or the shell it ran the line through
 * did). Returns the function that stops watching; undefined when there is nothing to watch.
 */
export function watchProcfileRunner(onGone: (runnerPid: number) => void, options: ParentWatchOptions = {}): (() => void) | undefined {
  const env = options.env ?? process.env;
  if (!PROCFILE_RUNNER_VARIABLES.some((name) => env[name])) return undefined;
  const parentPid = options.parentPid ?? (() => process.ppid);
  const runnerPid = parentPid();
  let timer: NodeJS.Timeout;
  const check = (): void => {
    if (parentPid() !== runnerPid) {
      onGone(runnerPid);
      return;
    }
    timer = setTimeout(check, options.intervalMs ?? PARENT_CHECK_MS);
    timer.unref();
  };
  check();
  return () => clearTimeout(timer);
}
