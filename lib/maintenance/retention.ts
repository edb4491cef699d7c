/**
 * Retention (`cleanupPolicy` delete or compact,delete): whole segments leave the log from
 * its start, by time (`retentionMs`: the segment's newest record is older) or by size
 * (`retentionBytes`: the partition stays above the limit without it), as Kafka does.
 *
 *     retention                                   DynamoDB
 *     TransactWrite ───────────────────────────▶ Update HEAD logStartOffset = L+1
 *                                                   CONDITION logStartOffset = old AND flushedOffset ≥ L+1
 *                                                Delete S#… CONDITION key, generation as read
 *                                                Put X#{id} (the dropped objects, deleted after the grace period)
 *
 * Only flushed segments are dropped; the tail waits for its flush. Readers at an offset
 * below the new logStartOffset get 416 with the new bounds; a reader mid-read of a dropped
 * segment finishes, because its object outlives the manifest by the grace period.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { MAX_RETENTION_SEGMENTS_PER_COMMIT } from '../core/constants.js';
import type { LogStore } from '../ports/log-store.js';
import type { PartitionHead, PartitionRef, SegmentManifest, TopicMeta } from '../ports/model.js';

export interface RetentionResult {
  segments: number;
  bytes: number;
  /** The log start after the pass. */
  logStartOffset: number;
  /** False when another pass (or compaction) changed the partition first: the next run retries. */
  fenced: boolean;
}

export class Retention {
  constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly graceMs: number,
  ) {}

  /** Drops the segments retention no longer keeps; `manifests` are all of the partition's, oldest first. */
  async apply(meta: TopicMeta, ref: PartitionRef, head: PartitionHead, manifests: SegmentManifest[]): Promise<RetentionResult> {
    const result: RetentionResult = { segments: 0, bytes: 0, logStartOffset: head.logStartOffset, fenced: false };
    if (!meta.config.cleanupPolicy.split(',').includes('delete')) return result;
    const expired = expiredSegments(meta, head, manifests, this.clock.now());
    let logStartOffset = head.logStartOffset;
    for (let i = 0; i < expired.length; i += MAX_RETENTION_SEGMENTS_PER_COMMIT) {
      const dropped = expired.slice(i, i + MAX_RETENTION_SEGMENTS_PER_COMMIT);
      const next = dropped.at(-1)!.lastOffset + 1;
      const now = this.clock.now();
      const keys = dropped.flatMap((m) => (m.key ? [m.key] : []));
      const ok = await this.store.commitRetention({
        ref,
        expectedLogStartOffset: logStartOffset,
        logStartOffset: next,
        dropped,
        garbage: keys.length > 0 ? { id: randomUUID(), keys, createdAt: now, deleteAfter: now + this.graceMs } : null,
      });
      if (!ok) {
        result.fenced = true;
        break;
      }
      logStartOffset = next;
      result.segments += dropped.length;
      result.bytes += dropped.reduce((sum, m) => sum + m.bytes, 0);
    }
    result.logStartOffset = logStartOffset;
    return result;
  }
}

/**
 * The leading segments that retention drops: while the oldest is past `retentionMs`, or
 * the partition (segments and tail) stays at or above `retentionBytes` without it.
 *
 * The size is the head's tail bytes plus the segments below its flushedOffset. The pass
 * reads the head before the manifests, so a flush in between adds a manifest whose bytes
 * the head still counts in tailBytes:
 *
 *     pass                         flusher
 *     GetItem HEAD ──▶ flushedOffset F, tailBytes T (the tail [F, L])
 *                                  commit S#L, flushedOffset = L+1
 *     Query S# ──▶ …, S#L          (S#L's bytes are in T too)
 *
 * Counting S#L as well would drop one segment more than the policy allows.
 */
export function expiredSegments(meta: TopicMeta, head: PartitionHead, manifests: SegmentManifest[], now: number): SegmentManifest[] {
  const { retentionMs, retentionBytes } = meta.config;
  let size = head.tailBytes + manifests.reduce((sum, m) => sum + (m.lastOffset < head.flushedOffset ? m.bytes : 0), 0);
  const expired: SegmentManifest[] = [];
  for (const m of manifests) {
    if (m.lastOffset >= head.flushedOffset) break;
    const byTime = retentionMs >= 0 && m.maxTimestamp < now - retentionMs;
    const bySize = retentionBytes >= 0 && size - m.bytes >= retentionBytes;
    if (!byTime && !bySize) break;
    expired.push(m);
    size -= m.bytes;
  }
  return expired;
}
