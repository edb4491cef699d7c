/**
 * A catch-up's continuation reads answered from the reader's cached head and manifests
 * (lib/reading/reader.ts readFlushed, lib/reading/segment-reader.ts), against DynamoDB Local and s3rver:
 * across a compaction, after GC deleted the objects they name, and past the flushed
 * offset into the tail. Every record a read returns must be the one appended at its
 * offset, and no record that exists may be skipped.
 */
import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../../../lib/core/record.js';
import type { LogEngine } from '../../../lib/engine.js';
import { bytes, createTestEngine, readAll, text } from '../../support/engine.js';

const MINUTE = 60_000;

/** An adjustable clock, starting at a round time. */
function testClock(start = 1_700_000_000_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

type Logged = { offset: number; key: string; value: string };

const view = (records: StoredRecord[]) => records.map((r) => ({ offset: r.offset, key: text(r.key)!, value: text(r.value)! }));

/** Appends `segments` flushed segments of records over 5 keys; returns what was appended at each offset. */
async function fillCompactedTopic(engine: LogEngine, topic: string, segments: number): Promise<Logged[]> {
  const meta = await engine.topics.create({ name: topic, config: { cleanupPolicy: 'compact', segmentBytes: 64 * 1024 } });
  const log: Logged[] = [];
  for (let s = 0; s < segments; s++) {
    const records = Array.from({ length: 20 }, (_, i) => ({ key: `k${(s * 20 + i) % 5}`, value: `s${s}-i${i}-${'v'.repeat(300)}` }));
    const res = await engine.appender.appendToPartition(topic, 0, {
      records: records.map((r) => ({ key: bytes(r.key), value: bytes(r.value) })),
    });
    res.offsets.forEach((o, i) => {
      log.push({ offset: o.offset, ...records[i]! });
    });
    await engine.flusher!.flushPartition(meta, 0, { force: true });
  }
  return log;
}

/** Reads from `offset` to the high watermark, continuing from each answer's nextOffset. */
async function readOn(engine: LogEngine, topic: string, offset: number, maxRecords: number) {
  const records: StoredRecord[] = [];
  for (;;) {
    const page = await engine.reader.read(topic, 0, { offset, maxRecords });
    expect(page.nextOffset).toBeGreaterThan(offset);
    records.push(...page.records);
    offset = page.nextOffset;
    if (offset >= page.highWatermark) return { records, nextOffset: offset, highWatermark: page.highWatermark };
  }
}

describe('cached continuation reads', () => {
  it('continue a catch-up across a compaction with records that existed at their offsets, skipping none', async () => {
    const clock = testClock();
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: 20 * MINUTE } } });
    const log = await fillCompactedTopic(t.engine, 'table', 6);
    const first = await t.engine.reader.read('table', 0, { offset: 0, maxRecords: 15 });
    expect(view(first.records)).toEqual(log.slice(0, 15));

    clock.t += 1000;
    const pass = (await t.engine.maintenance!.runPartition('table', 0))!;
    expect(pass.compaction.recordsRemoved).toBeGreaterThan(0);
    const compacted = view(await readAll(t.verifier, 'table', 0));

    // The same consumer goes on from nextOffset on the same (warm) engine.
    const rest = await readOn(t.engine, 'table', first.nextOffset, 15);
    const got = view(rest.records);
    const appended = new Map(log.map((r) => [r.offset, r]));
    for (const r of got) expect(r).toEqual(appended.get(r.offset));
    const offsets = new Set(got.map((r) => r.offset));
    for (const r of compacted.filter((c) => c.offset >= first.nextOffset)) expect(offsets.has(r.offset)).toBe(true);
    expect(got.map((r) => r.offset)).toEqual([...offsets].sort((a, b) => a - b));
    expect(rest.nextOffset).toBe(log.length);
    // It read the segments as listed before the compaction (records it removed are there):
    // the continuation did not read the head or list the segments again.
    expect(got.length).toBeGreaterThan(compacted.filter((c) => c.offset >= first.nextOffset).length);

    // A read that is not a continuation sees the compacted log at once.
    expect(view((await t.engine.reader.read('table', 0, { offset: 0, maxRecords: 1000 })).records)).toEqual(compacted);
  });

  it('fall back to the head and the current segments when GC already deleted the objects they name', async () => {
    const clock = testClock();
    // No grace period at all: the replaced objects go in the same pass, under the cache.
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: 0 } } });
    const log = await fillCompactedTopic(t.engine, 'nograce', 6);
    const first = await t.engine.reader.read('nograce', 0, { offset: 0, maxRecords: 15 });
    expect(view(first.records)).toEqual(log.slice(0, 15));

    clock.t += 1000;
    await t.engine.maintenance!.runPartition('nograce', 0);
    clock.t += 1;
    await t.engine.maintenance!.runPartition('nograce', 0);
    const compacted = view(await readAll(t.verifier, 'nograce', 0));

    const rest = await readOn(t.engine, 'nograce', first.nextOffset, 15);
    expect(view(rest.records)).toEqual(compacted.filter((r) => r.offset >= first.nextOffset));
    expect(rest.nextOffset).toBe(log.length);
  });

  it('go on past the flushed offset into the tail and answer the current high watermark', async () => {
    const clock = testClock();
    const t = await createTestEngine({ clock });
    const meta = await t.engine.topics.create({ name: 'grow', config: { segmentBytes: 64 * 1024 } });
    const append = (from: number, n: number) =>
      t.engine.appender.appendToPartition('grow', 0, {
        records: Array.from({ length: n }, (_, i) => ({ key: null, value: bytes(`r${from + i}`) })),
      });
    await append(0, 40);
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    const first = await t.engine.reader.read('grow', 0, { offset: 0, maxRecords: 10 });
    expect(first.highWatermark).toBe(40);

    // Appended after the head the continuation remembers: in the tail, above its flushed offset.
    await append(40, 25);
    const page = await t.engine.reader.read('grow', 0, { offset: first.nextOffset, maxRecords: 1000 });
    expect(page.records.map((r) => text(r.value))).toEqual(Array.from({ length: 55 }, (_, i) => `r${i + 10}`));
    expect(page.nextOffset).toBe(65);
    expect(page.highWatermark).toBe(65);

    // And through the binary read, which stops at the same place.
    await append(65, 5);
    const batches = await t.engine.reader.readBatches('grow', 0, { offset: 20, maxRecords: 1000 });
    expect(batches.nextOffset).toBe(70);
    expect(batches.highWatermark).toBe(70);
  });
});
