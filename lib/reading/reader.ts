/**
 * Read: records of one partition from an offset, bounded by count and bytes, with an
 * optional long-poll. Every read starts from a strongly consistent head, so a record
 * acknowledged before the read began is always visible (read-your-writes).
 *
 *     reader                                DynamoDB
 *     GetItem HEAD (consistent) ──────────▶ nextOffset = HWM, logStartOffset, flushedOffset
 *     offset outside [logStart, HWM] → 416
 *     offset = HWM → wait for an append (notifier, head polling) until waitMs
 *     Query B#{offset}… (consistent) ─────▶ tail items whose lastOffset ≥ offset
 *     no item or segment covers offset → the items moved (a flush, retention), read the head again
 *
 * Offsets of a compacted topic have gaps: a read returns the records that remain and a
 * `nextOffset` past the gap, so a consumer that always continues from `nextOffset`
 * (never from last offset + 1) skips nothing.
 *
 * Records at or above the HWM read at the start are not returned, so `records`,
 * `nextOffset` and `highWatermark` of one response always agree.
 */
import type { Clock } from '../core/clock.js';
import { LONG_POLL_MAX_INTERVAL_MS, LONG_POLL_MIN_INTERVAL_MS } from '../core/constants.js';
import { InternalError, ObjectMissingError, OffsetOutOfRangeError } from '../core/errors.js';
import type { StoredRecord } from '../core/record.js';
import { decodeBatches } from '../format/record-batch.js';
import type { LogStore } from '../ports/log-store.js';
import type { PartitionHead, TailItem } from '../ports/model.js';
import { type PartitionRef, partitionKey } from '../ports/model.js';
import { committedFloor, type PrefixScan, type Sealer } from '../sequencing/sealer.js';
import { tailItemData } from '../staging/staged-batches.js';
import type { StagedStores } from '../staging/tier.js';
import type { TopicService } from '../topics/topic-service.js';
import { BatchCollector } from './batch-collector.js';
import { FlushedHeads } from './flushed-heads.js';
import type { AppendNotifier } from './notifier.js';
import { checkReadRequest, type ReadRequest } from './read-request.js';
import { type ReadLimits, type ReadSink, RecordCollector } from './record-collector.js';
import type { SegmentReader } from './segment-reader.js';

export interface ReadResult {
  /** The incarnation of the topic the records come from (a re-created topic gets a new one). */
  topicId: string;
  records: StoredRecord[];
  /** Where the next read continues. */
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

/** A read's batches as stored, for the binary read (docs/format.md, "Binary reads"). */
export interface BatchReadResult {
  topicId: string;
  /** Whole batches in offset order, as stored (views into what the stores returned). */
  batches: Uint8Array[];
  /** The offset the read started from: records of the first batch below it are not part of the answer. */
  startOffset: number;
  /** Where the next read continues; records at or above it are not part of the answer either. */
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

export interface BatchReadOptions {
  /** A batch larger than this cannot be answered (ResponseTooLargeError); later batches stop the read below it. */
  maxBatchBytes?: number;
}

/** What an offset lookup (Kafka's ListOffsets) answers. */
export interface OffsetLookup {
  offset: number;
  /** Timestamp of the record at `offset`, or null when no record is there (yet). */
  timestamp: number | null;
}

/** Times a read re-reads the head after the items moved under it before calling it a bug. */
const MAX_TAIL_MOVES = 5;
/** Bytes per page when a timestamp lookup scans the tail. */
const LOOKUP_PAGE_BYTES = 4 * 1024 * 1024;
export class Reader {
  /** The heads of recent reads below the flushed offset, and where their answers continue (see readFlushed). */
  private readonly flushedHeads = new FlushedHeads();

  constructor(
    private readonly topics: TopicService,
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly notifier: AppendNotifier,
    private readonly sealer: Sealer,
    private readonly segments?: SegmentReader,
    /** Where staged tail items' batches are (the main store, the staging tier's). */
    private readonly staged?: StagedStores,
  ) {}

  async read(topic: string, partition: number, request: ReadRequest = {}): Promise<ReadResult> {
    const { ref, head, sink } = await this.collect(
      topic,
      partition,
      request,
      (from, until, limits) => new RecordCollector(from, until, limits),
    );
    return {
      topicId: ref.topicId,
      records: sink.records,
      nextOffset: sink.next,
      highWatermark: head.nextOffset,
      logStartOffset: head.logStartOffset,
    };
  }

  /**
   * A read that answers the batches as stored (tail items' data, segment byte ranges),
   * never decoded: same head, isolation and long-poll rules as {@link read}, limits at
   * batch granularity (lib/reading/batch-collector.ts). The first batch may start below the
   * requested offset: `startOffset` tells the decoder which records to drop.
   */
  async readBatches(topic: string, partition: number, request: ReadRequest = {}, options: BatchReadOptions = {}): Promise<BatchReadResult> {
    const { ref, head, sink } = await this.collect(
      topic,
      partition,
      request,
      (from, until, limits) => new BatchCollector(from, until, limits, options.maxBatchBytes),
    );
    return {
      topicId: ref.topicId,
      batches: sink.batches,
      startOffset: sink.start,
      nextOffset: sink.next,
      highWatermark: head.nextOffset,
      logStartOffset: head.logStartOffset,
    };
  }

  /** The read loop shared by both answers: head, range check, long-poll, segments then tail into `sink`. */
  private async collect<S extends ReadSink>(
    topic: string,
    partition: number,
    request: ReadRequest,
    makeSink: (from: number, until: number, limits: ReadLimits) => S,
  ): Promise<{ ref: PartitionRef; head: PartitionHead; sink: S }> {
    const limits = checkReadRequest(request);
    const { ref } = await this.topics.partition(topic, partition);
    if (request.offset !== undefined) {
      const flushed = await this.readFlushed(ref, request.offset, limits, makeSink);
      if (flushed) return flushed;
    }
    const deadline = this.clock.now() + limits.waitMs;
    let interval = LONG_POLL_MIN_INTERVAL_MS;
    for (let moves = 0; ; ) {
      const viewedAt = this.clock.now();
      const { head, prefix } = await this.view(ref);
      const offset = request.offset ?? head.logStartOffset;
      if (offset < head.logStartOffset || offset > head.nextOffset) {
        throw new OffsetOutOfRangeError(offset, head.logStartOffset, head.nextOffset);
      }
      if (offset === head.nextOffset) {
        const remaining = deadline - this.clock.now();
        if (remaining <= 0) return { ref, head, sink: makeSink(offset, offset, limits) };
        await this.notifier.wait(partitionKey(ref), offset, Math.min(interval, remaining));
        interval = Math.min(interval * 2, LONG_POLL_MAX_INTERVAL_MS);
        continue;
      }
      const collector = makeSink(offset, head.nextOffset, limits);
      let outcome: 'done' | 'moved';
      if (offset < head.flushedOffset) {
        if (!this.segments) throw new InternalError('offsets below the flushed offset need an object store; none is configured');
        outcome = await this.segments.read(ref, head.flushedOffset, collector, { now: viewedAt, reuse: false });
        if (outcome === 'done') outcome = await this.readTail(ref, collector, head, prefix);
        if (collector.next > offset) this.flushedHeads.remember(ref, head, viewedAt, collector.next);
      } else {
        outcome = await this.readTail(ref, collector, head, prefix);
      }
      // What the collector vouches for (every offset below `next`) is returned even when
      // the items moved further on; a read that got nowhere reads the head again.
      if (outcome === 'done' || collector.next > offset) return { ref, head, sink: collector };
      if (++moves > MAX_TAIL_MOVES) {
        throw new InternalError(
          `offset ${offset} of ${partitionKey(ref)} is below the high watermark ${head.nextOffset} but neither a segment nor a tail item holds it`,
        );
      }
    }
  }

  /**
   * A catch-up's next read, answered from the segments without reading the head again:
   * `offset` is where an answer of this process, from below the flushed offset of a head
   * it read less than SEGMENT_CACHE_TTL_MS ago, told the consumer to continue. Such reads
   * cost no DynamoDB read (the segment reader's manifests are cached as long). What that
   * head said stays true below its flushed offset: the high watermark and the flushed
   * offset only grow, the records below are in segments whose objects outlive any change
   * for the GC grace period (lib/reading/segment-reader.ts), and compaction and retention only
   * remove records. So the answer holds records that exist at their offsets (or existed
   * there a few seconds ago, before compaction or retention removed them), skips none,
   * and its `highWatermark` and `logStartOffset` are that head's. A read that reaches the
   * flushed offset with room left reads the head and goes on into newer segments and the
   * tail, as an uncached read would, so a consumer never takes a stale high watermark for
   * "caught up". Only continuations take this path: a read from any other offset reads
   * the head and lists the segments as they are now, so a new catch-up (or a new
   * consumer) sees compaction and retention at once, and one catch-up sees the segments
   * as of its last uncached read, at most SEGMENT_CACHE_TTL_MS old.
   *
   * Undefined when the read is not such a continuation, or the segments moved before it
   * got anywhere (the caller then reads as without a cache).
   */
  private async readFlushed<S extends ReadSink>(
    ref: PartitionRef,
    offset: number,
    limits: ReadLimits,
    makeSink: (from: number, until: number, limits: ReadLimits) => S,
  ): Promise<{ ref: PartitionRef; head: PartitionHead; sink: S } | undefined> {
    const key = partitionKey(ref);
    const now = this.clock.now();
    if (!this.segments) return undefined;
    const head = this.flushedHeads.continuation(key, offset, now);
    if (!head) return undefined;
    const sink = makeSink(offset, head.flushedOffset, limits);
    const outcome = await this.segments.read(ref, head.flushedOffset, sink, { now, reuse: true });
    if (outcome === 'moved') this.flushedHeads.forget(key);
    if (sink.next <= offset) return undefined;
    if (sink.full || sink.next < head.flushedOffset) {
      if (outcome === 'done') this.flushedHeads.continueAt(key, offset, sink.next);
      return { ref, head, sink };
    }
    // The read reached the flushed offset with room left: on as an uncached read goes.
    const viewedAt = this.clock.now();
    const { head: current, prefix } = await this.view(ref);
    sink.extendTo(current.nextOffset);
    let more: 'done' | 'moved' = 'done';
    if (sink.next < current.flushedOffset)
      more = await this.segments.read(ref, current.flushedOffset, sink, { now: viewedAt, reuse: false });
    if (more === 'done') await this.readTail(ref, sink, current, prefix);
    this.flushedHeads.remember(ref, current, viewedAt, sink.next);
    // Retention may have moved the log start past this read meanwhile: the answer's stays at or below it.
    return { ref, head: { ...current, logStartOffset: Math.min(current.logStartOffset, head.logStartOffset) }, sink };
  }

  /**
   * The head as a reader sees it, with `nextOffset` the high watermark: the end of the
   * contiguous prefix of filled (or sealed) offsets, since offsets are reserved before
   * they are filled and a reader must never pass one that may still be written. Below
   * the committed floor the prefix is known; a read from there or above scans it (and
   * keeps the items for the read), sealing a stale gap: a reader waiting behind a dead
   * writer would otherwise wait for the next writer or flush to do it.
   */
  private async view(ref: PartitionRef): Promise<{ head: PartitionHead; prefix?: PrefixScan & { from: number } }> {
    const head = await this.store.getHead(ref);
    const floor = committedFloor(head);
    if (floor >= head.nextOffset) return { head };
    const prefix = await this.sealer.settle(ref, floor, head);
    return { head: { ...head, nextOffset: prefix.end }, prefix: { ...prefix, from: floor } };
  }

  /** A tail item's records; `moved` when its staged object is gone (a flush moved it under the read). */
  private async itemRecords(item: TailItem): Promise<StoredRecord[] | 'moved'> {
    const data = await this.itemData(item);
    return data === 'moved' ? 'moved' : decodeBatches(data);
  }

  /** A tail item's batches at their offsets (staged ones re-stamped, not decoded); `moved` as above. */
  private async itemData(item: TailItem): Promise<Uint8Array | 'moved'> {
    try {
      return await tailItemData(item, this.staged);
    } catch (err) {
      if (err instanceof ObjectMissingError) return 'moved';
      throw err;
    }
  }

  /**
   * Continues a read into the DynamoDB tail (strongly consistent), if it has room left:
   * the prefix's items when the view scanned them, else a Query. Below the high
   * watermark the items are contiguous: `moved` when the item holding the next offset is
   * gone (a flush deleted it, or its staged object, under the read). A void is a gap.
   */
  private async readTail(
    ref: PartitionRef,
    collector: ReadSink,
    head: PartitionHead,
    prefix?: PrefixScan & { from: number },
  ): Promise<'done' | 'moved'> {
    if (collector.exhausted) return 'done';
    const items =
      prefix && collector.next >= prefix.from
        ? prefix.items.filter((i) => i.lastOffset >= collector.next)
        : await this.store.queryTail(ref, collector.next, collector.remaining(), head);
    if (items.length === 0) return 'moved';
    for (const item of items) {
      if (collector.exhausted) return 'done';
      if (item.baseOffset > collector.next) return 'moved';
      if (item.void) {
        collector.advanceTo(item.lastOffset + 1);
        continue;
      }
      const data = await this.itemData(item);
      if (data === 'moved') return 'moved';
      if (!collector.offerBatches(data)) return 'done';
      collector.advanceTo(item.lastOffset + 1);
      if (collector.exhausted) return 'done';
    }
    return 'done';
  }

  /**
   * Kafka's ListOffsets: `earliest` (the log start), `latest` (the HWM), or the first
   * offset whose timestamp is ≥ `at` ms (the HWM, with a null timestamp, if none is).
   * A search that finds the segments or the tail moved under it starts again from the
   * head, as a read does, so it never answers past a record that exists.
   */
  async lookupOffset(topic: string, partition: number, at: 'earliest' | 'latest' | number): Promise<OffsetLookup> {
    if (at === 'earliest') {
      const page = await this.read(topic, partition, { maxRecords: 1 });
      return { offset: page.logStartOffset, timestamp: page.records[0]?.timestamp ?? null };
    }
    const { ref } = await this.topics.partition(topic, partition);
    for (let moves = 0; ; ) {
      const { head } = await this.view(ref);
      if (at === 'latest') return { offset: head.nextOffset, timestamp: null };
      const found = await this.findByTimestamp(ref, head, at);
      if (found !== 'moved') return found;
      if (++moves > MAX_TAIL_MOVES) {
        throw new InternalError(
          `a timestamp lookup of ${partitionKey(ref)} found the segments or the tail moved ${MAX_TAIL_MOVES} times after reading the head`,
        );
      }
    }
  }

  /**
   * The first record below the head's HWM whose timestamp is ≥ `at`: segments in
   * [logStart, flushedOffset), then the tail from flushedOffset. A flush that commits
   * between the head read and the tail Query moves records out of the tail; the Query
   * then no longer starts at flushedOffset, and trusting it would skip them:
   *
   *     lookup                                    flush (any process)
   *     GetItem HEAD ─▶ flushedOffset F, HWM N
   *     segments [logStart, F): nothing ≥ at
   *                                               segment [F, G) written, HEAD flushedOffset = G
   *                                               tail items [F, G) deleted
   *     Query B#{F}… ─▶ first item at G, or none
   *     → `moved`: read the head again (the records of [F, G) are in a segment now)
   *
   * Tail items are contiguous, so an item starting above the next wanted offset, or no
   * item below N, means the same. A staged object gone under the scan, or a segment
   * dropped or deleted (`SegmentReader.findByTimestamp`), is `moved` too.
   */
  private async findByTimestamp(ref: PartitionRef, head: PartitionHead, at: number): Promise<OffsetLookup | 'moved'> {
    if (head.logStartOffset < head.flushedOffset) {
      if (!this.segments) throw new InternalError('offsets below the flushed offset need an object store; none is configured');
      const found = await this.segments.findByTimestamp(ref, at, head.logStartOffset, head.flushedOffset);
      if (found !== 'none') return found;
    }
    let from = Math.max(head.logStartOffset, head.flushedOffset);
    while (from < head.nextOffset) {
      const items = await this.store.queryTail(ref, from, { maxRecords: Infinity, maxBytes: LOOKUP_PAGE_BYTES });
      if (items.length === 0) return 'moved';
      for (const item of items) {
        if (item.baseOffset > from) return 'moved';
        if (item.maxTimestamp >= at && !item.void) {
          const records = await this.itemRecords(item);
          if (records === 'moved') return 'moved';
          for (const record of records) {
            if (record.offset >= from && record.offset < head.nextOffset && record.timestamp >= at) {
              return { offset: record.offset, timestamp: record.timestamp };
            }
          }
        }
        from = item.lastOffset + 1;
        if (from >= head.nextOffset) break;
      }
    }
    return { offset: head.nextOffset, timestamp: null };
  }
}
