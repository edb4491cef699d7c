/**
 * Key compaction (`cleanupPolicy` compact or compact,delete), Kafka's log cleaner on S3
 * segments: the log keeps at least the latest record of every key, at its original offset.
 *
 *     1. the cleanable segments: the leading ones whose newest record is older than
 *        minCompactionLagMs; "dirty" ones have generation 0 (flushed, never compacted)
 *     2. offset map: key → latest offset, from the dirty cleanable segments (at most half
 *        of MAX_COMPACTION_PASS_BYTES)
 *     3. rewrite every cleanable segment up to the last one mapped, in offset order (at
 *        most the other half per pass; a cursor in the partition's stats says where the
 *        next pass continues the round, so no pass grows with the log): a
 *        record stays if no later record of its key is in the map; a tombstone (null
 *        value) also goes once it is deleteRetentionMs old. Consecutive small outputs
 *        merge into one segment of up to segmentBytes.
 *     4. per output: PUT the object, then one transaction deletes the replaced manifests
 *        and overwrites the last one's item with the output, each conditioned on the key
 *        and generation read, and records the replaced objects as garbage (deleted after
 *        the grace period, so a reader mid-read finishes).
 *
 * A flush only adds manifests after the last one, and retention removes them from the
 * start under the same conditions, so a swap that lost a race fails as a whole: its
 * object is deleted, and the next pass starts again from the manifests. Every output is
 * committed on its own, in offset order, so a pass that stops (budget, crash, timeout)
 * has lost nothing: the segments not yet rewritten are still dirty, and the next pass
 * builds its map from them again. Dropping a record is only ever justified by a later
 * record of the same key that stays, so any map built from real records is safe.
 *
 * Outputs keep the offset range of the segments they replace (manifests stay contiguous)
 * and the records keep their offsets: reads skip the gaps (lib/reading/record-collector.ts). An
 * output with no record left is a manifest without an object.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { MAX_COMPACTION_GROUP_SEGMENTS, MAX_COMPACTION_PASS_BYTES, UPLOAD_COMMIT_WINDOW_MS } from '../core/constants.js';
import type { StoredRecord } from '../core/record.js';
import { segmentObjectKey } from '../format/object-keys.js';
import { decodeBatch, iterateBatches } from '../format/record-batch.js';
import { encodeBatch } from '../format/record-batch-encoder.js';
import { type BuildSegmentOptions, buildSegment } from '../format/segment-builder.js';
import { manifestIndex } from '../format/segment-index.js';
import type { LogStore } from '../ports/log-store.js';
import { emptyManifest, type PartitionRef, type SegmentManifest, type TopicMeta } from '../ports/model.js';
import type { ObjectStore } from '../ports/object-store.js';

export interface CompactionResult {
  /** Segments read and rewritten (or marked clean) by committed swaps. */
  segmentsIn: number;
  segmentsOut: number;
  bytesIn: number;
  bytesOut: number;
  recordsRemoved: number;
  /** True when a swap lost a race or the pass ran out of budget: the next run continues. */
  more: boolean;
  /** True when the pass had anything to do. */
  ran: boolean;
  /** Where the next pass continues this round (null: the round is over or none began). */
  cursor: CompactionCursor | null;
}

export interface CompactionOptions {
  /** Bytes of segments one pass reads at most (half for the offset map, half for the rewrite). */
  maxPassBytes?: number;
  /** Where the previous pass left this round. */
  cursor?: CompactionCursor | null;
}

/** A segment as compaction filtered it. */
interface Filtered {
  manifest: SegmentManifest;
  batches: Uint8Array[];
  bytes: number;
  records: number;
  removed: number;
  oldestTombstone: number | null;
}

export class Compactor {
  constructor(
    private readonly store: LogStore,
    private readonly objects: ObjectStore,
    private readonly clock: Clock,
    private readonly graceMs: number,
    /** How the outputs are built: the index interval (SEGMENT_INDEX_INTERVAL_BYTES by default). */
    private readonly segment: Pick<BuildSegmentOptions, 'indexIntervalBytes'> = {},
  ) {}

  /** One compaction pass over a partition; `manifests` are all of its segments, oldest first. */
  async compact(
    meta: TopicMeta,
    ref: PartitionRef,
    manifests: SegmentManifest[],
    options: CompactionOptions = {},
  ): Promise<CompactionResult> {
    const result: CompactionResult = {
      segmentsIn: 0,
      segmentsOut: 0,
      bytesIn: 0,
      bytesOut: 0,
      recordsRemoved: 0,
      more: false,
      ran: false,
      cursor: null,
    };
    if (!meta.config.cleanupPolicy.split(',').includes('compact')) return result;
    const now = this.clock.now();
    const budget = options.maxPassBytes ?? MAX_COMPACTION_PASS_BYTES;
    const plan = planCompaction(
      manifests,
      now - meta.config.minCompactionLagMs,
      now - meta.config.deleteRetentionMs,
      budget,
      options.cursor ?? null,
    );
    result.cursor = plan.cursor;
    if (plan.rewrite.length === 0) return result;
    result.ran = true;
    result.more = plan.truncated || plan.cursor !== null;

    // The dirty segments are read twice (map, then rewrite): keep the bytes of those rewritten now.
    const rewriting = new Set(plan.rewrite.map((m) => m.key));
    const cache = new Map<string, Uint8Array>();
    const latest = new Map<string, number>();
    for (const m of plan.mapSegments) {
      const data = await this.objects.get(m.key);
      if (rewriting.has(m.key)) cache.set(m.key, data);
      for (const record of segmentRecords(data, m)) {
        if (record.key) latest.set(keyString(record.key), record.offset);
      }
    }

    const tombstoneHorizon = now - meta.config.deleteRetentionMs;
    let group: Filtered[] = [];
    let groupBytes = 0;
    for (const m of plan.rewrite) {
      const data = m.recordCount === 0 ? new Uint8Array(0) : (cache.get(m.key) ?? (await this.objects.get(m.key)));
      cache.delete(m.key);
      const filtered = filterSegment(m, data, latest, tombstoneHorizon);
      if (group.length > 0 && (groupBytes + filtered.bytes > meta.config.segmentBytes || group.length >= MAX_COMPACTION_GROUP_SEGMENTS)) {
        if (!(await this.commitGroup(meta, ref, group, result))) return lostRace(result, group, plan.roundEnd);
        group = [];
        groupBytes = 0;
      }
      group.push(filtered);
      groupBytes += filtered.bytes;
    }
    if (group.length > 0 && !(await this.commitGroup(meta, ref, group, result))) return lostRace(result, group, plan.roundEnd);
    return result;
  }

  /** Writes one output for `group` and swaps it in; false when the swap lost a race. */
  private async commitGroup(_meta: TopicMeta, ref: PartitionRef, group: Filtered[], result: CompactionResult): Promise<boolean> {
    const first = group[0]!.manifest;
    const last = group.at(-1)!.manifest;
    const removed = group.reduce((n, f) => n + f.removed, 0);
    const generation = Math.max(...group.map((f) => f.manifest.generation)) + 1;
    const now = this.clock.now();
    const oldestTombstone = minOrNull(group.map((f) => f.oldestTombstone));
    let output: SegmentManifest;
    let written: string | undefined;
    let uploadedFrom: number | undefined;
    if (group.length === 1 && removed === 0) {
      // Nothing to remove: keep the object, only mark the segment clean (or leave it be).
      if (first.generation !== 0 && (first.oldestTombstone ?? null) === oldestTombstone) return true;
      output = { ...first, generation, oldestTombstone };
    } else {
      const batches = group.flatMap((f) => f.batches);
      if (batches.length === 0) {
        output = emptyManifest(first.baseOffset, last.lastOffset, now, generation);
      } else {
        const { bytes, meta: seg } = buildSegment(batches, this.segment);
        written = segmentObjectKey(ref, first.baseOffset, randomUUID());
        uploadedFrom = this.clock.now();
        await this.objects.put(written, bytes);
        output = {
          baseOffset: first.baseOffset,
          lastOffset: last.lastOffset,
          recordCount: seg.recordCount,
          key: written,
          bytes: seg.byteLength,
          indexPosition: seg.indexPosition,
          index: manifestIndex(seg),
          maxTimestamp: seg.maxTimestamp,
          createdAt: now,
          generation,
          oldestTombstone,
        };
      }
    }
    const garbage = group.flatMap((f) => (f.manifest.key && f.manifest.key !== output.key ? [f.manifest.key] : []));
    // Past the upload's window GC may have taken the new object for an orphan: a swap
    // naming it would lose the group's records. The next pass compacts the group again.
    const ok =
      (uploadedFrom === undefined || this.clock.now() - uploadedFrom <= UPLOAD_COMMIT_WINDOW_MS) &&
      (await this.store.commitCompaction({
        ref,
        replaced: group.map((f) => f.manifest),
        output,
        garbage: garbage.length > 0 ? { id: randomUUID(), keys: garbage, createdAt: now, deleteAfter: now + this.graceMs } : null,
      }));
    if (!ok) {
      // Nobody references the new object: delete it now (garbage collection would, later).
      if (written) await this.objects.delete([written]).catch(() => undefined);
      return false;
    }
    result.segmentsIn += group.length;
    result.segmentsOut += 1;
    result.bytesIn += group.reduce((n, f) => n + f.manifest.bytes, 0);
    result.bytesOut += output.bytes;
    result.recordsRemoved += removed;
    return true;
  }
}

/** A swap lost a race: the next pass retries the round from the group that failed. */
function lostRace(result: CompactionResult, group: Filtered[], roundEnd: number): CompactionResult {
  return { ...result, more: true, cursor: { offset: group[0]!.manifest.baseOffset, roundEnd } };
}

/** Where a compaction round that did not fit in one pass continues (kept in the partition's stats). */
export interface CompactionCursor {
  /** Segments below this offset were rewritten in this round. */
  offset: number;
  /** The round: the last offset of the last segment it compacts (the map's end). */
  roundEnd: number;
}

export interface CompactionPlan {
  /** The dirty segments the offset map is built from. */
  mapSegments: SegmentManifest[];
  /** The segments this pass rewrites, in offset order. */
  rewrite: SegmentManifest[];
  /** Where the next pass continues this round, or null when this pass ends it. */
  cursor: CompactionCursor | null;
  /** True when due segments are left beyond this round (the map's budget). */
  truncated: boolean;
  /** The round's last offset (-1 when there is nothing to do). */
  roundEnd: number;
}

/**
 * What one pass does, within `budget` bytes of segments read: a round compacts the
 * leading cleanable segments (newest record older than the lag) up to the last due one
 * (dirty, or holding an expired tombstone) whose dirty bytes fit half the budget (the
 * offset map); the pass rewrites the round from the cursor for at most the other half,
 * and leaves a cursor when the round goes on. A cursor of another round (new dirty
 * segments changed its end) is ignored: the round starts over, which is always safe.
 */
export function planCompaction(
  manifests: SegmentManifest[],
  lagHorizon: number,
  tombstoneHorizon: number,
  budget: number,
  cursor: CompactionCursor | null = null,
): CompactionPlan {
  const none: CompactionPlan = { mapSegments: [], rewrite: [], cursor: null, truncated: false, roundEnd: -1 };
  const cleanable: SegmentManifest[] = [];
  for (const m of manifests) {
    if (m.maxTimestamp > lagHorizon) break;
    cleanable.push(m);
  }
  const half = budget / 2;
  let end = -1;
  let mapBytes = 0;
  let truncated = false;
  for (let i = 0; i < cleanable.length; i++) {
    const m = cleanable[i]!;
    const dirty = m.generation === 0 && m.recordCount > 0;
    if (dirty && mapBytes > 0 && mapBytes + m.bytes > half) {
      truncated = cleanable.slice(i).some((n) => isDue(n, tombstoneHorizon));
      break;
    }
    if (dirty) mapBytes += m.bytes;
    if (isDue(m, tombstoneHorizon)) end = i;
  }
  if (end < 0) return none;
  const round = cleanable.slice(0, end + 1);
  const roundEnd = round.at(-1)!.lastOffset;
  const from = cursor && cursor.roundEnd === roundEnd ? cursor.offset : 0;
  const rest = round.filter((m) => m.baseOffset >= from);
  if (rest.length === 0) return { ...none, truncated };
  const rewrite: SegmentManifest[] = [];
  let bytes = 0;
  for (const m of rest) {
    if (rewrite.length > 0 && bytes + m.bytes > half) break;
    rewrite.push(m);
    bytes += m.bytes;
  }
  const next = rest[rewrite.length];
  return {
    mapSegments: round.filter((m) => m.generation === 0 && m.recordCount > 0),
    rewrite,
    cursor: next ? { offset: next.baseOffset, roundEnd } : null,
    truncated,
    roundEnd,
  };
}

function isDue(m: SegmentManifest, tombstoneHorizon: number): boolean {
  return m.generation === 0 || (m.oldestTombstone != null && m.oldestTombstone <= tombstoneHorizon);
}

/** The records of a whole segment object (its batches end where its index starts). */
function* segmentRecords(data: Uint8Array, manifest: SegmentManifest): Generator<StoredRecord> {
  const batches = data.subarray(0, manifest.indexPosition);
  for (const batch of iterateBatches(batches)) yield* decodeBatch(batches, batch.position).records;
}

/** Keeps what compaction keeps of one segment, batch by batch; an untouched batch is copied as is. */
function filterSegment(manifest: SegmentManifest, data: Uint8Array, latest: Map<string, number>, tombstoneHorizon: number): Filtered {
  const filtered: Filtered = { manifest, batches: [], bytes: 0, records: 0, removed: 0, oldestTombstone: null };
  if (manifest.recordCount === 0) return filtered;
  const all = data.subarray(0, manifest.indexPosition);
  for (const header of iterateBatches(all)) {
    const { records } = decodeBatch(all, header.position);
    const kept = records.filter((r) => keeps(r, latest, tombstoneHorizon));
    filtered.removed += records.length - kept.length;
    if (kept.length === 0) continue;
    let batch: Uint8Array;
    if (kept.length === records.length) {
      batch = all.subarray(header.position, header.position + header.byteLength);
    } else {
      const base = kept[0]!.offset;
      batch = encodeBatch(kept, { baseOffset: base, offsetDeltas: kept.map((r) => r.offset - base), compression: header.compression });
    }
    filtered.batches.push(batch);
    filtered.bytes += batch.byteLength;
    filtered.records += kept.length;
    for (const r of kept) {
      if (r.value === null) filtered.oldestTombstone = Math.min(filtered.oldestTombstone ?? Infinity, r.timestamp);
    }
  }
  return filtered;
}

/** True when compaction keeps the record: nothing later of its key, and not an expired tombstone. */
function keeps(record: StoredRecord, latest: Map<string, number>, tombstoneHorizon: number): boolean {
  if (record.key) {
    const newest = latest.get(keyString(record.key));
    if (newest !== undefined && newest > record.offset) return false;
  }
  return !(record.value === null && record.timestamp <= tombstoneHorizon);
}

/** A map key for the bytes of a record key (latin1 maps every byte to one char: no collisions). */
function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

function minOrNull(values: (number | null)[]): number | null {
  const present = values.filter((v): v is number => v !== null);
  return present.length > 0 ? Math.min(...present) : null;
}
