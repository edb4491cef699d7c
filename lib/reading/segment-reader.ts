/**
 * Reads flushed records from S3 segments: manifest (DynamoDB) → sparse index (in the
 * manifest) → one ranged GET per run of index regions. Only the regions that can hold
 * the wanted records are fetched, never a whole object to read a few records. A large
 * segment's manifest holds a coarse index (at most MAX_MANIFEST_INDEX_ENTRIES regions,
 * docs/format.md): a read through it fetches up to one coarse region before its offset
 * rather than GET the footer's full index first.
 */

import { ObjectMissingError } from '../core/errors.js';
import { decodeBatch, iterateBatches } from '../format/record-batch.js';
import type { SegmentMeta } from '../format/segment-footer.js';
import { decodeIndex, findRegion, findRegionByTimestamp, regionRange, regionsForBytes } from '../format/segment-index.js';
import type { LogStore } from '../ports/log-store.js';
import { type PartitionRef, partitionKey, type SegmentManifest } from '../ports/model.js';
import type { ObjectStore } from '../ports/object-store.js';
import type { ReadSink } from './record-collector.js';

/** Manifests fetched per query while a read walks forward through segments. */
const MANIFEST_PAGE = 10;
/**
 * How long a process reuses a partition's page of manifests (and the Reader the head it
 * read with them): far below the time an object outlives its manifest (the GC grace,
 * DEFAULT_OBJECT_GRACE_MS, 20 min; the deployed one adds the recovery window), so every
 * object a cached manifest names is still there when it is read. See {@link SegmentReader}.
 */
export const SEGMENT_CACHE_TTL_MS = 5_000;
/** Partitions whose manifests one process keeps at a time (the least recently listed go first). */
const SEGMENT_CACHE_PARTITIONS = 256;

/** What a segment read found: `moved` when a segment it needed is gone (retention, compaction). */
export type SegmentReadOutcome = 'done' | 'moved';

/** What a timestamp search found: the first record at or after the timestamp, `none`, or `moved` (search again from the head). */
export type TimestampSearch = { offset: number; timestamp: number } | 'none' | 'moved';

/** How a read uses the manifest cache: list at `now` and keep what was listed; `reuse` what is fresh. */
export interface SegmentCacheUse {
  now: number;
  reuse: boolean;
}

/** A GET started before the read reached its segment (read-ahead), and the regions it covers. */
interface ReadAhead {
  manifest: SegmentManifest;
  region: number;
  last: number;
  data: Promise<Uint8Array | 'moved'>;
}

/**
 * Manifests are cached per partition for SEGMENT_CACHE_TTL_MS (a catch-up's next read
 * then needs no Query). That is safe because what a manifest names never changes and
 * outlives it: segment objects are immutable and uniquely named, and an object whose
 * manifest compaction or retention removed is kept for the GC grace period after the
 * removal (docs/design.md, "Retention, compaction and garbage collection"), so a cached
 * manifest reads the records its segment held when it was listed. Compaction only
 * removes records (superseded keys, old tombstones) at offsets that keep no other
 * record, and retention only drops whole segments from the start: a stale manifest
 * returns records that existed at their offsets, never another record at an offset,
 * and covers the same offsets as its replacement, so nothing is skipped.
 *
 *     reader A (cache)               compaction              GC
 *     listSegments → [S0 (obj k0)]
 *     read S0 from k0
 *                                    S0' (obj k1) replaces S0,
 *                                    garbage item: k0 after grace
 *     read S0 from k0 (cached, ≤ 5 s)
 *                                                            delete k0 (grace later)
 *
 * Should an object be gone anyway (an engine built with a grace shorter than the cache),
 * the GET finds no object, the read is `moved`, and the partition's cache is dropped:
 * the caller reads the head and lists again, as without a cache.
 */
export class SegmentReader {
  private readonly cache = new Map<string, { at: number; manifests: SegmentManifest[] }>();

  constructor(
    private readonly store: LogStore,
    private readonly objects: ObjectStore,
  ) {}

  /**
   * Offers records from the collector's next offset up to `until` (the flushed offset).
   * Manifests cover contiguous offset ranges (compaction keeps a segment's range when it
   * removes records), so a manifest that starts above the next offset means the segments
   * changed under the read (retention): `moved`. With `cache`, the manifests listed are
   * kept for the partition (at `cache.now`), and with `cache.reuse` those listed less than
   * SEGMENT_CACHE_TTL_MS before it are read instead of a Query. While one segment's GET is
   * in flight, the next segment's first range is requested too when the read will want
   * it (read-ahead).
   */
  async read(ref: PartitionRef, until: number, collector: ReadSink, cache?: SegmentCacheUse): Promise<SegmentReadOutcome> {
    let ahead: ReadAhead | undefined;
    while (!collector.exhausted && collector.next < until) {
      const manifests = await this.manifestsFrom(ref, collector.next, cache);
      if (manifests.length === 0) return this.moved(ref);
      for (const [i, manifest] of manifests.entries()) {
        if (manifest.baseOffset > collector.next) return this.moved(ref);
        const prefetched = ahead?.manifest === manifest ? ahead : undefined;
        ahead = undefined;
        const following = manifests[i + 1];
        const outcome = await this.readSegment(manifest, until, collector, prefetched, following, (next) => (ahead = next));
        if (outcome === 'moved') return this.moved(ref);
        if (collector.full) return 'done';
        collector.advanceTo(manifest.lastOffset + 1);
        if (collector.exhausted || collector.next >= until) return 'done';
      }
    }
    return 'done';
  }

  /** Drops the partition's cached manifests (the caller saw its segments change). */
  forget(ref: PartitionRef): void {
    this.cache.delete(partitionKey(ref));
  }

  private moved(ref: PartitionRef): 'moved' {
    this.forget(ref);
    return 'moved';
  }

  /** Manifests from the one holding `offset` on: the cached page when it is fresh and holds it, else a Query. */
  private async manifestsFrom(ref: PartitionRef, offset: number, cache: SegmentCacheUse | undefined): Promise<SegmentManifest[]> {
    const key = partitionKey(ref);
    if (cache?.reuse) {
      const { now } = cache;
      const entry = this.cache.get(key);
      if (entry && now - entry.at < SEGMENT_CACHE_TTL_MS && now >= entry.at) {
        const i = entry.manifests.findIndex((m) => m.lastOffset >= offset);
        if (i >= 0 && entry.manifests[i]!.baseOffset <= offset) return entry.manifests.slice(i);
      }
    }
    const manifests = await this.store.listSegments(ref, offset, MANIFEST_PAGE);
    if (cache && manifests.length > 0) {
      this.cache.delete(key);
      this.cache.set(key, { at: cache.now, manifests });
      if (this.cache.size > SEGMENT_CACHE_PARTITIONS) this.cache.delete(this.cache.keys().next().value!);
    }
    return manifests;
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
      if (err instanceof ObjectMissingError) return 'moved';
      throw err;
    }
  }

  /**
   * One segment's part of the read. `prefetched`: this segment's first GET, started by
   * the previous segment's read-ahead. When this segment's GET reaches its end and the
   * read wants more bytes than it fetches, the `following` segment's first range is
   * requested at once (handed to `readAhead`), so its GET overlaps this one's.
   */
  private async readSegment(
    manifest: SegmentManifest,
    until: number,
    collector: ReadSink,
    prefetched?: ReadAhead,
    following?: SegmentManifest,
    readAhead?: (ahead: ReadAhead) => void,
  ): Promise<SegmentReadOutcome> {
    const meta = { index: decodeIndex(manifest.index), indexPosition: manifest.indexPosition };
    // An empty index: compaction removed every record of this range (no object at all).
    let region = findRegion(meta.index, collector.next);
    if (region < 0) return 'done';
    while (region < meta.index.length && !collector.exhausted && collector.next < until) {
      let last: number;
      let data: Promise<Uint8Array | 'moved'>;
      if (prefetched && prefetched.region === region) {
        ({ last, data } = prefetched);
      } else {
        // Count the bytes of the first region below the next offset too, so one GET still
        // reaches the wanted bytes when the read starts inside a (coarse) region.
        const below = bytesBelow(meta, region, collector.next);
        const wanted = wantedBytes(manifest, collector);
        last = regionsForBytes(meta, region, below + wanted);
        const range = regionRange(meta, region, last);
        data = this.getRange(manifest, range);
        const left = wanted - (range.end - range.start - below);
        if (
          last === meta.index.length - 1 &&
          left > 0 &&
          following &&
          readAhead &&
          following.baseOffset === manifest.lastOffset + 1 &&
          following.baseOffset < until
        ) {
          readAhead(this.startRead(following, following.baseOffset, left));
        }
      }
      prefetched = undefined;
      const bytes = await data;
      if (bytes === 'moved') return 'moved';
      if (!collector.offerBatches(bytes)) return 'done';
      region = last + 1;
    }
    return 'done';
  }

  /** Starts the GET of `wanted` bytes of a segment from `offset` (a read-ahead). */
  private startRead(manifest: SegmentManifest, offset: number, wanted: number): ReadAhead {
    const meta = { index: decodeIndex(manifest.index), indexPosition: manifest.indexPosition };
    const region = findRegion(meta.index, offset);
    // No records left in it (compacted away): nothing to fetch; readSegment skips it.
    if (region < 0) return { manifest, region, last: region, data: Promise.resolve(new Uint8Array(0)) };
    const last = regionsForBytes(meta, region, bytesBelow(meta, region, offset) + wanted);
    const data = this.getRange(manifest, regionRange(meta, region, last));
    // The read may end without using it (a bound, an error): its failure must not go unhandled.
    data.catch(() => undefined);
    return { manifest, region, last, data };
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
