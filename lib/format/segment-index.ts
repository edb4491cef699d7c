/**
 * The segment's sparse index: one 32-byte entry per region of whole consecutive batches,
 * written after the batches (the footer, segment-footer.ts) and, coarsened to at most
 * MAX_MANIFEST_INDEX_ENTRIES regions (manifestIndex), in the segment's manifest item, so
 * a reader goes manifest → index → one ranged GET. Here: encoding and decoding an index,
 * coarsening it, and the lookups that turn an offset, a timestamp or a byte budget into
 * regions to fetch. Layout and rules: docs/format.md, "Segment objects".
 */
import { MAX_MANIFEST_INDEX_ENTRIES } from '../core/constants.js';
import { CorruptDataError, InternalError } from '../core/errors.js';
import { TWO_POW_32, viewOf, writeInt64 } from './big-endian.js';
import type { SegmentMeta } from './segment-footer.js';

/** Fixed size of one index entry: four int64 fields. */
export const SEGMENT_INDEX_ENTRY_BYTES = 32;
/**
 * Default bytes of batches an index entry covers. 64 KiB keeps the footer index of a
 * 1 GiB segment at 16 Ki entries (512 KiB) while a ranged GET for one offset fetches about
 * 64 KiB more than it needs at worst (in segments up to 128 MiB, whose manifests hold the
 * full index; see MAX_MANIFEST_INDEX_ENTRIES).
 */
export const SEGMENT_INDEX_INTERVAL_BYTES = 64 * 1024;

/** Byte positions of the fields of one index entry. */
const ENTRY_FIRST_OFFSET_AT = 0;
const ENTRY_LAST_OFFSET_AT = 8;
const ENTRY_POSITION_AT = 16;
const ENTRY_MAX_TIMESTAMP_AT = 24;

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
      maxTimestamp: readSafeInt64(view, at + ENTRY_MAX_TIMESTAMP_AT, `index entry ${k} maxTimestamp`),
    };
    checkEntryOrder(entry, entries[k - 1], k);
    entries.push(entry);
  }
  return entries;
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

function regionEnd(meta: Pick<SegmentMeta, 'index' | 'indexPosition'>, region: number): number {
  return meta.index[region + 1]?.position ?? meta.indexPosition;
}

export function writeIndex(bytes: Uint8Array, at: number, entries: IndexEntry[]): void {
  const view = viewOf(bytes);
  for (const entry of entries) {
    writeInt64(view, at + ENTRY_FIRST_OFFSET_AT, entry.firstOffset);
    writeInt64(view, at + ENTRY_LAST_OFFSET_AT, entry.lastOffset);
    writeInt64(view, at + ENTRY_POSITION_AT, entry.position);
    writeInt64(view, at + ENTRY_MAX_TIMESTAMP_AT, entry.maxTimestamp);
    at += SEGMENT_INDEX_ENTRY_BYTES;
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

/** A non-negative int64 that is a safe integer: offsets, positions, counts. */
export function readNonNegative(view: DataView, at: number, field: string): number {
  const value = readSafeInt64(view, at, field);
  if (value < 0) throw new CorruptDataError(`segment ${field} ${value} is negative`);
  return value;
}

/**
 * Reads a big-endian int64, which must be a safe integer to be a JavaScript number. Two
 * 32-bit halves instead of BigInt: readers decode a manifest's index on every read.
 */
export function readSafeInt64(view: DataView, at: number, field: string): number {
  const value = view.getInt32(at) * TWO_POW_32 + view.getUint32(at + 4);
  if (!Number.isSafeInteger(value)) throw new CorruptDataError(`segment ${field} is not a safe integer`);
  return value;
}
