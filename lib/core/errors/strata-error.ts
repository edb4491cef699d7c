/**
 * The base class of every error the engine raises on purpose: {@link StrataError}, with
 * its stable `code`, HTTP `status` and `retryable` flag. A code of the table takes its
 * status and retryable flag from its row in ERROR_CODES (lib/core/errors.ts).
 *
 * Import it from lib/core/errors.ts, never from here: the table there holds the classes,
 * the classes extend this one, and this one reads the table. lib/core/errors.ts loads
 * this module and the classes before it builds the table; entering the cycle here
 * instead would build the table before the classes exist.
 */
import { type ErrorCode, errorRow } from '../errors.js';

export interface StrataErrorOptions {
  cause?: unknown;
  /** Extra fields copied into the HTTP error body (e.g. `highWatermark`). */
  details?: Record<string, unknown>;
}

export class StrataError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  /** Extra fields of the HTTP error body (e.g. `highWatermark`). */
  readonly details: Record<string, unknown>;

  /**
   * `new StrataError(code, message, options?)` for a code of {@link ERROR_CODES}: status
   * and retryable come from its row. `new StrataError(code, status, message, retryable?,
   * options?)` for any other code (one a newer server answers, a client-side condition).
   */
  constructor(
    ...args:
      | [code: ErrorCode, message: string, options?: StrataErrorOptions]
      | [code: string, status: number, message: string, retryable?: boolean, options?: StrataErrorOptions]
  ) {
    const [code, status, message, retryable, options] =
      typeof args[1] === 'string'
        ? fromTable(args as [ErrorCode, string, StrataErrorOptions?])
        : (args as [string, number, string, boolean?, StrataErrorOptions?]);
    super(message, { cause: options?.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.retryable = retryable ?? false;
    this.details = options?.details ?? {};
  }
}

/** The general constructor's arguments for a code of the table: status and retryable from its row. */
function fromTable([code, message, options]: [ErrorCode, string, StrataErrorOptions?]): [
  string,
  number,
  string,
  boolean,
  StrataErrorOptions?,
] {
  const row = errorRow(code);
  if (!row) throw new TypeError(`'${code}' is not in ERROR_CODES; give its status: new StrataError(code, status, message)`);
  return [code, row.status, message, row.retryable, options];
}
