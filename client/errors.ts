/**
 * Errors of the client. Every error the server answers becomes an instance of the same
 * class the engine threw (`OffsetOutOfRangeError`, `ProducerFencedError`, …, all
 * `StrataError`s with `code`, `status` and `retryable`), carrying the body's details as
 * properties (`err.highWatermark`). Failures that never got an answer are
 * `ConnectionError` or `RequestTimeoutError`: the request may or may not have been applied.
 *
 * @example
 * try { await strata.read('orders', 0, { offset: 99 }); }
 * catch (err) { if (err instanceof OffsetOutOfRangeError) console.log(err.highWatermark); }
 */
import * as engineErrors from '../lib/errors.js';
import { StrataError } from '../lib/errors.js';

export * from '../lib/errors.js';

/** The request could not reach the server, or the connection broke before the answer. */
export class ConnectionError extends StrataError {
  constructor(url: string, cause: unknown) {
    super(
      'CONNECTION',
      0,
      `cannot reach ${url} (${(cause as Error)?.message ?? String(cause)}); is the server running? (npm start serves http://127.0.0.1:4510)`,
      true,
      { cause },
    );
  }
}

/** No answer within the client's `requestTimeoutMs`; the request may still have been applied. */
export class RequestTimeoutError extends StrataError {
  constructor(url: string, timeoutMs: number) {
    super('REQUEST_TIMEOUT', 0, `no answer from ${url} within ${timeoutMs} ms; the request may or may not have been applied`, true);
  }
}

/** The producer or consumer was closed; no more records are accepted or delivered. */
export class ClientClosedError extends StrataError {
  constructor(what: string) {
    super('CLOSED', 0, `the ${what} is closed`, false);
  }
}

type ErrorClass = abstract new (...args: never[]) => StrataError;

/** Engine error classes by the code their instances carry (read from the classes' prototypes once). */
const CLASS_BY_CODE: ReadonlyMap<string, ErrorClass> = new Map(
  Object.entries({
    VALIDATION: engineErrors.ValidationError,
    INVALID_JSON: engineErrors.InvalidJsonError,
    NOT_UTF8: engineErrors.NotUtf8Error,
    ROUTE_NOT_FOUND: engineErrors.RouteNotFoundError,
    TOPIC_NOT_FOUND: engineErrors.TopicNotFoundError,
    PARTITION_NOT_FOUND: engineErrors.PartitionNotFoundError,
    TOPIC_EXISTS: engineErrors.TopicExistsError,
    OFFSET_MISMATCH: engineErrors.OffsetMismatchError,
    PRODUCER_FENCED: engineErrors.ProducerFencedError,
    OUT_OF_ORDER_SEQUENCE: engineErrors.SequenceGapError,
    DUPLICATE_SEQUENCE: engineErrors.DuplicateSequenceError,
    PAYLOAD_TOO_LARGE: engineErrors.PayloadTooLargeError,
    RECORD_TOO_LARGE: engineErrors.RecordTooLargeError,
    OFFSET_OUT_OF_RANGE: engineErrors.OffsetOutOfRangeError,
    THROTTLED: engineErrors.ThrottledError,
    RETRY: engineErrors.RetryableError,
    CORRUPT_DATA: engineErrors.CorruptDataError,
    INTERNAL: engineErrors.InternalError,
    UNKNOWN_MEMBER: engineErrors.UnknownMemberError,
    STALE_GENERATION: engineErrors.StaleGenerationError,
    PARTITION_NOT_ASSIGNED: engineErrors.PartitionNotAssignedError,
    TOPIC_INCARNATION_MISMATCH: engineErrors.TopicIncarnationMismatchError,
    GROUP_TOO_LARGE: engineErrors.GroupTooLargeError,
  }),
);

/** Any other engine class whose code is not in the table yet: found by scanning the module. */
function classFor(code: string): ErrorClass | undefined {
  const known = CLASS_BY_CODE.get(code);
  if (known) return known;
  for (const value of Object.values(engineErrors)) {
    if (typeof value !== 'function' || !(value.prototype instanceof StrataError)) continue;
    if (codeOf(value as ErrorClass) === code) return value as ErrorClass;
  }
  return undefined;
}

const probedCodes = new Map<ErrorClass, string | undefined>();
/** The code a class passes to StrataError, learned by reading its source once. */
function codeOf(cls: ErrorClass): string | undefined {
  if (!probedCodes.has(cls)) probedCodes.set(cls, /super\(\s*["'`]([A-Z][A-Z0-9_]+)["'`]/.exec(cls.toString())?.[1]);
  return probedCodes.get(cls);
}

/**
 * The error an HTTP error answer stands for: an instance of the engine's class for its
 * code (a plain StrataError for codes this client does not know), with the body's extra
 * fields copied onto it.
 */
export function errorFromResponse(status: number, body: unknown, retryAfterSeconds?: number): StrataError {
  const payload = (body as { error?: Record<string, unknown> } | undefined)?.error;
  const code = typeof payload?.code === 'string' ? payload.code : status >= 500 ? 'INTERNAL' : 'HTTP_ERROR';
  const message = typeof payload?.message === 'string' ? payload.message : `HTTP ${status} without an error body`;
  const { code: _c, message: _m, ...details } = payload ?? {};
  const retryable = status === 429 || status === 503;
  const error = new StrataError(code, status, message, retryable, { details });
  const cls = classFor(code);
  if (cls) {
    Object.setPrototypeOf(error, cls.prototype);
    Object.defineProperty(error, 'name', { value: cls.name, enumerable: false, configurable: true, writable: true });
  }
  Object.assign(error, details);
  if (retryAfterSeconds !== undefined) Object.assign(error, { retryAfterSeconds });
  return error;
}
