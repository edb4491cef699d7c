/**
 * Writing record batches (layout: record-batch.ts, docs/format.md). encodeBatch computes
 * every record's size first, so the batch is written into a single buffer; withBaseOffset
 * re-stamps an encoded batch; encodedRecordSize and uncompressedBatchBytes give the sizes
 * the limits are checked against, without encoding.
 */
import { gzipSync } from 'node:zlib';
import { ValidationError } from '../core/errors.js';
import type { LogRecord } from '../core/record.js';
import { viewOf, writeInt64 } from './big-endian.js';
import { crc32c } from './crc32c.js';
import {
  ATTRIBUTES_AT,
  BASE_OFFSET_AT,
  BASE_TIMESTAMP_AT,
  BATCH_HEADER_BYTES,
  BATCH_LENGTH_AT,
  BATCH_LENGTH_PREFIX_BYTES,
  BATCH_MAGIC,
  COMPRESSION_CODES,
  type Compression,
  CRC_AT,
  CRC_COVERED_FROM,
  LAST_OFFSET_DELTA_AT,
  MAGIC_AT,
  MAX_TIMESTAMP_AT,
  NULL_LENGTH,
  RECORD_COUNT_AT,
  RESERVED_AT,
  readBatchHeader,
} from './record-batch.js';
import { varintSize, varlongSize, writeVarint, writeVarlong } from './varint.js';

const INT32_MAX = 0x7fffffff;

const utf8Encoder = new TextEncoder();

export interface EncodeBatchOptions {
  /** Offset of the first record; record i gets `baseOffset + i` unless `offsetDeltas` says otherwise. */
  baseOffset: number;
  compression?: Compression;
  /**
   * Each record's offset minus `baseOffset`, strictly increasing from 0: a compacted batch
   * keeps its records' original offsets and leaves gaps where records were removed.
   */
  offsetDeltas?: number[];
}

/** Where a record sits in its batch: the varint deltas its size depends on. */
export interface RecordPlacement {
  offsetDelta: number;
  baseTimestamp: number;
}

/**
 * Encodes records into one batch with contiguous offsets from `baseOffset`. Sizes are
 * computed first so the batch is written into a single buffer.
 */
export function encodeBatch(records: LogRecord[], options: EncodeBatchOptions): Uint8Array {
  const { baseOffset, compression = 'none' } = options;
  const first = records[0];
  if (first === undefined) throw new ValidationError('a batch needs at least one record');
  if (COMPRESSION_CODES[compression] === undefined) {
    throw new ValidationError(`unknown compression '${String(compression)}'; use 'none' or 'gzip'`);
  }
  const deltas = options.offsetDeltas ?? records.map((_, i) => i);
  checkOffsetDeltas(deltas, records.length);
  const lastOffsetDelta = deltas[deltas.length - 1]!;
  checkOffsetRange(baseOffset, lastOffsetDelta);

  const baseTimestamp = first.timestamp;
  let maxTimestamp = baseTimestamp;
  const bodySizes = new Array<number>(records.length);
  const headerKeyBytes: number[] = [];
  let recordsBytes = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    const { timestamp } = record;
    if (!Number.isSafeInteger(timestamp)) {
      throw new ValidationError(`record ${i} has timestamp ${timestamp}; timestamps must be safe integers (ms)`);
    }
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    const body = recordBodySize(record, deltas[i]!, baseTimestamp, headerKeyBytes);
    bodySizes[i] = body;
    recordsBytes += varintSize(body) + body;
  }
  if (recordsBytes > INT32_MAX - BATCH_HEADER_BYTES) {
    throw new ValidationError(`the batch would be ${recordsBytes} bytes of records, over the format's 2 GiB limit`);
  }

  const plain = new Uint8Array(BATCH_HEADER_BYTES + recordsBytes);
  writeRecords(plain, BATCH_HEADER_BYTES, records, deltas, baseTimestamp, bodySizes, headerKeyBytes);

  let batch = plain;
  if (compression === 'gzip') {
    const compressed = gzipSync(plain.subarray(BATCH_HEADER_BYTES));
    batch = new Uint8Array(BATCH_HEADER_BYTES + compressed.byteLength);
    batch.set(compressed, BATCH_HEADER_BYTES);
  }

  const view = viewOf(batch);
  writeInt64(view, BASE_OFFSET_AT, baseOffset);
  view.setInt32(BATCH_LENGTH_AT, batch.byteLength - BATCH_LENGTH_PREFIX_BYTES);
  view.setInt8(MAGIC_AT, BATCH_MAGIC);
  view.setInt16(ATTRIBUTES_AT, COMPRESSION_CODES[compression]);
  view.setInt32(LAST_OFFSET_DELTA_AT, lastOffsetDelta);
  writeInt64(view, BASE_TIMESTAMP_AT, baseTimestamp);
  writeInt64(view, MAX_TIMESTAMP_AT, maxTimestamp);
  view.setInt32(RECORD_COUNT_AT, records.length);
  view.setInt16(RESERVED_AT, 0);
  view.setUint32(CRC_AT, crc32c(batch.subarray(CRC_COVERED_FROM)));
  return batch;
}

/**
 * One encoded batch with a new base offset: a copy, or the batch itself when it already
 * has that base (neither is ever written into again). The CRC does not cover the base
 * offset, so it stays valid: the sequencer re-stamps a batch after losing a race. Not
 * copying the batch write-first lays out at its own offsets saves more than the copy: a
 * fresh 100 KiB buffer per append drove V8 to a full collection every few dozen appends,
 * about 1 ms of CPU per append (bench/probes/append-cpu.ts, batch shape).
 */
export function withBaseOffset(batch: Uint8Array, baseOffset: number): Uint8Array {
  const header = readBatchHeader(batch, 0);
  if (header.byteLength !== batch.byteLength) {
    throw new ValidationError(
      `withBaseOffset takes exactly one batch: the batch is ${header.byteLength} bytes but ${batch.byteLength} were given`,
    );
  }
  checkOffsetRange(baseOffset, header.lastOffset - header.baseOffset);
  if (header.baseOffset === baseOffset) return batch;
  const copy = batch.slice();
  writeInt64(viewOf(copy), BASE_OFFSET_AT, baseOffset);
  return copy;
}

/**
 * Bytes of one record's uncompressed encoding, length prefix included. By default the
 * record is placed first in its batch (both deltas 0), which makes the size independent
 * of its neighbours: that is the size checked against a topic's `maxRecordBytes`. Pass a
 * placement to get the exact size at another place in a batch.
 */
export function encodedRecordSize(record: LogRecord, placement?: RecordPlacement): number {
  const offsetDelta = placement?.offsetDelta ?? 0;
  const baseTimestamp = placement?.baseTimestamp ?? record.timestamp;
  const body = recordBodySize(record, offsetDelta, baseTimestamp, []);
  return varintSize(body) + body;
}

/** Bytes a batch of these records takes uncompressed: header plus records section. */
export function uncompressedBatchBytes(records: LogRecord[]): number {
  const first = records[0];
  if (first === undefined) return 0;
  let bytes = BATCH_HEADER_BYTES;
  for (let i = 0; i < records.length; i++) {
    bytes += encodedRecordSize(records[i]!, { offsetDelta: i, baseTimestamp: first.timestamp });
  }
  return bytes;
}

function checkOffsetDeltas(deltas: number[], count: number): void {
  if (deltas.length !== count) throw new ValidationError(`${deltas.length} offset deltas for ${count} records`);
  for (let i = 0; i < deltas.length; i++) {
    const d = deltas[i]!;
    if (!Number.isSafeInteger(d) || d > INT32_MAX || (i === 0 ? d !== 0 : d <= deltas[i - 1]!)) {
      throw new ValidationError(`offset deltas must start at 0 and strictly increase; delta ${i} is ${d}`);
    }
  }
}

function checkOffsetRange(baseOffset: number, lastOffsetDelta: number): void {
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) {
    throw new ValidationError(`baseOffset ${baseOffset} must be a non-negative safe integer`);
  }
  if (!Number.isSafeInteger(baseOffset + lastOffsetDelta)) {
    throw new ValidationError(`baseOffset ${baseOffset} + ${lastOffsetDelta} is beyond the largest safe offset`);
  }
}

/** Size of a record after its length prefix; records each header key's UTF-8 length. */
function recordBodySize(record: LogRecord, offsetDelta: number, baseTimestamp: number, headerKeyBytes: number[]): number {
  let size = 1 + varlongSize(record.timestamp, baseTimestamp) + varintSize(offsetDelta);
  size += bytesFieldSize(record.key);
  size += bytesFieldSize(record.value);
  const { headers } = record;
  size += varintSize(headers.length);
  for (let h = 0; h < headers.length; h++) {
    const header = headers[h]!;
    const keyBytes = Buffer.byteLength(header.key, 'utf8');
    headerKeyBytes.push(keyBytes);
    size += varintSize(keyBytes) + keyBytes + bytesFieldSize(header.value);
  }
  return size;
}

function bytesFieldSize(bytes: Uint8Array | null): number {
  return bytes === null ? 1 : varintSize(bytes.byteLength) + bytes.byteLength;
}

function writeRecords(
  buf: Uint8Array,
  start: number,
  records: LogRecord[],
  deltas: number[],
  baseTimestamp: number,
  bodySizes: number[],
  headerKeyBytes: number[],
): void {
  let pos = start;
  let keyIndex = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    pos = writeVarint(buf, pos, bodySizes[i]!);
    buf[pos++] = 0;
    pos = writeVarlong(buf, pos, record.timestamp, baseTimestamp);
    pos = writeVarint(buf, pos, deltas[i]!);
    pos = writeBytesField(buf, pos, record.key);
    pos = writeBytesField(buf, pos, record.value);
    const { headers } = record;
    pos = writeVarint(buf, pos, headers.length);
    for (let h = 0; h < headers.length; h++) {
      const header = headers[h]!;
      const keyBytes = headerKeyBytes[keyIndex++]!;
      pos = writeVarint(buf, pos, keyBytes);
      if (keyBytes > 0) utf8Encoder.encodeInto(header.key, buf.subarray(pos, pos + keyBytes));
      pos += keyBytes;
      pos = writeBytesField(buf, pos, header.value);
    }
  }
}

function writeBytesField(buf: Uint8Array, pos: number, bytes: Uint8Array | null): number {
  if (bytes === null) return writeVarint(buf, pos, NULL_LENGTH);
  pos = writeVarint(buf, pos, bytes.byteLength);
  buf.set(bytes, pos);
  return pos + bytes.byteLength;
}
