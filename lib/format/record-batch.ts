/**
 * The binary record batch: the one storage format for DynamoDB tail items and S3
 * segments. Modelled on Kafka's RecordBatch v2 (big-endian header, zigzag-varint
 * records). A tail item or a segment is a plain concatenation of batches, so a flush
 * copies bytes without re-encoding them. The CRC does not cover `baseOffset`, so the
 * sequencer can re-stamp a batch with a new base offset (withBaseOffset) after losing a
 * conditional-write race, without touching the CRC. See docs/format.md.
 *
 * This file holds the layout that writers and readers share, and the reading: a header
 * alone (enough to walk a concatenation of batches), or a whole batch, CRC-checked and
 * decoded. The writing is record-batch-encoder.ts, apart so that a reader (the client's
 * binary read among them) does not load the encoder and gzip compression.
 */
import { gunzipSync } from 'node:zlib';
import { CorruptDataError } from '../core/errors.js';
import type { RecordHeader, StoredRecord } from '../core/record.js';
import { hex32, readInt64, viewOf } from './big-endian.js';
import { crc32c } from './crc32c.js';

/** Format version in byte 12 of every batch; readers reject any other value. */
export const BATCH_MAGIC = 1;
/** Fixed size of the batch header; the records section starts here. */
export const BATCH_HEADER_BYTES = 45;
/** `baseOffset` + `batchLength`: the bytes not counted by `batchLength`. */
export const BATCH_LENGTH_PREFIX_BYTES = 12;

/** How the records section of a batch is stored. */
export type Compression = 'none' | 'gzip';

/** Byte positions of the header fields, from the start of the batch. */
export const BASE_OFFSET_AT = 0;
export const BATCH_LENGTH_AT = 8;
export const MAGIC_AT = 12;
export const CRC_AT = 13;
/** The CRC covers bytes [CRC_COVERED_FROM, end of batch): everything after the CRC. */
export const CRC_COVERED_FROM = 17;
export const ATTRIBUTES_AT = 17;
export const LAST_OFFSET_DELTA_AT = 19;
export const BASE_TIMESTAMP_AT = 23;
export const MAX_TIMESTAMP_AT = 31;
export const RECORD_COUNT_AT = 39;
export const RESERVED_AT = 43;

/** Attribute bits 0-2 hold the compression codec; every other bit must be zero. */
const COMPRESSION_MASK = 0x07;
export const COMPRESSION_CODES: Record<Compression, number> = { none: 0, gzip: 1 };
const COMPRESSIONS: readonly (Compression | undefined)[] = ['none', 'gzip'];

/** A zigzag int32 never needs more than 5 varint bytes, an int64 never more than 10. */
const MAX_VARINT_BYTES = 5;
const MAX_VARLONG_BYTES = 10;
/** Length written for a null key, value or header value. */
export const NULL_LENGTH = -1;

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** The fixed header of one batch, decoded. */
export interface BatchHeader {
  baseOffset: number;
  lastOffset: number;
  recordCount: number;
  baseTimestamp: number;
  maxTimestamp: number;
  compression: Compression;
  /** Bytes of the whole batch, including the 12-byte `baseOffset` + `batchLength` prefix. */
  byteLength: number;
}

/**
 * Reads the header of the batch at `position` without checking its CRC: enough to walk a
 * concatenation of batches or to find the one holding an offset.
 */
export function readBatchHeader(bytes: Uint8Array, position = 0): BatchHeader {
  const view = viewOf(bytes);
  const byteLength = readFraming(bytes, view, position);
  const baseOffset = readInt64(view, position + BASE_OFFSET_AT);
  const where = `batch at position ${position} (baseOffset ${baseOffset})`;
  if (!Number.isSafeInteger(baseOffset) || baseOffset < 0) {
    throw new CorruptDataError(`${where}: base offset is not a non-negative safe integer`);
  }
  const attributes = view.getInt16(position + ATTRIBUTES_AT);
  const compression = COMPRESSIONS[attributes & COMPRESSION_MASK];
  if (compression === undefined || (attributes & ~COMPRESSION_MASK) !== 0) {
    throw new CorruptDataError(`${where}: unknown attributes 0x${(attributes & 0xffff).toString(16)}`);
  }
  const lastOffsetDelta = view.getInt32(position + LAST_OFFSET_DELTA_AT);
  const lastOffset = baseOffset + lastOffsetDelta;
  if (lastOffsetDelta < 0 || !Number.isSafeInteger(lastOffset)) {
    throw new CorruptDataError(`${where}: last offset delta ${lastOffsetDelta} is out of range`);
  }
  const recordCount = view.getInt32(position + RECORD_COUNT_AT);
  if (recordCount < 0 || recordCount > lastOffsetDelta + 1) {
    throw new CorruptDataError(`${where}: record count ${recordCount} does not fit last offset delta ${lastOffsetDelta}`);
  }
  const baseTimestamp = readInt64(view, position + BASE_TIMESTAMP_AT);
  const maxTimestamp = readInt64(view, position + MAX_TIMESTAMP_AT);
  if (!Number.isSafeInteger(baseTimestamp) || !Number.isSafeInteger(maxTimestamp)) {
    throw new CorruptDataError(`${where}: timestamps are not safe integers`);
  }
  return { baseOffset, lastOffset, recordCount, baseTimestamp, maxTimestamp, compression, byteLength };
}

/**
 * Decodes the batch at `position` after verifying its CRC. Keys, values and header values
 * of an uncompressed batch are views into `bytes`: copy them before mutating `bytes`.
 */
export function decodeBatch(bytes: Uint8Array, position = 0): { header: BatchHeader; records: StoredRecord[] } {
  const view = viewOf(bytes);
  const byteLength = readFraming(bytes, view, position);
  const end = position + byteLength;
  const expected = view.getUint32(position + CRC_AT);
  const actual = crc32c(bytes.subarray(position + CRC_COVERED_FROM, end));
  if (actual !== expected) {
    throw new CorruptDataError(
      `batch at position ${position} (baseOffset ${readInt64(view, position + BASE_OFFSET_AT)}) fails its CRC32C: ` +
        `expected 0x${hex32(expected)}, actual 0x${hex32(actual)}`,
    );
  }
  const header = readBatchHeader(bytes, position);
  let section = bytes.subarray(position + BATCH_HEADER_BYTES, end);
  if (header.compression === 'gzip') section = gunzip(section, header);
  return { header, records: decodeRecords(section, header) };
}

/**
 * Walks a concatenation of batches by header only (no CRC check, no decoding): cheap
 * enough to locate an offset inside a tail item or segment.
 */
export function* iterateBatches(bytes: Uint8Array): Generator<BatchHeader & { position: number }> {
  let position = 0;
  while (position < bytes.byteLength) {
    const header = readBatchHeader(bytes, position);
    yield { ...header, position };
    position += header.byteLength;
  }
}

/** Every record of a concatenation of batches, each batch CRC-checked. */
export function decodeBatches(bytes: Uint8Array): StoredRecord[] {
  const records: StoredRecord[] = [];
  let position = 0;
  while (position < bytes.byteLength) {
    const batch = decodeBatch(bytes, position);
    for (const record of batch.records) records.push(record);
    position += batch.header.byteLength;
  }
  return records;
}

/** Checks the batch at `position` is complete and of a known version; returns its byte length. */
function readFraming(bytes: Uint8Array, view: DataView, position: number): number {
  const available = bytes.byteLength - position;
  if (position < 0 || available < BATCH_HEADER_BYTES) {
    throw new CorruptDataError(
      `truncated batch at position ${position}: the header needs ${BATCH_HEADER_BYTES} bytes, ${Math.max(available, 0)} remain`,
    );
  }
  const batchLength = view.getInt32(position + BATCH_LENGTH_AT);
  const byteLength = BATCH_LENGTH_PREFIX_BYTES + batchLength;
  const where = `batch at position ${position} (baseOffset ${readInt64(view, position + BASE_OFFSET_AT)})`;
  if (byteLength < BATCH_HEADER_BYTES) {
    throw new CorruptDataError(`${where}: batch length ${batchLength} is shorter than the header`);
  }
  if (byteLength > available) {
    throw new CorruptDataError(`truncated ${where}: the batch needs ${byteLength} bytes, ${available} remain`);
  }
  const magic = view.getInt8(position + MAGIC_AT);
  if (magic !== BATCH_MAGIC) {
    throw new CorruptDataError(`${where}: unknown magic ${magic}; this reader knows magic ${BATCH_MAGIC}`);
  }
  return byteLength;
}

function decodeRecords(section: Uint8Array, header: BatchHeader): StoredRecord[] {
  const cursor = new Cursor(section, header);
  const records = new Array<StoredRecord>(header.recordCount);
  let previousDelta = -1;
  for (let i = 0; i < header.recordCount; i++) {
    const length = cursor.readVarint();
    const end = cursor.pos + length;
    if (length < 0 || end > section.byteLength) cursor.fail(`record ${i} has length ${length} past the end of the batch`);
    cursor.pos++; // record attributes: always 0 in this version, ignored
    const timestamp = cursor.readTimestamp();
    const offsetDelta = cursor.readVarint();
    if (offsetDelta < 0 || header.baseOffset + offsetDelta > header.lastOffset) {
      cursor.fail(`record ${i} has offset delta ${offsetDelta} outside the batch`);
    }
    if (offsetDelta <= previousDelta) cursor.fail(`record ${i} has offset delta ${offsetDelta}, not above the previous ${previousDelta}`);
    previousDelta = offsetDelta;
    const key = cursor.readBytesField();
    const value = cursor.readBytesField();
    const headerCount = cursor.readVarint();
    if (headerCount < 0) cursor.fail(`record ${i} has header count ${headerCount}`);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const headerKey = cursor.readString();
      headers.push({ key: headerKey, value: cursor.readBytesField() });
    }
    if (cursor.pos !== end) cursor.fail(`record ${i} is ${length} bytes but its fields take ${cursor.pos - end + length}`);
    records[i] = { offset: header.baseOffset + offsetDelta, timestamp, key, value, headers };
  }
  if (cursor.pos !== section.byteLength) {
    cursor.fail(`${section.byteLength - cursor.pos} bytes follow the last of its ${header.recordCount} records`);
  }
  return records;
}

/** A read position in a records section; every failure names the batch. */
class Cursor {
  pos = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly header: BatchHeader,
  ) {}

  fail(reason: string): never {
    throw new CorruptDataError(`batch with baseOffset ${this.header.baseOffset}: ${reason}`);
  }

  /** A zigzag varint of at most 32 bits. */
  readVarint(): number {
    const { bytes } = this;
    let raw = 0;
    for (let shift = 0; shift < 7 * MAX_VARINT_BYTES; shift += 7) {
      const byte = bytes[this.pos++];
      if (byte === undefined) this.fail('a varint runs past the end of the records');
      raw |= (byte & 0x7f) << shift;
      if (byte < 0x80) return (raw >>> 1) ^ -(raw & 1);
    }
    return this.fail('a varint is longer than 5 bytes');
  }

  /** A zigzag varlong timestamp delta added to the base timestamp; exact up to ±2^63. */
  readTimestamp(): number {
    const { bytes } = this;
    const start = this.pos;
    let small = 0;
    for (let i = 0; i < 4; i++) {
      const byte = bytes[this.pos++];
      if (byte === undefined) this.fail('a varlong runs past the end of the records');
      small |= (byte & 0x7f) << (7 * i);
      if (byte < 0x80) return this.checkTimestamp(this.header.baseTimestamp + ((small >>> 1) ^ -(small & 1)));
    }
    this.pos = start;
    let raw = 0n;
    for (let i = 0; i < MAX_VARLONG_BYTES; i++) {
      const byte = bytes[this.pos++];
      if (byte === undefined) this.fail('a varlong runs past the end of the records');
      raw |= BigInt(byte & 0x7f) << BigInt(7 * i);
      if (byte < 0x80) {
        const delta = raw & 1n ? -(raw >> 1n) - 1n : raw >> 1n;
        return this.checkTimestamp(Number(BigInt(this.header.baseTimestamp) + delta));
      }
    }
    return this.fail('a varlong is longer than 10 bytes');
  }

  /** Length-prefixed bytes; -1 is null. A view into the section, not a copy. */
  readBytesField(): Uint8Array | null {
    const length = this.readVarint();
    if (length === NULL_LENGTH) return null;
    return this.take(length);
  }

  readString(): string {
    const bytes = this.take(this.readVarint());
    try {
      return utf8Decoder.decode(bytes);
    } catch {
      return this.fail('a header key is not valid UTF-8');
    }
  }

  private take(length: number): Uint8Array {
    const end = this.pos + length;
    if (length < 0 || end > this.bytes.byteLength) this.fail(`a field of length ${length} runs past the end of the records`);
    const slice = this.bytes.subarray(this.pos, end);
    this.pos = end;
    return slice;
  }

  private checkTimestamp(timestamp: number): number {
    if (!Number.isSafeInteger(timestamp)) this.fail(`a record timestamp is not a safe integer`);
    return timestamp;
  }
}

function gunzip(section: Uint8Array, header: BatchHeader): Uint8Array {
  try {
    const plain = gunzipSync(section);
    return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
  } catch (cause) {
    throw new CorruptDataError(`batch with baseOffset ${header.baseOffset}: the gzip records section does not inflate`, {
      cause,
    });
  }
}
