/**
 * An append request's records as the topic takes them: how many one request may carry,
 * each record checked against the topic (key on a compacted topic, size) with its
 * timestamp defaulted, the partition each goes to (explicit, murmur2 of the key, or one
 * per request for keyless records), and the idempotent producer's sequence per partition.
 * Every refusal is a ValidationError (or RecordTooLargeError) naming the record's index.
 */
import { MAX_RECORDS_PER_APPEND, MAX_TAIL_ITEM_BYTES } from '../core/constants.js';
import { RecordTooLargeError, ValidationError } from '../core/errors.js';
import type { LogRecord } from '../core/record.js';
import { BATCH_HEADER_BYTES } from '../format/record-batch.js';
import { encodedRecordSize } from '../format/record-batch-encoder.js';
import type { TopicMeta } from '../ports/model.js';
import { idempotentKeylessPartition, partitionForKey, type RoundRobinPartitioner } from '../topics/partitioner.js';
import type { AppendRecordInput, TopicProducerInput } from './appender.js';
import { PLACEMENT_SLACK_BYTES } from './encode-chunks.js';
import type { ProducerStamp } from './producer-state.js';

/** Largest record a tail item holds (DynamoDB's 400 KB item limit): the limit without an object store to stage in. */
const MAX_TAIL_RECORD_BYTES = MAX_TAIL_ITEM_BYTES - BATCH_HEADER_BYTES - PLACEMENT_SLACK_BYTES;

/** Refuses an empty request and one over MAX_RECORDS_PER_APPEND. */
export function checkCount(records: AppendRecordInput[]): void {
  if (records.length === 0) throw new ValidationError('records is empty; send at least one record');
  if (records.length > MAX_RECORDS_PER_APPEND) {
    throw new ValidationError(`records has ${records.length} entries; send at most ${MAX_RECORDS_PER_APPEND} per request`);
  }
}

/** A record's partition: its explicit one (checked), murmur2 of its key, or the request's keyless partition. */
export function choosePartition(meta: TopicMeta, input: AppendRecordInput, index: number, keyless: number): number {
  if (input.partition !== undefined) {
    if (!Number.isInteger(input.partition) || input.partition < 0 || input.partition >= meta.partitions) {
      throw new ValidationError(
        `records[${index}].partition ${input.partition} does not exist; topic '${meta.name}' has partitions 0..${meta.partitions - 1}`,
      );
    }
    return input.partition;
  }
  return input.key ? partitionForKey(input.key, meta.partitions) : keyless;
}

/** The record as the log stores it, refused when the topic or the size limit forbids it. */
export function toRecord(meta: TopicMeta, input: AppendRecordInput, index: number, now: number, canStage: boolean): LogRecord {
  if (input.key === null && meta.config.cleanupPolicy !== 'delete') {
    throw new ValidationError(
      `records[${index}] has no key, but topic '${meta.name}' is compacted (cleanupPolicy ${meta.config.cleanupPolicy}); every record needs a key`,
      { details: { index } },
    );
  }
  const record: LogRecord = {
    key: input.key,
    value: input.value,
    headers: input.headers ?? [],
    timestamp: input.timestamp ?? now,
  };
  const size = encodedRecordSize(record);
  const limit = canStage ? meta.config.maxRecordBytes : Math.min(meta.config.maxRecordBytes, MAX_TAIL_RECORD_BYTES);
  if (size > limit) throw new RecordTooLargeError(index, size, limit);
  return record;
}

/**
 * The partition of a request's keyless records. A plain request takes the next one
 * round-robin. An idempotent request takes one that depends only on what its retries
 * repeat (producer id, epoch and sequences), among the partitions it gives a sequence
 * for: a retry then lands where the first attempt did and is answered as a duplicate,
 * where a round-robin choice would write it again on another partition whose sequence
 * is also next (and leave the first partition's sequence behind).
 */
export function keylessPartitionOf(meta: TopicMeta, producer: TopicProducerInput | undefined, roundRobin: RoundRobinPartitioner): number {
  if (!producer) return roundRobin.next(meta.partitions);
  const partition = idempotentKeylessPartition(producer.producerId, producer.epoch, producer.sequences, meta.partitions);
  if (partition === undefined) {
    throw new ValidationError(
      `producer.sequences gives no sequence for a partition of topic '${meta.name}' (partitions 0..${meta.partitions - 1}); keyless records of an idempotent append go to one of the partitions it gives a sequence for`,
    );
  }
  return partition;
}

/** Maps a topic-level producer's per-partition sequences onto the partitions written. */
export function producerStamps(producer: TopicProducerInput | undefined, partitions: number[]): Map<number, ProducerStamp> {
  const stamps = new Map<number, ProducerStamp>();
  if (!producer) return stamps;
  const missing = partitions.filter((p) => producer.sequences[String(p)] === undefined);
  if (missing.length > 0) {
    throw new ValidationError(
      `producer.sequences has no sequence for partition(s) ${missing.join(', ')} that this request writes to; give one per partition or choose partitions explicitly`,
    );
  }
  for (const p of partitions) {
    stamps.set(p, { producerId: producer.producerId, epoch: producer.epoch, sequence: producer.sequences[String(p)]! });
  }
  return stamps;
}
