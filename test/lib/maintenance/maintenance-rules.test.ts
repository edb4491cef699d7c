/** The pure rules of retention and compaction: which segments a pass takes. */
import { describe, expect, it } from 'vitest';
import { planCompaction } from '../../../lib/maintenance/compactor.js';
import { expiredSegments } from '../../../lib/maintenance/retention.js';
import type { PartitionHead, SegmentManifest, TopicMeta } from '../../../lib/ports/model.js';
import { defaultTopicConfig, type TopicConfig } from '../../../lib/topics/topic-config.js';

function segment(baseOffset: number, lastOffset: number, extra: Partial<SegmentManifest> = {}): SegmentManifest {
  return {
    baseOffset,
    lastOffset,
    recordCount: lastOffset - baseOffset + 1,
    key: `seg-${baseOffset}`,
    bytes: 1000,
    indexPosition: 900,
    index: new Uint8Array(0),
    maxTimestamp: 0,
    createdAt: 0,
    generation: 0,
    ...extra,
  };
}

function topic(config: Partial<TopicConfig>): TopicMeta {
  return {
    name: 't',
    topicId: 'id',
    partitions: 1,
    config: { ...defaultTopicConfig(), ...config },
    createdAt: 0,
    updatedAt: 0,
    version: 1,
  };
}

const head = (extra: Partial<PartitionHead> = {}): PartitionHead => ({
  nextOffset: 40,
  committedOffset: 40,
  lastReservation: null,
  logStartOffset: 0,
  flushedOffset: 30,
  tailBytes: 0,
  lastAppendAt: 0,
  ...extra,
});

describe('expiredSegments (retention)', () => {
  const segments = [segment(0, 9, { maxTimestamp: 100 }), segment(10, 19, { maxTimestamp: 200 }), segment(20, 29, { maxTimestamp: 300 })];

  it('by time: the leading segments whose newest record is older than retentionMs', () => {
    expect(expiredSegments(topic({ retentionMs: 100 }), head(), segments, 250).map((s) => s.baseOffset)).toEqual([0]);
    expect(expiredSegments(topic({ retentionMs: 100 }), head(), segments, 301).map((s) => s.baseOffset)).toEqual([0, 10]);
    expect(expiredSegments(topic({ retentionMs: -1 }), head(), segments, 10_000)).toEqual([]);
  });

  it('stops at the first segment it keeps, even if a later one is older', () => {
    const unordered = [segment(0, 9, { maxTimestamp: 500 }), segment(10, 19, { maxTimestamp: 100 })];
    expect(expiredSegments(topic({ retentionMs: 100 }), head({ flushedOffset: 20 }), unordered, 300)).toEqual([]);
  });

  it('by size: while the partition, tail included, stays at or above retentionBytes without the segment', () => {
    const config = topic({ retentionMs: -1, retentionBytes: 2000 });
    expect(expiredSegments(config, head(), segments, 0).map((s) => s.baseOffset)).toEqual([0]);
    expect(expiredSegments(config, head({ tailBytes: 1000 }), segments, 0).map((s) => s.baseOffset)).toEqual([0, 10]);
    expect(expiredSegments(topic({ retentionMs: -1, retentionBytes: 3000 }), head(), segments, 0)).toEqual([]);
  });

  it('by size: a segment flushed after the head was read (at or above its flushedOffset) is not counted twice', () => {
    // The head still counts the segment [20, 29] in its tailBytes.
    const config = topic({ retentionMs: -1, retentionBytes: 2000 });
    expect(expiredSegments(config, head({ flushedOffset: 20, tailBytes: 1000 }), segments, 0).map((s) => s.baseOffset)).toEqual([0]);
  });

  it('never drops a segment at or above the flushed offset', () => {
    expect(expiredSegments(topic({ retentionMs: 0 }), head({ flushedOffset: 20 }), segments, 10_000).map((s) => s.baseOffset)).toEqual([
      0, 10,
    ]);
  });
});

describe('planCompaction', () => {
  const keys = (ms: SegmentManifest[]) => ms.map((m) => m.baseOffset);

  it('maps the dirty cleanable segments and rewrites the round up to the last due one', () => {
    const segments = [
      segment(0, 9, { generation: 1 }),
      segment(10, 19),
      segment(20, 29, { generation: 2 }),
      segment(30, 39, { maxTimestamp: 99 }),
    ];
    const plan = planCompaction(segments, 50, 0, Infinity);
    expect(keys(plan.mapSegments)).toEqual([10]);
    expect(keys(plan.rewrite)).toEqual([0, 10]);
    expect(plan).toMatchObject({ cursor: null, truncated: false, roundEnd: 19 });
  });

  it('does nothing when no cleanable segment is dirty and no kept tombstone is due', () => {
    const clean = [segment(0, 9, { generation: 1, oldestTombstone: 40 }), segment(10, 19, { generation: 1 })];
    expect(planCompaction(clean, 100, 39, Infinity).rewrite).toEqual([]);
    const due = planCompaction(clean, 100, 40, Infinity);
    expect(keys(due.rewrite)).toEqual([0]);
    expect(due.mapSegments).toEqual([]);
  });

  it('bounds the map to half the budget and says that due segments are left', () => {
    const segments = [segment(0, 9), segment(10, 19), segment(20, 29)];
    const plan = planCompaction(segments, 100, 0, 4000);
    expect(keys(plan.mapSegments)).toEqual([0, 10]);
    expect(plan.truncated).toBe(true);
  });

  it('takes at least one dirty segment however small the budget', () => {
    expect(planCompaction([segment(0, 9, { bytes: 5000 })], 100, 0, 1).rewrite).toHaveLength(1);
  });

  it('rewrites a long clean prefix in windows of half the budget, continuing from the cursor', () => {
    const segments = [...Array.from({ length: 6 }, (_, i) => segment(i * 10, i * 10 + 9, { generation: 1 })), segment(60, 69)];
    const first = planCompaction(segments, 100, 0, 4000);
    expect(keys(first.mapSegments)).toEqual([60]);
    expect(keys(first.rewrite)).toEqual([0, 10]);
    expect(first.cursor).toEqual({ offset: 20, roundEnd: 69 });
    const second = planCompaction(segments, 100, 0, 4000, first.cursor);
    expect(keys(second.rewrite)).toEqual([20, 30]);
    const last = planCompaction(segments, 100, 0, 4000, { offset: 60, roundEnd: 69 });
    expect(keys(last.rewrite)).toEqual([60]);
    expect(last.cursor).toBeNull();
  });

  it('starts the round over when the cursor belongs to another round', () => {
    const segments = [segment(0, 9, { generation: 1 }), segment(10, 19), segment(20, 29)];
    expect(keys(planCompaction(segments, 100, 0, Infinity, { offset: 10, roundEnd: 19 }).rewrite)).toEqual([0, 10, 20]);
  });
});
