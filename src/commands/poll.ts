const POLL_MS = 100;

/**
 * Poll `check` until it returns a value; it may throw to give up. Past `timeoutMs`, reject with `timedOut()`
 * (which may also act, e.g. stop what did not come up).
 */
export async function pollUntil<T>(check: () => T | undefined, timeoutMs: number, timedOut: () => Error): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw timedOut();
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
