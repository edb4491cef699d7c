/**
 * Reads flushed records from S3 segments: manifest (DynamoDB) → sparse index (in the
 * manifest) → one ranged GET per run of index regions. Only the regions that can hold
 * the wanted records are fetched, never a whole object to read a few records. A large
 * segment's manifest holds a coarse index (at most MAX_MANIFEST_INDEX_ENTRIES regions,
 * docs/format.md): a read through it fetches up to one coarse region before its offset
 * rather than GET the footer's full index first.
 */
import type { PartitionRef } from './keys.js';
import type { LogStore, ObjectStore, SegmentManifest } from './ports.js';
import { decodeBatch, iterateBatches } from './record-batch.js';
import type { ReadSink } from './record-collector.js';
import { decodeIndex, findRegion, findRegionByTimestamp, regionRange, regionsForBytes, type SegmentMeta } from './segment-format.js';

/** Manifests fetched per query while a read walks forward through segments. */
const MANIFEST_PAGE = 10;

/** What a segment read found: `moved` when a segment it needed is gone (retention, compaction). */
export type SegmentReadOutcome = 'done' | 'moved';

/** What a timestamp search found: the first record at or after the timestamp, `none`, or `moved` (search again from the head). */
export type TimestampSearch = { offset: number; timestamp: number } | 'none' | 'moved';

export class SegmentReader {
  constructor(
    private readonly store: LogStore,
    private readonly objects: ObjectStore,
  ) {}

  /**
   * Offers records from the collector's next offset up to `until` (the flushed offset).
   * Manifests cover contiguous offset ranges (compaction keeps a segment's range when it
   * removes records), so a manifest that starts above the next offset means the segments
   * changed under the read (retention): `moved`.
   */
  async read(ref: PartitionRef, until: number, collector: ReadSink): Promise<SegmentReadOutcome> {
    while (!collector.exhausted && collector.next < until) {
      const manifests = await this.store.listSegments(ref, collector.next, MANIFEST_PAGE);
      if (manifests.length === 0) return 'moved';
      for (const manifest of manifests) {
        if (manifest.baseOffset > collector.next) return 'moved';
        if ((await this.readSegment(manifest, until, collector)) === 'moved') return 'moved';
        if (collector.full) return 'done';
        collector.advanceTo(manifest.lastOffset + 1);
        if (collector.exhausted || collector.next >= until) return 'done';
      }
    }
    return 'done';
  }

  /**
   * The first record in [from, until) whose timestamp is ≥ `timestamp`: segments whose
   * max timestamp reaches it, then the first index region that does, then one GET.
   * `none` when no record in the range reaches it; `moved` when the segments changed
   * under the search (retention dropped a manifest it needed, an object is gone), as in
   * `read`: the caller reads the head again rather than answer from a later segment.
   */
  async findByTimestamp(ref: PartitionRef, timestamp: number, from: number, until: number): Promise<TimestampSearch> {
    let cursor = from;
    while (cursor < until) {
      const manifests = await this.store.listSegments(ref, cursor, MANIFEST_PAGE);
      if (manifests.length === 0) return 'moved';
      for (const manifest of manifests) {
        if (manifest.baseOffset > cursor) return 'moved';
        if (manifest.maxTimestamp >= timestamp) {
          const found = await this.searchSegment(manifest, timestamp, from, until);
          if (found !== 'none') return found;
        }
        cursor = manifest.lastOffset + 1;
        if (cursor >= until) return 'none';
      }
    }
    return 'none';
  }

  /** The first record of one segment in [from, until) whose timestamp is ≥ `timestamp`. */
  private async searchSegment(manifest: SegmentManifest, timestamp: number, from: number, until: number): Promise<TimestampSearch> {
    const meta = { index: decodeIndex(manifest.index), indexPosition: manifest.indexPosition };
    for (let region = findRegionByTimestamp(meta.index, timestamp); region >= 0 && region < meta.index.length; region++) {
      if (meta.index[region]!.maxTimestamp < timestamp) continue;
      const data = await this.getRange(manifest, regionRange(meta, region));
      if (data === 'moved') return 'moved';
      for (const batch of iterateBatches(data)) {
        if (batch.maxTimestamp < timestamp) continue;
        for (const record of decodeBatch(data, batch.position).records) {
          if (record.offset >= from && record.offset < until && record.timestamp >= timestamp) {
            return { offset: record.offset, timestamp: record.timestamp };
          }
        }
      }
    }
    return 'none';
  }

  /** Bytes [start, end) of the segment's object; `moved` when the object is gone (retention, compaction). */
  private async getRange(manifest: SegmentManifest, { start, end }: { start: number; end: number }): Promise<Uint8Array | 'moved'> {
    try {
      return await this.objects.get(manifest.key, { start, end: end - 1 });
    } catch (err) {
      if (isMissingObject(err)) return 'moved';
      throw err;
    }
  }

  private async readSegment(manifest: SegmentManifest, until: number, collector: ReadSink): Promise<SegmentReadOutcome> {
    const meta = { index: decodeIndex(manifest.index), indexPosition: manifest.indexPosition };
    // An empty index: compaction removed every record of this range (no object at all).
    let region = findRegion(meta.index, collector.next);
    if (region < 0) return 'done';
    while (region < meta.index.length && !collector.exhausted && collector.next < until) {
      // Count the bytes of the first region below the next offset too, so one GET still
      // reaches the wanted bytes when the read starts inside a (coarse) region.
      const last = regionsForBytes(meta, region, bytesBelow(meta, region, collector.next) + wantedBytes(manifest, collector));
      const data = await this.getRange(manifest, regionRange(meta, region, last));
      if (data === 'moved') return 'moved';
      if (!collector.offerBatches(data)) return 'done';
      region = last + 1;
    }
    return 'done';
  }
}

/**
 * About how many bytes of `region` hold offsets below `offset`, taking its offsets as
 * spread evenly over its bytes: what a read that starts inside the region skips.
 */
function bytesBelow(meta: Pick<SegmentMeta, 'index' | 'indexPosition'>, region: number, offset: number): number {
  const entry = meta.index[region]!;
  if (offset <= entry.firstOffset) return 0;
  const { start, end } = regionRange(meta, region);
  const below = Math.min(offset, entry.lastOffset + 1) - entry.firstOffset;
  return Math.floor(((end - start) * below) / (entry.lastOffset - entry.firstOffset + 1));
}

/** Bytes worth fetching: the byte bound, or fewer when the record bound will stop the read first. */
function wantedBytes(manifest: SegmentManifest, collector: ReadSink): number {
  const { maxRecords, maxBytes } = collector.remaining();
  const perRecord = manifest.bytes / Math.max(1, manifest.recordCount);
  return Math.max(1, Math.min(maxBytes, Math.ceil(maxRecords * perRecord)));
}

/** True when S3 says the object is not there (deleted by a flush, retention or GC). */
export function isMissingObject(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return !!e && (e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404);
}
