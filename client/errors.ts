/**
 * Errors of the client. Every error the server answers becomes an instance of the same
 * class the engine threw (`OffsetOutOfRangeError`, `ProducerFencedError`, …, all
 * `StrataError`s with `code`, `status` and `retryable`), carrying the body's details as
 * properties (`err.highWatermark`): the class is the code's row in the engine's
 * `ERROR_CODES` table. Failures that never got an answer are `ConnectionError` or
 * `RequestTimeoutError`: the request may or may not have been applied. The client's own
 * codes are in {@link CLIENT_ERROR_CODES}.
 *
 * @example
 * try { await strata.read('orders', 0, { offset: 99 }); }
 * catch (err) { if (err instanceof OffsetOutOfRangeError) console.log(err.highWatermark); }
 */
import { type ErrorClass, errorRow, StrataError } from '../lib/core/errors.js';

export * from '../lib/core/errors.js';

/** The status of an error that never got an HTTP answer. */
const NO_ANSWER = 0;

/** The code of an error answer whose body has none (a proxy's or API Gateway's own answer) and whose status is below 500. */
export const HTTP_ERROR = 'HTTP_ERROR';

/** The request could not reach the server, or the connection broke before the answer. */
export class ConnectionError extends StrataError {
  constructor(url: string, cause: unknown) {
    super(
      'CONNECTION',
      NO_ANSWER,
      `cannot reach ${url} (${(cause as Error)?.message ?? String(cause)}); is the server running? (npm start serves http://127.0.0.1:4510)`,
      CLIENT_ERROR_CODES.CONNECTION.retryable,
      { cause },
    );
  }
}

/** No answer within the client's `requestTimeoutMs`; the request may still have been applied. */
export class RequestTimeoutError extends StrataError {
  constructor(url: string, timeoutMs: number) {
    super(
      'REQUEST_TIMEOUT',
      NO_ANSWER,
      `no answer from ${url} within ${timeoutMs} ms; the request may or may not have been applied`,
      CLIENT_ERROR_CODES.REQUEST_TIMEOUT.retryable,
    );
  }
}

/** The producer or consumer was closed; no more records are accepted or delivered. */
export class ClientClosedError extends StrataError {
  constructor(what: string) {
    super('CLOSED', NO_ANSWER, `the ${what} is closed`, CLIENT_ERROR_CODES.CLOSED.retryable);
  }
}

/**
 * Producer: a batch was not sent because an earlier batch to the same partition failed;
 * sending it would put its records before the failed ones. `cause` is this batch's own error.
 */
export class PreviousBatchFailedError extends StrataError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    cause: unknown,
  ) {
    super(
      'PREVIOUS_BATCH_FAILED',
      NO_ANSWER,
      `not written: an earlier batch to ${topic} partition ${partition} failed, and order is kept`,
      CLIENT_ERROR_CODES.PREVIOUS_BATCH_FAILED.retryable,
      { cause },
    );
  }
}

/**
 * The codes the client raises itself, for failures that got no answer from the server
 * (status 0): the client's rows beside the engine's `ERROR_CODES`.
 */
export const CLIENT_ERROR_CODES = {
  CONNECTION: {
    retryable: true,
    class: ConnectionError,
    meaning: 'the server could not be reached, or the connection broke before the answer',
  },
  REQUEST_TIMEOUT: {
    retryable: true,
    class: RequestTimeoutError,
    meaning: 'no answer within requestTimeoutMs; the request may have been applied',
  },
  CLOSED: { retryable: false, class: ClientClosedError, meaning: 'the producer or consumer was closed' },
  PREVIOUS_BATCH_FAILED: {
    retryable: false,
    class: PreviousBatchFailedError,
    meaning: 'an earlier batch to the partition failed; this one was not sent, to keep order',
  },
} as const satisfies Record<string, { retryable: boolean; class: ErrorClass; meaning: string }>;

/**
 * The error an HTTP error answer stands for: an instance of the class of its code in
 * `ERROR_CODES` (a plain StrataError for a code the table does not have, say a newer
 * server's), with the body's extra fields copied onto it. The instance is made by
 * StrataError's constructor with the class as `new.target` (what `super()` in the
 * class does), so it is the class's own, with the server's message and details rather
 * than ones the class's constructor would compose.
 */
export function errorFromResponse(status: number, body: unknown, retryAfterSeconds?: number): StrataError {
  const payload = (body as { error?: Record<string, unknown> } | undefined)?.error;
  const code = typeof payload?.code === 'string' ? payload.code : status >= 500 ? 'INTERNAL' : HTTP_ERROR;
  const message = typeof payload?.message === 'string' ? payload.message : `HTTP ${status} without an error body`;
  const { code: _c, message: _m, ...details } = payload ?? {};
  const row = errorRow(code);
  const retryable = row?.retryable ?? (status === 429 || status === 503);
  const error: StrataError = Reflect.construct(StrataError, [code, status, message, retryable, { details }], row?.class ?? StrataError);
  Object.assign(error, details);
  if (retryAfterSeconds !== undefined) Object.assign(error, { retryAfterSeconds });
  return error;
}
