/**
 * Collects the records of one read in offset order within its bounds: from `from`,
 * below `until`, at most `maxRecords`, about `maxBytes` (the first record always fits,
 * as in Kafka, so a consumer always makes progress). Shared by the tail and segment
 * paths so both apply exactly the same rules.
 *
 * Offsets may have gaps: key compaction removes records but keeps the others' offsets.
 * The sources vouch for coverage instead (a tail item or a segment manifest covers a
 * whole offset range), and call {@link advanceTo} when they have offered all of a range.
 */

import type { StoredRecord } from '../core/record.js';
import { decodeBatch, iterateBatches } from '../format/record-batch.js';

export interface ReadLimits {
  maxRecords: number;
  maxBytes: number;
}

/**
 * What the tail and segment paths of a read feed: whole batches in offset order, and
 * the ranges they vouch for. The record collector below decodes them; the batch
 * collector (lib/reading/batch-collector.ts) keeps them as stored, for binary reads.
 */
export interface ReadSink {
  /** Where the read continues: every offset below it was offered (or does not exist). */
  readonly next: number;
  /** True when nothing more can be taken: a bound was hit or the read reached its end. */
  readonly exhausted: boolean;
  /** True once a bound stopped the read. */
  readonly full: boolean;
  /** A source offered every record it holds below `offset`: the read continues there. */
  advanceTo(offset: number): void;
  /**
   * Raises the read's end to `until` (a newer head's high watermark), for a read that
   * reached its end with room left: see Reader's cached reads below the flushed offset.
   */
  extendTo(until: number): void;
  /** Limits left for a continuation of this read (e.g. from segments into the tail). */
  remaining(): ReadLimits;
  /**
   * Offers a concatenation of whole batches (a tail item's data, a segment's byte
   * range); batches wholly below `next` are skipped. Returns false when the read is complete.
   */
  offerBatches(data: Uint8Array): boolean;
}

export class RecordCollector implements ReadSink {
  readonly records: StoredRecord[] = [];
  private bytes = 0;
  private position: number;
  /** True once a bound stopped the read; later records must not be taken. */
  full = false;

  constructor(
    private readonly from: number,
    private until: number,
    private readonly limits: ReadLimits,
  ) {
    this.position = from;
  }

  extendTo(until: number): void {
    if (until > this.until) this.until = until;
  }

  /** Where the read continues: every offset below it was offered (or does not exist). */
  get next(): number {
    return this.position;
  }

  /** The offset the read started from. */
  get start(): number {
    return this.from;
  }

  /**
   * A source offered every record it holds below `offset` (the end of a segment, or of a
   * compacted gap): the read continues there. Ignored once a bound stopped the read.
   */
  advanceTo(offset: number): void {
    if (!this.full) this.position = Math.max(this.position, Math.min(offset, this.until));
  }

  /** True when nothing more can be taken: a bound was hit or the read reached `until`. */
  get exhausted(): boolean {
    return this.full || this.next >= this.until;
  }

  /** Offers the next record in offset order; returns false when the read is complete. */
  offer(record: StoredRecord): boolean {
    if (this.full) return false;
    if (record.offset < this.next) return true;
    if (record.offset >= this.until || this.records.length >= this.limits.maxRecords) return this.stop();
    const size = recordBytes(record);
    if (this.records.length > 0 && this.bytes + size > this.limits.maxBytes) return this.stop();
    this.records.push(record);
    this.bytes += size;
    this.position = record.offset + 1;
    return true;
  }

  /** Decodes (CRC first) and offers the records of every batch that reaches `next`. */
  offerBatches(data: Uint8Array): boolean {
    for (const batch of iterateBatches(data)) {
      if (batch.lastOffset < this.next) continue;
      for (const record of decodeBatch(data, batch.position).records) {
        if (!this.offer(record)) return false;
      }
    }
    return !this.full;
  }

  /** Limits left for a continuation of this read (e.g. from segments into the tail). */
  remaining(): ReadLimits {
    return { maxRecords: this.limits.maxRecords - this.records.length, maxBytes: Math.max(1, this.limits.maxBytes - this.bytes) };
  }

  private stop(): false {
    this.full = true;
    return false;
  }
}

/** Bytes a record counts against `maxBytes`: its key, value and headers. */
export function recordBytes(record: StoredRecord): number {
  let bytes = (record.key?.byteLength ?? 0) + (record.value?.byteLength ?? 0);
  for (const h of record.headers) bytes += h.key.length + (h.value?.byteLength ?? 0);
  return bytes;
}
