/**
 * Append: validates records against the topic, chooses each record's partition, encodes
 * each partition's records once, and hands them to that partition's sequencer. A
 * multi-partition append commits every partition in parallel; each partition's records
 * commit atomically, in request order, at contiguous offsets.
 */
import type { Clock } from '../core/clock.js';
import { isRetryable } from '../core/retry.js';
import {
  DEFAULT_APPEND_DEADLINE_MS,
  MAX_RECORDS_PER_APPEND,
  MAX_TAIL_ITEM_BYTES,
  MAX_TRANSACTION_BYTES,
  RETRY_AFTER_SECONDS,
} from '../core/constants.js';
import { PayloadTooLargeError, RecordTooLargeError, RetryableError, StrataError, ValidationError } from '../core/errors.js';
import { randomUUID } from 'node:crypto';
import { partitionKey, type PartitionRef } from '../ports/model.js';
import { stagedObjectKey } from '../format/object-keys.js';
import { idempotentKeylessPartition, partitionForKey, RoundRobinPartitioner } from '../topics/partitioner.js';
import type { ProducerStamp } from './producer-state.js';
import { BATCH_HEADER_BYTES, type Compression } from '../format/record-batch.js';
import { encodeBatch, encodedRecordSize } from '../format/record-batch-encoder.js';
import type { LogRecord, RecordHeader } from '../core/record.js';
import type { AppendResult, EncodedChunk, PartitionAppend, PartitionSequencer } from './sequencer.js';
import type { TopicService } from '../topics/topic-service.js';
import type { TopicMeta } from '../ports/model.js';
import type { StagedStores } from '../staging/tier.js';

/** A record as an append request gives it; `timestamp` defaults to the append time. */
export interface AppendRecordInput {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: RecordHeader[];
  timestamp?: number;
  /** Explicit partition; otherwise murmur2 of the key, or one partition per request for keyless records. */
  partition?: number;
}

/** The idempotent-producer fields of a topic-level append: one sequence per partition written. */
export interface TopicProducerInput {
  producerId: string;
  epoch: number;
  /** First sequence number of this request's batch for each partition it writes to. */
  sequences: Record<string, number>;
}

export interface AppendRequest {
  records: AppendRecordInput[];
  producer?: TopicProducerInput;
}

export interface PartitionAppendRequest {
  records: AppendRecordInput[];
  producer?: ProducerStamp;
  expectedOffset?: number;
}

export interface RecordOffset {
  partition: number;
  offset: number;
}

export interface AppendResponse {
  offsets: RecordOffset[];
  /** Per partition written: its offsets and whether the batch was a deduplicated retry. */
  partitions: { partition: number; baseOffset: number; lastOffset: number; duplicate: boolean }[];
}

/**
 * Room left in a record's size estimate for the varint deltas that depend on where it
 * sits in its batch (offset delta ≤ 3 bytes, timestamp delta ≤ 10 bytes).
 */
const PLACEMENT_SLACK_BYTES = 16;
/** Largest record a tail item holds (DynamoDB's 400 KB item limit): the limit without an object store to stage in. */
const MAX_TAIL_RECORD_BYTES = MAX_TAIL_ITEM_BYTES - BATCH_HEADER_BYTES - PLACEMENT_SLACK_BYTES;

/** The records one append committed to a partition, from `baseOffset` on (for the push path's notification). */
export interface AppendedRecords {
  baseOffset: number;
  records: LogRecord[];
}

/** Tells whoever waits on a partition that an append committed (EngineOptions.announcer). */
export type Announce = (highWatermark: number, appended: AppendedRecords) => Promise<void>;

export interface AppenderOptions {
  deadlineMs?: number;
  /**
   * Called (at most once per partition per FLUSH_TRIGGER_INTERVAL_MS) when this
   * process's appends took a partition's unflushed tail past the topic's flushBytes.
   */
  onFlushDue?: (ref: PartitionRef) => Promise<void> | void;
  /** Called as each partition's append starts; its answer after the commit, before the acknowledgement (EngineOptions.announcer). */
  announcer?: (ref: PartitionRef) => Announce;
}

/** Least time between two flush requests for one partition from one process. */
const FLUSH_TRIGGER_INTERVAL_MS = 5_000;

export class Appender {
  private readonly keyless = new RoundRobinPartitioner();
  private readonly deadlineMs: number;
  private readonly onFlushDue: AppenderOptions['onFlushDue'];
  private readonly announcer: AppenderOptions['announcer'];
  private readonly lastFlushRequest = new Map<string, number>();

  constructor(
    private readonly topics: TopicService,
    private readonly sequencer: (ref: PartitionRef) => PartitionSequencer,
    private readonly clock: Clock,
    options: AppenderOptions = {},
    /** Where large appends are staged (the main store or the staging tier's); without a store every append must fit DynamoDB items. */
    private readonly staging?: StagedStores,
  ) {
    this.deadlineMs = options.deadlineMs ?? DEFAULT_APPEND_DEADLINE_MS;
    this.onFlushDue = options.onFlushDue;
    this.announcer = options.announcer;
  }

  /** Appends to a topic, choosing partitions; answers each record's partition and offset in request order. */
  async append(topic: string, request: AppendRequest): Promise<AppendResponse> {
    const meta = await this.topics.get(topic);
    checkCount(request.records);
    const now = this.clock.now();
    const keylessPartition = request.records.some((r) => r.key === null && r.partition === undefined)
      ? keylessPartitionOf(meta, request.producer, this.keyless)
      : -1;
    const placed = request.records.map((input, index) => {
      const partition = choosePartition(meta, input, index, keylessPartition);
      return { partition, record: toRecord(meta, input, index, now, this.canStage()) };
    });
    const byPartition = new Map<number, LogRecord[]>();
    for (const { partition, record } of placed) {
      const list = byPartition.get(partition) ?? [];
      list.push(record);
      byPartition.set(partition, list);
    }
    const stamps = producerStamps(request.producer, [...byPartition.keys()]);
    const results = await this.commitAll(meta, byPartition, stamps, undefined);
    const next = new Map<number, number>();
    const offsets = placed.map(({ partition }) => {
      const base = results.get(partition)!.baseOffset;
      const i = next.get(partition) ?? 0;
      next.set(partition, i + 1);
      return { partition, offset: base + i };
    });
    return { offsets, partitions: summary(results) };
  }

  /** Appends to one partition; `expectedOffset` makes it conditional on the high watermark. */
  async appendToPartition(topic: string, partition: number, request: PartitionAppendRequest): Promise<AppendResponse> {
    const { meta } = await this.topics.partition(topic, partition);
    checkCount(request.records);
    const now = this.clock.now();
    const records = request.records.map((input, index) => {
      if (input.partition !== undefined && input.partition !== partition) {
        throw new ValidationError(
          `records[${index}].partition is ${input.partition} but the request is for partition ${partition}; drop the field or use POST /v1/topics/${topic}/records`,
        );
      }
      return toRecord(meta, input, index, now, this.canStage());
    });
    const stamps = new Map<number, ProducerStamp>(request.producer ? [[partition, request.producer]] : []);
    const results = await this.commitAll(meta, new Map([[partition, records]]), stamps, request.expectedOffset);
    const result = results.get(partition)!;
    return {
      offsets: records.map((_, i) => ({ partition, offset: result.baseOffset + i })),
      partitions: summary(results),
    };
  }

  private async commitAll(
    meta: TopicMeta,
    byPartition: Map<number, LogRecord[]>,
    stamps: Map<number, ProducerStamp>,
    expectedOffset: number | undefined,
  ): Promise<Map<number, AppendResult>> {
    const deadline = this.clock.now() + this.deadlineMs;
    const work = [...byPartition].map(([partition, records]) => {
      const stage = this.canStage() && estimateBytes(records) > meta.config.stageBytes;
      const append: PartitionAppend = {
        ...(stage ? { chunks: [], recordCount: records.length, bytes: 0 } : encodeChunks(records, meta.config.compression)),
        deadline,
        ...(stamps.has(partition) ? { producer: stamps.get(partition)! } : {}),
        ...(expectedOffset !== undefined ? { expectedOffset } : {}),
      };
      return { partition, append, records: stage ? records : undefined };
    });
    for (const { partition, append } of work) {
      if (append.bytes > MAX_TRANSACTION_BYTES) {
        throw new PayloadTooLargeError(
          `the records for partition ${partition} take ${append.bytes} bytes; one request may carry at most ${MAX_TRANSACTION_BYTES} bytes per partition, split it`,
        );
      }
    }
    const settled = await Promise.allSettled(
      work.map(async ({ partition, append, records }) => {
        const ref = { topic: meta.name, topicId: meta.topicId, partition };
        // Started now, so that its lookups (push subscribers) overlap the commit.
        const announce = this.announcer?.(ref);
        if (records) Object.assign(append, await this.stage(ref, records, meta.config.compression));
        const sequencer = this.sequencer(ref);
        const result = await sequencer.append(append);
        const announced =
          result.duplicate || !announce
            ? undefined
            : announce(result.lastOffset + 1, { baseOffset: result.baseOffset, records: byPartition.get(partition)! }).catch(() => undefined);
        if (result.tailBytes >= meta.config.flushBytes) await this.requestFlush(ref, sequencer);
        await announced;
        return result;
      }),
    );
    const results = new Map<number, AppendResult>();
    const failures: { partition: number; error: unknown }[] = [];
    settled.forEach((outcome, i) => {
      const partition = work[i]!.partition;
      if (outcome.status === 'fulfilled') results.set(partition, outcome.value);
      else failures.push({ partition, error: outcome.reason });
    });
    if (failures.length > 0) throw partialFailure(failures, results);
    return results;
  }

  /** Whether an append may be staged: the engine has a store to stage in. */
  private canStage(): boolean {
    return this.staging?.forWrites() !== undefined;
  }

  /**
   * Uploads a large append's records as one batch (offsets relative to 0) before its
   * commit, to the staging tier's store when there is one (the item records which). If
   * the commit then fails, the object is an orphan that garbage collection removes;
   * nothing points at it.
   */
  private async stage(
    ref: PartitionRef,
    records: LogRecord[],
    compression: Compression,
  ): Promise<Pick<PartitionAppend, 'staged' | 'bytes'>> {
    const batch = encodeBatch(records, { baseOffset: 0, compression });
    const key = stagedObjectKey(ref, randomUUID());
    const target = this.staging!.forWrites()!;
    await target.objects.put(key, batch);
    const { min, max } = timestampRange(records);
    const object = { key, bytes: batch.byteLength, ...(target.store ? { store: target.store } : {}) };
    return { staged: { object, minTimestamp: min, maxTimestamp: max }, bytes: batch.byteLength };
  }

  /**
   * Asks for a flush of `ref`, unless this process asked recently. Awaited, so that a
   * Lambda does not freeze with the request unsent; a failure only delays the flush to
   * the next scheduled pass, so it never fails the append.
   */
  private async requestFlush(ref: PartitionRef, sequencer: PartitionSequencer): Promise<void> {
    if (!this.onFlushDue) return;
    const key = partitionKey(ref);
    const now = this.clock.now();
    if (now - (this.lastFlushRequest.get(key) ?? -Infinity) < FLUSH_TRIGGER_INTERVAL_MS) return;
    this.lastFlushRequest.set(key, now);
    sequencer.flushRequested();
    try {
      await this.onFlushDue(ref);
    } catch {
      // The trigger logs its own failures; the schedule flushes what a lost trigger left.
    }
  }
}

/** The error of a multi-partition append in which some partitions failed; says which committed. */
function partialFailure(failures: { partition: number; error: unknown }[], results: Map<number, AppendResult>): unknown {
  const first = failures[0]!.error;
  if (results.size === 0 && failures.length === 1) return first;
  // Some partitions committed: the answer must say which, whatever the first error was.
  const known = failures.find((f) => f.error instanceof StrataError)?.error as StrataError | undefined;
  const base = known ?? new RetryableError('storage failed for some partitions; see "partitions"', RETRY_AFTER_SECONDS, { cause: first });
  return annotate(base, failures, results);
}

function annotate(
  first: StrataError,
  failures: { partition: number; error: unknown }[],
  results: Map<number, AppendResult>,
): StrataError {
  return new StrataError(
    first.code,
    first.status,
    `${first.message} (partitions ${failures.map((f) => f.partition).join(', ')} failed; ${results.size} committed: see "partitions")`,
    first.retryable,
    {
      cause: first,
      details: {
        ...first.details,
        partitions: [
          ...[...results].map(([partition, r]) => ({ partition, baseOffset: r.baseOffset, lastOffset: r.lastOffset })),
          ...failures.map(({ partition, error }) => ({
            partition,
            error: partitionError(error),
          })),
        ],
      },
    },
  );
}

/**
 * How one failed partition of a multi-partition append is reported: a storage error the
 * engine did not wrap (a staged batch's S3 PUT, say) is RETRY when retrying may succeed,
 * not INTERNAL, which says "a bug".
 */
function partitionError(error: unknown): { code: string; message?: string } {
  if (error instanceof StrataError) return { code: error.code, message: error.message };
  return isRetryable(error) ? { code: 'RETRY', message: 'storage failed for this partition; retry' } : { code: 'INTERNAL' };
}

function summary(results: Map<number, AppendResult>): AppendResponse['partitions'] {
  return [...results]
    .sort(([a], [b]) => a - b)
    .map(([partition, r]) => ({ partition, baseOffset: r.baseOffset, lastOffset: r.lastOffset, duplicate: r.duplicate }));
}

function checkCount(records: AppendRecordInput[]): void {
  if (records.length === 0) throw new ValidationError('records is empty; send at least one record');
  if (records.length > MAX_RECORDS_PER_APPEND) {
    throw new ValidationError(`records has ${records.length} entries; send at most ${MAX_RECORDS_PER_APPEND} per request`);
  }
}

function choosePartition(meta: TopicMeta, input: AppendRecordInput, index: number, keyless: number): number {
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

function toRecord(meta: TopicMeta, input: AppendRecordInput, index: number, now: number, canStage: boolean): LogRecord {
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
function keylessPartitionOf(meta: TopicMeta, producer: TopicProducerInput | undefined, roundRobin: RoundRobinPartitioner): number {
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
function producerStamps(producer: TopicProducerInput | undefined, partitions: number[]): Map<number, ProducerStamp> {
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

/** About how many bytes the records take encoded (the staging decision needs no encoding). */
function estimateBytes(records: LogRecord[]): number {
  let bytes = BATCH_HEADER_BYTES;
  for (const r of records) bytes += encodedRecordSize(r) + PLACEMENT_SLACK_BYTES;
  return bytes;
}

function timestampRange(records: LogRecord[]): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  for (const r of records) {
    if (r.timestamp < min) min = r.timestamp;
    if (r.timestamp > max) max = r.timestamp;
  }
  return { min, max };
}

/** Encodes a partition's records into batches small enough for one tail item each. */
export function encodeChunks(
  records: LogRecord[],
  compression: Compression = 'none',
): Pick<PartitionAppend, 'chunks' | 'recordCount' | 'bytes'> {
  const chunks: EncodedChunk[] = [];
  let bytes = 0;
  let start = 0;
  let estimate = BATCH_HEADER_BYTES;
  const flush = (end: number) => {
    const slice = records.slice(start, end);
    const batch = encodeBatch(slice, { baseOffset: start, compression });
    const { min, max } = timestampRange(slice);
    chunks.push({ batch, relativeOffset: start, recordCount: slice.length, minTimestamp: min, maxTimestamp: max });
    bytes += batch.byteLength;
    start = end;
    estimate = BATCH_HEADER_BYTES;
  };
  records.forEach((record, i) => {
    const size = encodedRecordSize(record) + PLACEMENT_SLACK_BYTES;
    if (i > start && estimate + size > MAX_TAIL_ITEM_BYTES) flush(i);
    estimate += size;
  });
  flush(records.length);
  return { chunks, recordCount: records.length, bytes };
}
