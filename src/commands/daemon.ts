/**
 * `mycluster start --workers=N --daemon`: start the cluster detached, its master's and workers' logs appended
 * to `<log folder>/mycluster.log`, and return once every worker is ready (exit 1 if it did not come up).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config';
import type { Config } from '../config/types';
import { MyclusterError } from '../errors';
import { readStateFile, STATE_FILE } from '../master/state';
import { pollUntil } from '../shared/deadline';
import { PROCFILE_RUNNER_VARIABLES } from '../shared/procfile-runner';
import { resolveProjectRoot } from '../shared/project';

/** Beyond readyTimeout: the time to load the config and fork. */
const START_MARGIN_MS = 10_000;

/** The last error the log file holds, to say why the cluster did not come up. */
function lastErrorIn(logFile: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(logFile, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.trimEnd().split('\n').slice(-50).reverse();
  for (const line of lines) {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      if ((entry.level ?? 0) >= 50 && entry.msg) return entry.msg;
    } catch {
      if (line.startsWith('mycluster: ')) return line.slice('mycluster: '.length);
    }
  }
  return undefined;
}

/** Where `start --daemon` appends the logs of the cluster of this config. */
export function daemonLogFile(config: Config): string {
  return path.join(config.general.paths.log, 'mycluster.log');
}

export async function startDaemon(startArgs: string[]): Promise<void> {
  const config = await loadConfig({ projectRoot: resolveProjectRoot() });
  const logFile = daemonLogFile(config);
  fs.mkdirSync(path.dirname(logFile), { recursive: true });
  const output = fs.openSync(logFile, 'a');
  const env: NodeJS.ProcessEnv = { ...process.env, MYCLUSTER_LOG_FILE: logFile, MYCLUSTER_LOG_FORMAT: 'json' };
  // Detached, the cluster outlives what started it: it must not stop when a Procfile runner's line ends.
  for (const name of PROCFILE_RUNNER_VARIABLES) delete env[name];
  const child = spawn(process.execPath, [process.argv[1], ...startArgs], { detached: true, stdio: ['ignore', output, output], env });
  fs.closeSync(output);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));

  const stateFile = path.join(config.general.paths.pid, STATE_FILE);
  const waitMs = config.cluster.readyTimeout + START_MARGIN_MS;
  await pollUntil(
    () => {
      const state = readStateFile(stateFile);
      if (state && state.master.pid === child.pid && state.equilibrium) return true;
      if (exited !== null) {
        throw new MyclusterError(`the cluster did not come up (exit code ${exited}): ${lastErrorIn(logFile) ?? `see ${logFile}`}`);
      }
      return undefined;
    },
    waitMs,
    () => {
      child.kill('SIGTERM');
      return new MyclusterError(`the cluster was not ready within ${waitMs} ms; stopped it; see ${logFile}`);
    },
  );
  child.unref();
  process.stdout.write(`mycluster started in the background (master pid ${child.pid}); logs: ${logFile}\n`);
}
