// Waiting in tests and the bench: every wait is bounded and says what it waited for when it times out.
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/**
 * Poll `check` (sync or async) until it returns a truthy value, and resolve with that value. A check that
 * throws counts as "not yet" (Redis restarting, a process not up yet); past `timeoutMs` the error names
 * `what` and the check's last error.
 */
export async function waitFor(what, check, { timeoutMs = 15_000, intervalMs = 50 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `; last error: ${lastError.message}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** Settle as `promise` does, or reject once `ms` passed first: a hang fails the test instead of stalling it. */
export function within(ms, what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
