/**
 * The segment object: an immutable S3 object holding a partition's flushed records. Its
 * data section is the tail items' batches copied as they are (a flush never re-encodes),
 * followed by a sparse index and a fixed-size trailer. The index is also stored in the
 * segment's manifest item, coarsened to at most MAX_MANIFEST_INDEX_ENTRIES regions so the
 * item fits DynamoDB whatever the segment's size (manifestIndex), so a reader goes
 * manifest → index → one ranged GET and never reads the footer; the footer, with the full
 * index, makes the object self-describing for recovery, debugging and garbage collection.
 * Layout and rules: docs/format.md, "Segment objects".
 */
import { MAX_MANIFEST_INDEX_ENTRIES } from './constants.js';
import { crc32c } from './crc32c.js';
import { CorruptDataError, InternalError, ValidationError } from './errors.js';
import { decodeBatch, iterateBatches, type BatchHeader } from './record-batch.js';

/** The last 4 bytes of every segment object: ASCII "STSG" (STrata SeGment). */
export const SEGMENT_MAGIC = 'STSG';
/** Footer format version; readers reject any other value. */
export const SEGMENT_VERSION = 1;
/** Fixed size of the trailer, so a reader can find it from the object's length alone. */
export const SEGMENT_TRAILER_BYTES = 64;
/** Fixed size of one index entry: four int64 fields. */
export const SEGMENT_INDEX_ENTRY_BYTES = 32;
/**
 * Default bytes of batches an index entry covers. 64 KiB keeps the footer index of a
 * 1 GiB segment at 16 Ki entries (512 KiB) while a ranged GET for one offset fetches about
 * 64 KiB more than it needs at worst (in segments up to 128 MiB, whose manifests hold the
 * full index; see MAX_MANIFEST_INDEX_ENTRIES).
 */
export const SEGMENT_INDEX_INTERVAL_BYTES = 64 * 1024;

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

/** Byte positions of the fields of one index entry. */
const ENTRY_FIRST_OFFSET_AT = 0;
const ENTRY_LAST_OFFSET_AT = 8;
const ENTRY_POSITION_AT = 16;
const ENTRY_MAX_TIMESTAMP_AT = 24;

const INT32_MAX = 0x7fffffff;
const TWO_POW_32 = 0x1_0000_0000;

/**
 * One index entry: a region of whole consecutive batches. Region k spans bytes
 * [entries[k].position, entries[k + 1].position); the last one ends at indexPosition.
 */
export interface IndexEntry {
  /** Base offset of the region's first batch. */
  firstOffset: number;
  /** Last offset of the region's last batch. */
  lastOffset: number;
  /** Byte position of the region's first batch in the object. */
  position: number;
  /** Largest maxTimestamp of the region's batches. */
  maxTimestamp: number;
}

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

/**
 * The index bytes a segment's manifest item stores: the index, coarsened to at most
 * MAX_MANIFEST_INDEX_ENTRIES regions ({@link coarsenIndex}). The full index would not fit
 * a DynamoDB item past a few hundred MiB of segment (32 bytes per 64 KiB region).
 */
export function manifestIndex(meta: Pick<SegmentMeta, 'index' | 'indexPosition'>): Uint8Array {
  return encodeIndex(coarsenIndex(meta, MAX_MANIFEST_INDEX_ENTRIES));
}

/**
 * The index with at most `maxEntries` regions: the index itself when it is that small,
 * otherwise runs of consecutive regions merged into coarse ones. The batches' bytes are
 * cut into `maxEntries` equal slices, and the regions that start in one slice make one
 * coarse region, so each holds less than `indexPosition / maxEntries` bytes plus one
 * region. A coarse region is still a run of whole batches (the first region's
 * firstOffset and position, the last one's lastOffset, the largest maxTimestamp), so
 * findRegion, findRegionByTimestamp, regionRange and regionsForBytes work on it
 * unchanged; a read through it just fetches up to one coarse region before its offset.
 *
 * @example
 * // A 1 GiB segment at the 64 KiB interval: 16,384 regions → 2,048 of 512 KiB.
 * coarsenIndex(meta, 2048);
 */
export function coarsenIndex(meta: Pick<SegmentMeta, 'index' | 'indexPosition'>, maxEntries: number): IndexEntry[] {
  const { index, indexPosition } = meta;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
    throw new InternalError(`an index needs room for at least one entry, not ${maxEntries}`);
  }
  if (index.length <= maxEntries) return index;
  const coarse: IndexEntry[] = [];
  let open: IndexEntry | undefined;
  let openSlice = -1;
  for (const entry of index) {
    // Positions increase, so slices do too; every position is below indexPosition.
    const slice = Math.min(maxEntries - 1, Math.floor((entry.position * maxEntries) / indexPosition));
    if (open !== undefined && slice === openSlice) {
      open.lastOffset = entry.lastOffset;
      open.maxTimestamp = Math.max(open.maxTimestamp, entry.maxTimestamp);
      continue;
    }
    if (open !== undefined) coarse.push(open);
    open = { ...entry };
    openSlice = slice;
  }
  coarse.push(open!);
  return coarse;
}

/** The index alone, as stored in the manifest item (see {@link manifestIndex}). */
export function encodeIndex(entries: IndexEntry[]): Uint8Array {
  const bytes = new Uint8Array(entries.length * SEGMENT_INDEX_ENTRY_BYTES);
  writeIndex(bytes, 0, entries);
  return bytes;
}

/**
 * Decodes an index (from a manifest item or a footer) and checks it is ordered the way
 * the binary searches over it assume: a disordered index would send reads to wrong bytes.
 */
export function decodeIndex(bytes: Uint8Array): IndexEntry[] {
  if (bytes.byteLength % SEGMENT_INDEX_ENTRY_BYTES !== 0) {
    throw new CorruptDataError(
      `a segment index is ${bytes.byteLength} bytes, not a multiple of the ${SEGMENT_INDEX_ENTRY_BYTES}-byte entry`,
    );
  }
  const view = viewOf(bytes);
  const entries: IndexEntry[] = [];
  for (let at = 0; at < bytes.byteLength; at += SEGMENT_INDEX_ENTRY_BYTES) {
    const k = entries.length;
    const entry: IndexEntry = {
      firstOffset: readNonNegative(view, at + ENTRY_FIRST_OFFSET_AT, `index entry ${k} firstOffset`),
      lastOffset: readNonNegative(view, at + ENTRY_LAST_OFFSET_AT, `index entry ${k} lastOffset`),
      position: readNonNegative(view, at + ENTRY_POSITION_AT, `index entry ${k} position`),
      maxTimestamp: readInt64(view, at + ENTRY_MAX_TIMESTAMP_AT, `index entry ${k} maxTimestamp`),
    };
    checkEntryOrder(entry, entries[k - 1], k);
    entries.push(entry);
  }
  return entries;
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
      throw new CorruptDataError(
        `segment footer fails its CRC32C: expected 0x${hex32(expected)}, actual 0x${hex32(actual)}`,
      );
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

/**
 * The region to start reading at for `offset`: the first region holding any offset at or
 * above it. That is the last region whose firstOffset ≤ offset, except in a gap between
 * two regions (compaction), where the earlier region holds nothing a reader still wants
 * and the next one is returned. 0 below the first region, -1 above the segment.
 */
export function findRegion(index: IndexEntry[], offset: number): number {
  let low = 0;
  let high = index.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (index[mid]!.lastOffset < offset) low = mid + 1;
    else high = mid;
  }
  return low < index.length ? low : -1;
}

/**
 * The first region whose maxTimestamp ≥ `timestamp`, or -1. Timestamps are not ordered
 * across records, so this is a scan, not a binary search: no earlier region can hold a
 * record at or after `timestamp`.
 */
export function findRegionByTimestamp(index: IndexEntry[], timestamp: number): number {
  return index.findIndex((entry) => entry.maxTimestamp >= timestamp);
}

/**
 * Byte range [start, end) of regions `from`..`to` inclusive, for a ranged GET. S3's
 * Range header is inclusive at both ends: request `bytes=start-(end - 1)`.
 */
export function regionRange(
  meta: Pick<SegmentMeta, 'index' | 'indexPosition'>,
  from: number,
  to: number = from,
): { start: number; end: number } {
  const { index } = meta;
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to < from || to >= index.length) {
    throw new InternalError(`regions ${from}..${to} are not within the segment's ${index.length} regions`);
  }
  return { start: index[from]!.position, end: regionEnd(meta, to) };
}

/**
 * The last region of the shortest run from `from` whose bytes reach `maxBytes` (or the
 * segment's last region), so a read of `maxBytes` needs one GET and fetches at most one
 * region more than it uses. Always at least `from` itself.
 */
export function regionsForBytes(meta: Pick<SegmentMeta, 'index' | 'indexPosition'>, from: number, maxBytes: number): number {
  const { index } = meta;
  const { start } = regionRange(meta, from);
  let low = from;
  let high = index.length - 1;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (regionEnd(meta, mid) - start >= maxBytes) high = mid;
    else low = mid + 1;
  }
  return low;
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

function regionEnd(meta: Pick<SegmentMeta, 'index' | 'indexPosition'>, region: number): number {
  return meta.index[region + 1]?.position ?? meta.indexPosition;
}

function writeIndex(bytes: Uint8Array, at: number, entries: IndexEntry[]): void {
  const view = viewOf(bytes);
  for (const entry of entries) {
    writeInt64(view, at + ENTRY_FIRST_OFFSET_AT, entry.firstOffset);
    writeInt64(view, at + ENTRY_LAST_OFFSET_AT, entry.lastOffset);
    writeInt64(view, at + ENTRY_POSITION_AT, entry.position);
    writeInt64(view, at + ENTRY_MAX_TIMESTAMP_AT, entry.maxTimestamp);
    at += SEGMENT_INDEX_ENTRY_BYTES;
  }
}

/** Writes the trailer at the end of `bytes`, the CRC last: it covers index and trailer. */
function writeTrailer(bytes: Uint8Array, trailer: SegmentTrailer): void {
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
    maxTimestamp: readInt64(view, MAX_TIMESTAMP_AT, 'maxTimestamp'),
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

function checkEntryOrder(entry: IndexEntry, previous: IndexEntry | undefined, k: number): void {
  if (entry.lastOffset < entry.firstOffset) {
    throw new CorruptDataError(`index entry ${k}: lastOffset ${entry.lastOffset} is below firstOffset ${entry.firstOffset}`);
  }
  if (previous === undefined) {
    if (entry.position !== 0) throw new CorruptDataError(`index entry 0 starts at position ${entry.position}, not 0`);
    return;
  }
  if (entry.firstOffset <= previous.lastOffset || entry.position <= previous.position) {
    throw new CorruptDataError(
      `index entry ${k} (offset ${entry.firstOffset}, position ${entry.position}) does not follow ` +
        `entry ${k - 1} (last offset ${previous.lastOffset}, position ${previous.position})`,
    );
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

/** A non-negative int64 that is a safe integer: offsets, positions, counts. */
function readNonNegative(view: DataView, at: number, field: string): number {
  const value = readInt64(view, at, field);
  if (value < 0) throw new CorruptDataError(`segment ${field} ${value} is negative`);
  return value;
}

/**
 * Reads a big-endian int64, which must be a safe integer to be a JavaScript number. Two
 * 32-bit halves instead of BigInt: readers decode a manifest's index on every read.
 */
function readInt64(view: DataView, at: number, field: string): number {
  const value = view.getInt32(at) * TWO_POW_32 + view.getUint32(at + 4);
  if (!Number.isSafeInteger(value)) throw new CorruptDataError(`segment ${field} is not a safe integer`);
  return value;
}

/** Writes a safe integer as a big-endian int64 (two's complement), exactly. */
function writeInt64(view: DataView, at: number, value: number): void {
  const high = Math.floor(value / TWO_POW_32);
  view.setInt32(at, high);
  view.setUint32(at + 4, value - high * TWO_POW_32);
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function hex32(value: number): string {
  return value.toString(16).padStart(8, '0');
}

function hexBytes(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
