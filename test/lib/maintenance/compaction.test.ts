/**
 * Retention, key compaction and garbage collection (functions/compact → lib/maintenance/maintenance.ts)
 * against DynamoDB Local and s3rver, with an injected clock for every time-based rule.
 */
import { describe, expect, inject, it } from 'vitest';
import { DynamoLogStore } from '../../../lib/aws/dynamo-log-store.js';
import { S3ObjectStore } from '../../../lib/aws/s3-object-store.js';
import { systemClock } from '../../../lib/core/clock.js';
import {
  DEFAULT_OBJECT_GRACE_MS,
  MAX_APPEND_DEADLINE_MS,
  ORPHAN_MIN_AGE_MS,
  TOPIC_STALE_APPEND_MS,
  UPLOAD_COMMIT_WINDOW_MS,
} from '../../../lib/core/constants.js';
import type { OffsetOutOfRangeError } from '../../../lib/core/errors.js';
import type { StoredRecord } from '../../../lib/core/record.js';
import { FAST_RETRY, sleep } from '../../../lib/core/retry.js';
import { type EngineOptions, LogEngine } from '../../../lib/engine.js';
import { partitionObjectPrefix } from '../../../lib/format/object-keys.js';
import { Flusher } from '../../../lib/maintenance/flusher.js';
import { localDynamoClient, localS3Client } from '../../../local/emulators.js';
import { bytes, createTestEngine, readAll, type TestEngine, text } from '../../support/engine.js';
import { FaultInjector, type FaultMode, failObjectDeletes, loseFlushCommits } from '../../support/faults.js';
import { History } from '../../support/history.js';
import { startFlushLoop } from '../../support/workload.js';

const MINUTE = 60_000;
const GRACE_MS = 10 * MINUTE;

/** An adjustable clock, starting at a round time. */
function testClock(start = 1_700_000_000_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

type Put = { key: string; value: string | null };

async function put(engine: LogEngine, topic: string, records: Put[], timestamp?: number): Promise<number[]> {
  const res = await engine.appender.appendToPartition(topic, 0, {
    records: records.map((r) => ({
      key: bytes(r.key),
      value: r.value === null ? null : bytes(r.value),
      ...(timestamp ? { timestamp } : {}),
    })),
  });
  return res.offsets.map((o) => o.offset);
}

/** What a compacted log must hold: the latest record of every key, at its offset, in offset order. */
function latestPerKey(log: { offset: number; key: string; value: string | null }[]) {
  const latest = new Map<string, { offset: number; key: string; value: string | null }>();
  for (const r of log) latest.set(r.key, r);
  return [...latest.values()].sort((a, b) => a.offset - b.offset);
}

const view = (records: StoredRecord[]) => records.map((r) => ({ offset: r.offset, key: text(r.key)!, value: text(r.value) }));

async function objectKeys(t: TestEngine, topic: string): Promise<string[]> {
  const meta = await t.verifier.topics.get(topic);
  return (await t.realObjects.list(partitionObjectPrefix({ topic, topicId: meta.topicId, partition: 0 }))).map((o) => o.key).sort();
}

async function manifestKeys(t: TestEngine, topic: string): Promise<string[]> {
  const meta = await t.verifier.topics.get(topic);
  const manifests = await t.realStore.listSegments({ topic, topicId: meta.topicId, partition: 0 }, 0, Infinity);
  return manifests.flatMap((m) => (m.key ? [m.key] : [])).sort();
}

describe('key compaction', () => {
  it('keeps exactly the latest value of every key, at its original offset, in offset order', async () => {
    const clock = testClock();
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: GRACE_MS } } });
    const meta = await t.engine.topics.create({
      name: 'table',
      config: { cleanupPolicy: 'compact', segmentBytes: 64 * 1024, flushBytes: 64 * 1024 },
    });
    const log: { offset: number; key: string; value: string | null }[] = [];
    for (let round = 0; round < 6; round++) {
      for (let batch = 0; batch < 5; batch++) {
        const records = Array.from({ length: 20 }, (_, i) => ({
          key: `k${(round * 7 + batch * 3 + i) % 23}`,
          value: `r${round}b${batch}i${i}-${'v'.repeat(200)}`,
        }));
        const offsets = await put(t.engine, 'table', records);
        records.forEach((r, i) => {
          log.push({ offset: offsets[i]!, ...r });
        });
      }
      await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    }
    clock.t += 1000;
    const before = await manifestKeys(t, 'table');
    const pass = (await t.engine.maintenance!.runPartition('table', 0))!;
    expect(pass.compaction).toMatchObject({ ran: true, more: false });
    expect(pass.compaction.recordsRemoved).toBe(log.length - 23);

    const expected = latestPerKey(log);
    expect(view(await readAll(t.verifier, 'table', 0))).toEqual(expected);
    // Reads from inside a gap continue at the next record that is left.
    for (const from of [0, 1, 57, 299, expected[10]!.offset, expected[10]!.offset + 1]) {
      const page = await t.verifier.reader.read('table', 0, { offset: from, maxRecords: 5 });
      expect(view(page.records)).toEqual(expected.filter((r) => r.offset >= from).slice(0, 5));
      expect(page.nextOffset).toBeGreaterThan(page.records.at(-1)?.offset ?? from - 1);
    }
    // Small outputs merged into fewer segments; the old objects wait for the grace period.
    const after = await manifestKeys(t, 'table');
    expect(after.length).toBeLessThan(before.length);
    expect(await objectKeys(t, 'table')).toEqual([...new Set([...before, ...after])].sort());
    clock.t += GRACE_MS;
    await t.engine.maintenance!.runPartition('table', 0);
    expect(await objectKeys(t, 'table')).toEqual(after);
    expect(view(await readAll(t.verifier, 'table', 0))).toEqual(expected);

    // A second pass with nothing new changes nothing.
    const again = (await t.engine.maintenance!.runPartition('table', 0))!;
    expect(again.compaction.segmentsOut).toBe(0);
    expect(await manifestKeys(t, 'table')).toEqual(after);
  });

  it('spreads a round over bounded passes with a cursor when the log is larger than one pass may read', async () => {
    const clock = testClock();
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: GRACE_MS, compaction: { maxPassBytes: 40 * 1024 } } } });
    const meta = await t.engine.topics.create({ name: 'long', config: { cleanupPolicy: 'compact', segmentBytes: 64 * 1024 } });
    const log: { offset: number; key: string; value: string | null }[] = [];
    const write = async (records: Put[]) => {
      const offsets = await put(t.engine, 'long', records);
      records.forEach((r, i) => {
        log.push({ offset: offsets[i]!, ...r });
      });
      await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    };
    // Ten ~8 KB segments of distinct keys, compacted once (all clean), then one dirty segment
    // that overwrites a key of every one of them.
    for (let s = 0; s < 10; s++)
      await write(Array.from({ length: 8 }, (_, i) => ({ key: `s${s}-k${i}`, value: `v1-${'x'.repeat(1000)}` })));
    clock.t += 1;
    while ((await t.engine.maintenance!.runPartition('long', 0))!.more);
    await write(Array.from({ length: 10 }, (_, s) => ({ key: `s${s}-k0`, value: 'v2' })));
    clock.t += 1;
    const passes = [];
    for (let i = 0; i < 20; i++) {
      const pass = (await t.engine.maintenance!.runPartition('long', 0))!;
      passes.push(pass.compaction);
      if (!pass.more) break;
    }
    // Each pass read at most its budget; the round took several passes and removed every old k0.
    expect(passes.length).toBeGreaterThan(2);
    for (const p of passes) expect(p.bytesIn).toBeLessThanOrEqual(40 * 1024);
    expect(passes.reduce((n, p) => n + p.recordsRemoved, 0)).toBe(10);
    expect(view(await readAll(t.verifier, 'long', 0))).toEqual(latestPerKey(log));
    expect((await t.verifier.topics.describe('long')).partitionStates[0]!.lastCompactionAt).toBe(clock.t);
  });

  it('keeps tombstones for deleteRetentionMs, then drops them', async () => {
    const clock = testClock();
    const t = await createTestEngine({ clock });
    const meta = await t.engine.topics.create({ name: 'users', config: { cleanupPolicy: 'compact', deleteRetentionMs: 5 * MINUTE } });
    await put(t.engine, 'users', [
      { key: 'alice', value: 'a1' },
      { key: 'bob', value: 'b1' },
      { key: 'alice', value: null },
      { key: 'carol', value: 'c1' },
    ]);
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    await t.engine.maintenance!.runPartition('users', 0);
    expect(view(await readAll(t.verifier, 'users', 0))).toEqual([
      { offset: 1, key: 'bob', value: 'b1' },
      { offset: 2, key: 'alice', value: null },
      { offset: 3, key: 'carol', value: 'c1' },
    ]);
    clock.t += 5 * MINUTE - 1;
    await t.engine.maintenance!.runPartition('users', 0);
    expect((await readAll(t.verifier, 'users', 0)).map((r) => r.offset)).toEqual([1, 2, 3]);
    clock.t += 1;
    const pass = (await t.engine.maintenance!.runPartition('users', 0))!;
    expect(pass.compaction.recordsRemoved).toBe(1);
    expect(view(await readAll(t.verifier, 'users', 0))).toEqual([
      { offset: 1, key: 'bob', value: 'b1' },
      { offset: 3, key: 'carol', value: 'c1' },
    ]);
  });

  it('leaves segments younger than minCompactionLagMs alone', async () => {
    const clock = testClock();
    const t = await createTestEngine({ clock });
    const meta = await t.engine.topics.create({ name: 'lag', config: { cleanupPolicy: 'compact', minCompactionLagMs: MINUTE } });
    await put(t.engine, 'lag', [
      { key: 'a', value: '1' },
      { key: 'a', value: '2' },
    ]);
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    expect((await t.engine.maintenance!.runPartition('lag', 0))!.compaction.ran).toBe(false);
    expect(await readAll(t.verifier, 'lag', 0)).toHaveLength(2);
    clock.t += MINUTE;
    expect((await t.engine.maintenance!.runPartition('lag', 0))!.compaction.recordsRemoved).toBe(1);
    expect(view(await readAll(t.verifier, 'lag', 0))).toEqual([{ offset: 1, key: 'a', value: '2' }]);
  });

  it('turns a segment whose records all went into an empty range that reads skip', async () => {
    const clock = testClock();
    const t = await createTestEngine({ clock });
    const meta = await t.engine.topics.create({ name: 'gone', config: { cleanupPolicy: 'compact', deleteRetentionMs: 0 } });
    await put(t.engine, 'gone', [
      { key: 'x', value: '1' },
      { key: 'x', value: null },
    ]);
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    await put(t.engine, 'gone', [{ key: 'y', value: 'tail' }]);
    clock.t += 1;
    await t.engine.maintenance!.runPartition('gone', 0);
    const page = await t.verifier.reader.read('gone', 0, { offset: 0 });
    expect(view(page.records)).toEqual([{ offset: 2, key: 'y', value: 'tail' }]);
    expect(page.nextOffset).toBe(3);
    expect(await objectKeys(t, 'gone')).toHaveLength(1); // the old segment, until the grace period
  });

  it('rejects records without a key in a compacted topic, writing nothing', async () => {
    const t = await createTestEngine();
    await t.engine.topics.create({ name: 'keys', config: { cleanupPolicy: 'compact,delete' } });
    await expect(
      t.engine.appender.appendToPartition('keys', 0, {
        records: [
          { key: bytes('a'), value: bytes('1') },
          { key: null, value: bytes('2') },
        ],
      }),
    ).rejects.toMatchObject({ code: 'VALIDATION', status: 400 });
    expect((await t.verifier.topics.describe('keys')).partitionStates[0]!.nextOffset).toBe(0);
  });
});

describe('retention', () => {
  it('drops segments older than retentionMs; readers below the new start get 416; objects go after the grace period', async () => {
    const clock = testClock();
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: MINUTE } } });
    const meta = await t.engine.topics.create({ name: 'events', config: { retentionMs: 10 * MINUTE } });
    const start = clock.t;
    // Segments with newest records at start, start + 4 min and start + 8 min; one record in the tail.
    for (let i = 0; i < 3; i++) {
      await put(
        t.engine,
        'events',
        Array.from({ length: 10 }, (_, j) => ({ key: `k${j}`, value: `s${i}-${j}` })),
      );
      await t.engine.flusher!.flushPartition(meta, 0, { force: true });
      clock.t += 4 * MINUTE;
    }
    await put(t.engine, 'events', [{ key: 'tail', value: 'stays in the tail' }]);
    clock.t = start + 10 * MINUTE + 1;
    const objectsBefore = await objectKeys(t, 'events');
    let pass = (await t.engine.maintenance!.runPartition('events', 0))!;
    expect(pass.retention).toMatchObject({ segments: 1, logStartOffset: 10 });
    await expect(t.verifier.reader.read('events', 0, { offset: 3 })).rejects.toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      logStartOffset: 10,
      highWatermark: 31,
    } satisfies Partial<OffsetOutOfRangeError>);
    expect((await readAll(t.verifier, 'events', 0, 10)).map((r) => r.offset)).toEqual(Array.from({ length: 21 }, (_, i) => 10 + i));
    expect((await t.verifier.reader.lookupOffset('events', 0, 'earliest')).offset).toBe(10);
    // A reader mid-read of the dropped segment can still finish: its object stays for the grace period.
    expect(await objectKeys(t, 'events')).toEqual(objectsBefore);

    clock.t = start + 14 * MINUTE + 1;
    pass = (await t.engine.maintenance!.runPartition('events', 0))!;
    expect(pass.retention).toMatchObject({ segments: 1, logStartOffset: 20 });
    clock.t += MINUTE + 1;
    pass = (await t.engine.maintenance!.runPartition('events', 0))!;
    expect(pass.retention.segments).toBe(0);
    expect(pass.gc.objects).toBe(1);
    expect(await objectKeys(t, 'events')).toEqual(await manifestKeys(t, 'events'));
    expect(await objectKeys(t, 'events')).toHaveLength(1);
    expect(view(await readAll(t.verifier, 'events', 0, 20)).at(-1)).toEqual({ offset: 30, key: 'tail', value: 'stays in the tail' });
    const described = (await t.verifier.topics.describe('events')).partitionStates[0]!;
    expect(described).toMatchObject({ logStartOffset: 20, segments: 1 });
    expect(described.lastRetentionAt).toBe(start + 14 * MINUTE + 1);
  });

  it('a reader whose segment vanishes mid-read (retention and GC between its head read and its GET) gets 416 with the new log start', async () => {
    const clock = testClock(Date.now());
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: 0 } } });
    const meta = await t.engine.topics.create({ name: 'vanish', config: { retentionMs: MINUTE } });
    await put(
      t.engine,
      'vanish',
      Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `old-${i}` })),
    );
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    clock.t += 2 * MINUTE;
    await put(t.engine, 'vanish', [{ key: 'new', value: 'fresh' }]);
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    // The reader's first GET runs retention and GC (grace 0) just before it reaches S3.
    let raced = false;
    const racingObjects = new Proxy(t.realObjects, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'get') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: Parameters<typeof target.get>) => {
          if (!raced) {
            raced = true;
            await t.engine.maintenance!.runPartition('vanish', 0);
          }
          return target.get(...args);
        };
      },
    });
    const reader = new LogEngine({ store: t.realStore, objects: racingObjects, clock, topicCacheTtlMs: 0 });
    await expect(reader.reader.read('vanish', 0, { offset: 2 })).rejects.toMatchObject({
      code: 'OFFSET_OUT_OF_RANGE',
      logStartOffset: 5,
      highWatermark: 6,
    });
    expect(raced).toBe(true);
    expect(view((await reader.reader.read('vanish', 0, { offset: 5 })).records)).toEqual([{ offset: 5, key: 'new', value: 'fresh' }]);
  });

  it('drops the oldest segments while the partition stays over retentionBytes without them', async () => {
    const clock = testClock();
    const t = await createTestEngine({ clock });
    const meta = await t.engine.topics.create({ name: 'sized', config: { retentionBytes: 3 * 1024, retentionMs: -1 } });
    for (let i = 0; i < 6; i++) {
      await put(
        t.engine,
        'sized',
        Array.from({ length: 4 }, (_, j) => ({ key: `k${j}`, value: 'x'.repeat(250) })),
      );
      await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    }
    const ref = { topic: 'sized', topicId: meta.topicId, partition: 0 };
    const sizes = (await t.realStore.listSegments(ref, 0, Infinity)).map((m) => m.bytes);
    const pass = (await t.engine.maintenance!.runPartition('sized', 0))!;
    const left = await t.realStore.listSegments(ref, 0, Infinity);
    expect(pass.retention.segments).toBe(sizes.length - left.length);
    expect(pass.retention.segments).toBeGreaterThan(0);
    const total = left.reduce((n, m) => n + m.bytes, 0);
    expect(total).toBeGreaterThanOrEqual(3 * 1024);
    expect(total - left[0]!.bytes).toBeLessThan(3 * 1024);
    expect((await t.verifier.topics.describe('sized')).partitionStates[0]!.logStartOffset).toBe(left[0]!.baseOffset);
  });

  // Regression (issue 12, finding 8): the pass read the head, then the manifests; a flush
  // in between counted the new segment twice (in the head's tailBytes and as a manifest),
  // so retention by size dropped one segment more than the policy allows.
  it('retention by size racing a flush keeps the segment the policy allows', async () => {
    const clock = testClock();
    const t = await createTestEngine({ clock });
    const meta = await t.engine.topics.create({ name: 'sized', config: { retentionMs: -1 } });
    const ref = { topic: 'sized', topicId: meta.topicId, partition: 0 };
    const records = Array.from({ length: 4 }, (_, j) => ({ key: `k${j}`, value: 'x'.repeat(250) }));
    for (let i = 0; i < 5; i++) {
      await put(t.engine, 'sized', records);
      await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    }
    await put(t.engine, 'sized', records); // the tail, not due: the pass itself does not flush it
    const sizes = (await t.realStore.listSegments(ref, 0, Infinity)).map((m) => m.bytes);
    const total = sizes.reduce((a, b) => a + b, 0) + (await t.realStore.getHead(ref)).tailBytes;
    // Segments and tail of about one size b: the policy drops two segments and keeps 4 b ≥ total − 2.5 b.
    const retentionBytes = Math.round(total - 2.5 * sizes[0]!);
    await t.engine.topics.updateConfig('sized', { retentionBytes });
    // Another process flushes the tail between the pass's head read and its manifest read.
    let raced = false;
    const racing = new Proxy(t.realStore, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'listSegments') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: Parameters<typeof target.listSegments>) => {
          if (!raced) {
            raced = true;
            expect((await t.verifier.flusher!.flushPartition(meta, 0, { force: true })).segments).toBe(1);
          }
          return target.listSegments(...args);
        };
      },
    });
    const engine = new LogEngine({ store: racing, objects: t.realObjects, clock });
    const pass = (await engine.maintenance!.runPartition('sized', 0))!;
    expect(raced).toBe(true);
    expect(pass.flush.segments).toBe(0);
    const left = await t.realStore.listSegments(ref, 0, Infinity);
    expect(left.reduce((n, m) => n + m.bytes, 0)).toBeGreaterThanOrEqual(retentionBytes);
    expect(pass.retention.segments).toBe(2);
  });

  it('never drops anything from a compact-only topic', async () => {
    const clock = testClock();
    const t = await createTestEngine({ clock });
    const meta = await t.engine.topics.create({
      name: 'forever',
      config: { cleanupPolicy: 'compact', retentionMs: 1000, retentionBytes: 1 },
    });
    await put(t.engine, 'forever', [
      { key: 'a', value: '1' },
      { key: 'b', value: '2' },
    ]);
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    clock.t += 60 * MINUTE;
    expect((await t.engine.maintenance!.runPartition('forever', 0))!.retention.segments).toBe(0);
    expect(await readAll(t.verifier, 'forever', 0)).toHaveLength(2);
  });
});

describe('garbage collection', () => {
  it('deletes orphans older than the grace period and tail items a crashed flush left, nothing referenced', async () => {
    const clock = testClock(Date.now());
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: GRACE_MS } } });
    const meta = await t.engine.topics.create({ name: 'gc', config: { stageBytes: 1024 } });
    const ref = { topic: 'gc', topicId: meta.topicId, partition: 0 };
    await put(t.engine, 'gc', [{ key: 'a', value: 'small' }]);
    await put(t.engine, 'gc', [{ key: 'b', value: 'y'.repeat(4000) }]); // staged in S3
    // Orphans: an object no manifest names (a crashed flush) and a staged object whose commit failed.
    const prefix = partitionObjectPrefix(ref);
    await t.realObjects.put(`${prefix}00000000000000000000-crashed.seg`, bytes('orphan'));
    await t.realObjects.put(`${prefix}staged/failed-commit.batch`, bytes('orphan'));
    // A flush that crashed after its commit, before deleting the tail items.
    const crashing = new FaultInjector([{ method: 'deleteTailItems', mode: 'before', times: 1 }]);
    const store = crashing.wrap(t.realStore);
    await expect(new Flusher(store, t.realObjects, clock, { graceMs: GRACE_MS }).flushPartition(meta, 0, { force: true })).rejects.toThrow(
      /injected/,
    );
    expect(await t.realStore.listTailBelow(ref, 2, 10)).toHaveLength(2);
    expect(view(await readAll(t.verifier, 'gc', 0)).map((r) => r.key)).toEqual(['a', 'b']);

    // Too young: only the leftovers go.
    let pass = (await t.engine.maintenance!.runPartition('gc', 0))!;
    expect(pass.gc.items).toBe(2);
    expect(await t.realStore.listTailBelow(ref, 2, 10)).toHaveLength(0);
    const keys = await objectKeys(t, 'gc');
    expect(keys).toContain(`${prefix}00000000000000000000-crashed.seg`);
    // s3rver stamps objects with the real time: move the clock past the grace period.
    clock.t = Date.now() + GRACE_MS + 1000;
    pass = (await t.engine.maintenance!.runPartition('gc', 0))!;
    expect(await objectKeys(t, 'gc')).toEqual(await manifestKeys(t, 'gc'));
    expect(view(await readAll(t.verifier, 'gc', 0)).map((r) => r.key)).toEqual(['a', 'b']);
  });

  // Regression (issue 12, lesser): GC read the leftover tail items with a single Query,
  // whose page stops at 1 MB, and did not ask for another pass.
  it('GC collects garbage beyond the first Query page', async () => {
    const t = await createTestEngine();
    const meta = await t.engine.topics.create({ name: 'big', config: { maxRecordBytes: 400 * 1024 } });
    const ref = { topic: 'big', topicId: meta.topicId, partition: 0 };
    // Six inline tail items of 300 KB: 1.8 MB, past one Query page.
    for (let i = 0; i < 6; i++) await put(t.engine, 'big', [{ key: `k${i}`, value: `${i}`.padEnd(300 * 1024, '.') }]);
    // A flush that crashed after its commit, before deleting the tail items.
    const crashing = new FaultInjector([{ method: 'deleteTailItems', mode: 'before', times: 1 }]);
    await expect(
      new Flusher(crashing.wrap(t.realStore), t.realObjects, systemClock).flushPartition(meta, 0, { force: true }),
    ).rejects.toThrow(/injected/);
    expect(await t.realStore.queryTail(ref, 0, { maxRecords: Infinity, maxBytes: Infinity })).toHaveLength(6);

    const pass = (await t.engine.maintenance!.runPartition('big', 0))!;
    expect(await t.realStore.queryTail(ref, 0, { maxRecords: Infinity, maxBytes: Infinity })).toHaveLength(0);
    expect(pass.gc.items).toBe(6);
    expect((await readAll(t.verifier, 'big', 0)).map((r) => text(r.value)![0])).toEqual(['0', '1', '2', '3', '4', '5']);
  });

  it('removes every item and object of a deleted topic once the grace period has passed', async () => {
    const clock = testClock(Date.now());
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: GRACE_MS } } });
    const meta = await t.engine.topics.create({ name: 'doomed', partitions: 2, config: { stageBytes: 1024 } });
    await put(t.engine, 'doomed', [{ key: 'a', value: 'x'.repeat(3000) }]);
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    await put(t.engine, 'doomed', [{ key: 'b', value: 'tail' }]);
    await t.engine.topics.delete('doomed');
    await t.engine.topics.create({ name: 'doomed' }); // a new incarnation is untouched
    await put(t.engine, 'doomed', [{ key: 'new', value: 'life' }]);

    let run = await t.engine.maintenance!.runAll();
    expect(run.deletedTopics.topics).toBe(0);
    clock.t += GRACE_MS + 1;
    run = await t.engine.maintenance!.runAll();
    expect(run.deletedTopics.topics).toBe(1);
    expect(await t.realStore.listDeletedTopics()).toEqual([]);
    for (const partition of [0, 1]) {
      expect(await t.realStore.deletePartitionItems({ topic: 'doomed', topicId: meta.topicId, partition }, 10)).toBe(0);
    }
    expect(await t.realObjects.list(`topics/doomed/${meta.topicId}/`)).toEqual([]);
    expect(view(await readAll(t.verifier, 'doomed', 0))).toEqual([{ offset: 0, key: 'new', value: 'life' }]);
  });
  /** An engine on the test's table and bucket whose DeleteObjects fails for the keys `failing` picks. */
  function failingDeletes(t: TestEngine, clock: { now: () => number }, failing: (key: string) => boolean) {
    const s3 = localS3Client(inject('s3Endpoint'));
    const deletes = failObjectDeletes(s3, failing);
    const engine = new LogEngine({
      store: t.realStore,
      objects: new S3ObjectStore(s3, t.bucket),
      clock,
      maintenance: { graceMs: GRACE_MS },
    });
    return { engine, deletes };
  }

  // Regression (issue 12, lesser): the S3 adapter ignored DeleteObjects' per-key Errors, so
  // GC dropped the garbage record of an object still in the bucket.
  it('GC keeps the garbage record of an object DeleteObjects failed to delete', async () => {
    const clock = testClock(Date.now());
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: GRACE_MS } } });
    const meta = await t.engine.topics.create({ name: 'leak', config: { retentionMs: 15 * MINUTE } });
    const ref = { topic: 'leak', topicId: meta.topicId, partition: 0 };
    await put(t.engine, 'leak', [{ key: 'a', value: 'expires' }]);
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    const [expired] = await manifestKeys(t, 'leak');
    clock.t += 16 * MINUTE;
    await put(t.engine, 'leak', [{ key: 'b', value: 'stays' }]);
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    expect((await t.engine.maintenance!.runPartition('leak', 0))!.retention.segments).toBe(1);
    expect((await t.realStore.listGarbage(ref)).flatMap((g) => g.keys)).toEqual([expired]);
    clock.t += GRACE_MS + 1;

    const { engine, deletes } = failingDeletes(t, clock, (key) => key === expired);
    const pass = (await engine.maintenance!.runPartition('leak', 0))!;
    expect(deletes.kept).toContain(expired);
    expect((await t.realStore.listGarbage(ref)).flatMap((g) => g.keys)).toEqual([expired]);
    expect(pass.gc.objects).toBe(0);
    expect(await objectKeys(t, 'leak')).toContain(expired);
    expect(pass.gc.nextGarbageAt).toBeLessThanOrEqual(clock.t); // due again at the next run

    // Once S3 deletes it, the record goes with it.
    expect((await t.engine.maintenance!.runPartition('leak', 0))!.gc.objects).toBe(1);
    expect(await t.realStore.listGarbage(ref)).toEqual([]);
    expect(await objectKeys(t, 'leak')).toEqual(await manifestKeys(t, 'leak'));
  });

  it('a deleted topic keeps its marker while DeleteObjects fails to delete one of its objects', async () => {
    const clock = testClock(Date.now());
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: GRACE_MS } } });
    const meta = await t.engine.topics.create({ name: 'doomed', config: { stageBytes: 1024 } });
    await put(t.engine, 'doomed', [{ key: 'a', value: 'x'.repeat(3000) }]);
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    await t.engine.topics.delete('doomed');
    clock.t += GRACE_MS + 1;
    const [segment] = (await t.realObjects.list(`topics/doomed/${meta.topicId}/`)).map((o) => o.key);

    const { engine, deletes } = failingDeletes(t, clock, (key) => key === segment);
    const run = await engine.maintenance!.runAll();
    expect(deletes.kept).toEqual([segment]);
    expect(run.deletedTopics).toMatchObject({ topics: 0, more: true });
    expect((await t.realStore.listDeletedTopics()).map((d) => d.topicId)).toEqual([meta.topicId]);

    expect((await t.engine.maintenance!.runAll()).deletedTopics.topics).toBe(1);
    expect(await t.realStore.listDeletedTopics()).toEqual([]);
    expect(await t.realObjects.list(`topics/doomed/${meta.topicId}/`)).toEqual([]);
  });

  /**
   * An engine that stalls after its first upload whose key `matches`, before the commit
   * naming the object goes out, and runs `during` meanwhile: a paused environment, or a
   * commit held up by conflicts, throttles and backoff.
   */
  function stallingEngine(
    t: TestEngine,
    clock: { now(): number },
    matches: (key: string) => boolean,
    during: () => Promise<void>,
    engine: Partial<EngineOptions> = {},
  ): LogEngine {
    let stalls = 1;
    const objects = new Proxy(t.realObjects, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'put' || typeof value !== 'function') return value;
        return async (key: string, data: Uint8Array) => {
          await value.call(target, key, data);
          if (matches(key) && stalls-- > 0) await during();
        };
      },
    });
    return new LogEngine({ store: t.realStore, objects, clock, retry: FAST_RETRY, appendDeadlineMs: 10_000, ...engine });
  }

  /** Moves the clock `ms` on (s3rver stamps objects with the real time) and collects partition 0 of `topic`. */
  const laterGc = (t: TestEngine, clock: { t: number }, topic: string, ms: number) => async () => {
    clock.t += ms;
    const ref = { topic, topicId: (await t.verifier.topics.get(topic)).topicId, partition: 0 };
    await t.engine.maintenance!.gc.collectPartition(ref, await t.realStore.getHead(ref));
  };

  it('an upload commits inside its window, which orphans outlive: appends by their deadline, appends on a stale topic too', () => {
    expect(MAX_APPEND_DEADLINE_MS).toBeLessThan(UPLOAD_COMMIT_WINDOW_MS);
    expect(TOPIC_STALE_APPEND_MS + MAX_APPEND_DEADLINE_MS).toBeLessThan(ORPHAN_MIN_AGE_MS);
    // Minutes between the last send and the deletion: a commit in flight, two hosts' clocks.
    expect(ORPHAN_MIN_AGE_MS - UPLOAD_COMMIT_WINDOW_MS).toBeGreaterThanOrEqual(2 * MINUTE);
    expect(ORPHAN_MIN_AGE_MS).toBeLessThanOrEqual(DEFAULT_OBJECT_GRACE_MS);
  });

  // Regression (the multi-process checker in a fresh-clone CI run, default sequencing):
  // with a grace period (5 s) shorter than the append deadline (10 s), GC took a staged
  // append's object for an orphan while the append, stalled but inside its deadline, had
  // not committed yet. The commit then landed and was acknowledged, and its records could
  // be neither read nor flushed ("neither a segment nor a tail item holds it").
  for (const sequencing of ['optimistic', 'reserve', 'write-first'] as const) {
    it(`regression: GC deleted the staged object of an append that committed after the grace period, inside its deadline (${sequencing})`, async () => {
      const clock = testClock(Date.now());
      const graceMs = 5_000;
      const t = await createTestEngine({ clock, engine: { maintenance: { graceMs } } });
      const meta = await t.engine.topics.create({ name: 'slow-append', config: { stageBytes: 1024 } });
      const slow = stallingEngine(t, clock, (key) => key.includes('/staged/'), laterGc(t, clock, 'slow-append', graceMs + 1_000), {
        sequencing,
      });
      const [offset] = await put(slow, 'slow-append', [{ key: 'big', value: 'x'.repeat(4000) }]);
      expect(view(await readAll(t.verifier, 'slow-append', 0))).toEqual([{ offset, key: 'big', value: 'x'.repeat(4000) }]);
      expect((await t.engine.flusher!.flushPartition(meta, 0, { force: true })).records).toBe(1);
    });
  }

  // The same race for a flush: its segment object waited for the commit past the grace period.
  it('regression: GC deleted the segment object of a flush that committed after the grace period', async () => {
    const clock = testClock(Date.now());
    const graceMs = 5_000;
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs } } });
    const meta = await t.engine.topics.create({ name: 'slow-flush' });
    await put(t.engine, 'slow-flush', [{ key: 'a', value: '1' }]);
    const slow = stallingEngine(t, clock, (key) => key.endsWith('.seg'), laterGc(t, clock, 'slow-flush', graceMs + 1_000));
    expect((await slow.flusher!.flushPartition(meta, 0, { force: true })).segments).toBe(1);
    expect(view(await readAll(t.verifier, 'slow-flush', 0))).toEqual([{ offset: 0, key: 'a', value: '1' }]);
  });

  it('a flush stalled past the upload window between its upload and its commit deletes its object and commits nothing', async () => {
    const clock = testClock(Date.now());
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: 5_000 } } });
    const meta = await t.engine.topics.create({ name: 'stalled-flush' });
    await put(t.engine, 'stalled-flush', [{ key: 'a', value: '1' }]);
    // Long enough for GC to take the segment for an orphan, and it does.
    const slow = stallingEngine(t, clock, (key) => key.endsWith('.seg'), laterGc(t, clock, 'stalled-flush', ORPHAN_MIN_AGE_MS + 1_000));
    expect(await slow.flusher!.flushPartition(meta, 0, { force: true })).toMatchObject({ segments: 0, reason: 'stalled' });
    expect(await objectKeys(t, 'stalled-flush')).toEqual([]);
    expect(view(await readAll(t.verifier, 'stalled-flush', 0))).toEqual([{ offset: 0, key: 'a', value: '1' }]);
    expect((await t.engine.flusher!.flushPartition(meta, 0, { force: true })).segments).toBe(1);
    expect(view(await readAll(t.verifier, 'stalled-flush', 0))).toEqual([{ offset: 0, key: 'a', value: '1' }]);
  });

  it('a compaction stalled past the upload window between its upload and its swap deletes its object and swaps nothing', async () => {
    const clock = testClock(Date.now());
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: 5_000 } } });
    const meta = await t.engine.topics.create({ name: 'stalled-compaction', config: { cleanupPolicy: 'compact', minCompactionLagMs: 0 } });
    await put(t.engine, 'stalled-compaction', [{ key: 'a', value: '1' }]);
    await put(t.engine, 'stalled-compaction', [
      { key: 'a', value: '2' },
      { key: 'b', value: '3' },
    ]);
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    const before = await manifestKeys(t, 'stalled-compaction');
    const slow = stallingEngine(
      t,
      clock,
      (key) => !before.includes(key),
      laterGc(t, clock, 'stalled-compaction', ORPHAN_MIN_AGE_MS + 1_000),
    );
    const pass = (await slow.maintenance!.runPartition('stalled-compaction', 0))!;
    expect(pass.compaction).toMatchObject({ segmentsOut: 0, more: true });
    expect(await manifestKeys(t, 'stalled-compaction')).toEqual(before);
    expect(await objectKeys(t, 'stalled-compaction')).toEqual(before);
    expect(view(await readAll(t.verifier, 'stalled-compaction', 0)).map((r) => r.value)).toEqual(['1', '2', '3']);
    expect((await t.engine.maintenance!.runPartition('stalled-compaction', 0))!.compaction.segmentsOut).toBe(1);
    expect(view(await readAll(t.verifier, 'stalled-compaction', 0)).map((r) => r.value)).toEqual(['2', '3']);
  });
});

describe('maintenance under faults and races', () => {
  /** The calls of one maintenance pass, on both ports. */
  const STEPS = [
    'getHead',
    'listSegments',
    'commitRetention',
    'commitCompaction',
    'listGarbage',
    'deleteGarbage',
    'listTailBelow',
    'getPartitionStats',
    'putPartitionStats',
    'get',
    'put',
    'delete',
    'list',
  ] as const;

  for (const method of STEPS) {
    for (const mode of ['before', 'after'] as FaultMode[]) {
      it(`loses nothing and leaves no orphan when ${method} fails ${mode} the call, then the pass re-runs`, async () => {
        const clock = testClock(Date.now());
        const faults = new FaultInjector([{ method, mode, times: 1 }]);
        faults.enabled = false;
        const t = await createTestEngine({ clock, faults, engine: { maintenance: { graceMs: GRACE_MS } } });
        const meta = await t.engine.topics.create({
          name: 'f',
          // Small segments: old2 (70 KB) never merges with its neighbours, so it expires on its own.
          config: { cleanupPolicy: 'compact,delete', retentionMs: 30 * MINUTE, deleteRetentionMs: MINUTE, segmentBytes: 64 * 1024 },
        });
        const log: { offset: number; key: string; value: string | null }[] = [];
        const write = async (records: Put[]) => {
          const offsets = await put(t.engine, 'f', records);
          records.forEach((r, i) => {
            log.push({ offset: offsets[i]!, ...r });
          });
        };
        const flush = () => t.engine.flusher!.flushPartition(meta, 0, { force: true });
        await write([{ key: 'old1', value: 'expires first' }]);
        await flush();
        clock.t += 5 * MINUTE;
        await write([{ key: 'old2', value: 'expires in the faulty pass'.padEnd(70_000, '.') }]);
        await flush();
        clock.t += 26 * MINUTE;
        for (let i = 0; i < 4; i++) {
          await write([
            { key: 'a', value: `a${i}` },
            { key: 'b', value: i === 3 ? null : `b${i}` },
            { key: `u${i}`, value: 'unique' },
          ]);
          await flush();
        }
        // A clean pass first: old1 retained and the rest compacted, both leaving garbage.
        await t.engine.maintenance!.runPartition('f', 0);
        for (let i = 4; i < 6; i++) {
          await write([
            { key: 'a', value: `a${i}` },
            { key: `u${i}`, value: 'unique' },
          ]);
          await flush();
        }
        await t.realObjects.put(`${partitionObjectPrefix({ topic: 'f', topicId: meta.topicId, partition: 0 })}orphan.seg`, bytes('x'));
        // Now old2 expires, the garbage is due, two dirty segments wait and the orphan is old:
        // the faulty pass calls every step once.
        clock.t += GRACE_MS + 1000;

        faults.enabled = true;
        await t.engine.maintenance!.runPartition('f', 0).catch(() => undefined);
        faults.enabled = false;
        for (let i = 0; i < 3; i++) await t.engine.maintenance!.runPartition('f', 0);
        clock.t += GRACE_MS + 1000;
        await t.engine.maintenance!.runPartition('f', 0);

        // The tombstone of b is older than deleteRetentionMs by the first compaction: gone.
        const expected = latestPerKey(log.filter((r) => r.offset >= 2)).filter((r) => r.value !== null);
        expect(view(await readAll(t.verifier, 'f', 0, 2))).toEqual(expected);
        expect((await t.verifier.topics.describe('f')).partitionStates[0]!.logStartOffset).toBe(2);
        expect(await objectKeys(t, 'f')).toEqual(await manifestKeys(t, 'f'));
        expect(faults.injected).toEqual([{ method, mode }]);
      });
    }
  }

  // Regression (chaos suite): when garbage collection failed on every run (s3rver could
  // not list a prefix), the pass never wrote its stats, so the compaction it had done
  // never showed and the partition looked stalled.
  it('a pass whose garbage collection fails still records what it flushed and compacted', async () => {
    const clock = testClock(Date.now());
    const faults = new FaultInjector([{ method: 'list', mode: 'before', times: 100 }]);
    faults.enabled = false;
    const t = await createTestEngine({ clock, faults, engine: { maintenance: { graceMs: GRACE_MS } } });
    const meta = await t.engine.topics.create({ name: 'gcfail', config: { cleanupPolicy: 'compact' } });
    for (let i = 0; i < 3; i++) {
      await put(t.engine, 'gcfail', [{ key: 'k', value: `v${i}` }]);
      await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    }
    clock.t += 1000;
    faults.enabled = true;
    await expect(t.engine.maintenance!.runPartition('gcfail', 0)).rejects.toThrow(/injected/);
    const state = (await t.verifier.topics.describe('gcfail')).partitionStates[0]!;
    expect(state.lastCompactionAt).toBe(clock.t);
    expect(state.segments).toBe(1);
    expect(view(await readAll(t.verifier, 'gcfail', 0, 0))).toEqual([{ offset: 2, key: 'k', value: 'v2' }]);
  });

  /**
   * A partition with work for every step: an expired segment, two dirty segments with
   * the same keys, an old orphan and a due tail. `hot` is an engine on its own DynamoDB
   * client whose flush commits lose `conflicts` times to an append (issue 12, finding 6).
   */
  async function hotPartition(conflicts: number) {
    const clock = testClock(Date.now());
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: GRACE_MS } } });
    const meta = await t.engine.topics.create({ name: 'hot', config: { cleanupPolicy: 'compact,delete', retentionMs: 30 * MINUTE } });
    const ref = { topic: 'hot', topicId: meta.topicId, partition: 0 };
    const log: string[] = [];
    const write = async (key: string, value: string) => {
      await put(t.engine, 'hot', [{ key, value }]);
      log.push(value);
    };
    await write('old', 'expires');
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    clock.t += 31 * MINUTE;
    for (let i = 0; i < 2; i++) {
      await write('k', `dirty-${i}`);
      await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    }
    await write('tail', 'due by age');
    await t.realObjects.put(`${partitionObjectPrefix(ref)}orphan.seg`, bytes('x'));
    // The tail is due by age, and the orphan (s3rver stamps the real time) is past the grace period.
    clock.t += 6 * MINUTE;
    const client = localDynamoClient(inject('dynamoEndpoint'));
    const lost = loseFlushCommits(client, { times: conflicts, interpose: () => write('tail', `appended-${log.length}`) });
    const hot = new LogEngine({
      store: new DynamoLogStore(client, t.tableName),
      objects: t.realObjects,
      clock,
      retry: FAST_RETRY,
      maintenance: { graceMs: GRACE_MS },
    });
    return { t, clock, ref, log, lost, hot };
  }

  // Regression (issue 12, finding 6): the flush commit's TransactionConflict was rethrown,
  // so on a hot partition every pass failed before retention, compaction, GC and stats,
  // and each left a segment-sized orphan object.
  it('a flush that loses to an append does not abort retention, compaction and GC', async () => {
    const { t, clock, ref, log, lost, hot } = await hotPartition(Infinity);
    const pass = (await hot.maintenance!.runPartition('hot', 0))!;
    expect(lost.lost).toBeGreaterThan(1); // the commit was retried
    expect(pass.flush).toMatchObject({ segments: 0, reason: 'conflict' });
    expect(pass.retention.segments).toBe(1);
    expect(pass.compaction.segmentsIn).toBe(2);
    expect(pass.gc.objects).toBe(1); // the old orphan
    expect(pass.more).toBe(true);
    const state = (await t.verifier.topics.describe('hot')).partitionStates[0]!;
    expect(state).toMatchObject({ lastRetentionAt: clock.t, lastCompactionAt: clock.t, flushedOffset: 3 });
    // The segment the lost commits wrote is gone at once: every object is a manifest's or garbage.
    const garbage = (await t.realStore.listGarbage(ref)).flatMap((g) => g.keys);
    expect(await objectKeys(t, 'hot')).toEqual([...(await manifestKeys(t, 'hot')), ...garbage].sort());
    expect((await readAll(t.verifier, 'hot', 0, 1)).map((r) => text(r.value))).toEqual(log.slice(2));
  });

  it('a flush commit that loses once to an append is retried and commits', async () => {
    const { t, log, lost, hot } = await hotPartition(1);
    const pass = (await hot.maintenance!.runPartition('hot', 0))!;
    expect(lost.lost).toBe(1);
    expect(pass.flush).toMatchObject({ segments: 1, reason: 'age' });
    expect((await t.verifier.topics.describe('hot')).partitionStates[0]!.flushedOffset).toBe(4);
    expect((await readAll(t.verifier, 'hot', 0, 1)).map((r) => text(r.value))).toEqual(log.slice(2));
  });

  it('a duplicated invocation is harmless: two passes at once lose nothing', async () => {
    const clock = testClock(Date.now());
    const t = await createTestEngine({ clock, engine: { maintenance: { graceMs: GRACE_MS } } });
    const meta = await t.engine.topics.create({ name: 'dup', config: { cleanupPolicy: 'compact' } });
    const log: { offset: number; key: string; value: string | null }[] = [];
    for (let i = 0; i < 5; i++) {
      const records = Array.from({ length: 10 }, (_, j) => ({ key: `k${(i * 3 + j) % 8}`, value: `v${i}-${j}` }));
      const offsets = await put(t.engine, 'dup', records);
      records.forEach((r, j) => {
        log.push({ offset: offsets[j]!, ...r });
      });
      await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    }
    clock.t += 1;
    // Lambda delivered the same event twice: two invocations (two engines) run the partition at once.
    const twin = new LogEngine({ store: t.realStore, objects: t.realObjects, clock, maintenance: { graceMs: GRACE_MS } });
    await Promise.all([t.engine.maintenance!.runPartition('dup', 0), twin.maintenance!.runPartition('dup', 0)]);
    await t.engine.maintenance!.runPartition('dup', 0);
    expect(view(await readAll(t.verifier, 'dup', 0))).toEqual(latestPerKey(log));
    clock.t += GRACE_MS + 1000;
    await t.engine.maintenance!.runPartition('dup', 0);
    expect(await objectKeys(t, 'dup')).toEqual(await manifestKeys(t, 'dup'));
  });

  it('compaction racing with appends, flushes and readers: zero anomalies under the history checker', async () => {
    const t = await createTestEngine({ engine: { maintenance: { graceMs: GRACE_MS } } });
    const meta = await t.engine.topics.create({ name: 'race', config: { cleanupPolicy: 'compact', segmentBytes: 64 * 1024 } });
    type Sent = { process: string; key: string; value: string; offset?: number; outcome: 'ok' | 'fail' | 'info' };
    const sent: Sent[] = [];
    const history = new History();
    let producing = true;

    const producers = Array.from({ length: 4 }, async (_, p) => {
      for (let i = 0; i < 30; i++) {
        const batch = Array.from({ length: 5 }, (_, j) => ({
          process: `p${p}`,
          // Half the keys are written once (must all survive), half are overwritten.
          key: j % 2 === 0 ? `u-${p}-${i}-${j}` : `hot-${(i + j) % 6}`,
          value: `p${p}-${i}-${j}-${'z'.repeat(300)}`,
          outcome: 'info' as Sent['outcome'],
        }));
        sent.push(...batch);
        try {
          const offsets = await put(t.engine, 'race', batch);
          batch.forEach((s, j) => {
            Object.assign(s, { outcome: 'ok', offset: offsets[j] });
          });
        } catch {
          // Unknown outcome: stays 'info'.
        }
      }
    });
    const flushes = startFlushLoop(t.engine, meta, 15);
    let compactions = 0;
    const compactor = (async () => {
      while (producing) {
        const pass = await t.engine.maintenance!.runPartition('race', 0);
        if (pass?.compaction.segmentsOut) compactions++;
        await sleep(10);
      }
    })();
    const readers = Array.from({ length: 2 }, async (_, r) => {
      let offset = 0;
      while (producing) {
        const page = await t.engine.reader.read('race', 0, { offset, maxRecords: 37, waitMs: 50 });
        history.poll({
          process: `r${r}`,
          partition: 0,
          fromOffset: offset,
          records: page.records.map((x) => ({ offset: x.offset, value: text(x.value)! })),
        });
        offset = page.nextOffset;
      }
    });
    await Promise.all(producers);
    producing = false;
    await Promise.all([flushes.stop(), compactor, ...readers]);
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    await t.engine.maintenance!.runPartition('race', 0);
    const final = await readAll(t.verifier, 'race', 0);
    history.finalRead(
      0,
      final.map((x) => ({ offset: x.offset, value: text(x.value)! })),
    );

    // A record compaction may remove: an acknowledged later record of the same key exists.
    const latestOk = new Map<string, number>();
    for (const s of sent) if (s.outcome === 'ok') latestOk.set(s.key, Math.max(latestOk.get(s.key) ?? -1, s.offset!));
    for (const s of sent) {
      const handle = history.invokeSend({ process: s.process, partition: 0, value: s.value });
      if (s.outcome === 'ok' && latestOk.get(s.key) === s.offset) handle.ok(s.offset!);
      else if (s.outcome === 'ok') handle.info();
      else handle.info();
    }
    const result = history.check({ allowGaps: true });
    expect(result.valid, result.summary()).toBe(true);
    expect(compactions).toBeGreaterThan(0);
    // Fully compacted at the end: one record per key, the latest acknowledged one.
    const finalKeys = final.map((x) => text(x.key)!);
    expect(new Set(finalKeys).size).toBe(finalKeys.length);
    expect(final.map((x) => x.offset)).toEqual([...latestOk.values()].sort((a, b) => a - b));
  }, 60_000);
});
