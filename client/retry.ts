/**
 * The client's one retry helper: the backoff between attempts and the wait itself, for
 * the producer's appends, the consumer's reads and group calls, and the push channel's
 * reconnects. Backoff is "full jitter" (AWS Architecture Blog, "Exponential Backoff and
 * Jitter"), as the engine's (lib/core/retry.ts):
 *
 *     delay(attempt) = random(0, min(maxDelayMs, baseDelayMs * 2 ** attempt))
 *
 * so that clients that failed together do not come back together. Kept apart from the
 * engine's module, which classifies storage errors the client bundle has no use for.
 *
 * @example
 * for (let attempt = 0; ; attempt++) {
 *   try { return await call(); }
 *   catch (err) { if (!retryable(err)) throw err; await sleep(backoffDelay(CONSUMER_BACKOFF, attempt)); }
 * }
 */

/** The bounds of a backoff, in ms. */
export interface Backoff {
  /** The first attempt's ceiling. */
  baseDelayMs: number;
  /** The largest ceiling. */
  maxDelayMs: number;
}

/** The producer's retries of a batch (`retryBaseDelayMs`, `retryMaxDelayMs`). */
export const PRODUCER_BACKOFF: Backoff = Object.freeze({ baseDelayMs: 50, maxDelayMs: 2000 });

/** The consumer's retries of reads, joins, offset lookups and commits. */
export const CONSUMER_BACKOFF: Backoff = Object.freeze({ baseDelayMs: 100, maxDelayMs: 5000 });

/** The push channel's reconnects (`minReconnectMs`, `maxReconnectMs`). */
export const RECONNECT_BACKOFF: Backoff = Object.freeze({ baseDelayMs: 100, maxDelayMs: 30_000 });

/** Full-jitter backoff before retry `attempt` (0-based): uniform in [0, ceiling). */
export function backoffDelay(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  return random() * Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** Math.min(attempt, 30));
}

/** Resolves after `ms`, on the given timer (the producer's may run in virtual time). */
export function sleep(ms: number, setTimer: (fn: () => void, ms: number) => unknown = setTimeout): Promise<void> {
  return new Promise((resolve) => setTimer(resolve, ms));
}
