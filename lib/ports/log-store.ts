/**
 * The port through which the engine reaches its table (topics, partition heads, tail
 * items, manifests, producers, groups). The engine never imports an AWS client: the
 * adapter (lib/aws/dynamo-log-store.ts, one file per role) implements it, and tests wrap it to inject
 * faults before or after a real call. The types it speaks are in model.ts.
 */
import type { GroupState } from '../groups/assignment.js';
import type {
  DeletedTopic,
  GroupFence,
  GroupOffset,
  PartitionHead,
  PartitionRef,
  PartitionStats,
  ProducerState,
  SegmentManifest,
  StagingStoreName,
  TailExtent,
  TailItem,
  TopicMeta,
} from './model.js';

/**
 * S3 objects that left the log (retention, compaction) but that a reader may still be
 * reading: garbage collection deletes them once `deleteAfter` has passed.
 */
export interface GarbageBatch {
  id: string;
  keys: string[];
  createdAt: number;
  deleteAfter: number;
  /** The store the objects are in: absent for the main one, 'staging' for the staging tier's (staged batches a flush took). */
  store?: StagingStoreName;
}

/** Retention: the oldest segments leave the log and logStartOffset moves past them. */
export interface RetentionCommit {
  ref: PartitionRef;
  /** The head's logStartOffset the pass read (fences concurrent retention passes). */
  expectedLogStartOffset: number;
  logStartOffset: number;
  /** Manifests to delete, each conditioned on the key and generation read. */
  dropped: SegmentManifest[];
  garbage: GarbageBatch | null;
}

/** Key compaction: one new segment replaces consecutive ones, over exactly their offsets. */
export interface CompactionCommit {
  ref: PartitionRef;
  /** The manifests read, oldest first: each must still be there with the same key and generation. */
  replaced: SegmentManifest[];
  /** Covers replaced[0].baseOffset to the last one's lastOffset (so it takes that one's item). */
  output: SegmentManifest;
  garbage: GarbageBatch | null;
}

/** One flush: a segment replaces the tail below `flushedOffset`. */
export interface FlushCommit {
  ref: PartitionRef;
  manifest: SegmentManifest;
  /** The head's flushedOffset this flush started from (fences concurrent flushers). */
  expectedFlushedOffset: number;
  flushedOffset: number;
  /** Tail bytes the segment took over (subtracted from the head's tailBytes). */
  flushedBytes: number;
  /**
   * The staged objects of the flushed items, which leave the log with them: put in the
   * same transaction, so that they are deleted a grace period (at least the recovery
   * window) after they stopped being referenced, never before (docs/operations.md).
   */
  garbage?: GarbageBatch[];
}

/**
 * How a flush commit ended. `fenced`: another flusher moved flushedOffset first (the
 * condition failed). `conflict`: DynamoDB cancelled the transaction because another one
 * (an append, which updates the same head item) was running at the same moment; nothing
 * was written and the same commit may be sent again.
 */
export type FlushCommitOutcome = 'committed' | 'fenced' | 'conflict';

/** One atomic append: the head moves from `expectedNextOffset` to `nextOffset`. */
export interface AppendCommit {
  ref: PartitionRef;
  expectedNextOffset: number;
  nextOffset: number;
  /** Contiguous items from expectedNextOffset to nextOffset - 1. */
  items: TailItem[];
  /** Producer states to write, each conditioned on the version it was validated against. */
  producers: { state: ProducerState; expectedVersion: number | null }[];
  appendedBytes: number;
  now: number;
  /**
   * DynamoDB's ClientRequestToken: the same token with the same request is applied at
   * most once, so a commit whose outcome is unknown can be re-sent safely.
   */
  requestToken: string;
}

/** What a commit attempt learned when it did not apply. */
export type AppendOutcome =
  | { ok: true }
  | {
      ok: false;
      /** The current head when the head condition failed. */
      head?: PartitionHead;
      /** Current state (null = none) of each producer whose condition failed. */
      producers: Map<string, ProducerState | null>;
      /** Another transaction held one of the items: retry after a backoff. */
      transactionConflict: boolean;
    };

/** A reservation of `count` offsets at the head of a partition (docs/design.md, reserve, fill, seal). */
export interface ReserveRequest {
  ref: PartitionRef;
  count: number;
  /** Tail bytes the fill will add (the head's tailBytes counts reserved bytes). */
  bytes: number;
  now: number;
  /** Identifies the reservation on the head, for a writer whose answer was lost. */
  token: string;
  /** Reserve only if the counter is exactly this (a conditional append). */
  expectedOffset?: number;
}

/**
 * What a reservation got: its first offset, the head right after it, and when the
 * reservation before it was made (the head's lastAppendAt before it; null on a new head):
 * a writer whose predecessor reserved long enough ago looks below its range with its fill.
 */
export type ReserveOutcome =
  | {
      ok: true;
      base: number;
      head: PartitionHead;
      previousAt: number | null;
      /** The reservation's number on the partition, from 1 (0: unknown); every COMMIT_ADVANCE_EVERY-th moves committedOffset up. */
      sequence: number;
    }
  | { ok: false; head: PartitionHead };

/** The fill of a reserved range: its tail items and producer states, in one write. */
export interface FillCommit {
  ref: PartitionRef;
  /** Items covering exactly the reserved range, in offset order. */
  items: TailItem[];
  producers: { state: ProducerState; expectedVersion: number | null }[];
  requestToken: string;
}

/**
 * How a fill ended. Not ok: `taken` holds what already sits at one of the fill's keys
 * (a void: a sealer closed the range; or this fill itself, applied by an earlier send);
 * `producers` the current state of each producer whose condition failed.
 */
export type FillOutcome =
  | { ok: true }
  | { ok: false; taken: TailItem[]; producers: Map<string, ProducerState | null>; transactionConflict: boolean };

/**
 * What a commit of group offsets did: `committed`; `fenced` (the group is no longer at
 * the fence's generation); `conflict` (another write held one of the items, e.g. a
 * heartbeat on the group item or a commit of the same partition: retry after a backoff).
 * Nothing is written unless `committed`.
 */
export type GroupCommitOutcome = 'committed' | 'fenced' | 'conflict';

/**
 * Write first, number after (docs/design.md): a group's data items, each under a token of
 * its own, written before they have offsets (each item's batches start at offset 0).
 */
export interface DataWrite {
  ref: PartitionRef;
  items: { token: string; item: TailItem }[];
}

/** Numbers written data items, in order, in one update of the head. */
export interface NumberRequest {
  ref: PartitionRef;
  ranges: { token: string; count: number }[];
  /** Tail bytes the items hold (the head's tailBytes). */
  bytes: number;
  now: number;
  /** Number only if the partition's high watermark is exactly this. */
  expectedOffset?: number;
  /** Number only if the head's fence is at most this (idempotent producers' claims; absent: any). */
  fence?: number;
  /** Number only if each of these tokens is pending on the head (a producer's previous batch). */
  after?: string[];
}

export type NumberOutcome =
  | {
      ok: true;
      /** The first range's base; the others follow it. */
      base: number;
      /** Ranges the partition has numbered, this group's included (0 when learnt from a re-sent numbering). */
      numbered: number;
      tailBytes: number;
      /** The head's fence. */
      fence: number;
      /** The head's pending entries right after this numbering (token → base; absent when re-sent). */
      pending?: Record<string, number>;
    }
  | {
      ok: false;
      head: PartitionHead;
      /** The head's fence (above the request's: the numbering was fenced). */
      fence: number;
      /** Tokens of `after` not pending on the head. */
      missing: string[];
      /** The partition has reserved offsets not yet committed (another sequencing wrote it): it numbers once they are. */
      unsettled?: true;
    };

/**
 * Topics, as the topic service and the garbage collector need them.
 * (The table behind every role below is DynamoDB's; lib/aws/dynamo-*-store.ts.)
 */
export interface TopicStore {
  getTopic(name: string): Promise<TopicMeta | undefined>;
  /** Throws TopicExistsError when the name is taken. */
  createTopic(meta: TopicMeta): Promise<void>;
  /** Writes `meta` if the stored version is `expectedVersion`; false when it is not. */
  updateTopic(meta: TopicMeta, expectedVersion: number): Promise<boolean>;
  /** Removes the topic and leaves a deletion marker for garbage collection; false if gone. */
  deleteTopic(meta: TopicMeta, now: number): Promise<boolean>;
  listTopics(): Promise<TopicMeta[]>;
}

/**
 * A partition's head, tail and segment list: what appends (sequencers, sealer, producer
 * cache) and reads (reader, segment reader, push sessions) need.
 */
export interface PartitionStore {
  getHead(ref: PartitionRef): Promise<PartitionHead>;
  /**
   * Heads of many partitions, read consistently unless `consistent` is false (half the
   * read units, and possibly a second stale: for hints such as a push pong's watermarks).
   */
  getHeads(refs: PartitionRef[], options?: { consistent?: boolean }): Promise<PartitionHead[]>;
  commitAppend(commit: AppendCommit): Promise<AppendOutcome>;
  /** Reserves offsets with the head's atomic counter (never conflicts unless `expectedOffset`). */
  reserve(request: ReserveRequest): Promise<ReserveOutcome>;
  /** Writes a reserved range's items (and producer states) if none of their keys is taken. */
  fill(commit: FillCommit): Promise<FillOutcome>;
  /**
   * Puts a void on each of the offsets' keys (at most MAX_TRANSACTION_ITEMS) in one
   * transaction, if none is taken; otherwise writes nothing and answers the items that
   * hold the taken keys.
   */
  sealOffsets(ref: PartitionRef, offsets: number[], now: number): Promise<{ sealed: boolean; taken: TailItem[] }>;
  /** Moves committedOffset forward to `offset` (never back); false when it already was there. */
  advanceCommitted(ref: PartitionRef, offset: number): Promise<boolean>;
  /** Write first, number after: puts a group's data items (each key free). */
  writeData(write: DataWrite): Promise<void>;
  /**
   * Numbers the ranges, committing them: `ok: false` with the head when `expectedOffset`
   * is not the counter. A re-sent numbering that was applied answers its base.
   */
  numberData(request: NumberRequest): Promise<NumberOutcome>;
  /**
   * Where the numbering of `token` put its first range (a numbering whose answer was lost,
   * a producer's claim): the head, then the index; undefined if nowhere. `floor`: a lower
   * bound of that range's base, where the look at the index starts (oldest first); without
   * it the look reads the index newest first.
   */
  findNumbering(ref: PartitionRef, token: string, floor?: number): Promise<number | undefined>;
  /**
   * Write first, number after: moves the TTL of the index items and data items holding
   * numbered ranges at or above `fromOffset` that expire before `dueBefore` to `expiresAt`
   * (the flush-outage keep-alive, lib/maintenance/tail-expiry.ts). Answers how many it
   * moved; 0 on a partition that numbers nothing.
   */
  keepNumberedAlive(ref: PartitionRef, fromOffset: number, expiresAt: number, dueBefore: number): Promise<number>;
  /** Moves the head's pending entries up to `upToBase` into an index item keyed `lastOffset`, then off the head. */
  indexPending(ref: PartitionRef, upToBase: number, lastOffset: number, now?: number, pending?: Record<string, number>): Promise<void>;
  /**
   * Raises the head's fence above `above` (if it is not already): from then on no numbering
   * sent under a fence at or below `above` is applied. Answers the head's fence.
   */
  raiseFence(ref: PartitionRef, above: number): Promise<number>;
  /**
   * Writes a producer's state if its stored version is `expectedVersion` (null: none
   * stored); otherwise writes nothing and answers the stored state.
   */
  putProducerState(
    ref: PartitionRef,
    state: ProducerState,
    expectedVersion: number | null,
  ): Promise<{ written: true } | { written: false; state: ProducerState | null }>;
  /** The tail item whose last offset is `lastOffset`, if it exists (strongly consistent). */
  getTailItem(ref: PartitionRef, lastOffset: number): Promise<TailItem | undefined>;
  /**
   * A producer's state (strongly consistent); null when there is none, or, given `now`,
   * when it is past its TTL (PRODUCER_STATE_TTL_MS after its last write) but not deleted yet.
   */
  getProducerState(ref: PartitionRef, producerId: string, now?: number): Promise<ProducerState | null>;
  /**
   * Tail items whose lastOffset ≥ `fromOffset`, in offset order, strongly consistent.
   * Stops once the items hold `maxRecords` records at or above `fromOffset`, or
   * `maxBytes` bytes of data, whichever comes first. `head`: the head the caller read
   * just before, as getHead answered it (a write-first partition's newest ranges are read
   * from its pending entries, without reading the head again).
   */
  queryTail(
    ref: PartitionRef,
    fromOffset: number,
    limits: { maxRecords: number; maxBytes: number },
    head?: PartitionHead,
  ): Promise<TailItem[]>;
  /**
   * Where the tail items (voids included) holding offsets in [fromOffset, until) are, in
   * offset order: their offsets and ages, not their records. A writer's look at its
   * predecessors reads bytes per item, whatever their batches hold. Strongly consistent
   * unless `consistent` is false: an eventually consistent read may miss items written
   * just before it (a gap that is not one), never shows an item that was not written
   * (DynamoDB's reads are read-committed), at half the read units.
   */
  tailExtents(ref: PartitionRef, fromOffset: number, until: number, options?: { consistent?: boolean }): Promise<TailExtent[]>;

  /** Segment manifests whose lastOffset ≥ `fromOffset`, in offset order, at most `limit` (Infinity: all). */
  listSegments(ref: PartitionRef, fromOffset: number, limit: number): Promise<SegmentManifest[]>;
}

/** What flushes, retention, compaction, tail expiry and garbage collection write. */
export interface MaintenanceStore {
  /** Writes the manifest and moves flushedOffset, if no other flush moved it first. */
  commitFlush(flush: FlushCommit): Promise<FlushCommitOutcome>;
  /** Deletes tail items (by last offset) that a committed flush made redundant. */
  deleteTailItems(ref: PartitionRef, lastOffsets: number[]): Promise<void>;
  /**
   * How long tail items live after their append (ms) when the store writes them with a
   * DynamoDB TTL: flushes and GC then leave flushed items to expire instead of deleting
   * them (lib/maintenance/tail-expiry.ts). Undefined: no TTL, flushed items are deleted.
   */
  readonly tailTtlMs?: number;
  /** Moves the TTL of the tail items (by last offset) that still exist forward to `expiresAt` (ms). */
  extendTailExpiry(ref: PartitionRef, lastOffsets: number[], expiresAt: number): Promise<void>;

  /** Drops the oldest segments; false when the head or a manifest changed since they were read. */
  commitRetention(commit: RetentionCommit): Promise<boolean>;
  /** Swaps compacted segments in; false when a replaced manifest changed since it was read. */
  commitCompaction(commit: CompactionCommit): Promise<boolean>;
  listGarbage(ref: PartitionRef): Promise<GarbageBatch[]>;
  deleteGarbage(ref: PartitionRef, ids: string[]): Promise<void>;
  /**
   * Tail items whose lastOffset < `below` (left by a flush that crashed before its
   * deletes), at most `limit`, across as many Query pages as that takes: their keys and
   * staged objects only, not their data (up to 350 KB an item).
   */
  listTailBelow(
    ref: PartitionRef,
    below: number,
    limit: number,
  ): Promise<Pick<TailItem, 'lastOffset' | 'staged' | 'appendedAt' | 'void'>[]>;
  /**
   * Keys of the staged objects that tail items at or above `fromOffset` point at (the
   * flushed offset: below it a staged object's batches are in a segment, and no read
   * needs it).
   */
  listStagedKeys(ref: PartitionRef, fromOffset: number): Promise<string[]>;
  getPartitionStats(refs: PartitionRef[]): Promise<(PartitionStats | undefined)[]>;
  putPartitionStats(ref: PartitionRef, stats: PartitionStats): Promise<void>;
  listDeletedTopics(): Promise<DeletedTopic[]>;
  /** Deletes up to `limit` items of a partition (any kind); returns how many it deleted. */
  deletePartitionItems(ref: PartitionRef, limit: number): Promise<number>;
  /** Removes the deletion marker once everything of the incarnation is gone. */
  forgetDeletedTopic(topic: DeletedTopic): Promise<void>;
}

/** Consumer groups: committed offsets and membership. */
export interface GroupStore {
  /**
   * Writes the offsets atomically. With `fence`, only if the group's membership item is
   * still at that generation: `fenced` (nothing written) when it is not; `conflict`
   * (nothing written) when another write held one of the items.
   */
  commitGroupOffsets(offsets: GroupOffset[], fence?: GroupFence): Promise<GroupCommitOutcome>;
  getGroupOffsets(group: string): Promise<GroupOffset[]>;

  /** A group's membership item (strongly consistent), null when it has none. */
  getGroupState(group: string): Promise<GroupState | null>;
  /**
   * Writes the membership item if the stored version is `expectedVersion` (0: absent);
   * false if not, or if another write (a commit's transaction) held the item: read it
   * again and retry.
   */
  putGroupState(state: GroupState, expectedVersion: number, ttlSeconds: number): Promise<boolean>;
}

/**
 * DynamoDB, as the whole engine needs it: every role. The engine passes one LogStore to
 * all its parts; a part (or a test double) that uses one role can ask for just that role.
 */
export interface LogStore extends TopicStore, PartitionStore, MaintenanceStore, GroupStore {}
