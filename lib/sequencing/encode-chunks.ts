/**
 * A partition's records encoded once, before the commit: in batches (chunks) small
 * enough for one tail item each, with offsets relative to the append's first record (the
 * commit re-stamps them, lib/sequencing/lay-out.ts); and the size estimate that decides,
 * without encoding, whether an append is staged in S3 instead.
 */
import { MAX_TAIL_ITEM_BYTES } from '../core/constants.js';
import type { LogRecord } from '../core/record.js';
import { BATCH_HEADER_BYTES, type Compression } from '../format/record-batch.js';
import { encodeBatch, encodedRecordSize } from '../format/record-batch-encoder.js';
import type { EncodedChunk, PartitionAppend } from './sequencer.js';

/**
 * Room left in a record's size estimate for the varint deltas that depend on where it
 * sits in its batch (offset delta ≤ 3 bytes, timestamp delta ≤ 10 bytes).
 */
export const PLACEMENT_SLACK_BYTES = 16;

/** About how many bytes the records take encoded (the staging decision needs no encoding). */
export function estimateBytes(records: LogRecord[]): number {
  let bytes = BATCH_HEADER_BYTES;
  for (const r of records) bytes += encodedRecordSize(r) + PLACEMENT_SLACK_BYTES;
  return bytes;
}

/** The least and greatest timestamp of the records. */
export function timestampRange(records: LogRecord[]): { min: number; max: number } {
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
