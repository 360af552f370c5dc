/** What `reload`, `stop` and `scale` did to each slot: lines on a terminal as it happens, and the `--json` result. */
import { errorMessage } from '../errors';
import type { ClusterState } from '../master/state';
import { isAlive } from '../pids';

export interface SlotEvent {
  slot: number;
  event: 'ready' | 'replaced' | 'stopped';
  pid: number;
  /** The worker it replaced. */
  previousPid?: number;
}

export function describeSlotEvent({ slot, event, pid, previousPid }: SlotEvent): string {
  return event === 'replaced' ? `slot ${slot}: replaced (pid ${previousPid} → ${pid})` : `slot ${slot}: ${event} (pid ${pid})`;
}

/**
 * Follows the cluster's published states from the one before the command acted, and reports each slot's
 * change once: a new ready worker in a slot (ready, or replaced when the slot had one), and the worker of a
 * slot that went (stopped).
 */
export class SlotProgress {
  readonly events: SlotEvent[] = [];
  /** Each slot's worker as last reported. */
  private readonly pids = new Map<number, number>();

  constructor(
    private readonly print: (line: string) => void = terminalLine,
    private readonly alive: (pid: number) => boolean = isAlive,
  ) {}

  /** The state before the command acted (undefined when the master has not published one yet). */
  start(first: ClusterState | undefined): void {
    for (const slot of first?.slots ?? []) if (slot.worker) this.pids.set(slot.slot, slot.worker.pid);
  }

  observe(state: ClusterState): void {
    const current = new Set<number>();
    for (const { slot, worker } of state.slots) {
      current.add(slot);
      if (worker?.state !== 'ready' || this.pids.get(slot) === worker.pid) continue;
      const previousPid = this.pids.get(slot);
      this.report(previousPid === undefined ? { slot, event: 'ready', pid: worker.pid } : { slot, event: 'replaced', pid: worker.pid, previousPid });
      this.pids.set(slot, worker.pid);
    }
    for (const [slot, pid] of this.pids) if (!current.has(slot)) this.reportIfStopped(slot, pid);
  }

  /** The cluster is stopping: report each worker once it is gone. */
  observeStop(): void {
    for (const [slot, pid] of this.pids) this.reportIfStopped(slot, pid);
  }

  private reportIfStopped(slot: number, pid: number): void {
    if (this.alive(pid)) return;
    this.pids.delete(slot);
    this.report({ slot, event: 'stopped', pid });
  }

  private report(event: SlotEvent): void {
    this.events.push(event);
    this.print(describeSlotEvent(event));
  }
}

/** A progress line on stderr when it is a terminal; nothing in a script or a log. */
function terminalLine(line: string): void {
  if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
}

/**
 * Run a command that reports slot progress and print its result: `text` or, with `json`, one JSON object
 * on stdout (`ok`, `command`, the result's fields, `slots`). A failure with `json` also prints
 * `{ ok: false, command, error, slots }` before the error goes on to the usual one line on stderr.
 */
export async function reportResult<T extends object>(
  command: string,
  json: boolean | undefined,
  run: (progress: SlotProgress) => Promise<{ result: T; text: string }>,
): Promise<void> {
  const progress = new SlotProgress();
  try {
    const { result, text } = await run(progress);
    process.stdout.write(json ? `${JSON.stringify({ ok: true, command, ...result, slots: progress.events })}\n` : text);
  } catch (error) {
    if (json) process.stdout.write(`${JSON.stringify({ ok: false, command, error: errorMessage(error), slots: progress.events })}\n`);
    throw error;
  }
}
