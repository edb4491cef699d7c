/**
 * Every error the engine raises on purpose is a {@link StrataError}: a stable string
 * `code` that clients can switch on, the HTTP `status` it maps to at the edge, whether a
 * retry of the same request may succeed, and the values a caller needs to act on it.
 * `errorResponse` (in `functions/shared/http.ts`) turns any thrown value into the API's
 * error body.
 */

export interface StrataErrorOptions {
  cause?: unknown;
  /** Extra fields copied into the HTTP error body (e.g. `highWatermark`). */
  details?: Record<string, unknown>;
}

export class StrataError extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    readonly retryable = false,
    options: StrataErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = new.target.name;
    this.details = options.details ?? {};
  }
  readonly details: Record<string, unknown>;
}

/** Any operation: the request breaks a documented rule (shape, range, type). Fix the request. */
export class ValidationError extends StrataError {
  constructor(message: string, options: StrataErrorOptions = {}) {
    super('VALIDATION', 400, message, false, options);
  }
}

/** Any operation with a body: the body is not JSON. */
export class InvalidJsonError extends StrataError {
  constructor(message: string) {
    super('INVALID_JSON', 400, message);
  }
}

/** Read: a record's bytes are not UTF-8 and the caller asked for `encoding=utf8`. */
export class NotUtf8Error extends StrataError {
  constructor(readonly offset: number, field: 'key' | 'value' | 'header') {
    super(
      'NOT_UTF8',
      400,
      `the ${field} of the record at offset ${offset} is not valid UTF-8; read with encoding=base64`,
      false,
      { details: { offset } },
    );
  }
}

/** Unknown route or method. */
export class RouteNotFoundError extends StrataError {
  constructor(method: string, path: string) {
    super('ROUTE_NOT_FOUND', 404, `no route for ${method} ${path}; see the API table in README.md`);
  }
}

/** Any topic operation: no topic of that name exists (or it was deleted). */
export class TopicNotFoundError extends StrataError {
  constructor(readonly topic: string) {
    super('TOPIC_NOT_FOUND', 404, `topic '${topic}' does not exist; create it with POST /v1/topics`);
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
      404,
      `topic '${topic}' has partitions 0..${partitions - 1}; partition ${partition} does not exist`,
      false,
      { details: { partitions } },
    );
  }
}

/** Create topic: a topic of that name already exists. */
export class TopicExistsError extends StrataError {
  constructor(readonly topic: string) {
    super('TOPIC_EXISTS', 409, `topic '${topic}' already exists; choose another name or delete it first`);
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
      409,
      `expectedOffset ${expectedOffset} is not the high watermark ${highWatermark}; re-read and retry with expectedOffset=${highWatermark}`,
      false,
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
      409,
      `producer '${producerId}' epoch ${epoch} is older than the current epoch ${currentEpoch}; a newer instance of this producer is active`,
      false,
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
      409,
      `producer '${producerId}' sent sequence ${sequence} but the partition expects ${expectedSequence}; resend the missing batches in order`,
      false,
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
      409,
      `producer '${producerId}' sent sequence ${sequence}, already committed (last sequence ${lastSequence}) and not one of the recent batches whose offsets are remembered`,
      false,
      { details: { sequence, lastSequence } },
    );
  }
}

/** Request body larger than the API accepts (Lambda's 6 MB payload limit). */
export class PayloadTooLargeError extends StrataError {
  constructor(message: string) {
    super('PAYLOAD_TOO_LARGE', 413, message);
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
      413,
      `the record at offset ${offset} is ${bytes} bytes once encoded, over the ${maxBytes}-byte response limit; ` +
        'read it with encoding=utf8 if it is text (base64 adds a third), or through the engine API',
      false,
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
      413,
      `record ${index} is ${bytes} bytes, over the topic's maxRecordBytes ${maxRecordBytes}; split it or raise maxRecordBytes with PATCH /v1/topics/{topic}`,
      false,
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
      416,
      `offset ${offset} is outside [${logStartOffset}, ${highWatermark}]; read from logStartOffset or from the highWatermark`,
      false,
      {
        details: { offset, logStartOffset, highWatermark },
      },
    );
  }
}

/** DynamoDB or S3 throttled the request and retries up to the deadline did not get through. */
export class ThrottledError extends StrataError {
  constructor(message: string, options: StrataErrorOptions = {}) {
    super('THROTTLED', 429, message, true, options);
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
    super('RETRY', 503, message, true, options);
  }
}

/** Read: stored bytes fail their CRC32C or do not parse. Never returned as data. */
export class CorruptDataError extends StrataError {
  constructor(message: string, options: StrataErrorOptions = {}) {
    super('CORRUPT_DATA', 500, message, false, options);
  }
}

/** Something the engine did not expect: a bug. */
export class InternalError extends StrataError {
  constructor(message: string, options: StrataErrorOptions = {}) {
    super('INTERNAL', 500, message, false, options);
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
      409,
      `member '${memberId}' is not in group '${group}' (its session expired or it left); join the group again`,
      false,
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
      409,
      `group '${group}' is at generation ${currentGeneration}, not ${generation}: it rebalanced; heartbeat for the new assignment and commit only partitions you still own`,
      false,
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
      409,
      `${topic} partition ${partition} is not assigned to member '${memberId}' of group '${group}' in generation ${generation}; commit only the partitions the group gave you`,
      false,
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
      409,
      `topic '${topic}' was deleted and re-created: these offsets were read from its incarnation ${topicId}, it is now ${currentTopicId}; ` +
        'restart the partitions from your reset policy (e.g. earliest) and commit positions read from the new topic',
      false,
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
      409,
      `group '${group}' would need ${bytes} bytes for its ${members} members and the assignment of their partitions, over the ${maxBytes}-byte limit of one group (one DynamoDB item); ` +
        'use fewer members or fewer topics per member, topics with fewer partitions or shorter names, or split the group into several groups',
      false,
      { details: { bytes, maxBytes, members } },
    );
  }
}
