/**
 * The segment's footer: the full index (segment-index.ts) followed by a fixed-size
 * trailer, CRC-checked together. Readers go through the manifest's index and never read
 * it; the footer makes the object self-describing for recovery, debugging and garbage
 * collection. Here: the trailer's layout, writing it, and reading and checking a trailer
 * or a whole footer. Layout and rules: docs/format.md, "Segment objects".
 */

import { CorruptDataError } from '../core/errors.js';
import { hex32, viewOf, writeInt64 } from './big-endian.js';
import { crc32c } from './crc32c.js';
import { decodeIndex, type IndexEntry, readNonNegative, readSafeInt64, SEGMENT_INDEX_ENTRY_BYTES } from './segment-index.js';

/** The last 4 bytes of every segment object: ASCII "STSG" (STrata SeGment). */
export const SEGMENT_MAGIC = 'STSG';
/** Footer format version; readers reject any other value. */
export const SEGMENT_VERSION = 1;
/** Fixed size of the trailer, so a reader can find it from the object's length alone. */
export const SEGMENT_TRAILER_BYTES = 64;

const MAGIC_BYTES = new TextEncoder().encode(SEGMENT_MAGIC);

/** Byte positions of the trailer fields, from the start of the trailer. */
const INDEX_POSITION_AT = 0;
const BASE_OFFSET_AT = 8;
const LAST_OFFSET_AT = 16;
const RECORD_COUNT_AT = 24;
const MAX_TIMESTAMP_AT = 32;
const ENTRY_COUNT_AT = 40;
const BATCH_COUNT_AT = 44;
const RESERVED_AT = 48;
const VERSION_AT = 55;
const CRC_AT = 56;
const MAGIC_AT = 60;
/** CRC and magic are the only footer bytes the CRC does not cover. */
const CRC_AND_MAGIC_BYTES = SEGMENT_TRAILER_BYTES - CRC_AT;

/** The trailer's fields, decoded. */
export interface SegmentTrailer {
  /** Where the index starts: the end of the batches. */
  indexPosition: number;
  entryCount: number;
  baseOffset: number;
  lastOffset: number;
  /** Records in the segment; below lastOffset - baseOffset + 1 when offsets have gaps. */
  recordCount: number;
  maxTimestamp: number;
  batchCount: number;
}

/** What a segment holds and where: the trailer's fields plus the decoded index. */
export interface SegmentMeta {
  baseOffset: number;
  lastOffset: number;
  recordCount: number;
  maxTimestamp: number;
  batchCount: number;
  indexPosition: number;
  /** Bytes of the whole object. */
  byteLength: number;
  index: IndexEntry[];
}

/**
 * Parses and checks the trailer. `tail` is any suffix of the object at least
 * SEGMENT_TRAILER_BYTES long (a reader may fetch more than the trailer on a guess); its
 * last SEGMENT_TRAILER_BYTES are the trailer. The CRC is not checked here: it covers the
 * index too, which `tail` may not hold ({@link readFooter} checks it).
 */
export function readTrailer(tail: Uint8Array, objectLength: number): SegmentTrailer {
  const trailer = parseTrailer(tail, objectLength);
  checkTrailer(trailer, viewOf(tail.subarray(tail.byteLength - SEGMENT_TRAILER_BYTES)), objectLength);
  return trailer;
}

/**
 * Verifies and decodes the footer: index plus trailer. `footer` holds the object's bytes
 * from indexPosition to the end, or any longer suffix of the object.
 */
export function readFooter(footer: Uint8Array, objectLength: number): SegmentMeta {
  const trailer = parseTrailer(footer, objectLength);
  const trailerView = viewOf(footer.subarray(footer.byteLength - SEGMENT_TRAILER_BYTES));
  const footerBytes = objectLength - trailer.indexPosition;
  // The CRC is checked before the fields it covers, so a damaged footer is reported as
  // such; an indexPosition that lies outside the object is left to checkTrailer.
  if (footerBytes >= SEGMENT_TRAILER_BYTES && footerBytes <= objectLength) {
    if (footer.byteLength < footerBytes) {
      throw new CorruptDataError(
        `the segment footer needs ${footerBytes} bytes from indexPosition ${trailer.indexPosition}, ${footer.byteLength} were given`,
      );
    }
    const covered = footer.subarray(footer.byteLength - footerBytes, footer.byteLength - CRC_AND_MAGIC_BYTES);
    const expected = trailerView.getUint32(CRC_AT);
    const actual = crc32c(covered);
    if (actual !== expected) {
      throw new CorruptDataError(`segment footer fails its CRC32C: expected 0x${hex32(expected)}, actual 0x${hex32(actual)}`);
    }
  }
  checkTrailer(trailer, trailerView, objectLength);

  const indexStart = footer.byteLength - footerBytes;
  const index = decodeIndex(footer.subarray(indexStart, footer.byteLength - SEGMENT_TRAILER_BYTES));
  checkIndexAgainstTrailer(index, trailer);
  return {
    baseOffset: trailer.baseOffset,
    lastOffset: trailer.lastOffset,
    recordCount: trailer.recordCount,
    maxTimestamp: trailer.maxTimestamp,
    batchCount: trailer.batchCount,
    indexPosition: trailer.indexPosition,
    byteLength: objectLength,
    index,
  };
}

/** Writes the trailer at the end of `bytes`, the CRC last: it covers index and trailer. */
export function writeTrailer(bytes: Uint8Array, trailer: SegmentTrailer): void {
  const at = bytes.byteLength - SEGMENT_TRAILER_BYTES;
  const view = viewOf(bytes.subarray(at));
  writeInt64(view, INDEX_POSITION_AT, trailer.indexPosition);
  writeInt64(view, BASE_OFFSET_AT, trailer.baseOffset);
  writeInt64(view, LAST_OFFSET_AT, trailer.lastOffset);
  writeInt64(view, RECORD_COUNT_AT, trailer.recordCount);
  writeInt64(view, MAX_TIMESTAMP_AT, trailer.maxTimestamp);
  view.setInt32(ENTRY_COUNT_AT, trailer.entryCount);
  view.setInt32(BATCH_COUNT_AT, trailer.batchCount);
  view.setInt8(VERSION_AT, SEGMENT_VERSION);
  bytes.set(MAGIC_BYTES, at + MAGIC_AT);
  view.setUint32(CRC_AT, crc32c(bytes.subarray(trailer.indexPosition, at + CRC_AT)));
}

/** Checks magic and version, then reads the fields without judging them. */
function parseTrailer(tail: Uint8Array, objectLength: number): SegmentTrailer {
  if (!Number.isSafeInteger(objectLength) || objectLength < SEGMENT_TRAILER_BYTES) {
    throw new CorruptDataError(`a segment object of ${objectLength} bytes is shorter than its ${SEGMENT_TRAILER_BYTES}-byte trailer`);
  }
  if (tail.byteLength < SEGMENT_TRAILER_BYTES || tail.byteLength > objectLength) {
    throw new CorruptDataError(
      `the segment trailer needs the last ${SEGMENT_TRAILER_BYTES} bytes of the ${objectLength}-byte object, ${tail.byteLength} were given`,
    );
  }
  const trailer = tail.subarray(tail.byteLength - SEGMENT_TRAILER_BYTES);
  const magic = trailer.subarray(MAGIC_AT);
  if (!magic.every((byte, i) => byte === MAGIC_BYTES[i])) {
    throw new CorruptDataError(`not a segment object: the last 4 bytes are 0x${hexBytes(magic)}, not "${SEGMENT_MAGIC}"`);
  }
  const view = viewOf(trailer);
  const version = view.getInt8(VERSION_AT);
  if (version !== SEGMENT_VERSION) {
    throw new CorruptDataError(`unknown segment version ${version}; this reader knows version ${SEGMENT_VERSION}`);
  }
  return {
    indexPosition: readNonNegative(view, INDEX_POSITION_AT, 'indexPosition'),
    entryCount: view.getInt32(ENTRY_COUNT_AT),
    baseOffset: readNonNegative(view, BASE_OFFSET_AT, 'baseOffset'),
    lastOffset: readNonNegative(view, LAST_OFFSET_AT, 'lastOffset'),
    recordCount: readNonNegative(view, RECORD_COUNT_AT, 'recordCount'),
    maxTimestamp: readSafeInt64(view, MAX_TIMESTAMP_AT, 'maxTimestamp'),
    batchCount: view.getInt32(BATCH_COUNT_AT),
  };
}

/** The trailer's fields must agree with each other and with the object's length. */
function checkTrailer(trailer: SegmentTrailer, view: DataView, objectLength: number): void {
  const { indexPosition, entryCount, baseOffset, lastOffset, recordCount, batchCount } = trailer;
  for (let at = RESERVED_AT; at < VERSION_AT; at++) {
    if (view.getUint8(at) !== 0) throw new CorruptDataError(`segment trailer: reserved byte ${at} is not zero`);
  }
  if (entryCount < 1 || batchCount < entryCount) {
    throw new CorruptDataError(`segment trailer: ${entryCount} index entries for ${batchCount} batches`);
  }
  const expectedLength = indexPosition + entryCount * SEGMENT_INDEX_ENTRY_BYTES + SEGMENT_TRAILER_BYTES;
  if (indexPosition < 1 || expectedLength !== objectLength) {
    throw new CorruptDataError(
      `segment trailer: indexPosition ${indexPosition} and ${entryCount} index entries make a ${expectedLength}-byte object, ` +
        `but the object is ${objectLength} bytes`,
    );
  }
  if (lastOffset < baseOffset || recordCount > lastOffset - baseOffset + 1) {
    throw new CorruptDataError(`segment trailer: ${recordCount} records do not fit offsets ${baseOffset}..${lastOffset}`);
  }
}

/** A CRC-valid footer can still come from a faulty writer: the index must match the trailer. */
function checkIndexAgainstTrailer(index: IndexEntry[], trailer: SegmentTrailer): void {
  const first = index[0]!;
  const last = index[index.length - 1]!;
  const maxTimestamp = index.reduce((max, entry) => Math.max(max, entry.maxTimestamp), Number.NEGATIVE_INFINITY);
  if (
    first.firstOffset !== trailer.baseOffset ||
    last.lastOffset !== trailer.lastOffset ||
    last.position >= trailer.indexPosition ||
    maxTimestamp !== trailer.maxTimestamp
  ) {
    throw new CorruptDataError(
      `segment index (offsets ${first.firstOffset}..${last.lastOffset}, last region at ${last.position}, max timestamp ${maxTimestamp}) ` +
        `disagrees with its trailer (offsets ${trailer.baseOffset}..${trailer.lastOffset}, index at ${trailer.indexPosition}, ` +
        `max timestamp ${trailer.maxTimestamp})`,
    );
  }
}

function hexBytes(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
