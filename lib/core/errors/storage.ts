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
 * An error of a storage call, as the AWS adapter translated it: the base of the three
 * below, which holds what they share. lib/core/errors.ts exports it as a type only: it
 * has no code, so no row in ERROR_CODES; test for it with {@link isStorageError}.
 */
export abstract class StorageError extends StrataError {
  /** Attempts the SDK made inside the call. */
  readonly attempts: number;
  /** Whether the call may have been applied: false only for a throttle on the only attempt. */
  readonly mayHaveApplied: boolean;

  protected constructor(code: 'THROTTLED' | 'STORAGE_UNAVAILABLE' | 'OBJECT_MISSING', message: string, options: StorageErrorOptions) {
    super(code, message, options);
    this.attempts = options.attempts ?? 1;
    this.mayHaveApplied = code !== 'THROTTLED' || this.attempts > 1;
  }
}

/**
 * DynamoDB or S3 throttled the request: the AWS adapter's translation of a throttle (and
 * of a batch's keys or items left unprocessed round after round, or a transaction
 * cancelled by throttling), and the append's answer when storage throttled it until its
 * deadline and nothing was written. `mayHaveApplied` is false when the SDK made one
 * attempt: the throttle proves the write was not applied.
 */
export class ThrottledError extends StorageError {
  constructor(message: string, options: StorageErrorOptions = {}) {
    super('THROTTLED', message, options);
  }
}

/**
 * Any storage call: DynamoDB or S3 failed in a way a retry may get past (a 5xx, a
 * timeout, a broken connection). A write may have been applied (`mayHaveApplied` is
 * always true): the engine resends it so that it applies at most once, or settles what
 * it holds. The engine's own code: the API answers RETRY instead (`answeredAs`).
 */
export class StorageUnavailableError extends StorageError {
  constructor(message: string, options: StorageErrorOptions = {}) {
    super('STORAGE_UNAVAILABLE', message, options);
  }
}

/**
 * S3 GET: no object at the key (S3 answered 404). A flush, retention, compaction or
 * garbage collection deleted it after the item or manifest naming it was read: the reader
 * and the flusher take it as "moved" and look again. The engine's own code: the API
 * answers INTERNAL instead (`answeredAs`), as an object that should be there is a bug.
 * `mayHaveApplied` is true, as for every failure but a throttle on the only attempt (a
 * GET applies nothing anyway).
 */
export class ObjectMissingError extends StorageError {
  constructor(message: string, options: StorageErrorOptions = {}) {
    super('OBJECT_MISSING', message, options);
  }
}

/** True for an error of a storage call (which says how many attempts it took and whether it may have been applied). */
export function isStorageError(err: unknown): err is StorageError {
  return err instanceof StorageError;
}
