/**
 * Segments at the largest allowed segmentBytes against DynamoDB Local and s3rver: the
 * manifest item holds a bounded (coarse) copy of the segment's index, the footer the full
 * one, and reads through the coarse copy still find every offset with bounded range GETs.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_MANIFEST_INDEX_ENTRIES, MAX_SEGMENT_BYTES, MAX_TAIL_ITEM_BYTES } from '../../../lib/core/constants.js';
import type { LogRecord } from '../../../lib/core/record.js';
import { FAST_RETRY } from '../../../lib/core/retry.js';
import { LogEngine } from '../../../lib/engine.js';
import { segmentObjectKey } from '../../../lib/format/object-keys.js';
import { encodeBatch } from '../../../lib/format/record-batch-encoder.js';
import { buildSegment } from '../../../lib/format/segment-builder.js';
import { readFooter } from '../../../lib/format/segment-footer.js';
import { decodeIndex, encodeIndex, SEGMENT_INDEX_ENTRY_BYTES } from '../../../lib/format/segment-index.js';
import type { TailItem } from '../../../lib/ports/model.js';
import type { ObjectStore } from '../../../lib/ports/object-store.js';
import { topicConfigSchema } from '../../../lib/topics/topic-config.js';
import { bytes, createTestEngine, readAll, text } from '../../support/engine.js';

const KiB = 1024;
/** DynamoDB's item size limit (400 KB, counted as 400 × 1024 bytes); DynamoDB Local enforces it. */
const DYNAMODB_ITEM_LIMIT_BYTES = 400 * KiB;
/**
 * Batches in the test segment. Every batch is its own index region (1-byte interval), so
 * the full index is 32 bytes a batch: 13,200 batches make a 422 KB index, past the item
 * limit on its own. At the default 64 KiB interval the same index takes ~800 MiB of data.
 */
const BATCHES = 13_000;
/** Keys appended a second time, so that compaction has records to remove. */
const OVERWRITTEN = 200;
const T0 = 1_700_000_000_000;

const record = (key: string, value: string, timestamp: number): LogRecord => ({
  key: bytes(key),
  value: bytes(value),
  headers: [],
  timestamp,
});

/** Whole batches packed into tail items of at most MAX_TAIL_ITEM_BYTES, as a group commit packs them. */
function tailItems(batches: Uint8Array[]): TailItem[] {
  const items: TailItem[] = [];
  let parts: Uint8Array[] = [];
  let size = 0;
  let baseOffset = 0;
  const close = () => {
    const lastOffset = baseOffset + parts.length - 1;
    const data = Buffer.concat(parts);
    const timestamps = { minTimestamp: T0 + baseOffset, maxTimestamp: T0 + lastOffset };
    items.push({ baseOffset, lastOffset, recordCount: parts.length, data, ...timestamps, appendedAt: Date.now(), commitId: 'setup' });
    baseOffset = lastOffset + 1;
    parts = [];
    size = 0;
  };
  for (const batch of batches) {
    if (size + batch.byteLength > MAX_TAIL_ITEM_BYTES) close();
    parts.push(batch);
    size += batch.byteLength;
  }
  close();
  return items;
}

describe('segments at the maximum segmentBytes', () => {
  it('flushes and compacts a partition whose segmentBytes is the maximum allowed', async () => {
    expect(topicConfigSchema.safeParse({ segmentBytes: MAX_SEGMENT_BYTES }).success).toBe(true);
    expect(topicConfigSchema.safeParse({ segmentBytes: MAX_SEGMENT_BYTES + 1 }).success).toBe(false);
    const { engine, verifier, realStore, realObjects } = await createTestEngine({ engine: { segmentIndexIntervalBytes: 1 } });
    const meta = await engine.topics.create({
      name: 't',
      partitions: 1,
      config: { segmentBytes: MAX_SEGMENT_BYTES, flushBytes: 64 * KiB, cleanupPolicy: 'compact' },
    });
    const ref = { topic: 't', topicId: meta.topicId, partition: 0 };

    // One batch per record, in tail items of many batches each: what concurrent producers'
    // single-record appends leave once group commits have concatenated them. Committed
    // through the store in one transaction because the sequencer puts at most ~100 appends
    // in a commit, and 13,200 appends one by one take ~12 s on DynamoDB Local.
    const log: { key: string; value: string }[] = [];
    for (let i = 0; i < BATCHES; i++) log.push({ key: `k${i}`, value: `v${i}` });
    for (let i = 0; i < OVERWRITTEN; i++) log.push({ key: `k${i}`, value: `w${i}` });
    const items = tailItems(log.map(({ key, value }, offset) => encodeBatch([record(key, value, T0 + offset)], { baseOffset: offset })));
    const appended = await realStore.commitAppend({
      ref,
      expectedNextOffset: 0,
      nextOffset: log.length,
      items,
      producers: [],
      appendedBytes: items.reduce((n, item) => n + item.data.byteLength, 0),
      now: Date.now(),
      requestToken: randomUUID(),
    });
    expect(appended).toEqual({ ok: true });

    // Flush (due by size), then key compaction, in one maintenance pass.
    const pass = await engine.maintenance!.runPartition('t', 0);
    expect(pass).toMatchObject({
      flush: { segments: 1, records: log.length },
      compaction: { segmentsIn: 1, segmentsOut: 1, recordsRemoved: OVERWRITTEN },
    });

    const [manifest, ...others] = await realStore.listSegments(ref, 0, Infinity);
    expect(others).toEqual([]);
    expect(manifest).toMatchObject({ baseOffset: 0, lastOffset: log.length - 1, recordCount: BATCHES, generation: 1 });
    // The footer holds the full index, one region per batch: too large for a DynamoDB item.
    const footer = readFooter(await realObjects.get(manifest!.key), manifest!.bytes);
    expect(footer.index).toHaveLength(BATCHES);
    expect(footer.index.length * SEGMENT_INDEX_ENTRY_BYTES).toBeGreaterThan(DYNAMODB_ITEM_LIMIT_BYTES);
    // The manifest holds a coarse copy of it, within its bound.
    const coarse = decodeIndex(manifest!.index);
    expect(coarse.length).toBeLessThanOrEqual(MAX_MANIFEST_INDEX_ENTRIES);
    expect(coarse[0]).toMatchObject({ firstOffset: OVERWRITTEN, position: 0 });
    expect(coarse.at(-1)!.lastOffset).toBe(log.length - 1);

    // Every record reads back through the coarse index, at its offset.
    const expected = log.map((r, offset) => ({ offset, ...r })).filter((r) => r.offset >= OVERWRITTEN || r.value.startsWith('w'));
    const all = await readAll(verifier, 't', 0);
    expect(all.map((r) => ({ offset: r.offset, key: text(r.key), value: text(r.value) }))).toEqual(expected);

    // A read of one record fetches about one coarse region, not the segment.
    const gets: number[] = [];
    const counting: ObjectStore = {
      put: (k, b) => realObjects.put(k, b),
      list: (p) => realObjects.list(p),
      delete: (k) => realObjects.delete(k),
      get: (k, range) => {
        gets.push(range ? range.end - range.start + 1 : Infinity);
        return realObjects.get(k, range);
      },
    };
    const reader = new LogEngine({ store: realStore, objects: counting, retry: FAST_RETRY });
    const coarseRegionBytes = Math.ceil(manifest!.indexPosition / MAX_MANIFEST_INDEX_ENTRIES);
    for (const offset of [OVERWRITTEN, 777, 4096, 9999, BATCHES - 1, BATCHES, log.length - 1]) {
      gets.length = 0;
      const page = await reader.reader.read('t', 0, { offset, maxRecords: 1 });
      expect(page.records.map((r) => r.offset)).toEqual([offset]);
      expect(gets).toHaveLength(1);
      expect(gets[0]).toBeLessThanOrEqual(2 * coarseRegionBytes + 1 * KiB);
    }
    // A timestamp lookup goes through the coarse regions' max timestamps.
    expect(await reader.reader.lookupOffset('t', 0, T0 + 5_000)).toEqual({ offset: 5_000, timestamp: T0 + 5_000 });
  });

  it('reads a segment whose manifest holds a full index longer than the bound, as written before it', async () => {
    const { engine, verifier, realStore, realObjects } = await createTestEngine();
    const meta = await engine.topics.create({ name: 't', partitions: 1 });
    const ref = { topic: 't', topicId: meta.topicId, partition: 0 };
    const count = MAX_MANIFEST_INDEX_ENTRIES + 500;
    const batches = Array.from({ length: count }, (_, offset) =>
      encodeBatch([record(`k${offset}`, `v${offset}`, T0 + offset)], { baseOffset: offset }),
    );
    const items = tailItems(batches);
    const appendedBytes = items.reduce((n, item) => n + item.data.byteLength, 0);
    const now = Date.now();
    const requestToken = randomUUID();
    const appended = await realStore.commitAppend({
      ref,
      expectedNextOffset: 0,
      nextOffset: count,
      items,
      producers: [],
      appendedBytes,
      now,
      requestToken,
    });
    expect(appended).toEqual({ ok: true });
    // What a flush wrote before the bound: one region per batch, the whole index in the manifest.
    const { bytes: object, meta: segment } = buildSegment(
      items.map((item) => item.data),
      { indexIntervalBytes: 1 },
    );
    const key = segmentObjectKey(ref, 0, randomUUID());
    await realObjects.put(key, object);
    const index = encodeIndex(segment.index);
    expect(index.byteLength).toBe(count * SEGMENT_INDEX_ENTRY_BYTES);
    await realStore.commitFlush({
      ref,
      expectedFlushedOffset: 0,
      flushedOffset: count,
      flushedBytes: appendedBytes,
      manifest: {
        baseOffset: 0,
        lastOffset: count - 1,
        recordCount: count,
        key,
        bytes: segment.byteLength,
        indexPosition: segment.indexPosition,
        index,
        maxTimestamp: segment.maxTimestamp,
        createdAt: now,
        generation: 0,
      },
    });
    await realStore.deleteTailItems(
      ref,
      items.map((item) => item.lastOffset),
    );
    expect((await verifier.topics.describe('t')).partitionStates[0]).toMatchObject({ flushedOffset: count, nextOffset: count });

    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(Array.from({ length: count }, (_, i) => `v${i}`));
    for (const offset of [0, 1234, MAX_MANIFEST_INDEX_ENTRIES, count - 1]) {
      const page = await verifier.reader.read('t', 0, { offset, maxRecords: 2 });
      expect(page.records.map((r) => text(r.key))).toEqual([`k${offset}`, `k${offset + 1}`].slice(0, count - offset));
    }
    expect(await verifier.reader.lookupOffset('t', 0, T0 + 2_222)).toEqual({ offset: 2_222, timestamp: T0 + 2_222 });
  });
});
