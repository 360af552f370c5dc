/** Settle with `work`, or reject with `timedOut()` once `timeoutMs` passed first. The timer never outlives the race. */
export async function withDeadline<T>(work: Promise<T>, timeoutMs: number, timedOut: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), timeoutMs);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Poll `check` every `intervalMs` until it returns a value; it may throw to give up. Past `timeoutMs`, reject
 * with `timedOut()` (which may also act, e.g. stop what did not come up).
 */
export async function pollUntil<T>(check: () => T | undefined, timeoutMs: number, timedOut: () => Error, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw timedOut();
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
