/**
 * Flushed tail items removed by DynamoDB TTL instead of deletes (lib/maintenance/tail-expiry.ts),
 * against DynamoDB Local (which removes expired items itself, within seconds) and s3rver.
 */
import { describe, expect, it } from 'vitest';
import { DynamoLogStore } from '../../../lib/aws/dynamo-log-store.js';
import { DATA_PREFIX, INDEX_PREFIX } from '../../../lib/aws/table-keys.js';
import { Flusher } from '../../../lib/maintenance/flusher.js';
import type { PartitionRef, TopicMeta } from '../../../lib/ports/model.js';
import type { ObjectStore } from '../../../lib/ports/object-store.js';
import { INDEX_EVERY } from '../../../lib/sequencing/write-first-sequencer.js';
import { partitionRawItems, testClients } from '../../support/aws.js';
import { bytes, createTestEngine, readAll, text } from '../../support/engine.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The TTLs (seconds) of a partition's data items and index items, read directly. */
async function itemExpiries(tableName: string, partition: PartitionRef): Promise<{ data: number[]; index: number[] }> {
  const items = await partitionRawItems(tableName, partition);
  const ttls = (prefix: string) => items.filter((i) => i.sk?.S?.startsWith(prefix)).map((i) => Number(i.ttl?.N));
  return { data: ttls(DATA_PREFIX), index: ttls(INDEX_PREFIX) };
}

const values = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
const ref = (meta: TopicMeta): PartitionRef => ({ topic: meta.name, topicId: meta.topicId, partition: 0 });

/** An object store whose PUTs fail: S3 refusing writes, flushes failing for as long as it lasts. */
function refusingPuts(objects: ObjectStore): ObjectStore {
  return {
    ...objects,
    get: objects.get.bind(objects),
    list: objects.list.bind(objects),
    delete: objects.delete.bind(objects),
    put: () => Promise.reject(new Error('S3 is refusing PUTs')),
  };
}

describe('tail items with a TTL', () => {
  it('carry a TTL from their append, stay in place after the flush, and read the same present or gone', async () => {
    const now = Date.now();
    const t = await createTestEngine({ clock: { now: () => now }, store: { tailTtlMs: DAY } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1 });
    const all = values('v', 30);
    for (let i = 0; i < all.length; i += 10) {
      await t.engine.appender.appendToPartition('t', 0, { records: all.slice(i, i + 10).map((v) => ({ key: null, value: bytes(v) })) });
    }
    const before = await t.realStore.queryTail(ref(meta), 0, { maxRecords: Infinity, maxBytes: Infinity });
    expect(before.map((i) => i.lastOffset)).toEqual([9, 19, 29]);
    for (const item of before) expect(item.expiresAt).toBe(Math.ceil((item.appendedAt + DAY) / 1000) * 1000);

    expect(await t.engine.flusher!.flushPartition(meta, 0, { force: true })).toMatchObject({ segments: 1, records: 30, lagMs: 0 });
    // Not deleted: DynamoDB's TTL removes them, for free.
    for (const item of before) expect(await t.realStore.getTailItem(ref(meta), item.lastOffset)).toBeDefined();
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(all);

    // As TTL removes them: reads below flushedOffset come from the segment.
    await t.realStore.deleteTailItems(
      ref(meta),
      before.map((i) => i.lastOffset),
    );
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(all);
    expect((await t.verifier.reader.read('t', 0, { offset: 12, maxRecords: 5 })).records.map((r) => text(r.value))).toEqual(
      all.slice(12, 17),
    );
  });

  it('are extended past half their TTL before a flush puts its segment, so a failing flush loses nothing', async () => {
    let now = Date.now() - 1.5 * HOUR;
    const ttl = 2 * HOUR;
    const t = await createTestEngine({ clock: { now: () => now }, store: { tailTtlMs: ttl } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1 });
    await t.engine.appender.appendToPartition('t', 0, { records: values('old', 5).map((v) => ({ key: null, value: bytes(v) })) });
    now = Date.now();
    const failing = new Flusher(t.realStore, refusingPuts(t.realObjects), { now: () => now });
    // Half an hour of TTL left, under half of it: extended even though the flush fails after.
    await expect(failing.flushPartition(meta, 0, { force: true })).rejects.toThrow(/refusing PUTs/);
    const [item] = await t.realStore.queryTail(ref(meta), 0, { maxRecords: Infinity, maxBytes: Infinity });
    expect(item!.expiresAt).toBe(Math.ceil((now + ttl) / 1000) * 1000);

    // Once S3 takes writes again, the flush goes through and nothing was lost.
    expect(await t.engine.flusher!.flushPartition(meta, 0, { force: true })).toMatchObject({ segments: 1, records: 5 });
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(values('old', 5));
  });

  it('are kept alive by a flush that is not due yet: a topic may wait longer than the TTL to flush', async () => {
    let now = Date.now() - 1.5 * HOUR;
    const ttl = 2 * HOUR;
    const t = await createTestEngine({ clock: { now: () => now }, store: { tailTtlMs: ttl } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1, config: { flushIntervalMs: 7 * DAY } });
    await t.engine.appender.appendToPartition('t', 0, { records: values('slow', 2).map((v) => ({ key: null, value: bytes(v) })) });
    now = Date.now();
    expect(await t.engine.flusher!.flushPartition(meta, 0)).toMatchObject({ reason: 'not-due', kept: 1 });
    const [item] = await t.realStore.queryTail(ref(meta), 0, { maxRecords: Infinity, maxBytes: Infinity });
    expect(item!.expiresAt).toBe(Math.ceil((now + ttl) / 1000) * 1000);
  });

  it('extends every unflushed item that is due, and none that is not', async () => {
    let now = Date.now() - 1.5 * HOUR;
    const ttl = 2 * HOUR;
    const t = await createTestEngine({ clock: { now: () => now }, store: { tailTtlMs: ttl } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1, config: { segmentBytes: 1024 * 1024 } });
    const append = (prefix: string) =>
      t.engine.appender.appendToPartition('t', 0, {
        records: values(prefix, 3).map((v) => ({ key: null, value: bytes(v.padEnd(2000, '.')) })),
      });
    for (let i = 0; i < 4; i++) await append(`old${i}`);
    now = Date.now() - 0.2 * HOUR;
    await append('young');
    now = Date.now();
    const failing = new Flusher(t.realStore, refusingPuts(t.realObjects), { now: () => now });
    await expect(failing.flushPartition(meta, 0, { force: true })).rejects.toThrow(/refusing PUTs/);
    const items = await t.realStore.queryTail(ref(meta), 0, { maxRecords: Infinity, maxBytes: Infinity });
    expect(items.slice(0, 4).map((i) => i.expiresAt)).toEqual(Array(4).fill(Math.ceil((now + ttl) / 1000) * 1000));
    expect(items[4]!.expiresAt).toBe(Math.ceil((items[4]!.appendedAt + ttl) / 1000) * 1000);
  });

  it('regression: an item left alone by a keep-alive reached its TTL about when the next keep-alive came', async () => {
    // Found by review (2026-12-03): the keep-alive starts when the oldest unflushed item has
    // less than half its TTL left, and extended only the items with less than half left.
    // The oldest, extended to a whole TTL, is due again half a TTL later: an item that had
    // just over half left then has next to nothing.
    let now = Date.now() - 1.5 * HOUR;
    const ttl = 2 * HOUR;
    const t = await createTestEngine({ clock: { now: () => now }, store: { tailTtlMs: ttl } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1, config: { segmentBytes: 1024 * 1024 } });
    const append = (prefix: string) => t.engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes(prefix) }] });
    await append('old');
    now = Date.now() - 0.9 * HOUR; // 1.1 h of 2 h left now: just over half
    await append('middle');
    now = Date.now();
    const failing = new Flusher(t.realStore, refusingPuts(t.realObjects), { now: () => now });
    await expect(failing.flushPartition(meta, 0, { force: true })).rejects.toThrow(/refusing PUTs/);
    // Half a TTL later the next keep-alive is due (the oldest has half left again): the
    // middle item must still have a quarter of its TTL then, not be past it.
    const items = await t.realStore.queryTail(ref(meta), 0, { maxRecords: Infinity, maxBytes: Infinity });
    expect(items).toHaveLength(2);
    for (const item of items) expect(item.expiresAt! - (now + ttl / 2)).toBeGreaterThanOrEqual(ttl / 4 - 1000);
  });

  it('keep the data and index items of a partition written first and numbered after alive the same way', async () => {
    let now = Date.now() - 1.5 * HOUR;
    const ttl = 2 * HOUR;
    const t = await createTestEngine({ clock: { now: () => now }, store: { tailTtlMs: ttl }, engine: { sequencing: 'write-first' } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1 });
    const all = values('old', INDEX_EVERY + 2);
    // Enough numberings for an index step: index items and pending entries both locate data.
    for (const v of all) await t.engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes(v) }] });
    now = Date.now() - 0.2 * HOUR;
    await t.engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('young') }] });
    now = Date.now();
    const failing = new Flusher(t.realStore, refusingPuts(t.realObjects), { now: () => now });
    await expect(failing.flushPartition(meta, 0, { force: true })).rejects.toThrow(/refusing PUTs/);
    const expiries = await itemExpiries(t.tableName, ref(meta));
    const extended = Math.ceil((now + ttl) / 1000);
    // Index items live INDEX_MIN_TTL_MS (producer states name their ranges that long): not due.
    expect(expiries.index.length).toBeGreaterThan(0);
    expect(expiries.index.every((e) => e > extended)).toBe(true);
    expect(expiries.data.filter((e) => e === extended)).toHaveLength(all.length);
    // The young item has time: left alone.
    expect(expiries.data.filter((e) => e !== extended)).toHaveLength(1);
    expect(await t.engine.flusher!.flushPartition(meta, 0, { force: true })).toMatchObject({ segments: 1, records: all.length + 1 });
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual([...all, 'young']);
  });

  it('are left alone by a flush that has time: no write beyond the flush itself', async () => {
    const now = Date.now();
    const t = await createTestEngine({ clock: { now: () => now }, store: { tailTtlMs: DAY } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1 });
    await t.engine.appender.appendToPartition('t', 0, { records: values('v', 3).map((v) => ({ key: null, value: bytes(v) })) });
    const result = await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    expect(result.kept).toBeUndefined();
  });

  it('leave a flush to delete the items written before the store had a TTL, which nothing else would remove', async () => {
    const now = Date.now();
    const t = await createTestEngine({ clock: { now: () => now }, store: { tailTtlMs: DAY } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1 });
    const plain = new DynamoLogStore(testClients().dynamo, t.tableName);
    const { LogEngine } = await import('../../../lib/engine.js');
    const legacy = new LogEngine({ store: plain, objects: t.realObjects, clock: { now: () => now } });
    await legacy.appender.appendToPartition('t', 0, { records: values('legacy', 2).map((v) => ({ key: null, value: bytes(v) })) });
    await t.engine.appender.appendToPartition('t', 0, { records: values('new', 2).map((v) => ({ key: null, value: bytes(v) })) });
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    expect(await t.realStore.getTailItem(ref(meta), 1)).toBeUndefined();
    expect((await t.realStore.getTailItem(ref(meta), 3))?.expiresAt).toBeDefined();
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual([...values('legacy', 2), ...values('new', 2)]);
  });

  it("are neither read nor deleted by GC below flushedOffset, whose staged objects the flush's garbage item frees", async () => {
    let now = Date.now();
    const t = await createTestEngine({ clock: { now: () => now }, store: { tailTtlMs: DAY } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1, config: { stageBytes: 1024 } });
    const big = Array.from({ length: 4 }, (_, i) => `staged-${i}-${'z'.repeat(1000)}`);
    await t.engine.appender.appendToPartition('t', 0, { records: big.map((v) => ({ key: null, value: bytes(v) })) });
    const [item] = await t.realStore.queryTail(ref(meta), 0, { maxRecords: Infinity, maxBytes: Infinity });
    expect(item!.staged).toBeDefined();
    const stagedBytes = await t.realObjects.get(item!.staged!.key);
    await t.engine.flusher!.flushPartition(meta, 0, { force: true });
    // The flush keeps the staged object for the grace period, named in a garbage item.
    expect(await t.realObjects.get(item!.staged!.key)).toEqual(stagedBytes);
    now += 2 * HOUR;
    const head = await t.realStore.getHead(ref(meta));
    const gc = await t.engine.maintenance!.gc.collectPartition(ref(meta), head);
    expect(gc).toMatchObject({ items: 1, objects: 1 }); // the garbage item and its object; no tail item
    expect((await t.realObjects.list(`${item!.staged!.key.split('/staged/')[0]}/staged/`)).map((o) => o.key)).not.toContain(
      item!.staged!.key,
    );
    expect(await t.realStore.getTailItem(ref(meta), item!.lastOffset)).toBeDefined();
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(big);
  });

  it('report how long the oldest unflushed offset has waited (the flush-lag metric)', async () => {
    let now = Date.now();
    const t = await createTestEngine({ clock: { now: () => now }, store: { tailTtlMs: DAY } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1, config: { flushIntervalMs: 60_000 } });
    await t.engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('a') }] });
    now += 30_000;
    expect(await t.engine.flusher!.flushPartition(meta, 0)).toMatchObject({ reason: 'not-due', lagMs: 30_000 });
    now += 30_000;
    expect(await t.engine.flusher!.flushPartition(meta, 0)).toMatchObject({ reason: 'age', segments: 1, lagMs: 0 });
  });
});
