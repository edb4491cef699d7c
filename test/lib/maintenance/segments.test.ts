import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { CorruptDataError } from '../../../lib/core/errors.js';
import { FAST_RETRY, sleep } from '../../../lib/core/retry.js';
import { LogEngine } from '../../../lib/engine.js';
import { Flusher } from '../../../lib/maintenance/flusher.js';
import type { ObjectStore } from '../../../lib/ports/object-store.js';
import { testClients } from '../../support/aws.js';
import { bytes, createTestEngine, readAll, text } from '../../support/engine.js';
import { FaultInjector, type FaultMode } from '../../support/faults.js';
import { runWorkload, startFlushLoop } from '../../support/workload.js';

const record = (value: string) => ({ key: null, value: bytes(value) });

async function appendValues(engine: LogEngine, topic: string, values: string[], perRequest = 10) {
  for (let i = 0; i < values.length; i += perRequest) {
    await engine.appender.appendToPartition(topic, 0, { records: values.slice(i, i + perRequest).map(record) });
  }
}

const values = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}-${'x'.repeat(i % 50)}`);

describe('flush to S3 segments', () => {
  it('reads back identically records written before and after flushes, across segments and the tail', async () => {
    const { engine, verifier } = await createTestEngine();
    const meta = await engine.topics.create({ name: 't', partitions: 1 });
    const all = [...values('a', 120), ...values('b', 95), ...values('c', 40)];
    await appendValues(engine, 't', all.slice(0, 120));
    expect(await engine.flusher!.flushPartition(meta, 0, { force: true })).toMatchObject({ segments: 1, records: 120, reason: 'forced' });
    await appendValues(engine, 't', all.slice(120, 215), 7);
    await engine.flusher!.flushPartition(meta, 0, { force: true });
    await appendValues(engine, 't', all.slice(215));

    const head = (await verifier.topics.describe('t')).partitionStates[0]!;
    expect(head).toMatchObject({ nextOffset: 255, flushedOffset: 215 });
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(all);
    for (const [offset, maxRecords] of [
      [0, 1],
      [57, 100],
      [119, 2],
      [200, 30],
      [214, 5],
      [100, 1000],
    ] as const) {
      const page = await verifier.reader.read('t', 0, { offset, maxRecords });
      expect(page.records.map((r) => text(r.value))).toEqual(all.slice(offset, Math.min(offset + maxRecords, all.length)));
      expect(page.nextOffset).toBe(Math.min(offset + maxRecords, all.length));
    }
  });

  it('flushes only when the tail is due, by size or by age', async () => {
    let now = 1_000_000;
    const { engine } = await createTestEngine({ clock: { now: () => now } });
    const meta = await engine.topics.create({
      name: 't',
      partitions: 1,
      config: { flushBytes: 64 * 1024, flushIntervalMs: 60_000, segmentBytes: 128 * 1024 },
    });
    await appendValues(engine, 't', values('small', 20));
    expect((await engine.flusher!.flushPartition(meta, 0)).reason).toBe('not-due');
    now += 60_000;
    expect(await engine.flusher!.flushPartition(meta, 0)).toMatchObject({ reason: 'age', segments: 1 });
    await appendValues(
      engine,
      't',
      Array.from({ length: 100 }, (_, i) => `${i}:${'y'.repeat(1500)}`),
    );
    // ~150 KB unflushed: one full 128 KiB segment, then the rest is under flushBytes again.
    const bySize = await engine.flusher!.flushPartition(meta, 0);
    expect(bySize).toMatchObject({ reason: 'size', segments: 1 });
    expect(bySize.bytes).toBeLessThanOrEqual(128 * 1024);
    expect((await engine.flusher!.flushPartition(meta, 0)).reason).toBe('not-due');
  });

  it('reads a few records of a large segment with ranged GETs, not the whole object', async () => {
    const { engine, realObjects, realStore } = await createTestEngine();
    const ranges: number[] = [];
    const counting: ObjectStore = {
      put: (k, b) => realObjects.put(k, b),
      list: (p) => realObjects.list(p),
      delete: (k) => realObjects.delete(k),
      get: (k, range) => {
        ranges.push(range ? range.end - range.start + 1 : Infinity);
        return realObjects.get(k, range);
      },
    };
    const reader = new LogEngine({ store: realStore, objects: counting, retry: FAST_RETRY });
    const meta = await engine.topics.create({ name: 't', partitions: 1 });
    await appendValues(
      engine,
      't',
      Array.from({ length: 2000 }, (_, i) => `${i}:${'z'.repeat(1000)}`),
      100,
    );
    await engine.flusher!.flushPartition(meta, 0, { force: true });
    const page = await reader.reader.read('t', 0, { offset: 1500, maxRecords: 3 });
    expect(page.records.map((r) => text(r.value)!.split(':')[0])).toEqual(['1500', '1501', '1502']);
    expect(ranges.length).toBeGreaterThan(0);
    expect(Math.max(...ranges)).toBeLessThan(400 * 1024);
  });

  it('detects a corrupted byte in a segment instead of returning data', async () => {
    const { engine, bucket, realStore } = await createTestEngine();
    const meta = await engine.topics.create({ name: 't', partitions: 1 });
    await appendValues(engine, 't', values('v', 30));
    await engine.flusher!.flushPartition(meta, 0, { force: true });
    const [manifest] = await realStore.listSegments({ topic: 't', topicId: meta.topicId, partition: 0 }, 0, 1);
    const { s3 } = testClients();
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: manifest!.key }));
    const data = await object.Body!.transformToByteArray();
    data[100]! ^= 0x01;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: manifest!.key, Body: data }));
    const err = await engine.reader.read('t', 0, { offset: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptDataError);
    expect(err).toMatchObject({ code: 'CORRUPT_DATA' });
  });

  it('lets one of two racing flushers win and loses nothing', async () => {
    const { engine, verifier } = await createTestEngine();
    const meta = await engine.topics.create({ name: 't', partitions: 1 });
    const all = values('r', 80);
    await appendValues(engine, 't', all);
    const results = await Promise.all([
      engine.flusher!.flushPartition(meta, 0, { force: true }),
      verifier.flusher!.flushPartition(meta, 0, { force: true }),
    ]);
    expect(results.map((r) => r.segments).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(all);
  });

  it('regression: a flusher whose tail was flushed and deleted by another after its head read is fenced, not an internal error', async () => {
    const { engine, verifier, realStore, realObjects } = await createTestEngine();
    const meta = await engine.topics.create({ name: 't', partitions: 1 });
    const all = values('f', 40);
    await appendValues(engine, 't', all);
    await engine.flusher!.flushPartition(meta, 0, { force: true });
    await appendValues(engine, 't', values('g', 40));
    // The slow flusher read the head; the fast one flushes everything before the slow one's Query.
    let raced = false;
    const slowStore = new Proxy(realStore, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'queryTail') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: Parameters<typeof target.queryTail>) => {
          if (!raced) {
            raced = true;
            await verifier.flusher!.flushPartition(meta, 0, { force: true });
            await appendValues(engine, 't', values('h', 10));
          }
          return target.queryTail(...args);
        };
      },
    });
    const { Flusher } = await import('../../../lib/maintenance/flusher.js');
    const slow = await new Flusher(slowStore, realObjects, { now: () => Date.now() }).flushPartition(meta, 0, { force: true });
    expect(slow.reason).toBe('fenced');
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual([...all, ...values('g', 40), ...values('h', 10)]);
  });

  // Regression (issue 12): the loser of two flushers over a staged item failed with
  // NoSuchKey on the staged object the winner's flush had deleted, instead of being fenced.
  it('a staged item flushed by a racing flusher fences the loser instead of failing on NoSuchKey', async () => {
    const { engine, verifier, realStore, realObjects } = await createTestEngine();
    const meta = await engine.topics.create({ name: 's', partitions: 1, config: { stageBytes: 1024 } });
    const sent = ['small', `staged:${'S'.repeat(4000)}`];
    await appendValues(engine, 's', sent, 1);
    expect((await realObjects.list('topics/s/')).some((o) => o.key.includes('/staged/'))).toBe(true);
    // The slow flusher has read the head and the tail; the fast one flushes everything before its GET of the staged object.
    let raced = false;
    const slowObjects: ObjectStore = {
      put: (k, b) => realObjects.put(k, b),
      list: (p) => realObjects.list(p),
      delete: (k) => realObjects.delete(k),
      get: async (k, range) => {
        if (!raced && k.includes('/staged/')) {
          raced = true;
          await verifier.flusher!.flushPartition(meta, 0, { force: true });
        }
        return realObjects.get(k, range);
      },
    };
    const slow = await new Flusher(realStore, slowObjects, { now: () => Date.now() }).flushPartition(meta, 0, { force: true });
    expect(raced).toBe(true);
    expect(slow).toMatchObject({ reason: 'fenced', segments: 0 });
    expect((await readAll(verifier, 's', 0)).map((r) => text(r.value))).toEqual(sent);
    // Only the winner's segment and the staged object its garbage item keeps for the grace period are left.
    const ref = { topic: 's', topicId: meta.topicId, partition: 0 };
    const manifests = await realStore.listSegments(ref, 0, Infinity);
    const garbage = (await realStore.listGarbage(ref)).flatMap((g) => g.keys);
    expect((await realObjects.list('topics/s/')).map((o) => o.key).sort()).toEqual([...manifests.map((m) => m.key), ...garbage].sort());
  });

  it('looks offsets up by timestamp across segments and the tail (first offset with timestamp ≥ T)', async () => {
    const { engine } = await createTestEngine();
    const meta = await engine.topics.create({ name: 't', partitions: 1 });
    // Producer timestamps are not monotonic: 0..99 → ts 1000+10i, except offset 40 has ts 5000.
    const timestamps = Array.from({ length: 100 }, (_, i) => (i === 40 ? 5000 : 1000 + 10 * i));
    for (let i = 0; i < 100; i += 10) {
      await engine.appender.appendToPartition('t', 0, {
        records: timestamps.slice(i, i + 10).map((timestamp, k) => ({ key: null, value: bytes(`v${i + k}`), timestamp })),
      });
      if (i === 30 || i === 60) await engine.flusher!.flushPartition(meta, 0, { force: true });
    }
    const model = (t: number) => {
      const i = timestamps.findIndex((ts) => ts >= t);
      return i < 0 ? { offset: 100, timestamp: null } : { offset: i, timestamp: timestamps[i] };
    };
    for (const t of [0, 1000, 1005, 1395, 1400, 1401, 1700, 1990, 1991, 4999, 5000, 5001]) {
      expect(await engine.reader.lookupOffset('t', 0, t), `T=${t}`).toEqual(model(t));
    }
    expect(await engine.reader.lookupOffset('t', 0, 'earliest')).toEqual({ offset: 0, timestamp: 1000 });
    expect(await engine.reader.lookupOffset('t', 0, 'latest')).toEqual({ offset: 100, timestamp: null });
  });

  it('a timestamp lookup racing a flush does not skip the flushed records', async () => {
    const { engine, verifier, realStore, realObjects } = await createTestEngine();
    const meta = await engine.topics.create({ name: 't', partitions: 1 });
    // Offsets 0..9 (ts 1000+10i) in a segment, 10..19 (ts 2000+10i) in the tail.
    const appendAt = (base: number, n: number, ts: (i: number) => number) =>
      engine.appender.appendToPartition('t', 0, {
        records: Array.from({ length: n }, (_, i) => ({ key: null, value: bytes(`v${base + i}`), timestamp: ts(i) })),
      });
    await appendAt(0, 10, (i) => 1000 + 10 * i);
    await engine.flusher!.flushPartition(meta, 0, { force: true });
    await appendAt(10, 10, (i) => 2000 + 10 * i);
    // The lookup read the head (flushedOffset 10) and scanned the segments; another process
    // flushes 10..19 into a segment and deletes their tail items before the lookup's Query.
    let raced = false;
    const racingStore = new Proxy(realStore, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'queryTail') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: Parameters<typeof target.queryTail>) => {
          if (!raced) {
            raced = true;
            await verifier.flusher!.flushPartition(meta, 0, { force: true });
          }
          return target.queryTail(...args);
        };
      },
    });
    const reader = new LogEngine({ store: racingStore, objects: realObjects, retry: FAST_RETRY });
    expect(await reader.reader.lookupOffset('t', 0, 2050)).toEqual({ offset: 15, timestamp: 2050 });
    expect(raced).toBe(true);
    expect((await verifier.topics.describe('t')).partitionStates[0]).toMatchObject({ flushedOffset: 20, nextOffset: 20 });
  });

  it('wakes a long-poll across a flush', async () => {
    const { engine } = await createTestEngine();
    const meta = await engine.topics.create({ name: 't', partitions: 1 });
    await appendValues(engine, 't', values('before', 10));
    const waiting = engine.reader.read('t', 0, { offset: 10, waitMs: 10_000 });
    await sleep(100);
    await engine.flusher!.flushPartition(meta, 0, { force: true });
    await engine.appender.appendToPartition('t', 0, { records: [record('after')] });
    expect((await waiting).records.map((r) => text(r.value))).toEqual(['after']);
  });
});

describe('flush under an injected fault at every storage call', () => {
  const FLUSH_CALLS = ['getHead', 'queryTail', 'put', 'commitFlush', 'deleteTailItems'] as const;
  const cases = FLUSH_CALLS.flatMap((method) => (['before', 'after'] as FaultMode[]).map((mode) => ({ method, mode })));

  it.each(cases)('$mode $method: a re-run completes the flush and every record reads back', async ({ method, mode }) => {
    const faults = new FaultInjector([{ method, mode, times: 1 }]);
    faults.enabled = false;
    const { engine, verifier } = await createTestEngine({ faults });
    const meta = await engine.topics.create({ name: 't', partitions: 1 });
    const all = values('f', 60);
    await appendValues(engine, 't', all);
    faults.enabled = true;
    await engine.flusher!.flushPartition(meta, 0, { force: true }).catch(() => undefined);
    faults.enabled = false;
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(all);
    await engine.flusher!.flushPartition(meta, 0, { force: true });
    const head = (await verifier.topics.describe('t')).partitionStates[0]!;
    expect(head.flushedOffset).toBe(60);
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(all);
    expect(faults.count(method, mode)).toBe(1);
  });
});

describe('concurrent appends, reads and repeated flushes', () => {
  it('loses, duplicates, reorders and skips nothing', async () => {
    const { engine, realStore, realObjects, verifier } = await createTestEngine();
    const other = new LogEngine({ store: realStore, objects: realObjects, retry: FAST_RETRY });
    const meta = await engine.topics.create({ name: 'j', partitions: 2 });
    const flushLoop = startFlushLoop(other, meta);
    const { history } = await runWorkload({
      engines: [engine, other],
      verifier,
      topic: 'j',
      partitions: 2,
      producers: 8,
      batchesPerProducer: 30,
      maxRecordsPerBatch: 5,
      readersPerPartition: 2,
    });
    const flushes = await flushLoop.stop();
    const result = history.check();
    expect(result.anomalies, result.summary()).toEqual([]);
    expect(flushes).toBeGreaterThan(3);
  });
});

describe('compression', () => {
  it('stores gzip batches smaller and reads them back identically from the tail, staged objects and segments', async () => {
    const { engine, verifier } = await createTestEngine();
    // Requests of 50 records stay inline in the tail; the one of 200 is staged in S3.
    const plain = await engine.topics.create({ name: 'plain', partitions: 1, config: { stageBytes: 10_000 } });
    const gzip = await engine.topics.create({ name: 'gz', partitions: 1, config: { stageBytes: 10_000, compression: 'gzip' } });
    const sent = Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({ order: i, customer: `c-${i % 7}`, status: 'created', note: 'n'.repeat(100) }),
    );
    for (const topic of ['plain', 'gz']) {
      await appendValues(engine, topic, sent.slice(0, 100), 50);
      await engine.appender.appendToPartition(topic, 0, { records: sent.slice(100).map(record) });
    }
    const [plainState, gzState] = await Promise.all(
      ['plain', 'gz'].map(async (t) => (await verifier.topics.describe(t)).partitionStates[0]!),
    );
    expect(gzState!.tailBytes).toBeLessThan(plainState!.tailBytes / 3);
    expect((await readAll(verifier, 'gz', 0)).map((r) => text(r.value))).toEqual(sent);
    await engine.flusher!.flushPartition(gzip, 0, { force: true });
    await engine.flusher!.flushPartition(plain, 0, { force: true });
    expect((await readAll(verifier, 'gz', 0)).map((r) => text(r.value))).toEqual(sent);
  });
});

describe('S3-staged large batches', () => {
  it('appends records up to maxRecordBytes through S3 and reads them back before and after a flush', async () => {
    const { engine, verifier, realObjects, realStore } = await createTestEngine({ engine: { maintenance: { graceMs: 0 } } });
    const meta = await engine.topics.create({ name: 'big', partitions: 1, config: { maxRecordBytes: 2 * 1024 * 1024 } });
    const big = (tag: string) => `${tag}:${'B'.repeat(1024 * 1024)}`;
    const sent = ['small-0', big('one'), big('two'), 'small-1'];
    await engine.appender.appendToPartition('big', 0, { records: [record(sent[0]!)] });
    const staged = await engine.appender.appendToPartition('big', 0, { records: [record(sent[1]!), record(sent[2]!)] });
    expect(staged.offsets.map((o) => o.offset)).toEqual([1, 2]);
    await engine.appender.appendToPartition('big', 0, { records: [record(sent[3]!)] });
    expect((await realObjects.list('topics/big/')).some((o) => o.key.includes('/staged/'))).toBe(true);

    expect((await readAll(verifier, 'big', 0)).map((r) => text(r.value))).toEqual(sent);
    const middle = await verifier.reader.read('big', 0, { offset: 2, maxRecords: 1 });
    expect(text(middle.records[0]!.value)).toBe(sent[2]);

    await engine.flusher!.flushPartition(meta, 0, { force: true });
    expect((await verifier.topics.describe('big')).partitionStates[0]).toMatchObject({ flushedOffset: 4, tailBytes: 0 });
    expect((await readAll(verifier, 'big', 0)).map((r) => text(r.value))).toEqual(sent);
    // The staged objects outlive the flush by the grace period (a restored table may point at them), then GC deletes them.
    expect((await realObjects.list('topics/big/')).some((o) => o.key.includes('/staged/'))).toBe(true);
    await engine.maintenance!.gc.collectPartition(
      { topic: 'big', topicId: meta.topicId, partition: 0 },
      await realStore.getHead({ topic: 'big', topicId: meta.topicId, partition: 0 }),
    );
    expect((await realObjects.list('topics/big/')).some((o) => o.key.includes('/staged/'))).toBe(false);
  });

  it('keeps staged appends atomic, ordered and exactly-once under concurrency and flushes', async () => {
    const { engine, realStore, realObjects, verifier } = await createTestEngine();
    const other = new LogEngine({ store: realStore, objects: realObjects, retry: FAST_RETRY });
    const meta = await engine.topics.create({ name: 's', partitions: 2, config: { stageBytes: 1024 } });
    const flushLoop = startFlushLoop(other, meta, 30);
    const { history } = await runWorkload({
      engines: [engine, other],
      verifier,
      topic: 's',
      partitions: 2,
      producers: 6,
      batchesPerProducer: 20,
      maxRecordsPerBatch: 40,
      readersPerPartition: 1,
    });
    await flushLoop.stop();
    const result = history.check();
    expect(result.anomalies, result.summary()).toEqual([]);
  });

  const STAGED_CALLS = ['put', 'getHead', 'commitAppend', 'getTailItem'] as const;
  it.each(STAGED_CALLS.flatMap((method) => (['before', 'after'] as FaultMode[]).map((mode) => ({ method, mode }))))(
    '$mode $method of a staged append: each record acknowledged once, at the offset it reads back',
    async ({ method, mode }) => {
      const faults = new FaultInjector([{ method, mode, times: 1 }]);
      faults.enabled = false;
      const { engine, verifier } = await createTestEngine({ faults });
      await engine.topics.create({ name: 't', partitions: 1, config: { stageBytes: 1024 } });
      const records = Array.from({ length: 20 }, (_, i) => record(`staged-${i}-${'s'.repeat(200)}`));
      faults.enabled = true;
      const producer = { producerId: 'p', epoch: 0, sequence: 0 };
      let result = await engine.appender.appendToPartition('t', 0, { records, producer }).catch((e: unknown) => e);
      if (result instanceof Error) result = await engine.appender.appendToPartition('t', 0, { records, producer });
      faults.enabled = false;
      expect((result as { offsets: { offset: number }[] }).offsets.map((o) => o.offset)).toEqual(records.map((_, i) => i));
      expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(records.map((r) => text(r.value)));
    },
  );
});
