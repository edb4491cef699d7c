/**
 * Errors of the storage services, DynamoDB and S3: a throttle, a failure a retry may get
 * past, an object that is gone. The AWS adapter makes them from the SDK's errors
 * (lib/aws/errors.ts), so the engine never reads an AWS error name; each keeps the SDK's
 * error as its `cause`. Import them from lib/core/errors.ts.
 *
 * Each says how many attempts the SDK made inside the one call that failed (it retries
 * inside `send()` and throws only the last attempt's error) and whether the call may have
 * been applied. Only a throttle on the only attempt proves that it was not: a throttle is
 * a refusal, but when the SDK made several attempts an earlier one may have been applied
 * and its answer lost (a timeout), and the throttle is just the last attempt's error.
 *
 *     attempt 1 ──▶ applied ✓ ──✗ answer lost (a timeout)      SDK retries, same token
 *     attempt 2 ──▶ throttled                                   SDK retries
 *     attempt 3 ──▶ throttled ──▶ ThrottledError, attempts 3     mayHaveApplied: the write happened
 */
import { StrataError, type StrataErrorOptions } from './strata-error.js';

export interface StorageErrorOptions extends StrataErrorOptions {
  /** Attempts the AWS SDK made inside the call that failed (default 1). */
  attempts?: number;
}

/**
 * DynamoDB or S3 throttled the request: the AWS adapter's translation of a throttle (and
 * of a batch's keys or items left unprocessed round after round, or a transaction
 * cancelled by throttling), and the append's answer when storage throttled it until its
 * deadline and nothing was written.
 */
export class ThrottledError extends StrataError {
  /** Attempts the SDK made inside the call. */
  readonly attempts: number;
  /** False when the SDK made one attempt: the throttle proves the write was not applied. */
  readonly mayHaveApplied: boolean;

  constructor(message: string, options: StorageErrorOptions = {}) {
    super('THROTTLED', message, options);
    this.attempts = options.attempts ?? 1;
    this.mayHaveApplied = this.attempts > 1;
  }
}

/**
 * Any storage call: DynamoDB or S3 failed in a way a retry may get past (a 5xx, a
 * timeout, a broken connection). A write may have been applied: the engine resends it so
 * that it applies at most once, or settles what it holds. The engine's own code: the API
 * answers RETRY instead (`answeredAs`).
 */
export class StorageUnavailableError extends StrataError {
  /** Attempts the SDK made inside the call. */
  readonly attempts: number;
  /** Always true: nothing proves the write was not applied. */
  readonly mayHaveApplied = true;

  constructor(message: string, options: StorageErrorOptions = {}) {
    super('STORAGE_UNAVAILABLE', message, options);
    this.attempts = options.attempts ?? 1;
  }
}

/**
 * S3 GET: no object at the key (S3 answered 404). A flush, retention, compaction or
 * garbage collection deleted it after the item or manifest naming it was read: the reader
 * and the flusher take it as "moved" and look again. The engine's own code: the API
 * answers INTERNAL instead (`answeredAs`), as an object that should be there is a bug.
 */
export class ObjectMissingError extends StrataError {
  /** Attempts the SDK made inside the call. */
  readonly attempts: number;
  /** True, as for every failure but a throttle on the only attempt (a GET applies nothing anyway). */
  readonly mayHaveApplied = true;

  constructor(message: string, options: StorageErrorOptions = {}) {
    super('OBJECT_MISSING', message, options);
    this.attempts = options.attempts ?? 1;
  }
}

/** An error of a storage call, as the AWS adapter translated it. */
export type StorageError = ThrottledError | StorageUnavailableError | ObjectMissingError;

/** True for an error of a storage call (which says how many attempts it took and whether it may have been applied). */
export function isStorageError(err: unknown): err is StorageError {
  return err instanceof ThrottledError || err instanceof StorageUnavailableError || err instanceof ObjectMissingError;
}
