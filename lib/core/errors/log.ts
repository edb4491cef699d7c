/**
 * Errors of the log's topics, appends and reads: a topic or partition that is not there
 * (or already is), a conditional or idempotent append that lost its race or broke the
 * producer's sequence, a record or answer too large, an offset out of range. Import them
 * from lib/core/errors.ts.
 */
import { StrataError } from './strata-error.js';

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
    super('PARTITION_NOT_FOUND', `topic '${topic}' has partitions 0..${partitions - 1}; partition ${partition} does not exist`, {
      details: { partitions },
    });
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
