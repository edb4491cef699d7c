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
import { StrataError } from './errors.js';

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

const THROTTLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'Throttling',
  'SlowDown',
  'TooManyRequestsException',
]);

const TRANSIENT_NAMES = new Set([
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'TransactionInProgressException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  // Network errors the AWS SDK itself retries (@smithy NODEJS_NETWORK_ERROR_CODES): after
  // an SDK-internal attempt that was applied, one of these can be the error we see.
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
]);

interface ErrorLike {
  name?: string;
  code?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  cause?: unknown;
}

/** True when the storage service asked us to slow down. */
export function isThrottle(err: unknown): boolean {
  if (err instanceof StrataError) return err.code === 'THROTTLED';
  const e = err as ErrorLike | null;
  return !!e && (THROTTLE_NAMES.has(e.name ?? '') || e.$metadata?.httpStatusCode === 429);
}

/** True when the same request may succeed if sent again (throttles, 5xx, network errors). */
export function isRetryable(err: unknown): boolean {
  if (err instanceof StrataError) return err.retryable;
  if (isThrottle(err)) return true;
  const e = err as ErrorLike | null;
  if (!e) return false;
  if (e.$retryable) return true;
  if (TRANSIENT_NAMES.has(e.name ?? '') || TRANSIENT_NAMES.has(e.code ?? '')) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

/**
 * How many attempts the AWS SDK made inside the one `send()` that failed with `err` (or
 * with an error it caused): the SDK retries inside `send()` and throws only the last
 * attempt's error, with the count in `$metadata.attempts`. 1 when nothing says more.
 */
export function sdkAttempts(err: unknown): number {
  let attempts = 1;
  for (let e = err as ErrorLike | null | undefined, depth = 0; e && depth < 8; e = e.cause as ErrorLike | undefined, depth++) {
    attempts = Math.max(attempts, e.$metadata?.attempts ?? 1);
  }
  return attempts;
}

/**
 * True unless the failure proves that the write was not applied. Only a throttle on the
 * only attempt proves it: a throttle is a refusal, but when the SDK made several attempts
 * an earlier one may have been applied and its answer lost (a timeout), and the throttle
 * we see is just the last attempt's error.
 *
 *     attempt 1 ──▶ applied ✓ ──✗ answer lost (TimeoutError)      SDK retries, same token
 *     attempt 2 ──▶ ThrottlingException                           SDK retries
 *     attempt 3 ──▶ ThrottlingException ──▶ thrown: attempts = 3   the write happened
 */
export function mayHaveApplied(err: unknown): boolean {
  return !isThrottle(err) || sdkAttempts(err) > 1;
}

/** Resolves after `ms`, on the given timer (the client's producer may run in virtual time). */
export function sleep(ms: number, setTimer: (fn: () => void, ms: number) => unknown = setTimeout): Promise<void> {
  return new Promise((resolve) => setTimer(resolve, ms));
}
