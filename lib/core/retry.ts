/**
 * The one retry policy of the engine.
 *
 * Backoff is "full jitter" (AWS Architecture Blog, "Exponential Backoff and Jitter"):
 *
 *     delay(attempt) = random(0, min(maxDelayMs, baseDelayMs * 2 ** attempt))
 *
 * which spreads competing writers out instead of letting them collide again in step.
 * Appends are retried only where a retry cannot duplicate data: a commit whose outcome
 * is unknown is re-sent with the same DynamoDB ClientRequestToken (applied at most once),
 * and a lost race is retried at the new head, which no earlier attempt can have written.
 */
import { isStorageError, StrataError, ThrottledError } from './errors.js';

export interface RetryPolicy {
  /** First backoff ceiling. */
  baseDelayMs: number;
  /** Largest backoff ceiling. */
  maxDelayMs: number;
  /** Total time an operation may keep retrying. */
  deadlineMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  baseDelayMs: 5,
  maxDelayMs: 500,
  deadlineMs: 10_000,
});

/** Settings that keep fault-injection tests fast. */
export const FAST_RETRY: RetryPolicy = Object.freeze({
  baseDelayMs: 1,
  maxDelayMs: 20,
  deadlineMs: 5_000,
});

/** Full-jitter backoff for the given attempt (0-based); the client uses it with its own bounds. */
export function backoffDelay(
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

/** True when storage asked us to slow down (a ThrottledError: the AWS adapter's translation of a throttle). */
export function isThrottle(err: unknown): boolean {
  return err instanceof ThrottledError;
}

/**
 * True when the same request may succeed if sent again: a Strata error's own flag
 * (throttles, storage failures a retry may get past, deadlines). The AWS adapter
 * (lib/aws/errors.ts) turns every SDK and network error into a Strata error, so anything
 * else is a bug, never retried.
 */
export function isRetryable(err: unknown): boolean {
  return err instanceof StrataError && err.retryable;
}

/**
 * True unless the failure proves that the write was not applied: the storage error's own
 * `mayHaveApplied`, false only for a throttle on the SDK's only attempt (a refusal; after
 * several attempts an earlier one may have been applied and its answer lost:
 * lib/core/errors/storage.ts). Any other failure may have applied.
 */
export function mayHaveApplied(err: unknown): boolean {
  return !isStorageError(err) || err.mayHaveApplied;
}

/** Resolves after `ms`, on the given timer (the client's producer may run in virtual time). */
export function sleep(ms: number, setTimer: (fn: () => void, ms: number) => unknown = setTimeout): Promise<void> {
  return new Promise((resolve) => setTimer(resolve, ms));
}

/**
 * True when `promise` settles (either way) within `ms`, false when the time passes
 * first; the timer is cleared either way, and a rejection is left to the promise's own
 * handler.
 */
export function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    const settled = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    promise.then(settled, settled);
  });
}
