/**
 * Append: validates records against the topic, chooses each record's partition
 * (append-records.ts), encodes each partition's records once (encode-chunks.ts) or stages
 * them in S3, and hands them to that partition's sequencer. A multi-partition append
 * commits every partition in parallel; each partition's records commit atomically, in
 * request order, at contiguous offsets; when some partitions fail, the error says which
 * committed.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { DEFAULT_APPEND_DEADLINE_MS, MAX_TRANSACTION_BYTES, RETRY_AFTER_SECONDS } from '../core/constants.js';
import { answered, PayloadTooLargeError, RetryableError, StrataError, TopicNotFoundError, ValidationError } from '../core/errors.js';
import type { LogRecord, RecordHeader } from '../core/record.js';
import { stagedObjectKey } from '../format/object-keys.js';
import type { Compression } from '../format/record-batch.js';
import { encodeBatch } from '../format/record-batch-encoder.js';
import { type PartitionRef, partitionKey, type TopicMeta } from '../ports/model.js';
import type { StagedStores } from '../staging/tier.js';
import { RoundRobinPartitioner } from '../topics/partitioner.js';
import type { TopicService } from '../topics/topic-service.js';
import { checkCount, choosePartition, keylessPartitionOf, producerStamps, toRecord } from './append-records.js';
import { encodeChunks, estimateBytes, timestampRange } from './encode-chunks.js';
import type { ProducerStamp } from './producer-state.js';
import type { AppendResult, PartitionAppend, PartitionSequencer } from './sequencer.js';

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
    const { meta, confirmed } = await this.topics.forAppend(topic);
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
    await confirmed;
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
    const { meta, confirmed } = await this.topics.forAppend(topic, partition);
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
    await confirmed;
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
            : announce(result.lastOffset + 1, { baseOffset: result.baseOffset, records: byPartition.get(partition)! }).catch(
                () => undefined,
              );
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
    // A commit refused for the head's delete mark: the topic this process knew is gone
    // (404), or was created again (503: send it again, to the new one).
    if (failures.some((f) => f.error instanceof TopicNotFoundError)) {
      const deleted = await this.topics.deletedUnder(meta);
      for (const f of failures) if (f.error instanceof TopicNotFoundError) f.error = deleted;
    }
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
  const base = known
    ? answered(known)
    : new RetryableError('storage failed for some partitions; see "partitions"', RETRY_AFTER_SECONDS, { cause: first });
  return annotate(base, failures, results);
}

function annotate(first: StrataError, failures: { partition: number; error: unknown }[], results: Map<number, AppendResult>): StrataError {
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
 * How one failed partition of a multi-partition append is reported: as the API would
 * answer its error alone, so a storage failure the engine did not retry (a staged batch's
 * S3 PUT, say) is RETRY when retrying may succeed, not INTERNAL, which says "a bug".
 */
function partitionError(error: unknown): { code: string; message?: string } {
  if (!(error instanceof StrataError)) return { code: 'INTERNAL' };
  const { code, message } = answered(error);
  return { code, message };
}

function summary(results: Map<number, AppendResult>): AppendResponse['partitions'] {
  return [...results]
    .sort(([a], [b]) => a - b)
    .map(([partition, r]) => ({ partition, baseOffset: r.baseOffset, lastOffset: r.lastOffset, duplicate: r.duplicate }));
}
