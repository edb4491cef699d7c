/**
 * The client's one retry helper: the backoff between attempts and the wait itself, for
 * the producer's appends, the consumer's reads and group calls, and the push channel's
 * reconnects. Backoff is "full jitter" (AWS Architecture Blog, "Exponential Backoff and
 * Jitter"), as the engine's (lib/core/retry.ts):
 *
 *     delay(attempt) = random(0, min(maxDelayMs, baseDelayMs * 2 ** attempt))
 *
 * so that clients that failed together do not come back together. The formula and the
 * wait are the engine's own (lib/core/retry.ts); this module holds the client's bounds.
 *
 * @example
 * for (let attempt = 0; ; attempt++) {
 *   try { return await call(); }
 *   catch (err) { if (!retryable(err)) throw err; await sleep(backoffDelay(CONSUMER_BACKOFF, attempt)); }
 * }
 */

import type { RetryPolicy } from '../lib/core/retry.js';

export { backoffDelay, sleep } from '../lib/core/retry.js';

/** The bounds of a backoff, in ms: the first attempt's ceiling and the largest. */
export type Backoff = Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>;

/** The producer's retries of a batch (`retryBaseDelayMs`, `retryMaxDelayMs`). */
export const PRODUCER_BACKOFF: Backoff = Object.freeze({ baseDelayMs: 50, maxDelayMs: 2000 });

/** The consumer's retries of reads, joins, offset lookups and commits. */
export const CONSUMER_BACKOFF: Backoff = Object.freeze({ baseDelayMs: 100, maxDelayMs: 5000 });

/** The push channel's reconnects (`minReconnectMs`, `maxReconnectMs`). */
export const RECONNECT_BACKOFF: Backoff = Object.freeze({ baseDelayMs: 100, maxDelayMs: 30_000 });
