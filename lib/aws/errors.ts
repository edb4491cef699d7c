/**
 * AWS errors as Strata errors: the one place that knows the AWS SDK's and Node's error
 * names, HTTP statuses and retry counts. Every adapter in lib/aws throws what `translate`
 * makes of a failed call, so the engine classifies only Strata errors (lib/core/retry.ts).
 *
 *     the call failed with                          translate gives            retryable  mayHaveApplied
 *     a throttle (THROTTLE_NAMES, HTTP 429),        ThrottledError             yes        no
 *       on the SDK's only attempt
 *     a throttle after several SDK attempts         ThrottledError             yes        yes
 *     NoSuchKey, HTTP 404                           ObjectMissingError         no         yes
 *     a 5xx, $retryable, TRANSIENT_NAMES            StorageUnavailableError    yes        yes
 *       (timeouts, network errors)
 *     anything else (AccessDenied, a condition      InternalError              no         yes
 *       failure no adapter read, a bug)
 *
 * The SDK's error stays the `cause`. A condition failure an adapter turns into a domain
 * outcome (ConditionalCheckFailedException, TransactionCanceledException) is read where
 * it is sent, before any translation (dynamo-table.ts `send`'s `keep`).
 */
import { InternalError, ObjectMissingError, StorageUnavailableError, StrataError, ThrottledError } from '../core/errors.js';

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

/**
 * The Strata error for a failed storage call: `err` itself when it is one already, else
 * its translation (table above). `call` names the call in the message (`DynamoDB
 * PutCommand`, `S3 GetObject segments/…`).
 *
 * @example
 * try { return await client.send(command); } catch (err) { throw translate(err, 'S3 PutObject'); }
 */
export function translate(err: unknown, call = 'a storage call'): StrataError {
  if (err instanceof StrataError) return err;
  const e = err as ErrorLike | null | undefined;
  const name = label(err);
  const attempts = sdkAttempts(err);
  const options = { cause: err, attempts };
  if (isThrottle(e)) {
    const tries = attempts > 1 ? ` after ${attempts} attempts` : '';
    return new ThrottledError(`${call} was throttled (${name})${tries}; slow down and retry`, options);
  }
  if (isMissingObject(e)) return new ObjectMissingError(`${call} found no such object (${name})`, options);
  if (isTransient(e)) return new StorageUnavailableError(`${call} failed (${name}); retry`, options);
  // The name only: an AWS message can carry account and role names, and this one is answered as it is.
  return new InternalError(`${call} failed unexpectedly (${name}): a bug in Strata or in its deployment`, { cause: err });
}

/** The error's name and code, for a message: `ThrottlingException`, `Error ECONNRESET`. */
function label(err: unknown): string {
  if (typeof err !== 'object' || err === null) return typeof err;
  const { name, code } = err as ErrorLike;
  return [name, code].filter((part) => typeof part === 'string' && part !== '').join(' ') || 'unnamed error';
}

/** True when the storage service asked us to slow down. */
function isThrottle(e: ErrorLike | null | undefined): boolean {
  return !!e && (THROTTLE_NAMES.has(e.name ?? '') || e.$metadata?.httpStatusCode === 429);
}

/** True when the same request may succeed if sent again (5xx, timeouts, network errors). */
function isTransient(e: ErrorLike | null | undefined): boolean {
  if (!e) return false;
  if (e.$retryable) return true;
  if (TRANSIENT_NAMES.has(e.name ?? '') || TRANSIENT_NAMES.has(e.code ?? '')) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && status >= 500;
}

/** True when S3 says the object is not there (deleted by a flush, retention or GC). */
function isMissingObject(e: ErrorLike | null | undefined): boolean {
  return !!e && (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404);
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
