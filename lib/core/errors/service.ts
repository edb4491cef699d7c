/**
 * Errors of the service rather than the request: out of time, corrupt bytes, a bug (the
 * storage services' own failures are in storage.ts). Import them from lib/core/errors.ts.
 */
import { StrataError, type StrataErrorOptions } from './strata-error.js';

/**
 * The operation could not finish before its deadline (conflicts, transient failures).
 * The outcome of an append that ends this way is unknown: retry it with the same
 * idempotent producer sequence to be sure it is written once.
 */
export class RetryableError extends StrataError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options: StrataErrorOptions = {},
  ) {
    super('RETRY', message, options);
  }
}

/** Read: stored bytes fail their CRC32C or do not parse. Never returned as data. */
export class CorruptDataError extends StrataError {
  constructor(message: string, options: StrataErrorOptions = {}) {
    super('CORRUPT_DATA', message, options);
  }
}

/** Something the engine did not expect: a bug. */
export class InternalError extends StrataError {
  constructor(message: string, options: StrataErrorOptions = {}) {
    super('INTERNAL', message, options);
  }
}
