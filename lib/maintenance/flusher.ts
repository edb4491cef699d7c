/**
 * Flush: moves a partition's oldest tail items into one immutable S3 segment.
 *
 *     flusher                     S3                        DynamoDB
 *     GetItem HEAD ─────────────────────────────────────▶ flushedOffset F, nextOffset, tailBytes
 *     Query B#F… ───────────────────────────────────────▶ contiguous items [F, L]
 *     PUT segment ─────────────▶ topics/…/{F}-{id}.seg
 *     TransactWrite ────────────────────────────────────▶ Put S#L (manifest)
 *                                                          Update HEAD flushedOffset = L+1
 *                                                                 CONDITION flushedOffset = F
 *     BatchWrite delete B#… ────────────────────────────▶ (the items now below flushedOffset;
 *                                                          with a tail TTL they stay and expire)
 *
 * Staged appends (large batches whose tail item points at an S3 object) are copied into
 * the segment; the commit also puts garbage items naming their staged objects, which GC
 * deletes once the grace period has passed (at least the recovery window: a table
 * restored to before the flush still points at them; docs/operations.md). A flusher that
 * finds a staged object gone re-reads the head: if flushedOffset moved past where it
 * started, another flusher committed those items first, and it is fenced.
 *
 * A crash after the PUT leaves an object no manifest names: an orphan that garbage
 * collection deletes later. A crash after the commit leaves tail items (and staged
 * objects) below flushedOffset: readers never look there (they read segments below
 * flushedOffset); garbage collection (the compaction issue) removes them. Two flushers racing from the same F
 * both PUT, one commit wins, the other deletes its object at once (GC's orphan scan is the
 * backstop). A commit that meets an append on the head item is cancelled with
 * TransactionConflict, having written nothing: the flusher sends it again, at most
 * FLUSH_COMMIT_ATTEMPTS times, then reports `conflict` and deletes its object. A commit
 * is never sent more than UPLOAD_COMMIT_WINDOW_MS after the segment's upload began: GC
 * takes an object nothing names for an orphan after ORPHAN_MIN_AGE_MS, and a commit
 * landing after that would name a deleted object. A flush that stalled that long
 * deletes its object and reports `stalled`.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { DEFAULT_OBJECT_GRACE_MS, MAX_GARBAGE_KEYS_PER_ITEM, MAX_STAGED_PER_SEGMENT, UPLOAD_COMMIT_WINDOW_MS } from '../core/constants.js';
import { InternalError, ObjectMissingError } from '../core/errors.js';
import { backoffDelay, DEFAULT_RETRY, sleep } from '../core/retry.js';
import { segmentObjectKey } from '../format/object-keys.js';
import { type BuildSegmentOptions, buildSegment } from '../format/segment-builder.js';
import { manifestIndex } from '../format/segment-index.js';
import type { FlushCommit, FlushCommitOutcome, GarbageBatch, LogStore } from '../ports/log-store.js';
import { emptyManifest, type PartitionRef, partitionKey, type SegmentManifest, type TailItem, type TopicMeta } from '../ports/model.js';
import type { ObjectStore } from '../ports/object-store.js';
import { committedFloor, type Gap, type Sealer, voidExpiresAt } from '../sequencing/sealer.js';
import { tailItemBytes, tailItemData } from '../staging/staged-batches.js';
import { StagedStores, type StagingOptions } from '../staging/tier.js';
import { expiresSoon, keepUnflushedAlive } from './tail-expiry.js';

export type FlushReason = 'forced' | 'size' | 'age';

export interface FlushResult {
  /** Segments written and committed by this call. */
  segments: number;
  records: number;
  bytes: number;
  /**
   * Why the last segment was flushed, or why nothing was: `fenced` when another flusher
   * committed first, `conflict` when appends kept the head item busy through every attempt,
   * `stalled` when the commit would have gone out more than UPLOAD_COMMIT_WINDOW_MS after
   * the segment's upload began (garbage collection may have taken the object for an
   * orphan): the flush deleted its object and committed nothing.
   */
  reason: FlushReason | 'empty' | 'not-due' | 'fenced' | 'conflict' | 'stalled';
  /**
   * How long the oldest offset left unflushed has waited (ms) when the call ended: 0 when
   * the whole tail is flushed, undefined when the call did not see it (it stopped at
   * maxSegments, or was fenced). The flush-lag metric and alarm.
   */
  lagMs?: number;
  /** Unflushed items whose TTL this call extended (they were about to expire; lib/maintenance/tail-expiry.ts). */
  kept?: number;
}

/** How the flusher builds segments and how long the staged objects it replaces are kept. */
export interface FlusherOptions extends Pick<BuildSegmentOptions, 'indexIntervalBytes'> {
  /**
   * How long a staged object outlives the flush that copied it into a segment: a reader
   * mid-read finishes, and a table restored to before the flush (point-in-time recovery)
   * still finds it. The maintenance grace period. @default DEFAULT_OBJECT_GRACE_MS
   */
  graceMs?: number;
}

export interface FlushOptions {
  /** Flush whatever is in the tail, due or not. */
  force?: boolean;
  /** Stop after this many segments (bounded work per invocation). */
  maxSegments?: number;
}

/** Segments one flush call writes at most, so one invocation stays well inside a Lambda timeout. */
export const DEFAULT_MAX_SEGMENTS_PER_FLUSH = 8;

/** Attempts of one flush commit that keeps meeting appends on the head item (TransactionConflict). */
export const FLUSH_COMMIT_ATTEMPTS = 5;

export class Flusher {
  /** Where staged items' batches are: `objects`, or the staging store for items that name it. */
  private readonly staged: StagedStores;

  constructor(
    private readonly store: LogStore,
    private readonly objects: ObjectStore,
    private readonly clock: Clock,
    /** How the segments are built (the index interval, SEGMENT_INDEX_INTERVAL_BYTES by default) and the grace period. */
    private readonly segment: FlusherOptions = {},
    /** Seals a stale gap at the flushed offset (reserved offsets nobody filled); without it the flush waits. */
    private readonly sealer?: Sealer,
    /** The staging tier's store, where items that name it are staged (lib/staging/tier.ts); segments still go to `objects`. */
    staging?: StagingOptions,
  ) {
    this.staged = new StagedStores(objects, staging);
  }

  /** Flushes one partition while its tail is due (size or age), or everything when forced. */
  async flushPartition(meta: TopicMeta, partition: number, options: FlushOptions = {}): Promise<FlushResult> {
    const ref: PartitionRef = { topic: meta.name, topicId: meta.topicId, partition };
    const result: FlushResult = { segments: 0, records: 0, bytes: 0, reason: 'empty' };
    const maxSegments = options.maxSegments ?? DEFAULT_MAX_SEGMENTS_PER_FLUSH;
    while (result.segments < maxSegments) {
      const head = await this.store.getHead(ref);
      if (head.flushedOffset >= head.nextOffset) {
        result.lagMs = 0;
        break;
      }
      const tail = await this.store.queryTail(ref, head.flushedOffset, { maxRecords: Infinity, maxBytes: meta.config.segmentBytes }, head);
      // Before anything that may fail (the segment PUT): no unflushed item may expire.
      if (expiresSoon(this.store, tail[0], this.clock.now())) {
        result.kept =
          (result.kept ?? 0) + (await keepUnflushedAlive(this.store, ref, head.flushedOffset, head.nextOffset, this.clock.now()));
      }
      if (tail.length === 0 || tail[0]!.baseOffset > head.flushedOffset) {
        // Another flusher committed and deleted the items since the head was read: let it have them.
        if ((await this.store.getHead(ref)).flushedOffset !== head.flushedOffset) {
          result.reason = 'fenced';
          break;
        }
        // Or the offsets at the flushed offset are reserved and not filled (yet): only the
        // contiguous prefix may be flushed. A gap old enough is sealed, then flushed as one.
        const gap: Gap = {
          start: head.flushedOffset,
          end: tail[0]?.baseOffset ?? head.nextOffset,
          reservedBy: tail[0]?.appendedAt ?? head.lastAppendAt ?? 0,
        };
        // Never below the committed floor: those offsets are known held, so a read that did
        // not find them is wrong, and voids on them would hide acknowledged records (the
        // write-first chaos run of 2026-12-02 lost 211 that way). The flush stops loudly.
        if (gap.start < committedFloor(head)) {
          // Stopped, the flush must not let what it cannot read yet expire meanwhile.
          await keepUnflushedAlive(this.store, ref, head.flushedOffset, head.nextOffset, this.clock.now());
          throw new InternalError(
            `the tail of ${partitionKey(ref)} read from its flushed offset ${gap.start} holds nothing there, below its committed offset ${head.committedOffset}: not sealing offsets known to be written`,
          );
        }
        if (this.sealer?.isStale(gap)) {
          await this.sealer.seal(ref, gap);
          continue;
        }
        if (result.segments === 0) result.reason = 'not-due';
        result.lagMs = this.clock.now() - gap.reservedBy;
        break;
      }
      const items = contiguous(tail, head.flushedOffset, ref);
      const reason = this.due(meta, head.tailBytes, items, options.force === true);
      if (!reason) {
        if (result.segments === 0) result.reason = 'not-due';
        result.lagMs = this.clock.now() - items[0]!.appendedAt;
        break;
      }
      const taken = takeUpTo(items, meta.config.segmentBytes);
      const committed = await this.writeSegment(ref, head.flushedOffset, taken);
      if (committed === 'fenced' || committed === 'conflict' || committed === 'stalled') {
        result.reason = committed;
        break;
      }
      result.segments++;
      result.records += committed.records;
      result.bytes += committed.bytes;
      result.reason = reason;
    }
    return result;
  }

  /** Why the tail should be flushed now, or undefined if it should wait. */
  private due(meta: TopicMeta, tailBytes: number, items: TailItem[], force: boolean): FlushReason | undefined {
    if (items.length === 0) return undefined;
    if (force) return 'forced';
    if (tailBytes >= meta.config.flushBytes) return 'size';
    if (this.clock.now() - items[0]!.appendedAt >= meta.config.flushIntervalMs) return 'age';
    return undefined;
  }

  private async writeSegment(
    ref: PartitionRef,
    flushedOffset: number,
    items: TailItem[],
  ): Promise<{ records: number; bytes: number } | 'fenced' | 'conflict' | 'stalled'> {
    const filled = items.filter((i) => !i.void);
    const data = await this.itemsData(ref, flushedOffset, filled);
    if (data === 'fenced') return 'fenced';
    const lastOffset = items.at(-1)!.lastOffset;
    const tailBytes = items.reduce((sum, i) => sum + tailItemBytes(i), 0);
    // The manifest covers the items' whole range: voids (sealed offsets) are gaps in it,
    // as compaction's are; a range of voids alone needs no object.
    let manifest: SegmentManifest;
    let uploadedFrom: number | undefined;
    if (data.length === 0) {
      manifest = emptyManifest(flushedOffset, lastOffset, this.clock.now(), 0);
    } else {
      const { bytes, meta } = buildSegment(data, { indexIntervalBytes: this.segment.indexIntervalBytes });
      const key = segmentObjectKey(ref, meta.baseOffset, randomUUID());
      uploadedFrom = this.clock.now();
      await this.objects.put(key, bytes);
      manifest = {
        baseOffset: flushedOffset,
        lastOffset,
        recordCount: meta.recordCount,
        key,
        bytes: meta.byteLength,
        indexPosition: meta.indexPosition,
        index: manifestIndex(meta),
        maxTimestamp: meta.maxTimestamp,
        createdAt: this.clock.now(),
        generation: 0,
      };
    }
    const key = manifest.key;
    const commit: FlushCommit = {
      ref,
      expectedFlushedOffset: flushedOffset,
      flushedOffset: lastOffset + 1,
      flushedBytes: tailBytes,
      manifest,
      garbage: this.stagedGarbage(items),
    };
    const outcome = await this.commit(commit, uploadedFrom);
    if (outcome !== 'committed') {
      const landed = await this.landed(commit).catch(() => undefined);
      // Nothing names the object: delete it now rather than leave a segment-sized orphan for GC.
      if (landed === false && key) await this.objects.delete([key]).catch(() => undefined);
      if (!landed) return outcome;
    }
    // A void stays a while: it is what makes a late fill of its key fail (VOID_KEEP_MS).
    // With a tail TTL the items stay until they expire (free), but for those written
    // before the store had one: nothing else would remove them.
    const now = this.clock.now();
    const expiring = this.store.tailTtlMs !== undefined;
    await this.store.deleteTailItems(
      ref,
      items.filter((i) => (!expiring || i.expiresAt === undefined) && (!i.void || voidExpiresAt(i) <= now)).map((i) => i.lastOffset),
    );
    // The staged batches are in the segment now, and their objects in garbage items: GC
    // deletes them after the grace period, not here (a restored table may point at them).
    return { records: manifest.recordCount, bytes: tailBytes };
  }

  /**
   * Garbage items for the staged objects of `items`, one per store and per
   * MAX_GARBAGE_KEYS_PER_ITEM keys, due a grace period from now.
   */
  private stagedGarbage(items: TailItem[]): GarbageBatch[] {
    const now = this.clock.now();
    const deleteAfter = now + (this.segment.graceMs ?? DEFAULT_OBJECT_GRACE_MS);
    const batches: GarbageBatch[] = [];
    const staged = StagedStores.stagedOf(items);
    for (const store of [undefined, 'staging' as const]) {
      const keys = staged.filter((o) => o.store === store).map((o) => o.key);
      for (let i = 0; i < keys.length; i += MAX_GARBAGE_KEYS_PER_ITEM) {
        const chunk = keys.slice(i, i + MAX_GARBAGE_KEYS_PER_ITEM);
        batches.push({ id: randomUUID(), keys: chunk, createdAt: now, deleteAfter, ...(store ? { store } : {}) });
      }
    }
    return batches;
  }

  /** The items' batches, staged ones fetched from S3; 'fenced' when another flusher took the items first. */
  private async itemsData(ref: PartitionRef, flushedOffset: number, items: TailItem[]): Promise<Uint8Array[] | 'fenced'> {
    try {
      return await Promise.all(items.map((i) => tailItemData(i, this.staged)));
    } catch (err) {
      // The winner's flush deleted the staged objects after its commit (or GC removed them since).
      if (err instanceof ObjectMissingError && (await this.store.getHead(ref)).flushedOffset > flushedOffset) return 'fenced';
      throw err;
    }
  }

  /**
   * Sends the commit, and again while it is cancelled by a TransactionConflict (an append
   * held the head item; nothing was written): at most FLUSH_COMMIT_ATTEMPTS times, with
   * the retry module's full-jitter backoff between them, and never more than
   * UPLOAD_COMMIT_WINDOW_MS after the upload of the object it names began (`stalled`).
   */
  private async commit(commit: FlushCommit, uploadedFrom: number | undefined): Promise<FlushCommitOutcome | 'stalled'> {
    for (let attempt = 1; ; attempt++) {
      if (uploadedFrom !== undefined && this.clock.now() - uploadedFrom > UPLOAD_COMMIT_WINDOW_MS) return 'stalled';
      const outcome = await this.store.commitFlush(commit);
      if (outcome !== 'conflict' || attempt >= FLUSH_COMMIT_ATTEMPTS) return outcome;
      await sleep(backoffDelay(DEFAULT_RETRY, attempt - 1));
    }
  }

  /**
   * Whether a commit reported lost did land: its manifest names its object (an SDK retry
   * of a commit that had been applied fails its condition). Checked before the object is
   * deleted, since deleting a committed segment would lose its records.
   */
  private async landed(commit: FlushCommit): Promise<boolean> {
    const [manifest] = await this.store.listSegments(commit.ref, commit.manifest.lastOffset, 1);
    return manifest?.key === commit.manifest.key;
  }
}

/**
 * The items from `from` on up to the first gap (reserved offsets not filled yet). The
 * first item must start exactly at the flushed offset (the caller saw to it).
 */
function contiguous(items: TailItem[], from: number, ref: PartitionRef): TailItem[] {
  const kept: TailItem[] = [];
  let next = from;
  for (const item of items) {
    if (item.baseOffset !== next) {
      if (kept.length === 0) {
        throw new InternalError(`the tail of ${partitionKey(ref)} starts at ${item.baseOffset}, not at its flushed offset ${from}`);
      }
      break;
    }
    kept.push(item);
    next = item.lastOffset + 1;
  }
  return kept;
}

/**
 * The leading items that fit in `maxBytes` (at least one), with at most
 * MAX_STAGED_PER_SEGMENT staged objects: their garbage items go in the commit's transaction.
 */
function takeUpTo(items: TailItem[], maxBytes: number): TailItem[] {
  let bytes = 0;
  let staged = 0;
  let n = 0;
  while (
    n < items.length &&
    (n === 0 || (bytes + tailItemBytes(items[n]!) <= maxBytes && staged + (items[n]!.staged ? 1 : 0) <= MAX_STAGED_PER_SEGMENT))
  ) {
    bytes += tailItemBytes(items[n]!);
    if (items[n]!.staged) staged++;
    n++;
  }
  return items.slice(0, n);
}
