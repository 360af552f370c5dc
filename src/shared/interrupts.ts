/**
 * Telling a second Ctrl-C from a copy of the first. A terminal's Ctrl-C signals the whole process group, and
 * a runner in that group (node-foreman, npm, a shell script) may forward the same interrupt to us: an INT
 * within REPEAT_WINDOW_MS of the first is that copy, not a second press.
 */
export const REPEAT_WINDOW_MS = 1_000;

/** `stop` for the first INT, `copy` for one inside the window, `force` for a real second one. */
export type Interrupt = 'stop' | 'copy' | 'force';

export class Interrupts {
  private firstAt: number | undefined;

  next(now = Date.now()): Interrupt {
    if (this.firstAt === undefined) {
      this.firstAt = now;
      return 'stop';
    }
    return now - this.firstAt < REPEAT_WINDOW_MS ? 'copy' : 'force';
  }
}
