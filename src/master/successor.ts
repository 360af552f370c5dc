/**
 * The new master's side of `mycluster upgrade`: it was started by the running master with that master's
 * listening sockets open at known fds and `UPGRADE_ENV` saying which. It starts its workers on those sockets,
 * and once all are ready it takes over `cluster_pidfile` and tells the old master, which then drains and leaves.
 */
import { closeSync } from 'node:fs';
import type { WebServerConfig } from '../config/types';
import { PidfileError } from '../errors';
import { isAlive, readPidfile } from '../pids';
import { isPredecessorMessage, type SuccessorMessage, UPGRADE_ENV, type UpgradeHandoff } from '../protocol';
import { listenerAddress } from '../shared/listener-spec';
import { adoptListener, bindListener, type Listener } from './listeners';

/** What the old master handed over, taken out of the environment so the workers do not inherit it. */
export function takeHandoff(env: NodeJS.ProcessEnv = process.env): UpgradeHandoff | null {
  const raw = env[UPGRADE_ENV];
  delete env[UPGRADE_ENV];
  return raw ? (JSON.parse(raw) as UpgradeHandoff) : null;
}

/**
 * `cluster_pidfile` names the old master (or nobody live, if it died meanwhile): anything else means another
 * cluster claimed it, and this master must not start.
 */
export function checkPidfileForTakeover(pidfile: string, handoff: UpgradeHandoff): void {
  const holder = readPidfile(pidfile);
  if (holder !== null && holder !== handoff.from && isAlive(holder)) {
    throw new PidfileError(`cannot take over ${pidfile}: it names pid ${holder}, not the master being upgraded (pid ${handoff.from})`);
  }
}

/**
 * The listeners of the new master: an inherited socket whose address the config (read afresh) still names is
 * used as it is; a changed port or socket path gets a new socket, and the inherited one closes here (the old
 * master's copy closes when it leaves, after its drain).
 */
export async function successorListeners(web: WebServerConfig, handoff: UpgradeHandoff): Promise<Listener[]> {
  const wanted = web.enabled ? listenerAddress(web) : null;
  const listeners: Listener[] = [];
  for (const spec of handoff.listeners) {
    if (spec.address === wanted) listeners.push(adoptListener(spec));
    else closeSync(spec.fd);
  }
  if (wanted && listeners.length === 0) listeners.push(await bindListener(web));
  return listeners;
}

/** The IPC channel to the old master (the new master's parent). */
export class Predecessor {
  drained = false;

  constructor(
    readonly handoff: UpgradeHandoff,
    onDrained: () => void,
  ) {
    process.on('message', (message: unknown) => {
      if (!isPredecessorMessage(message)) return;
      this.drained = true;
      onDrained();
      // The upgrade is complete: nothing more to hear from the old master, which may stay on as a keeper.
      process.disconnect?.();
    });
  }

  /** All workers ready and the pidfile taken: the old master may drain. */
  ready(listeners: readonly { address: string }[]): void {
    this.send({ mycluster: 1, type: 'successor-ready', adopted: listeners.map((listener) => listener.address) });
  }

  /** Could not start: say why before exiting. */
  failed(error: string): void {
    this.send({ mycluster: 1, type: 'successor-failed', error });
  }

  private send(message: SuccessorMessage): void {
    if (process.connected) process.send?.(message);
  }
}
