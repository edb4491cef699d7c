/**
 * Every error the engine raises on purpose is a {@link StrataError}: a stable string
 * `code` that clients can switch on, the HTTP `status` it maps to at the edge, whether a
 * retry of the same request may succeed, and the values a caller needs to act on it.
 * `errorResponse` (in `functions/shared/http.ts`) turns any thrown value into the API's
 * error body.
 *
 * {@link ERROR_CODES}, at the end of this file, is the one table of the codes the API
 * answers: code, HTTP status, retryable, class and meaning (as kafkajs's
 * `src/protocol/error.js` lists Kafka's). Each class below names its code and takes the
 * status and retryable flag from the table; the client maps a wire code to its class
 * through the table, and test/lib/core/error-codes.test.ts holds docs/openapi.yaml to it.
 */

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
      typeof args[1] === 'string' ? fromTable(args as [ErrorCode, string, StrataErrorOptions?]) : (args as [string, number, string, boolean?, StrataErrorOptions?]);
    super(message, { cause: options?.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.retryable = retryable ?? false;
    this.details = options?.details ?? {};
  }
}

/** The general constructor's arguments for a code of the table: status and retryable from its row. */
function fromTable([code, message, options]: [ErrorCode, string, StrataErrorOptions?]): [string, number, string, boolean, StrataErrorOptions?] {
  const row = errorRow(code);
  if (!row) throw new TypeError(`'${code}' is not in ERROR_CODES; give its status: new StrataError(code, status, message)`);
  return [code, row.status, message, row.retryable, options];
}

/** Any operation: the request breaks a documented rule (shape, range, type). Fix the request. */
export class ValidationError extends StrataError {
  constructor(message: string, options: StrataErrorOptions = {}) {
    super('VALIDATION', message, options);
  }
}

/** Any operation with a body: the body is not JSON. */
export class InvalidJsonError extends StrataError {
  constructor(message: string) {
    super('INVALID_JSON', message);
  }
}

/** Read: a record's bytes are not UTF-8 and the caller asked for `encoding=utf8`. */
export class NotUtf8Error extends StrataError {
  constructor(readonly offset: number, field: 'key' | 'value' | 'header') {
    super(
      'NOT_UTF8',
      `the ${field} of the record at offset ${offset} is not valid UTF-8; read with encoding=base64`,
      { details: { offset } },
    );
  }
}

/** Unknown route or method. */
export class RouteNotFoundError extends StrataError {
  constructor(method: string, path: string) {
    super('ROUTE_NOT_FOUND', `no route for ${method} ${path}; see the API table in README.md`);
  }
}

/** A path the API has, with a method it does not serve there; `allowed` lists the methods it does. */
export class MethodNotAllowedError extends StrataError {
  constructor(method: string, path: string, readonly allowed: string[]) {
    super('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use ${allowed.join(' or ')}`, { details: { allowed } });
  }
}

/**
 * A deployment with function URLs: the request went to the URL of the function that
 * does not serve its route (a read sent to the append function's URL, say).
 */
export class WrongFunctionError extends StrataError {
  constructor(routeKey: string, readonly functionName: string) {
    super('WRONG_FUNCTION', `${routeKey} is served by the ${functionName} function: send it to that function's URL`, { details: { function: functionName } });
  }
}

/** `GET /v1/push`: the deployment has no push endpoint (the construct's `push` prop is off). */
export class PushNotConfiguredError extends StrataError {
  constructor() {
    super('PUSH_NOT_CONFIGURED', "this deployment has no push endpoint; consumers long-poll instead (the construct's push prop turns it on)");
  }
}

/** Push endpoint: a WebSocket frame whose `action` is none of the push protocol's (docs/push.md). */
export class UnknownActionError extends StrataError {
  constructor(action: unknown, actions: readonly string[]) {
    super('UNKNOWN_ACTION', `a frame's action must be one of ${actions.join(', ')}; got ${JSON.stringify(action ?? null)} (docs/push.md)`);
  }
}

/** Any topic operation: no topic of that name exists (or it was deleted). */
export class TopicNotFoundError extends StrataError {
  constructor(readonly topic: string) {
    super('TOPIC_NOT_FOUND', `topic '${topic}' does not exist; create it with POST /v1/topics`);
  }
}

/** Append/read/commit on a partition number the topic does not have. */
export class PartitionNotFoundError extends StrataError {
  constructor(
    readonly topic: string,
    readonly partition: number,
    readonly partitions: number,
  ) {
    super(
      'PARTITION_NOT_FOUND',
      `topic '${topic}' has partitions 0..${partitions - 1}; partition ${partition} does not exist`,
      { details: { partitions } },
    );
  }
}

/** Create topic: a topic of that name already exists. */
export class TopicExistsError extends StrataError {
  constructor(readonly topic: string) {
    super('TOPIC_EXISTS', `topic '${topic}' already exists; choose another name or delete it first`);
  }
}

/**
 * Conditional append: `expectedOffset` was not the partition's high watermark, so another
 * writer appended first. Re-read the partition and decide again.
 */
export class OffsetMismatchError extends StrataError {
  constructor(
    readonly expectedOffset: number,
    readonly highWatermark: number,
  ) {
    super(
      'OFFSET_MISMATCH',
      `expectedOffset ${expectedOffset} is not the high watermark ${highWatermark}; re-read and retry with expectedOffset=${highWatermark}`,
      { details: { expectedOffset, highWatermark } },
    );
  }
}

/**
 * Idempotent append: the producer's epoch is older than the one the partition has seen,
 * so a newer instance of this producer exists. The old instance must stop.
 */
export class ProducerFencedError extends StrataError {
  constructor(
    readonly producerId: string,
    readonly epoch: number,
    readonly currentEpoch: number,
  ) {
    super(
      'PRODUCER_FENCED',
      `producer '${producerId}' epoch ${epoch} is older than the current epoch ${currentEpoch}; a newer instance of this producer is active`,
      { details: { epoch, currentEpoch } },
    );
  }
}

/**
 * Idempotent append: the batch's first sequence number is not the next one expected
 * (a batch in between is missing), or a new epoch did not start at sequence 0.
 */
export class SequenceGapError extends StrataError {
  constructor(
    readonly producerId: string,
    readonly sequence: number,
    readonly expectedSequence: number,
  ) {
    super(
      'OUT_OF_ORDER_SEQUENCE',
      `producer '${producerId}' sent sequence ${sequence} but the partition expects ${expectedSequence}; resend the missing batches in order`,
      { details: { sequence, expectedSequence } },
    );
  }
}

/**
 * Idempotent append: the batch repeats sequence numbers that were committed too long ago
 * to be remembered, or that overlap a remembered batch without matching it exactly.
 */
export class DuplicateSequenceError extends StrataError {
  constructor(
    readonly producerId: string,
    readonly sequence: number,
    readonly lastSequence: number,
  ) {
    super(
      'DUPLICATE_SEQUENCE',
      `producer '${producerId}' sent sequence ${sequence}, already committed (last sequence ${lastSequence}) and not one of the recent batches whose offsets are remembered`,
      { details: { sequence, lastSequence } },
    );
  }
}

/** Request body larger than the API accepts (Lambda's 6 MB payload limit). */
export class PayloadTooLargeError extends StrataError {
  constructor(message: string) {
    super('PAYLOAD_TOO_LARGE', message);
  }
}

/**
 * Read: the first record alone, as encoded for the response, does not fit in a Lambda
 * response (6 MB): typically a record of several MiB read as base64.
 */
export class ResponseTooLargeError extends StrataError {
  constructor(
    readonly offset: number,
    readonly bytes: number,
    readonly maxBytes: number,
  ) {
    super(
      'RESPONSE_TOO_LARGE',
      `the record at offset ${offset} is ${bytes} bytes once encoded, over the ${maxBytes}-byte response limit; ` +
        'read it with encoding=utf8 if it is text (base64 adds a third), or through the engine API',
      { details: { offset, bytes, maxBytes } },
    );
  }
}

/** Append: one record's encoded size is over the topic's `maxRecordBytes`. */
export class RecordTooLargeError extends StrataError {
  constructor(
    readonly index: number,
    readonly bytes: number,
    readonly maxRecordBytes: number,
  ) {
    super(
      'RECORD_TOO_LARGE',
      `record ${index} is ${bytes} bytes, over the topic's maxRecordBytes ${maxRecordBytes}; split it or raise maxRecordBytes with PATCH /v1/topics/{topic}`,
      { details: { index, bytes, maxRecordBytes } },
    );
  }
}

/** Read: the offset is below the log start (retention removed it) or above the high watermark. */
export class OffsetOutOfRangeError extends StrataError {
  constructor(
    readonly offset: number,
    readonly logStartOffset: number,
    readonly highWatermark: number,
  ) {
    super(
      'OFFSET_OUT_OF_RANGE',
      `offset ${offset} is outside [${logStartOffset}, ${highWatermark}]; read from logStartOffset or from the highWatermark`,
      {
        details: { offset, logStartOffset, highWatermark },
      },
    );
  }
}

/** DynamoDB or S3 throttled the request and retries up to the deadline did not get through. */
export class ThrottledError extends StrataError {
  constructor(message: string, options: StrataErrorOptions = {}) {
    super('THROTTLED', message, options);
  }
}

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

/**
 * Group heartbeat, leave or fenced offset commit: the member is not in the group — its
 * session expired without a heartbeat, or it left. Its partitions may already belong to
 * another member. Join again (POST /v1/groups/{group}/members).
 */
export class UnknownMemberError extends StrataError {
  constructor(
    readonly group: string,
    readonly memberId: string,
  ) {
    super(
      'UNKNOWN_MEMBER',
      `member '${memberId}' is not in group '${group}' (its session expired or it left); join the group again`,
      { details: { memberId } },
    );
  }
}

/**
 * Fenced offset commit: the commit names a generation older than the group's current
 * one, so the group rebalanced and the member's partitions may have moved. Heartbeat to
 * get the new assignment; progress on partitions the member lost is not committed.
 */
export class StaleGenerationError extends StrataError {
  constructor(
    readonly group: string,
    readonly generation: number,
    readonly currentGeneration: number,
  ) {
    super(
      'STALE_GENERATION',
      `group '${group}' is at generation ${currentGeneration}, not ${generation}: it rebalanced; heartbeat for the new assignment and commit only partitions you still own`,
      { details: { generation, currentGeneration } },
    );
  }
}

/** Fenced offset commit: the partition is not assigned to this member in this generation. */
export class PartitionNotAssignedError extends StrataError {
  constructor(
    readonly group: string,
    readonly memberId: string,
    readonly topic: string,
    readonly partition: number,
    readonly generation: number,
  ) {
    super(
      'PARTITION_NOT_ASSIGNED',
      `${topic} partition ${partition} is not assigned to member '${memberId}' of group '${group}' in generation ${generation}; commit only the partitions the group gave you`,
      { details: { memberId, topic, partition, generation } },
    );
  }
}

/**
 * Offset commit: the positions were read from an earlier incarnation of the topic (the
 * `topicId` the commit carries), and the topic has since been deleted and re-created under
 * the same name. Offsets of one incarnation mean nothing in another: stored against the
 * new topic they would make the group skip its first records. Nothing is committed; start
 * the partitions again from your reset policy (e.g. `earliest`) and commit what you read
 * from the new topic.
 */
export class TopicIncarnationMismatchError extends StrataError {
  constructor(
    readonly topic: string,
    readonly topicId: string,
    readonly currentTopicId: string,
  ) {
    super(
      'TOPIC_INCARNATION_MISMATCH',
      `topic '${topic}' was deleted and re-created: these offsets were read from its incarnation ${topicId}, it is now ${currentTopicId}; ` +
        'restart the partitions from your reset policy (e.g. earliest) and commit positions read from the new topic',
      { details: { topic, topicId, currentTopicId } },
    );
  }
}

/**
 * Group join (or any membership change): the group's members and the assignment of every
 * partition they subscribe to are one DynamoDB item, and with this change it would be
 * larger than MAX_GROUP_STATE_BYTES (DynamoDB's items are at most 400 KB). Nothing is
 * written. Use fewer members or fewer topics per member, topics with fewer partitions or
 * shorter names, or split the group into several groups.
 */
export class GroupTooLargeError extends StrataError {
  constructor(
    readonly group: string,
    readonly bytes: number,
    readonly maxBytes: number,
    readonly members: number,
  ) {
    super(
      'GROUP_TOO_LARGE',
      `group '${group}' would need ${bytes} bytes for its ${members} members and the assignment of their partitions, over the ${maxBytes}-byte limit of one group (one DynamoDB item); ` +
        'use fewer members or fewer topics per member, topics with fewer partitions or shorter names, or split the group into several groups',
      { details: { bytes, maxBytes, members } },
    );
  }
}

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
}

/**
 * The one table of the error codes the API answers, `{"error": {"code", "message",
 * ...details}}`. A code is a promise to clients in the field: never change one's status
 * or meaning, add a new code instead. docs/openapi.yaml lists the same codes with the
 * same statuses (test/lib/core/error-codes.test.ts).
 */
export const ERROR_CODES = {
  VALIDATION: { status: 400, retryable: false, class: ValidationError, meaning: 'the request breaks a documented rule (shape, range, type)' },
  INVALID_JSON: { status: 400, retryable: false, class: InvalidJsonError, meaning: 'the body (or a push frame) is not JSON' },
  NOT_UTF8: { status: 400, retryable: false, class: NotUtf8Error, meaning: 'a record read with encoding=utf8 is not UTF-8; read it as base64' },
  UNKNOWN_ACTION: { status: 400, retryable: false, class: UnknownActionError, meaning: "a push frame's action is not one of the protocol's" },
  ROUTE_NOT_FOUND: { status: 404, retryable: false, class: RouteNotFoundError, meaning: 'no route has this path' },
  PUSH_NOT_CONFIGURED: { status: 404, retryable: false, class: PushNotConfiguredError, meaning: 'the deployment has no push endpoint; long-poll instead' },
  TOPIC_NOT_FOUND: { status: 404, retryable: false, class: TopicNotFoundError, meaning: 'no topic of that name exists' },
  PARTITION_NOT_FOUND: { status: 404, retryable: false, class: PartitionNotFoundError, meaning: 'the topic has no partition of that number' },
  METHOD_NOT_ALLOWED: { status: 405, retryable: false, class: MethodNotAllowedError, meaning: 'the path exists but not with this method' },
  TOPIC_EXISTS: { status: 409, retryable: false, class: TopicExistsError, meaning: 'a topic of that name already exists' },
  OFFSET_MISMATCH: { status: 409, retryable: false, class: OffsetMismatchError, meaning: "a conditional append's expectedOffset is not the high watermark" },
  PRODUCER_FENCED: { status: 409, retryable: false, class: ProducerFencedError, meaning: 'a newer epoch of this idempotent producer exists' },
  OUT_OF_ORDER_SEQUENCE: { status: 409, retryable: false, class: SequenceGapError, meaning: "a batch's sequence is not the next one the partition expects" },
  DUPLICATE_SEQUENCE: { status: 409, retryable: false, class: DuplicateSequenceError, meaning: 'a batch repeats sequences committed too long ago to answer with their offsets' },
  UNKNOWN_MEMBER: { status: 409, retryable: false, class: UnknownMemberError, meaning: 'the member is not in the group (session expired, or it left)' },
  STALE_GENERATION: { status: 409, retryable: false, class: StaleGenerationError, meaning: "a fenced commit names a generation older than the group's" },
  PARTITION_NOT_ASSIGNED: { status: 409, retryable: false, class: PartitionNotAssignedError, meaning: 'a fenced commit names a partition the member does not own' },
  TOPIC_INCARNATION_MISMATCH: { status: 409, retryable: false, class: TopicIncarnationMismatchError, meaning: 'a commit carries offsets of a deleted incarnation of the topic' },
  GROUP_TOO_LARGE: { status: 409, retryable: false, class: GroupTooLargeError, meaning: "the group's state would not fit in one DynamoDB item" },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, class: PayloadTooLargeError, meaning: 'the request body is over the 6 MB Lambda payload limit' },
  RECORD_TOO_LARGE: { status: 413, retryable: false, class: RecordTooLargeError, meaning: "a record is over the topic's maxRecordBytes" },
  RESPONSE_TOO_LARGE: { status: 413, retryable: false, class: ResponseTooLargeError, meaning: 'the first record alone does not fit in a 6 MB response as encoded' },
  OFFSET_OUT_OF_RANGE: { status: 416, retryable: false, class: OffsetOutOfRangeError, meaning: 'the offset is below the log start or above the high watermark' },
  WRONG_FUNCTION: { status: 421, retryable: false, class: WrongFunctionError, meaning: "the route is served by the other function's URL" },
  THROTTLED: { status: 429, retryable: true, class: ThrottledError, meaning: 'DynamoDB or S3 throttled the request; slow down and retry' },
  CORRUPT_DATA: { status: 500, retryable: false, class: CorruptDataError, meaning: 'stored bytes fail their CRC32C or do not parse' },
  INTERNAL: { status: 500, retryable: false, class: InternalError, meaning: 'a bug in Strata' },
  RETRY: { status: 503, retryable: true, class: RetryableError, meaning: 'not done before the deadline; an append may or may not be written, retry it' },
} as const satisfies Record<string, ErrorRow>;

/** A code of {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The row of a code, or undefined for a code the table does not have (one of a newer server, say). */
export function errorRow(code: string): ErrorRow | undefined {
  return Object.hasOwn(ERROR_CODES, code) ? ERROR_CODES[code as ErrorCode] : undefined;
}
