/** `mycluster upgrade`: replace the master itself (new package, new Node), its listening sockets handed over. */
import fs from 'node:fs';
import path from 'node:path';
import { MyclusterError } from '../errors';
import { readStateFile, STATE_FILE } from '../master/state';
import { UPGRADE_REQUEST_FILE, type UpgradeRequest } from '../master/upgrade';
import { isAlive } from '../pids';
import { type LocateOptions, locateCluster, publishedState, waitFor } from './locate';
import { reportResult } from './progress';

/** The new master's start (readyTimeout) and the old workers' drain (stopTimeout) fit well within it. */
const DEFAULT_TIMEOUT_S = 300;

/** How long after the old master is gone its "drained" may take to show in the new master's state. */
const OLD_MASTER_GONE_GRACE_MS = 3_000;

export interface UpgradeOptions extends LocateOptions {
  json?: boolean;
  /** The node binary for the new master (default: the running master's path). */
  node?: string;
}

/**
 * Ask the running master to upgrade (SIGURG, after leaving the request in the pid folder), then wait: done
 * once a new master serves with all its workers ready and the old master's workers are gone; exit 1 with the
 * reason when the old master refused or the new one did not come up (the old one then keeps serving). A
 * request during an upgrade waits for that upgrade and reports its result.
 */
export async function upgrade(options: UpgradeOptions): Promise<void> {
  await reportResult('upgrade', options.json, async (progress) => {
    const cluster = await locateCluster(options);
    const { masterPid, pidFolder } = cluster;
    const before = publishedState(cluster);
    progress.start(before);
    const request: UpgradeRequest = {};
    if (options.node) {
      request.node = path.resolve(options.node);
      if (!fs.existsSync(request.node)) throw new MyclusterError(`--node ${request.node}: no such file`);
    }
    fs.writeFileSync(path.join(pidFolder, UPGRADE_REQUEST_FILE), JSON.stringify(request));
    const stateFile = path.join(pidFolder, STATE_FILE);
    // A result that ends after this request answers it: a refusal, or the upgrade already running when it came.
    const earlierResultAt = before?.lastUpgrade?.finishedAt ?? 0;
    const requestedAt = Date.now();
    let oldGoneAt: number | undefined;
    process.kill(masterPid, 'SIGURG');
    const state = await waitFor(
      () => {
        const state = readStateFile(stateFile);
        if (state) progress.observe(state);
        const last = state?.master.pid === masterPid ? state.lastUpgrade : undefined;
        if (last && !last.ok && last.finishedAt > earlierResultAt) throw new MyclusterError(`upgrade failed: ${last.error}`);
        const successor = state && state.master.pid !== masterPid && state.master.upgradedFrom?.pid === masterPid ? state : undefined;
        if (successor?.equilibrium && successor.master.upgradedFrom?.drained) return successor;
        if (!isAlive(masterPid)) {
          // An old master that exits (daemon, systemd) has just told the new one it is done: give that a moment.
          oldGoneAt ??= Date.now();
          if (Date.now() - oldGoneAt < OLD_MASTER_GONE_GRACE_MS) return undefined;
          if (!successor) throw new MyclusterError(`the master (pid ${masterPid}) exited during the upgrade`);
          if (successor.equilibrium) {
            throw new MyclusterError(`the old master (pid ${masterPid}) died during the upgrade; the new master (pid ${successor.master.pid}) serves`);
          }
        }
        return undefined;
      },
      options.timeout ?? DEFAULT_TIMEOUT_S,
      `the upgrade of the master (pid ${masterPid})`,
    );
    const durationMs = Date.now() - requestedAt;
    const from = { pid: masterPid, version: before?.master.version };
    const to = { pid: state.master.pid, version: state.master.version };
    return {
      result: { from, to, upgrades: state.master.upgrades, durationMs },
      text: `upgraded in ${durationMs} ms: master pid ${from.pid} (${from.version ?? '?'}) → ${to.pid} (${to.version}), ${state.desiredWorkers} workers ready\n`,
    };
  });
}
