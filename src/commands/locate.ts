/** Finding the running cluster for `status`, `reload`, `stop` and `scale`: its pid folder, master and published state. */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config';
import { MyclusterError } from '../errors';
import { type ClusterState, readStateFile, STATE_FILE } from '../master/state';
import { CLUSTER_PIDFILE, isAlive, readPidfile } from '../pids';
import { pollUntil } from '../shared/deadline';
import { resolveProjectRoot } from '../shared/project';

export interface LocateOptions {
  pids?: string;
  timeout?: number;
}

export interface Located {
  pidFolder: string;
  masterPid: number;
}

/** The pid folder, and where it came from (for the message when no cluster runs there). */
async function pidFolderOf(options: LocateOptions): Promise<{ pidFolder: string; from: string }> {
  if (options.pids) return { pidFolder: path.resolve(options.pids), from: '--pids' };
  const projectRoot = resolveProjectRoot();
  const config = await loadConfig({ projectRoot });
  const root = process.env.PROJECT_ROOT ? `PROJECT_ROOT ${projectRoot}` : `the cwd ${projectRoot}`;
  return { pidFolder: config.general.paths.pid, from: `the pid folder of ${root}` };
}

/** The pid folder and the running master's pid, or a one-line error saying where it looked and how to point it elsewhere. */
export async function locateCluster(options: LocateOptions): Promise<Located> {
  const { pidFolder, from } = await pidFolderOf(options);
  const pidfile = path.join(pidFolder, CLUSTER_PIDFILE);
  const masterPid = readPidfile(pidfile);
  if (masterPid === null || !isAlive(masterPid)) {
    const below = clusterFoldersBelow(pidFolder);
    const pointTo =
      below.length > 0 ? `pass --pids ${below.join(' or --pids ')}` : 'run this in the project, or point to it with --pids <dir> or PROJECT_ROOT=<dir>';
    throw new MyclusterError(`no cluster is running: no live pid in ${pidfile} (${from}); ${pointTo}`);
  }
  return { pidFolder, masterPid };
}

/** Folders inside the pid folder where a cluster runs: each line of a Procfile that runs two clusters has its own (`start --pids`). */
function clusterFoldersBelow(pidFolder: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(pidFolder, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => path.join(pidFolder, entry.name))
    .filter((folder) => {
      const pid = readPidfile(path.join(folder, CLUSTER_PIDFILE));
      return pid !== null && isAlive(pid);
    })
    .sort();
}

/** Poll until `check` returns a value, or fail with `what` after the timeout. */
export function waitFor<T>(check: () => T | undefined, timeoutS: number, what: string): Promise<T> {
  return pollUntil(check, timeoutS * 1000, () => new MyclusterError(`timed out after ${timeoutS} s waiting for ${what}`));
}

/** The state the running master published, or undefined before it has (or while the file is an older master's). */
export function publishedState({ pidFolder, masterPid }: Located): ClusterState | undefined {
  const state = readStateFile(path.join(pidFolder, STATE_FILE));
  return state && state.master.pid === masterPid ? state : undefined;
}
