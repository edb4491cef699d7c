/**
 * The binary record batch: the one storage format for DynamoDB tail items and S3
 * segments. Modelled on Kafka's RecordBatch v2 (big-endian header, zigzag-varint
 * records). A tail item or a segment is a plain concatenation of batches, so a flush
 * copies bytes without re-encoding them. The CRC does not cover `baseOffset`, so the
 * sequencer can re-stamp a batch with a new base offset ({@link withBaseOffset}) after
 * losing a conditional-write race, without touching the CRC. See docs/format.md.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { crc32c } from './crc32c.js';
import { CorruptDataError, ValidationError } from './errors.js';
import type { LogRecord, RecordHeader, StoredRecord } from './record.js';

/** Format version in byte 12 of every batch; readers reject any other value. */
export const BATCH_MAGIC = 1;
/** Fixed size of the batch header; the records section starts here. */
export const BATCH_HEADER_BYTES = 45;
/** `baseOffset` + `batchLength`: the bytes not counted by `batchLength`. */
export const BATCH_LENGTH_PREFIX_BYTES = 12;

/** How the records section of a batch is stored. */
export type Compression = 'none' | 'gzip';

const BASE_OFFSET_AT = 0;
const BATCH_LENGTH_AT = 8;
const MAGIC_AT = 12;
const CRC_AT = 13;
/** The CRC covers bytes [CRC_COVERED_FROM, end of batch): everything after the CRC. */
const CRC_COVERED_FROM = 17;
const ATTRIBUTES_AT = 17;
const LAST_OFFSET_DELTA_AT = 19;
const BASE_TIMESTAMP_AT = 23;
const MAX_TIMESTAMP_AT = 31;
const RECORD_COUNT_AT = 39;
const RESERVED_AT = 43;

/** Attribute bits 0-2 hold the compression codec; every other bit must be zero. */
const COMPRESSION_MASK = 0x07;
const COMPRESSION_CODES: Record<Compression, number> = { none: 0, gzip: 1 };
const COMPRESSIONS: readonly (Compression | undefined)[] = ['none', 'gzip'];

const INT32_MAX = 0x7fffffff;
const TWO_POW_32 = 0x1_0000_0000;
/** Deltas inside this range zigzag-encode with 32-bit arithmetic; others go through BigInt. */
const SMALL_VARLONG_LIMIT = 0x4000_0000;
/** A zigzag int32 never needs more than 5 varint bytes, an int64 never more than 10. */
const MAX_VARINT_BYTES = 5;
const MAX_VARLONG_BYTES = 10;
/** Length written for a null key, value or header value. */
const NULL_LENGTH = -1;

const utf8Encoder = new TextEncoder();
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
 * Returns a copy of one encoded batch with a new base offset. The CRC does not cover the
 * base offset, so it stays valid: the sequencer re-stamps a batch after losing a race.
 */
export function withBaseOffset(batch: Uint8Array, baseOffset: number): Uint8Array {
  const header = readBatchHeader(batch, 0);
  if (header.byteLength !== batch.byteLength) {
    throw new ValidationError(
      `withBaseOffset takes exactly one batch: the batch is ${header.byteLength} bytes but ${batch.byteLength} were given`,
    );
  }
  checkOffsetRange(baseOffset, header.lastOffset - header.baseOffset);
  const copy = batch.slice();
  writeInt64(viewOf(copy), BASE_OFFSET_AT, baseOffset);
  return copy;
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

function varintSize(value: number): number {
  const raw = ((value << 1) ^ (value >> 31)) >>> 0;
  if (raw < 0x80) return 1;
  if (raw < 0x4000) return 2;
  if (raw < 0x20_0000) return 3;
  if (raw < 0x1000_0000) return 4;
  return 5;
}

function writeVarint(buf: Uint8Array, pos: number, value: number): number {
  let raw = ((value << 1) ^ (value >> 31)) >>> 0;
  while (raw >= 0x80) {
    buf[pos++] = (raw & 0x7f) | 0x80;
    raw >>>= 7;
  }
  buf[pos++] = raw;
  return pos;
}

/** Zigzag of `timestamp - base` as a 64-bit value; exact for any two safe integers. */
function zigzagDelta(timestamp: number, base: number): bigint {
  const delta = BigInt(timestamp) - BigInt(base);
  return delta < 0n ? -delta * 2n - 1n : delta * 2n;
}

function isSmallDelta(delta: number): boolean {
  return delta >= -SMALL_VARLONG_LIMIT && delta < SMALL_VARLONG_LIMIT;
}

function varlongSize(timestamp: number, base: number): number {
  const delta = timestamp - base;
  if (isSmallDelta(delta)) return varintSize(delta);
  let raw = zigzagDelta(timestamp, base);
  let size = 1;
  while (raw >= 0x80n) {
    raw >>= 7n;
    size++;
  }
  return size;
}

function writeVarlong(buf: Uint8Array, pos: number, timestamp: number, base: number): number {
  const delta = timestamp - base;
  if (isSmallDelta(delta)) return writeVarint(buf, pos, delta);
  let raw = zigzagDelta(timestamp, base);
  while (raw >= 0x80n) {
    buf[pos++] = Number(raw & 0x7fn) | 0x80;
    raw >>= 7n;
  }
  buf[pos++] = Number(raw);
  return pos;
}

/** Writes a safe integer as a big-endian int64 (two's complement), exactly. */
function writeInt64(view: DataView, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  view.setInt32(at, high);
  view.setUint32(at + 4, value - high * TWO_POW_32);
}

/** Reads a big-endian int64; exact whenever the result is a safe integer. */
function readInt64(view: DataView, at: number): number {
  return view.getInt32(at) * TWO_POW_32 + view.getUint32(at + 4);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}
