import fs from 'node:fs';
import path from 'node:path';
import type { WorkerRedisHealth } from '../protocol';
import type { Slot } from './slot';
import type { UpgradeResult } from './upgrade';
import type { WorkerExit, WorkerHandle, WorkerState } from './worker-handle';

/** What the master publishes in `<pid folder>/cluster_state.json` for `mycluster status` and `reload`. */
export interface ClusterState {
  master: {
    pid: number;
    startedAt: number;
    uptimeMs: number;
    /** The running mycluster package's version. */
    version?: string;
    /** How many upgrades (`mycluster upgrade`) this cluster has been through. */
    upgrades?: number;
    /** The master this one replaced, and whether that one has finished draining its workers. */
    upgradedFrom?: { pid: number; drained: boolean } | null;
  };
  /** The last upgrade this master attempted or refused (a successful one ends with another master). */
  lastUpgrade?: UpgradeResult | null;
  desiredWorkers: number;
  stopping: boolean;
  equilibrium: boolean;
  reload: { id: number; reason: string; startedAt: number; slot: number | null; remaining: number[] } | null;
  reloadQueued: boolean;
  lastReload: ReloadResult | null;
  slots: Array<{
    slot: number;
    worker: WorkerSummary | null;
    replacement: WorkerSummary | null;
    restarts: number;
    lastExit: WorkerExit | null;
  }>;
  /** The spare worker standing by (cluster.spareWorker), if any. */
  spare: { pid: number; startedAt: number; standingBy: boolean } | null;
  /** Old workers finishing their in-flight work. */
  draining: Array<{ slot: number } & WorkerSummary>;
  updatedAt: number;
  /** The file the cluster logs to (`start --daemon`), for `mycluster logs --pids`; absent when it logs to stdout. */
  logFile?: string;
}

export interface WorkerSummary {
  pid: number;
  state: WorkerState;
  startedAt: number;
  uptimeMs: number;
  rss: number | null;
  /** The worker's Redis connections as its last heartbeat reported them (null before the first one). */
  redis: WorkerRedisHealth | null;
}

export interface ReloadResult {
  id: number;
  reason: string;
  ok: boolean;
  error?: string;
  requestedAt: number;
  startedAt: number;
  finishedAt: number;
}

/** What the arbiter knows, for `snapshot`. */
export interface ClusterView {
  master: { pid: number; startedAt: number };
  desiredWorkers: number;
  stopping: boolean;
  equilibrium: boolean;
  reload: Pick<ClusterState, 'reload' | 'reloadQueued' | 'lastReload'>;
  slots: Iterable<Slot>;
  spare: WorkerHandle | null;
  /** Every live worker process (current ones, replacements, spare, draining). */
  handles: Iterable<WorkerHandle>;
}

export function snapshot(view: ClusterView, now = Date.now()): ClusterState {
  const slots = [...view.slots].sort((a, b) => a.number - b.number);
  const bySlot = new Map(slots.map((slot) => [slot.number, slot]));
  const describeHandle = (handle: WorkerHandle): WorkerSummary => ({
    pid: handle.pid,
    state: handle.state,
    startedAt: handle.startedAt,
    uptimeMs: now - handle.startedAt,
    rss: handle.heartbeat?.rss ?? null,
    redis: handle.heartbeat?.redis ?? null,
  });
  const isDraining = (handle: WorkerHandle): boolean =>
    handle.slot !== 0 && bySlot.get(handle.slot)?.current !== handle && bySlot.get(handle.slot)?.replacement !== handle;
  return {
    master: { pid: view.master.pid, startedAt: view.master.startedAt, uptimeMs: now - view.master.startedAt },
    desiredWorkers: view.desiredWorkers,
    stopping: view.stopping,
    equilibrium: view.equilibrium,
    ...view.reload,
    slots: slots.map((slot) => ({
      slot: slot.number,
      worker: slot.current ? describeHandle(slot.current) : null,
      replacement: slot.replacement ? describeHandle(slot.replacement) : null,
      restarts: slot.restarts,
      lastExit: slot.lastExit,
    })),
    spare: view.spare ? { pid: view.spare.pid, startedAt: view.spare.startedAt, standingBy: view.spare.standingBy } : null,
    draining: [...view.handles].filter(isDraining).map((handle) => ({ slot: handle.slot, ...describeHandle(handle) })),
    updatedAt: now,
  };
}

export const STATE_FILE = 'cluster_state.json';

/** Writes the state file atomically: at once when idle, else at most every `intervalMs`, always the latest state. */
export class StateFileWriter {
  private latest: ClusterState | null = null;
  private timer: NodeJS.Timeout | undefined;
  private lastWriteAt = 0;

  constructor(
    private readonly file: string,
    private readonly intervalMs = 100,
  ) {}

  publish(state: ClusterState): void {
    this.latest = state;
    if (this.timer) return;
    const wait = this.lastWriteAt + this.intervalMs - Date.now();
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.latest) return;
    this.lastWriteAt = Date.now();
    const temp = path.join(path.dirname(this.file), `.${path.basename(this.file)}.tmp`);
    try {
      fs.writeFileSync(temp, JSON.stringify(this.latest));
      fs.renameSync(temp, this.file);
    } catch {
      // The state file is a convenience for `status`; the cluster must not stop over it.
    }
  }

  remove(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    fs.rmSync(this.file, { force: true });
  }
}

export function readStateFile(file: string): ClusterState | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ClusterState;
  } catch {
    return null;
  }
}
