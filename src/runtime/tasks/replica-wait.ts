import type { Redis } from 'ioredis';

/**
 * Confirms writes made on `redis` with Redis WAIT, one WAIT at a time. A WAIT blocks its connection on the
 * server, so a WAIT per write would queue them behind each other (n concurrent enqueues, n timeouts). Instead
 * each WAIT covers every write answered before it was sent, and waits until the earliest deadline among
 * them: every caller has its answer within about its own timeout.
 * Resolves with the number of replicas that confirmed (0 when the WAIT failed).
 */
export function replicaConfirmer(redis: Redis, replicas: number): (deadline: number) => Promise<number> {
  let waiting: Array<{ deadline: number; resolve: (confirmed: number) => void }> = [];
  let running = false;

  async function rounds(): Promise<void> {
    running = true;
    while (waiting.length) {
      const batch = waiting;
      waiting = [];
      const earliest = Math.min(...batch.map((waiter) => waiter.deadline));
      // WAIT with 0 would block forever: at least 1 ms.
      const confirmed = await redis.wait(replicas, Math.max(1, earliest - Date.now())).catch(() => 0);
      for (const waiter of batch) waiter.resolve(confirmed);
    }
    running = false;
  }

  return (deadline) =>
    new Promise((resolve) => {
      waiting.push({ deadline, resolve });
      if (!running) void rounds();
    });
}
