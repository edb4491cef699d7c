/**
 * The segment object: an immutable S3 object holding a partition's flushed records. Its
 * data section is the tail items' batches copied as they are (a flush never re-encodes),
 * followed by a sparse index and a fixed-size trailer. The index is also stored in the
 * segment's manifest item, coarsened to at most MAX_MANIFEST_INDEX_ENTRIES regions so the
 * item fits DynamoDB whatever the segment's size (manifestIndex), so a reader goes
 * manifest → index → one ranged GET and never reads the footer; the footer, with the full
 * index, makes the object self-describing for recovery, debugging and garbage collection.
 * Layout and rules: docs/format.md, "Segment objects".
 *
 *     [batches …]                       bytes [0, indexPosition)
 *     [index: entryCount × 32 bytes]    bytes [indexPosition, objectLength − 64)    segment-index.ts
 *     [trailer: 64 bytes]               bytes [objectLength − 64, objectLength)     segment-footer.ts
 *
 * This file builds the object; the index and its lookups are segment-index.ts, the
 * trailer and the reading of a footer (index plus trailer) segment-footer.ts.
 */
import { CorruptDataError, ValidationError } from '../core/errors.js';
import { type BatchHeader, decodeBatch, iterateBatches } from './record-batch.js';
import { SEGMENT_TRAILER_BYTES, type SegmentMeta, writeTrailer } from './segment-footer.js';
import { type IndexEntry, SEGMENT_INDEX_ENTRY_BYTES, SEGMENT_INDEX_INTERVAL_BYTES, writeIndex } from './segment-index.js';

const INT32_MAX = 0x7fffffff;

export interface BuildSegmentOptions {
  /** Bytes of batches after which an index region closes; SEGMENT_INDEX_INTERVAL_BYTES by default. */
  indexIntervalBytes?: number;
  /**
   * CRC-check (and decode) every batch. Off by default: the batches were checked when
   * they were appended, and a flush should cost a copy, not a decode.
   */
  verify?: boolean;
}

/**
 * Builds a segment object from batches: one buffer or the chunks of several tail items,
 * each chunk a concatenation of whole batches. The batches are walked by header only,
 * the size is computed first, and every chunk is copied once into the one output buffer.
 */
export function buildSegment(
  batches: Uint8Array | Uint8Array[],
  options: BuildSegmentOptions = {},
): { bytes: Uint8Array; meta: SegmentMeta } {
  const chunks = Array.isArray(batches) ? batches : [batches];
  const interval = options.indexIntervalBytes ?? SEGMENT_INDEX_INTERVAL_BYTES;
  if (!Number.isSafeInteger(interval) || interval < 1) {
    throw new ValidationError(`indexIntervalBytes ${interval} must be a positive integer`);
  }
  const builder = new IndexBuilder(interval);
  for (const chunk of chunks) {
    for (const batch of iterateBatches(chunk)) {
      if (options.verify) decodeBatch(chunk, batch.position);
      builder.add({ ...batch, position: builder.dataBytes });
    }
  }
  const summary = builder.finish();
  if (summary === undefined) throw new ValidationError('a segment needs at least one batch; all chunks are empty');

  const { index, indexPosition } = summary;
  const byteLength = indexPosition + index.length * SEGMENT_INDEX_ENTRY_BYTES + SEGMENT_TRAILER_BYTES;
  const bytes = new Uint8Array(byteLength);
  let position = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, position);
    position += chunk.byteLength;
  }
  writeIndex(bytes, indexPosition, index);
  const meta: SegmentMeta = { ...summary, byteLength };
  writeTrailer(bytes, { ...meta, entryCount: index.length });
  return { bytes, meta };
}

/** Accumulates batch headers into index regions and the segment's totals. */
class IndexBuilder {
  readonly index: IndexEntry[] = [];
  dataBytes = 0;
  private batchCount = 0;
  private recordCount = 0;
  private lastOffset = -1;
  private maxTimestamp = Number.NEGATIVE_INFINITY;
  private region: IndexEntry | undefined;
  private regionBytes = 0;

  constructor(private readonly interval: number) {}

  /** Adds the next batch; `position` is where it will sit in the segment. */
  add(batch: BatchHeader & { position: number }): void {
    if (batch.baseOffset <= this.lastOffset) {
      throw new CorruptDataError(
        `batch ${this.batchCount} at segment position ${batch.position} starts at offset ${batch.baseOffset}, ` +
          `not above the previous batch's last offset ${this.lastOffset}: offsets must strictly increase`,
      );
    }
    // A batch as large as a region gets a region of its own, so reads of the small
    // batches before it do not fetch it too.
    if (this.region && batch.byteLength >= this.interval) this.closeRegion();
    if (!this.region) {
      this.region = {
        firstOffset: batch.baseOffset,
        lastOffset: batch.lastOffset,
        position: batch.position,
        maxTimestamp: batch.maxTimestamp,
      };
    }
    this.region.lastOffset = batch.lastOffset;
    this.region.maxTimestamp = Math.max(this.region.maxTimestamp, batch.maxTimestamp);
    this.regionBytes += batch.byteLength;
    if (this.regionBytes >= this.interval) this.closeRegion();

    this.batchCount++;
    this.recordCount += batch.recordCount;
    this.lastOffset = batch.lastOffset;
    this.maxTimestamp = Math.max(this.maxTimestamp, batch.maxTimestamp);
    this.dataBytes += batch.byteLength;
  }

  /** The index and totals, or undefined when no batch was added. */
  finish(): Omit<SegmentMeta, 'byteLength'> | undefined {
    this.closeRegion();
    const first = this.index[0];
    if (first === undefined) return undefined;
    if (this.batchCount > INT32_MAX) {
      throw new ValidationError(`a segment holds at most ${INT32_MAX} batches; this one has ${this.batchCount}`);
    }
    return {
      baseOffset: first.firstOffset,
      lastOffset: this.lastOffset,
      recordCount: this.recordCount,
      maxTimestamp: this.maxTimestamp,
      batchCount: this.batchCount,
      indexPosition: this.dataBytes,
      index: this.index,
    };
  }

  private closeRegion(): void {
    if (this.region) this.index.push(this.region);
    this.region = undefined;
    this.regionBytes = 0;
  }
}
