/**
 * Every error the engine raises on purpose is a {@link StrataError}: a stable string
 * `code` that clients can switch on, the HTTP `status` it maps to at the edge, whether a
 * retry of the same request may succeed, and the values a caller needs to act on it.
 * `errorResponse` (in `functions/shared/http.ts`) turns any thrown value into the API's
 * error body.
 *
 * {@link ERROR_CODES}, in this file, is the one table of the codes the API answers: code,
 * HTTP status, retryable, class and meaning (as kafkajs's `src/protocol/error.js` lists
 * Kafka's). The classes are in lib/core/errors/, by family: the base class
 * (`strata-error.ts`), the request and the API's edge (`request.ts`), topics, appends and
 * reads (`log.ts`), consumer groups (`groups.ts`), the storage services' failures as the
 * AWS adapter translates them (`storage.ts`), the service's own failures (`service.ts`).
 * Each class names its code and takes the status and retryable flag from the table; the
 * client maps a wire code to its class through the table, and
 * test/lib/core/error-codes.test.ts holds docs/openapi.yaml to it. A few codes are the
 * engine's own and never reach the API: their rows say which code the API answers
 * instead (`answeredAs`, applied by {@link answered}).
 *
 * Import every error from this module, never from lib/core/errors/: StrataError reads the
 * table when an error is made, and the table holds the classes, so the modules form a
 * cycle. Entered here, it loads the base class, then the classes, then builds the table
 * below; entered at a class's module, the table would be built before the classes exist.
 */

export * from './errors/groups.js';
export * from './errors/log.js';
export * from './errors/request.js';
export * from './errors/service.js';
// The storage errors' base class as a type only: it has no code of its own (isStorageError tests for it).
export {
  isStorageError,
  ObjectMissingError,
  type StorageError,
  type StorageErrorOptions,
  StorageUnavailableError,
  ThrottledError,
} from './errors/storage.js';
export * from './errors/strata-error.js';

import { RETRY_AFTER_SECONDS } from './constants.js';
import {
  GroupTooLargeError,
  PartitionNotAssignedError,
  StaleGenerationError,
  TopicIncarnationMismatchError,
  UnknownMemberError,
} from './errors/groups.js';
import {
  DuplicateSequenceError,
  OffsetMismatchError,
  OffsetOutOfRangeError,
  PartitionNotFoundError,
  ProducerFencedError,
  RecordTooLargeError,
  ResponseTooLargeError,
  SequenceGapError,
  TopicExistsError,
  TopicNotFoundError,
} from './errors/log.js';
import {
  InvalidJsonError,
  MethodNotAllowedError,
  NotUtf8Error,
  PayloadTooLargeError,
  PushNotConfiguredError,
  RouteNotFoundError,
  UnknownActionError,
  ValidationError,
  WrongFunctionError,
} from './errors/request.js';
import { CorruptDataError, InternalError, RetryableError } from './errors/service.js';
import { ObjectMissingError, StorageUnavailableError, ThrottledError } from './errors/storage.js';
import type { StrataError } from './errors/strata-error.js';

/** An error class of the table (any constructor arguments). */
export type ErrorClass = abstract new (...args: never[]) => StrataError;

/** One row of {@link ERROR_CODES}. */
export interface ErrorRow {
  /** The HTTP status the API answers with. */
  readonly status: number;
  /** Whether the same request sent again may succeed (the API adds `Retry-After`; clients retry these). */
  readonly retryable: boolean;
  /** The class whose instances carry the code, on the server and in the client. */
  readonly class: ErrorClass;
  /** What the code means, in a line. */
  readonly meaning: string;
  /**
   * Set for a code of the engine's own, which the API never answers: the code it answers
   * instead, whose status this row shares ({@link answered}). docs/openapi.yaml and the
   * README list these codes apart, as internal.
   */
  readonly answeredAs?: string;
}

/**
 * The one table of the error codes the API answers, `{"error": {"code", "message",
 * ...details}}`, and of the few the engine keeps to itself (`answeredAs`). A code is a
 * promise to clients in the field: never change one's status or meaning, add a new code
 * instead. docs/openapi.yaml lists the same codes with the same statuses
 * (test/lib/core/error-codes.test.ts).
 */
export const ERROR_CODES = {
  VALIDATION: {
    status: 400,
    retryable: false,
    class: ValidationError,
    meaning: 'the request breaks a documented rule (shape, range, type)',
  },
  INVALID_JSON: { status: 400, retryable: false, class: InvalidJsonError, meaning: 'the body (or a push frame) is not JSON' },
  NOT_UTF8: {
    status: 400,
    retryable: false,
    class: NotUtf8Error,
    meaning: 'a record read with encoding=utf8 is not UTF-8; read it as base64',
  },
  UNKNOWN_ACTION: {
    status: 400,
    retryable: false,
    class: UnknownActionError,
    meaning: "a push frame's action is not one of the protocol's",
  },
  ROUTE_NOT_FOUND: { status: 404, retryable: false, class: RouteNotFoundError, meaning: 'no route has this path' },
  PUSH_NOT_CONFIGURED: {
    status: 404,
    retryable: false,
    class: PushNotConfiguredError,
    meaning: 'the deployment has no push endpoint; long-poll instead',
  },
  TOPIC_NOT_FOUND: { status: 404, retryable: false, class: TopicNotFoundError, meaning: 'no topic of that name exists' },
  PARTITION_NOT_FOUND: {
    status: 404,
    retryable: false,
    class: PartitionNotFoundError,
    meaning: 'the topic has no partition of that number',
  },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, class: MethodNotAllowedError, meaning: 'the path exists but not with this method' },
  TOPIC_EXISTS: { status: 409, retryable: false, class: TopicExistsError, meaning: 'a topic of that name already exists' },
  OFFSET_MISMATCH: {
    status: 409,
    retryable: false,
    class: OffsetMismatchError,
    meaning: "a conditional append's expectedOffset is not the high watermark",
  },
  PRODUCER_FENCED: {
    status: 409,
    retryable: false,
    class: ProducerFencedError,
    meaning: 'a newer epoch of this idempotent producer exists',
  },
  OUT_OF_ORDER_SEQUENCE: {
    status: 409,
    retryable: false,
    class: SequenceGapError,
    meaning: "a batch's sequence is not the next one the partition expects",
  },
  DUPLICATE_SEQUENCE: {
    status: 409,
    retryable: false,
    class: DuplicateSequenceError,
    meaning: 'a batch repeats sequences committed too long ago to answer with their offsets',
  },
  UNKNOWN_MEMBER: {
    status: 409,
    retryable: false,
    class: UnknownMemberError,
    meaning: 'the member is not in the group (session expired, or it left)',
  },
  STALE_GENERATION: {
    status: 409,
    retryable: false,
    class: StaleGenerationError,
    meaning: "a fenced commit names a generation older than the group's",
  },
  PARTITION_NOT_ASSIGNED: {
    status: 409,
    retryable: false,
    class: PartitionNotAssignedError,
    meaning: 'a fenced commit names a partition the member does not own',
  },
  TOPIC_INCARNATION_MISMATCH: {
    status: 409,
    retryable: false,
    class: TopicIncarnationMismatchError,
    meaning: 'a commit carries offsets of a deleted incarnation of the topic',
  },
  GROUP_TOO_LARGE: {
    status: 409,
    retryable: false,
    class: GroupTooLargeError,
    meaning: "the group's state would not fit in one DynamoDB item",
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    retryable: false,
    class: PayloadTooLargeError,
    meaning: 'the request body is over the 6 MB Lambda payload limit',
  },
  RECORD_TOO_LARGE: { status: 413, retryable: false, class: RecordTooLargeError, meaning: "a record is over the topic's maxRecordBytes" },
  RESPONSE_TOO_LARGE: {
    status: 413,
    retryable: false,
    class: ResponseTooLargeError,
    meaning: 'the first record alone does not fit in a 6 MB response as encoded',
  },
  OFFSET_OUT_OF_RANGE: {
    status: 416,
    retryable: false,
    class: OffsetOutOfRangeError,
    meaning: 'the offset is below the log start or above the high watermark',
  },
  WRONG_FUNCTION: { status: 421, retryable: false, class: WrongFunctionError, meaning: "the route is served by the other function's URL" },
  THROTTLED: { status: 429, retryable: true, class: ThrottledError, meaning: 'DynamoDB or S3 throttled the request; slow down and retry' },
  CORRUPT_DATA: { status: 500, retryable: false, class: CorruptDataError, meaning: 'stored bytes fail their CRC32C or do not parse' },
  INTERNAL: { status: 500, retryable: false, class: InternalError, meaning: 'a bug in Strata' },
  OBJECT_MISSING: {
    status: 500,
    retryable: false,
    class: ObjectMissingError,
    meaning: 'an S3 object the engine went to read is gone; readers look again, anywhere else it is a bug',
    answeredAs: 'INTERNAL',
  },
  RETRY: {
    status: 503,
    retryable: true,
    class: RetryableError,
    meaning: 'not done before the deadline; an append may or may not be written, retry it',
  },
  STORAGE_UNAVAILABLE: {
    status: 503,
    retryable: true,
    class: StorageUnavailableError,
    meaning: 'DynamoDB or S3 failed in a way a retry may get past (5xx, timeout, network); a write may have been applied',
    answeredAs: 'RETRY',
  },
} as const satisfies Record<string, ErrorRow>;

/** A code of {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The row of a code, or undefined for a code the table does not have (one of a newer server, say). */
export function errorRow(code: string): ErrorRow | undefined {
  return Object.hasOwn(ERROR_CODES, code) ? ERROR_CODES[code as ErrorCode] : undefined;
}

/**
 * The error as the API answers it: the error itself, or for a code of the engine's own
 * (a row with `answeredAs`) an error of the code the API answers instead, caused by it.
 * The edge (`errorResponse` in functions/shared/http.ts) and a multi-partition append's
 * report of its failed partitions answer through it.
 */
export function answered(err: StrataError): StrataError {
  if (err instanceof StorageUnavailableError) {
    return new RetryableError('storage is temporarily unavailable; retry', RETRY_AFTER_SECONDS, { cause: err });
  }
  if (err instanceof ObjectMissingError) return new InternalError(`internal error: ${err.message}`, { cause: err });
  return err;
}
