/**
 * Crash-restart policy for one slot: the first restart is immediate, each further one waits twice as
 * long (from `min` up to `max`), and a worker that stayed up for `resetAfter` ms starts the count over.
 */
export interface BackoffSettings {
  min: number;
  max: number;
  resetAfter: number;
}

export class RestartBackoff {
  private consecutiveCrashes = 0;

  constructor(private readonly settings: BackoffSettings) {}

  /** Record a crash of a worker that had been up `uptimeMs`; returns the delay before the next start. */
  nextDelay(uptimeMs: number): number {
    if (uptimeMs >= this.settings.resetAfter) this.consecutiveCrashes = 0;
    const delay = this.consecutiveCrashes === 0 ? 0 : Math.min(this.settings.max, this.settings.min * 2 ** (this.consecutiveCrashes - 1));
    this.consecutiveCrashes += 1;
    return delay;
  }

  /** The cap: the delay after a boot failure, which an immediate retry would only repeat. */
  maxDelay(): number {
    return this.settings.max;
  }
}
