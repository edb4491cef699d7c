/**
 * The staging tier (lib/staging/tier.ts) against the real emulators: a second s3rver bucket
 * stands in for the S3 Express One Zone directory bucket, as in the local stack.
 */

import { describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../../lib/aws/s3-object-store.js';
import { ORPHAN_MIN_AGE_MS } from '../../../lib/core/constants.js';
import { FAST_RETRY } from '../../../lib/core/retry.js';
import { type EngineOptions, LogEngine } from '../../../lib/engine.js';
import { stagedObjectKey } from '../../../lib/format/object-keys.js';
import type { LogStore } from '../../../lib/ports/log-store.js';
import type { PartitionRef, TopicMeta } from '../../../lib/ports/model.js';
import { freshBucket, testClients } from '../../support/aws.js';
import { bytes, createTestEngine, readAll, text } from '../../support/engine.js';

const record = (value: string) => ({ key: null, value: bytes(value) });
/** Twenty records of about 200 bytes: above the 1 KiB stageBytes of the tests' topics. */
const bigBatch = (tag: string) => Array.from({ length: 20 }, (_, i) => `${tag}-${i}-${'s'.repeat(200)}`);
const isStaged = (key: string) => key.includes('/staged/');

/** A test engine with a staging store in a bucket of its own, and helpers to look into both buckets. */
async function stagingSetup(options: { engine?: Partial<EngineOptions> } = {}) {
  const t = await createTestEngine(options);
  const stagingBucket = await freshBucket('strata-staging');
  const staging = new S3ObjectStore(testClients().s3, stagingBucket);
  const tiered = new LogEngine({
    store: t.recordingStore,
    objects: t.realObjects,
    staging: { objects: staging },
    retry: FAST_RETRY,
    ...options.engine,
  });
  const verifier = new LogEngine({
    store: t.realStore,
    objects: t.realObjects,
    staging: { objects: staging },
    retry: FAST_RETRY,
    topicCacheTtlMs: 0,
  });
  const keys = async (topic: string) => ({
    main: (await t.realObjects.list(`topics/${topic}/`)).map((o) => o.key),
    staging: (await staging.list(`topics/${topic}/`)).map((o) => o.key),
  });
  return { ...t, staging, stagingBucket, tiered, verifier, keys };
}

async function append(engine: LogEngine, topic: string, values: string[]) {
  return engine.appender.appendToPartition(topic, 0, { records: values.map(record) });
}

function refOf(meta: TopicMeta): PartitionRef {
  return { topic: meta.name, topicId: meta.topicId, partition: 0 };
}

/** One garbage collection pass of `engine` over partition 0 of `meta`, whose head `store` reads. */
async function collect(engine: LogEngine, store: LogStore, meta: TopicMeta) {
  return engine.maintenance!.gc.collectPartition(refOf(meta), await store.getHead(refOf(meta)));
}

describe('staging tier', () => {
  it('stages a batch above stageBytes in the staging store, reads it at its offsets, flushes it into a segment in the main store and collects it after the grace period', async () => {
    const { tiered, verifier, realStore, keys } = await stagingSetup({ engine: { maintenance: { graceMs: 0 } } });
    const meta = await tiered.topics.create({ name: 'x', partitions: 1, config: { stageBytes: 1024 } });
    const sent = ['small-0', ...bigBatch('big'), 'small-1'];
    await append(tiered, 'x', [sent[0]!]);
    const staged = await append(tiered, 'x', sent.slice(1, 21));
    await append(tiered, 'x', [sent[21]!]);
    expect(staged.partitions[0]).toMatchObject({ baseOffset: 1, lastOffset: 20 });

    const before = await keys('x');
    expect(before.staging.filter(isStaged)).toHaveLength(1);
    expect(before.main).toEqual([]);
    const items = await realStore.queryTail(refOf(meta), 0, { maxRecords: Infinity, maxBytes: Infinity });
    expect(items.map((i) => i.staged?.store ?? null)).toEqual([null, 'staging', null]);
    expect((await readAll(verifier, 'x', 0)).map((r) => [r.offset, text(r.value)])).toEqual(sent.map((v, i) => [i, v]));
    const middle = await verifier.reader.read('x', 0, { offset: 7, maxRecords: 2 });
    expect(middle.records.map((r) => text(r.value))).toEqual(sent.slice(7, 9));

    expect(await tiered.flusher!.flushPartition(meta, 0, { force: true })).toMatchObject({ segments: 1, records: 22 });
    // The flush names the staged object in a garbage item (a restored table may still point at it); GC deletes it.
    expect((await realStore.listGarbage(refOf(meta))).map((g) => [g.keys, g.store])).toEqual([[before.staging, 'staging']]);
    expect((await keys('x')).staging).toEqual(before.staging);
    await collect(tiered, realStore, meta);
    const after = await keys('x');
    expect(after.staging).toEqual([]);
    expect(await realStore.listGarbage(refOf(meta))).toEqual([]);
    expect(after.main.filter((k) => k.endsWith('.seg'))).toHaveLength(1);
    expect(after.main.filter(isStaged)).toEqual([]);
    expect((await readAll(verifier, 'x', 0)).map((r) => text(r.value))).toEqual(sent);
  });

  it('flushes and reads a tail mixing batches staged in the main store before the tier and in the staging store after', async () => {
    const { engine, tiered, verifier, keys, realStore } = await stagingSetup({ engine: { maintenance: { graceMs: 0 } } });
    const meta = await engine.topics.create({ name: 'mixed', partitions: 1, config: { stageBytes: 1024 } });
    const sent = [...bigBatch('old'), 'inline-0', ...bigBatch('new'), 'inline-1', ...bigBatch('old2')];
    await append(engine, 'mixed', sent.slice(0, 20)); // the engine without the tier: main store
    await append(tiered, 'mixed', [sent[20]!]);
    await append(tiered, 'mixed', sent.slice(21, 41));
    await append(tiered, 'mixed', [sent[41]!]);
    await append(engine, 'mixed', sent.slice(42)); // a process not yet on the tier
    const before = await keys('mixed');
    expect([before.main.filter(isStaged).length, before.staging.filter(isStaged).length]).toEqual([2, 1]);
    expect((await readAll(verifier, 'mixed', 0)).map((r) => text(r.value))).toEqual(sent);

    await tiered.flusher!.flushPartition(meta, 0, { force: true });
    await collect(tiered, realStore, meta);
    const after = await keys('mixed');
    expect(after.staging).toEqual([]);
    expect(after.main.filter(isStaged)).toEqual([]);
    expect((await readAll(verifier, 'mixed', 0)).map((r) => text(r.value))).toEqual(sent);
  });

  it('with writes to the tier turned off, stages new batches in the main store and still reads and flushes those in the staging store', async () => {
    const t = await stagingSetup();
    const draining = new LogEngine({
      store: t.realStore,
      objects: t.realObjects,
      staging: { objects: t.staging, writes: false },
      retry: FAST_RETRY,
      maintenance: { graceMs: 0 },
    });
    const meta = await t.tiered.topics.create({ name: 'drain', partitions: 1, config: { stageBytes: 1024 } });
    const sent = [...bigBatch('tier'), ...bigBatch('main')];
    await append(t.tiered, 'drain', sent.slice(0, 20));
    await append(draining, 'drain', sent.slice(20));
    const before = await t.keys('drain');
    expect([before.main.filter(isStaged).length, before.staging.filter(isStaged).length]).toEqual([1, 1]);
    expect((await readAll(draining, 'drain', 0)).map((r) => text(r.value))).toEqual(sent);

    await draining.flusher!.flushPartition(meta, 0, { force: true });
    await collect(draining, t.realStore, meta);
    const after = await t.keys('drain');
    expect([after.main.filter(isStaged), after.staging]).toEqual([[], []]);
    expect((await readAll(t.verifier, 'drain', 0)).map((r) => text(r.value))).toEqual(sent);
  });

  it('an engine without the staging store refuses to read an item staged there, naming the missing store', async () => {
    const t = await stagingSetup();
    await t.tiered.topics.create({ name: 'lost', partitions: 1, config: { stageBytes: 1024 } });
    await append(t.tiered, 'lost', bigBatch('b'));
    const withoutTier = new LogEngine({ store: t.realStore, objects: t.realObjects, retry: FAST_RETRY });
    await expect(withoutTier.reader.read('lost', 0, { offset: 0 })).rejects.toThrow(/in the staging store, but none is configured/);
    expect(await readAll(t.verifier, 'lost', 0)).toHaveLength(20);
  });

  it('garbage collection deletes orphans in the staging store past the grace period and keeps what tail items point at', async () => {
    let now = Date.now();
    const clock = { now: () => now };
    const t = await stagingSetup({ engine: { maintenance: { graceMs: 0 }, clock } });
    const meta = await t.tiered.topics.create({ name: 'gc', partitions: 1, config: { stageBytes: 1024 } });
    const sent = bigBatch('kept');
    await append(t.tiered, 'gc', sent);
    const orphan = stagedObjectKey(refOf(meta), 'orphan-of-a-failed-commit');
    await t.staging.put(orphan, bytes('never committed'));
    expect((await t.keys('gc')).staging.filter(isStaged)).toHaveLength(2);

    const head = await t.realStore.getHead(refOf(meta));
    // Whatever the grace period, an upload's commit may still land for ORPHAN_MIN_AGE_MS.
    expect((await t.tiered.maintenance!.gc.collectPartition(refOf(meta), head)).objects).toBe(0);
    now += ORPHAN_MIN_AGE_MS + 1_000;
    const result = await t.tiered.maintenance!.gc.collectPartition(refOf(meta), head);
    expect(result.objects).toBe(1);
    const left = (await t.keys('gc')).staging;
    expect(left).toHaveLength(1);
    expect(left).not.toContain(orphan);
    expect((await readAll(t.verifier, 'gc', 0)).map((r) => text(r.value))).toEqual(sent);
  });

  it('garbage collection deletes the tail items a crashed flush left below flushedOffset, and their staging-store objects a grace period after the flush', async () => {
    let now = Date.now();
    const clock = { now: () => now };
    const t = await stagingSetup({ engine: { maintenance: { graceMs: 60_000 }, clock } });
    const meta = await t.tiered.topics.create({ name: 'left', partitions: 1, config: { stageBytes: 1024 } });
    const sent = bigBatch('left');
    await append(t.tiered, 'left', sent);
    // The flush commits, then dies before deleting its items and their staged objects.
    const crashing = new Proxy(t.realStore, {
      get(target, prop, receiver) {
        if (prop === 'deleteTailItems') return () => Promise.reject(new Error('injected crash after the flush commit'));
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const crashingEngine = new LogEngine({
      store: crashing,
      objects: t.realObjects,
      staging: { objects: t.staging },
      retry: FAST_RETRY,
      clock,
      maintenance: { graceMs: 60_000 },
    });
    await expect(crashingEngine.flusher!.flushPartition(meta, 0, { force: true })).rejects.toThrow(/injected/);
    expect((await t.keys('left')).staging.filter(isStaged)).toHaveLength(1);

    const head = await t.realStore.getHead(refOf(meta));
    expect(head.flushedOffset).toBe(20);
    expect(await t.tiered.maintenance!.gc.collectPartition(refOf(meta), head)).toMatchObject({ items: 1, objects: 0 });
    expect((await t.keys('left')).staging.filter(isStaged)).toHaveLength(1);
    now += 60_000;
    expect(await t.tiered.maintenance!.gc.collectPartition(refOf(meta), head)).toMatchObject({ objects: 1 });
    expect((await t.keys('left')).staging).toEqual([]);
    expect((await readAll(t.verifier, 'left', 0)).map((r) => text(r.value))).toEqual(sent);
  });

  it('garbage collection of a deleted topic removes its objects from the staging store too', async () => {
    let now = Date.now();
    const clock = { now: () => now };
    const t = await stagingSetup({ engine: { maintenance: { graceMs: 0 }, clock } });
    await t.tiered.topics.create({ name: 'gone', partitions: 1, config: { stageBytes: 1024 } });
    await append(t.tiered, 'gone', bigBatch('g'));
    expect((await t.keys('gone')).staging).toHaveLength(1);
    await t.tiered.topics.delete('gone');
    // An append that began on a cached copy of the topic may still commit into it.
    expect(await t.tiered.maintenance!.gc.collectDeletedTopics()).toMatchObject({ topics: 0 });
    now += ORPHAN_MIN_AGE_MS + 1_000;
    const result = await t.tiered.maintenance!.gc.collectDeletedTopics();
    expect(result).toMatchObject({ topics: 1, more: false });
    expect((await t.keys('gone')).staging).toEqual([]);
  });
});
