/**
 * The engine's domain model: what a topic, a partition's head, a tail item, a segment
 * manifest, a producer's state and a group's offset are, independent of where they are
 * stored. The ports (log-store.ts, object-store.ts) speak in these types; the adapters
 * in lib/aws/ map them to items and objects.
 */
import { PRODUCER_STATE_TTL_MS } from '../core/constants.js';
import type { TopicConfig } from '../topics/topic-config.js';

/** A partition of one incarnation of a topic. */
export interface PartitionRef {
  topic: string;
  topicId: string;
  partition: number;
}

/**
 * A stable string id of a partition for in-process maps, logs and error messages
 * (`P#{topic}#{topicId}#{p}`, the form the table's partition key also has).
 */
export function partitionKey(ref: PartitionRef): string {
  return `P#${ref.topic}#${ref.topicId}#${ref.partition}`;
}
/** A topic's metadata item. `version` increases on every change (optimistic locking). */
export interface TopicMeta {
  name: string;
  /** Identifies this incarnation of the name; partition keys include it. */
  topicId: string;
  partitions: number;
  config: TopicConfig;
  createdAt: number;
  updatedAt: number;
  version: number;
}

/**
 * A partition's head item. A partition that never took an append has the zero head.
 *
 * Offsets are reserved by an atomic counter (`nextOffset`) and then filled by the
 * writers that reserved them (docs/design.md, "reserve, fill, seal"): the high
 * watermark is the end of the contiguous prefix of filled or sealed offsets, at least
 * `committedOffset` (and `flushedOffset`), at most `nextOffset`.
 */
export interface PartitionHead {
  /** The reservation counter: the offset the next reservation gets. */
  nextOffset: number;
  /**
   * A lower bound of the high watermark, moved forward now and then by writers that saw
   * the prefix complete; on a head written before reservations, `nextOffset`.
   */
  committedOffset: number;
  /** The lowest offset still retained. */
  logStartOffset: number;
  /** Offsets below this live in S3 segments; the tail holds the rest. */
  flushedOffset: number;
  /** Bytes of tail batches above flushedOffset. */
  tailBytes: number;
  /** Append time of the last commit, ms; null before the first. */
  lastAppendAt: number | null;
  /**
   * The last reservation's request token and first offset: lets a writer whose
   * reservation answer was lost find its range, unless another reservation came since.
   */
  lastReservation: { token: string; base: number } | null;
}

export const ZERO_HEAD: PartitionHead = Object.freeze({
  nextOffset: 0,
  committedOffset: 0,
  lastReservation: null,
  logStartOffset: 0,
  flushedOffset: 0,
  tailBytes: 0,
  lastAppendAt: null,
});

/**
 * One tail item: one or more encoded record batches covering [baseOffset, lastOffset],
 * held in the item itself or, for a large append, in a staged S3 object it points to.
 */
export interface TailItem {
  baseOffset: number;
  lastOffset: number;
  recordCount: number;
  /** Concatenated record batches (docs/format.md); empty when `staged`. */
  data: Uint8Array;
  /**
   * A staged S3 object holding the batches instead, written before the commit with
   * offsets relative to 0: the reader adds `baseOffset` (lib/staging/staged-batches.ts).
   */
  staged?: StagedObject;
  minTimestamp: number;
  maxTimestamp: number;
  appendedAt: number;
  /** The request token of the commit that wrote it: proves which writer's commit applied. */
  commitId: string;
  /**
   * A void: the offsets were reserved but never filled, and a sealer (or the writer that
   * gave them up) closed them. No records; readers skip it like a compaction gap.
   */
  void?: true;
  /**
   * When DynamoDB TTL may remove the item (ms; its `ttl` attribute is in seconds), if
   * the store writes tail items with a TTL (LogStore.tailTtlMs). Absent on items written
   * without one: they stay until a flush or GC deletes them.
   */
  expiresAt?: number;
}

/** Where a tail item is, without its records: what a look at the contiguous prefix needs. */
export type TailExtent = Pick<TailItem, 'baseOffset' | 'lastOffset' | 'appendedAt' | 'void' | 'expiresAt'>;

/** An append's batches, uploaded to S3 before the commit that points at them. */
export interface StagedObject {
  key: string;
  bytes: number;
  /**
   * Which object store holds it: absent, the main one (the segments' bucket, where every
   * object staged before the staging tier existed is); `staging`, the engine's staging
   * store (an S3 Express One Zone directory bucket on AWS; lib/staging/tier.ts).
   */
  store?: StagingStoreName;
}

/** The staged object's store when it is not the main one (StagedObject.store). */
export type StagingStoreName = 'staging';

/** A segment's manifest item: where its object is and what it holds (docs/format.md). */
export interface SegmentManifest {
  baseOffset: number;
  lastOffset: number;
  recordCount: number;
  /** S3 key of the segment object. */
  key: string;
  /** Size of the object in bytes. */
  bytes: number;
  /** Where the index starts in the object (the end of its batches). */
  indexPosition: number;
  /**
   * The sparse index (manifestIndex), copied here so a read needs no footer GET: the
   * footer's index, coarsened to at most MAX_MANIFEST_INDEX_ENTRIES regions so the item
   * stays far below DynamoDB's 400 KB. Manifests written before the bound hold the full
   * index; both are read the same way.
   */
  index: Uint8Array;
  maxTimestamp: number;
  createdAt: number;
  /**
   * 0 for a segment as flushed ("dirty"); key compaction writes its output at one more
   * than the highest generation it replaced, and the swap is conditioned on the
   * generations it read.
   */
  generation: number;
  /** Timestamp of the oldest tombstone a compacted segment kept (null: none, or not compacted yet). */
  oldestTombstone?: number | null;
}

/** A segment over [baseOffset, lastOffset] with no records (all removed, or all voids): no object. */
export function emptyManifest(baseOffset: number, lastOffset: number, createdAt: number, generation: number): SegmentManifest {
  return {
    baseOffset,
    lastOffset,
    recordCount: 0,
    key: '',
    bytes: 0,
    indexPosition: 0,
    index: new Uint8Array(0),
    maxTimestamp: -1,
    createdAt,
    generation,
    oldestTombstone: null,
  };
}

/** What the maintenance passes last did to a partition (`GET /v1/topics/{topic}`). */
export interface PartitionStats {
  segments: number;
  segmentBytes: number;
  lastCompactionAt: number | null;
  lastRetentionAt: number | null;
  updatedAt: number;
  /** Where a compaction round spanning several passes continues (lib/maintenance/compactor.ts). */
  compactionCursor: { offset: number; roundEnd: number } | null;
  /** Until then the schedule may skip the partition if nothing is appended (lib/maintenance/maintenance.ts). */
  nextDueAt: number | null;
}

/** A deleted topic incarnation whose items and objects garbage collection still has to remove. */
export interface DeletedTopic {
  name: string;
  topicId: string;
  partitions: number;
  deletedAt: number;
}

/** A committed batch of an idempotent producer, remembered to answer retries. */
export interface ProducerBatch {
  firstSequence: number;
  lastSequence: number;
  /** -1 while not known: a write-first claim (`claim`) whose numbering this state has not seen. */
  baseOffset: number;
  lastOffset: number;
  /** Write first, number after: the data the batch was written to, before it had offsets. */
  claim?: ProducerClaim;
}

/**
 * Where a write-first writer put a producer's batch before numbering it (docs/design.md,
 * "Idempotent producers, written first"): its offsets are those the numbering of `token`
 * gave, plus `within`. Only a numbering sent with a fence at or above the head's can
 * number it, and only its writer sends one, before `until`.
 */
export interface ProducerClaim {
  /** The token of the first data item of the writer's group (the one numberData answers for). */
  token: string;
  /** The batch's first record's place in that group. */
  within: number;
  /** The head's fence the writer numbers under. */
  fence: number;
  /** The writer's deadline (epoch ms): it sends no numbering later. */
  until: number;
  /**
   * The counter as the writer last saw it before the claim (absent: it had not seen it):
   * its numbering's offsets are at or above it, so a look at the index starts there.
   */
  floor?: number;
}

/** Per (producer, partition) state for deduplication and fencing. */
export interface ProducerState {
  producerId: string;
  epoch: number;
  /** The most recent batches, oldest first (at most PRODUCER_DEDUP_WINDOW). */
  batches: ProducerBatch[];
  /** Increases on every write; the append transaction is conditioned on it. */
  version: number;
  updatedAt: number;
}

/** When a producer state last written at `updatedAt` (ms) expires, in epoch seconds: its item's `ttl` (DynamoDB TTL). */
export function producerStateTtl(updatedAt: number): number {
  return Math.ceil((updatedAt + PRODUCER_STATE_TTL_MS) / 1000);
}

/**
 * Whether a producer state whose TTL is `ttl` (epoch seconds) is past it at `now` (ms): it
 * then reads as none, as it will once DynamoDB deletes it (which can take days), and a
 * state may be created over it. The one test of the store's read, its create condition
 * (`#ttl <= :now`, :now in seconds) and the producer cache.
 */
export function producerStateExpired(ttl: number, now: number): boolean {
  return ttl <= Math.floor(now / 1000);
}

/** A committed consumer-group position. */
export interface GroupOffset {
  group: string;
  topic: string;
  topicId: string;
  partition: number;
  offset: number;
  metadata: string | null;
  updatedAt: number;
}

/** A commit of group offsets is applied only while the group is at this generation. */
export interface GroupFence {
  group: string;
  generation: number;
}
