import { describe, expect, it } from 'vitest';
import {
  DuplicateSequenceError,
  OffsetMismatchError,
  OffsetOutOfRangeError,
  PartitionNotFoundError,
  ProducerFencedError,
  RecordTooLargeError,
  SequenceGapError,
  TopicExistsError,
  TopicNotFoundError,
  ValidationError,
} from '../../lib/core/errors.js';
import { partitionForKey } from '../../lib/topics/partitioner.js';
import { bytes, createTestEngine, readAll, text } from '../support/engine.js';

const record = (value: string, key: string | null = null) => ({ key: key === null ? null : bytes(key), value: bytes(value) });

describe('topics', () => {
  it('creates, lists, describes, reconfigures and deletes a topic', async () => {
    const { engine } = await createTestEngine();
    const created = await engine.topics.create({ name: 'orders', partitions: 3, config: { retentionMs: 1000 } });
    expect(created.config.retentionMs).toBe(1000);
    expect(created.config.cleanupPolicy).toBe('delete');
    expect((await engine.topics.list()).map((t) => t.name)).toEqual(['orders']);

    const described = await engine.topics.describe('orders');
    expect(described.partitionStates).toHaveLength(3);
    expect(described.partitionStates[2]).toMatchObject({ partition: 2, nextOffset: 0, logStartOffset: 0 });

    const updated = await engine.topics.updateConfig('orders', { retentionBytes: 1024 });
    expect(updated.config).toMatchObject({ retentionMs: 1000, retentionBytes: 1024 });

    await engine.topics.delete('orders');
    await expect(engine.topics.describe('orders')).rejects.toBeInstanceOf(TopicNotFoundError);
    expect(await engine.topics.list()).toEqual([]);
  });

  it('rejects a duplicate name, bad names, bad partition counts and unknown config keys', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 'a.b_c-1', partitions: 1 });
    await expect(engine.topics.create({ name: 'a.b_c-1' })).rejects.toBeInstanceOf(TopicExistsError);
    for (const name of ['', '.', '..', 'has space', 'x'.repeat(250), 'slash/name', 'ünïcode']) {
      await expect(engine.topics.create({ name }), name).rejects.toBeInstanceOf(ValidationError);
    }
    for (const partitions of [0, 1025, 1.5, -1]) {
      await expect(engine.topics.create({ name: `p${partitions}`.replace('.', '_'), partitions })).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(engine.topics.create({ name: 'cfg', config: { retentionMS: 5 } })).rejects.toThrow(/retentionMS/);
  });

  it('gives a re-created topic an empty log, not the deleted incarnation', async () => {
    const { engine } = await createTestEngine({ engine: { topicCacheTtlMs: 0 } });
    await engine.topics.create({ name: 'again', partitions: 1 });
    await engine.appender.append('again', { records: [record('old')] });
    await engine.topics.delete('again');
    await engine.topics.create({ name: 'again', partitions: 1 });
    const page = await engine.reader.read('again', 0, { offset: 0 });
    expect(page.records).toEqual([]);
    expect(page.highWatermark).toBe(0);
  });
});

describe('append and read', () => {
  it('assigns contiguous offsets and reads records back byte for byte', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    const first = await engine.appender.append('t', {
      records: [
        { key: bytes('k'), value: bytes('v0'), headers: [{ key: 'h', value: bytes('x') }], timestamp: 42 },
        { key: null, value: null },
        { key: null, value: new Uint8Array([0, 255, 1]) },
      ],
    });
    expect(first.offsets).toEqual([0, 1, 2].map((offset) => ({ partition: 0, offset })));
    const second = await engine.appender.appendToPartition('t', 0, { records: [record('v3')] });
    expect(second.offsets).toEqual([{ partition: 0, offset: 3 }]);

    const page = await engine.reader.read('t', 0, { offset: 0 });
    expect(page.highWatermark).toBe(4);
    expect(page.nextOffset).toBe(4);
    expect(page.records.map((r) => r.offset)).toEqual([0, 1, 2, 3]);
    expect(page.records[0]).toMatchObject({ timestamp: 42, headers: [{ key: 'h', value: bytes('x') }] });
    expect(text(page.records[0]!.key)).toBe('k');
    expect(page.records[1]!.value).toBeNull();
    expect([...page.records[2]!.value!]).toEqual([0, 255, 1]);
  });

  it('reads from the middle of a batch and pages with maxRecords and maxBytes', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    await engine.appender.append('t', { records: Array.from({ length: 50 }, (_, i) => record(`value-${i}`)) });
    const middle = await engine.reader.read('t', 0, { offset: 17, maxRecords: 5 });
    expect(middle.records.map((r) => text(r.value))).toEqual([17, 18, 19, 20, 21].map((i) => `value-${i}`));
    expect(middle.nextOffset).toBe(22);
    const small = await engine.reader.read('t', 0, { offset: 0, maxBytes: 1 });
    expect(small.records).toHaveLength(1);
    expect(small.nextOffset).toBe(1);
  });

  it('fills a read up to maxRecords across many small tail items (regression: a read stopped after four items)', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    for (let i = 0; i < 12; i++) await engine.appender.append('t', { records: [record(`a${i}`), record(`b${i}`)] });
    const page = await engine.reader.read('t', 0, { offset: 1, maxRecords: 1000 });
    expect(page.records.map((r) => r.offset)).toEqual(Array.from({ length: 23 }, (_, i) => i + 1));
    expect(page.nextOffset).toBe(24);
  });

  it("places keyed records by Kafka murmur2 and keeps one request's keyless records together", async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 6 });
    const keys = ['alice', 'bob', 'carol', 'dave'];
    const result = await engine.appender.append('t', { records: keys.map((k) => record('v', k)) });
    expect(result.offsets.map((o) => o.partition)).toEqual(keys.map((k) => partitionForKey(bytes(k), 6)));
    const keyless = await engine.appender.append('t', { records: [record('a'), record('b'), record('c')] });
    expect(new Set(keyless.offsets.map((o) => o.partition)).size).toBe(1);
    const explicit = await engine.appender.append('t', { records: [{ ...record('x', 'alice'), partition: 5 }] });
    expect(explicit.offsets[0]!.partition).toBe(5);
  });

  it('answers 416 with both bounds for an offset above the high watermark', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    await engine.appender.append('t', { records: [record('a')] });
    const err = await engine.reader.read('t', 0, { offset: 2 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OffsetOutOfRangeError);
    expect(err).toMatchObject({ logStartOffset: 0, highWatermark: 1, status: 416 });
  });

  it('rejects unknown topics and partitions and records over maxRecordBytes, writing nothing', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 2, config: { maxRecordBytes: 100 } });
    await expect(engine.appender.append('nope', { records: [record('a')] })).rejects.toBeInstanceOf(TopicNotFoundError);
    await expect(engine.appender.appendToPartition('t', 2, { records: [record('a')] })).rejects.toBeInstanceOf(PartitionNotFoundError);
    await expect(engine.reader.read('t', 7)).rejects.toBeInstanceOf(PartitionNotFoundError);
    await expect(engine.appender.appendToPartition('t', 0, { records: [record('ok'), record('x'.repeat(200))] })).rejects.toBeInstanceOf(
      RecordTooLargeError,
    );
    await expect(engine.appender.append('t', { records: [] })).rejects.toBeInstanceOf(ValidationError);
    expect((await engine.reader.read('t', 0)).highWatermark).toBe(0);
  });

  it('long-polls until a record arrives, and returns empty at the deadline', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    const empty = await engine.reader.read('t', 0, { offset: 0, waitMs: 100 });
    expect(empty).toMatchObject({ records: [], nextOffset: 0, highWatermark: 0 });
    const waiting = engine.reader.read('t', 0, { offset: 0, waitMs: 10_000 });
    setTimeout(() => void engine.appender.append('t', { records: [record('late')] }), 200);
    const page = await waiting;
    expect(page.records.map((r) => text(r.value))).toEqual(['late']);
  });

  it('sees appends made by another process through head polling', async () => {
    const a = await createTestEngine();
    await a.engine.topics.create({ name: 't', partitions: 1 });
    const other = a.verifier;
    const waiting = a.engine.reader.read('t', 0, { offset: 0, waitMs: 10_000 });
    setTimeout(() => void other.appender.append('t', { records: [record('from elsewhere')] }), 200);
    expect((await waiting).records).toHaveLength(1);
  });

  it('looks offsets up by earliest, latest and timestamp', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    await engine.appender.append('t', {
      records: [100, 200, 300].map((timestamp, i) => ({ key: null, value: bytes(`v${i}`), timestamp })),
    });
    expect(await engine.reader.lookupOffset('t', 0, 'earliest')).toEqual({ offset: 0, timestamp: 100 });
    expect(await engine.reader.lookupOffset('t', 0, 'latest')).toEqual({ offset: 3, timestamp: null });
    expect(await engine.reader.lookupOffset('t', 0, 150)).toEqual({ offset: 1, timestamp: 200 });
    expect(await engine.reader.lookupOffset('t', 0, 301)).toEqual({ offset: 3, timestamp: null });
  });

  it('rejects keyless records on a compacted topic', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 'c', partitions: 1, config: { cleanupPolicy: 'compact' } });
    await expect(engine.appender.append('c', { records: [record('v')] })).rejects.toThrow(/needs a key/);
    await engine.appender.append('c', { records: [record('v', 'k')] });
  });

  it('splits a large append over several tail items and reads it back in order', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    const value = 'x'.repeat(100 * 1024);
    const records = Array.from({ length: 20 }, (_, i) => record(`${i}:${value}`));
    const result = await engine.appender.appendToPartition('t', 0, { records });
    expect(result.offsets.at(-1)!.offset).toBe(19);
    const all = await readAll(engine, 't', 0);
    expect(all.map((r) => text(r.value)!.split(':')[0])).toEqual(records.map((_, i) => String(i)));
  });
});

describe('conditional append', () => {
  it('commits when expectedOffset is the high watermark and answers 409 OFFSET_MISMATCH otherwise', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    await engine.appender.appendToPartition('t', 0, { records: [record('a')], expectedOffset: 0 });
    const err = await engine.appender.appendToPartition('t', 0, { records: [record('b')], expectedOffset: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OffsetMismatchError);
    expect(err).toMatchObject({ expectedOffset: 0, highWatermark: 1, status: 409, code: 'OFFSET_MISMATCH' });
    await engine.appender.appendToPartition('t', 0, { records: [record('b')], expectedOffset: 1 });
    expect((await engine.reader.read('t', 0)).records.map((r) => text(r.value))).toEqual(['a', 'b']);
  });

  it('lets exactly one of many racing writers win each expected offset', async () => {
    const { engine, verifier } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    const outcomes = await Promise.allSettled(
      [engine, verifier, engine, verifier].map((e, i) =>
        e.appender.appendToPartition('t', 0, { records: [record(`w${i}`)], expectedOffset: 0 }),
      ),
    );
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect((await verifier.reader.read('t', 0)).records).toHaveLength(1);
  });
});

describe('idempotent producer', () => {
  const producer = (sequence: number, epoch = 0) => ({ producerId: 'p-1', epoch, sequence });

  it('answers a retried batch with its original offsets and writes it once', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    const first = await engine.appender.appendToPartition('t', 0, { records: [record('a'), record('b')], producer: producer(0) });
    const retry = await engine.appender.appendToPartition('t', 0, { records: [record('a'), record('b')], producer: producer(0) });
    expect(retry.offsets).toEqual(first.offsets);
    expect(retry.partitions[0]!.duplicate).toBe(true);
    await engine.appender.appendToPartition('t', 0, { records: [record('c')], producer: producer(2) });
    expect((await engine.reader.read('t', 0)).records.map((r) => text(r.value))).toEqual(['a', 'b', 'c']);
  });

  it('deduplicates a retry that reaches another process with a cold cache', async () => {
    const { engine, verifier } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    const first = await engine.appender.appendToPartition('t', 0, { records: [record('a')], producer: producer(0) });
    const retry = await verifier.appender.appendToPartition('t', 0, { records: [record('a')], producer: producer(0) });
    expect(retry.offsets).toEqual(first.offsets);
    expect((await verifier.reader.read('t', 0)).highWatermark).toBe(1);
  });

  it('accepts the next sequence in a process whose cached producer state is stale (regression: a false OUT_OF_ORDER_SEQUENCE)', async () => {
    const { engine, verifier } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    await engine.appender.appendToPartition('t', 0, { records: [record('a')], producer: producer(0) });
    await verifier.appender.appendToPartition('t', 0, { records: [record('b')], producer: producer(1) });
    const third = await engine.appender.appendToPartition('t', 0, { records: [record('c')], producer: producer(2) });
    expect(third.offsets).toEqual([{ partition: 0, offset: 2 }]);
    // And a retry of the batch the other process committed is answered from the stored state.
    const retry = await engine.appender.appendToPartition('t', 0, { records: [record('b')], producer: producer(1) });
    expect(retry.offsets).toEqual([{ partition: 0, offset: 1 }]);
    expect((await verifier.reader.read('t', 0)).records.map((r) => text(r.value))).toEqual(['a', 'b', 'c']);
  });

  it('answers the retry of a committed idempotent conditional append as a duplicate in a process with a stale cache, not 409', async () => {
    const { engine, verifier } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    // `engine` caches the producer's state after sequence 0 ...
    await engine.appender.appendToPartition('t', 0, { records: [record('a')], producer: producer(0) });
    // ... another process commits sequence 1 conditionally; its answer is lost ...
    const first = await verifier.appender.appendToPartition('t', 0, { records: [record('b')], producer: producer(1), expectedOffset: 1 });
    // ... and the producer's retry reaches `engine`, whose cache says sequence 1 is next.
    const retry = await engine.appender.appendToPartition('t', 0, { records: [record('b')], producer: producer(1), expectedOffset: 1 });
    expect(retry.offsets).toEqual(first.offsets);
    expect(retry.partitions[0]!.duplicate).toBe(true);
    expect((await verifier.reader.read('t', 0)).records.map((r) => text(r.value))).toEqual(['a', 'b']);
  });

  it('rejects a sequence gap, an old epoch and a stale overlapping sequence with their own codes', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 1 });
    await engine.appender.appendToPartition('t', 0, { records: [record('a'), record('b')], producer: producer(0) });
    await expect(engine.appender.appendToPartition('t', 0, { records: [record('x')], producer: producer(5) })).rejects.toBeInstanceOf(
      SequenceGapError,
    );
    await expect(engine.appender.appendToPartition('t', 0, { records: [record('x')], producer: producer(1) })).rejects.toBeInstanceOf(
      DuplicateSequenceError,
    );
    await engine.appender.appendToPartition('t', 0, { records: [record('n')], producer: producer(0, 1) });
    const fenced = await engine.appender
      .appendToPartition('t', 0, { records: [record('x')], producer: producer(2, 0) })
      .catch((e: unknown) => e);
    expect(fenced).toBeInstanceOf(ProducerFencedError);
    expect(fenced).toMatchObject({ code: 'PRODUCER_FENCED', status: 409 });
    expect((await engine.reader.read('t', 0)).records.map((r) => text(r.value))).toEqual(['a', 'b', 'n']);
  });

  it('writes a retried idempotent topic-level append of keyless records once (regression: once per partition)', async () => {
    const { engine, verifier } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 3 });
    const request = { records: [record('once')], producer: { producerId: 'p', epoch: 0, sequences: { '0': 0, '1': 0, '2': 0 } } };
    const first = await engine.appender.append('t', request);
    // The same request again, as a producer retries a request whose answer it lost.
    for (let i = 0; i < 3; i++) {
      const retry = await engine.appender.append('t', request);
      expect(retry.offsets).toEqual(first.offsets);
      expect(retry.partitions.every((p) => p.duplicate)).toBe(true);
    }
    const all = await Promise.all([0, 1, 2].map((p) => readAll(verifier, 't', p)));
    expect(all.flat().map((r) => text(r.value))).toEqual(['once']);
    // The next batch on that partition is written, not taken for a duplicate of the first.
    const partition = first.offsets[0]!.partition;
    const next = await engine.appender.append('t', {
      records: [record('next')],
      producer: { producerId: 'p', epoch: 0, sequences: { [String(partition)]: 1 } },
    });
    expect(next.offsets).toEqual([{ partition, offset: 1 }]);
    expect(next.partitions[0]!.duplicate).toBe(false);
  });

  it('spreads idempotent keyless appends over the partitions they give sequences for, and refuses none given', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 4 });
    const seen = new Set<number>();
    for (let seq = 0; seq < 16; seq++) {
      const sequences = { '0': seq, '1': seq, '2': seq, '3': seq };
      const r = await engine.appender.append('t', {
        records: [record(`v${seq}`)],
        producer: { producerId: `p${seq}`, epoch: 0, sequences },
      });
      seen.add(r.offsets[0]!.partition);
    }
    expect(seen.size).toBeGreaterThan(1);
    await expect(
      engine.appender.append('t', { records: [record('x')], producer: { producerId: 'p', epoch: 0, sequences: { '9': 0 } } }),
    ).rejects.toThrow(/no sequence for a partition of topic 't'/);
  });

  it('needs a sequence for every partition a topic-level append writes to', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 't', partitions: 2 });
    await expect(
      engine.appender.append('t', {
        records: [
          { ...record('a'), partition: 0 },
          { ...record('b'), partition: 1 },
        ],
        producer: { producerId: 'p', epoch: 0, sequences: { '0': 0 } },
      }),
    ).rejects.toThrow(/partition\(s\) 1/);
    const ok = await engine.appender.append('t', {
      records: [
        { ...record('a'), partition: 0 },
        { ...record('b'), partition: 1 },
      ],
      producer: { producerId: 'p', epoch: 0, sequences: { '0': 0, '1': 0 } },
    });
    expect(ok.offsets).toEqual([
      { partition: 0, offset: 0 },
      { partition: 1, offset: 0 },
    ]);
  });
});

describe('group commit', () => {
  it('coalesces concurrent appends to one partition into fewer transactions', async () => {
    const commits: number[] = [];
    const { engine } = await createTestEngine({ engine: { onCommit: (s) => commits.push(s.appends) } });
    await engine.topics.create({ name: 't', partitions: 1 });
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => engine.appender.appendToPartition('t', 0, { records: [record(`r${i}`)] })),
    );
    const offsets = results.map((r) => r.offsets[0]!.offset).sort((a, b) => a - b);
    expect(offsets).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(commits.reduce((a, b) => a + b, 0)).toBe(40);
    expect(commits.length).toBeLessThan(40);
    expect(Math.max(...commits)).toBeGreaterThan(1);
  });
});

describe('consumer group offsets', () => {
  it('commits and fetches positions per topic and partition', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 'a', partitions: 2 });
    await engine.topics.create({ name: 'b', partitions: 1 });
    await engine.groups.commit('g1', [
      { topic: 'a', partition: 1, offset: 10, metadata: 'm' },
      { topic: 'b', partition: 0, offset: 3 },
    ]);
    await engine.groups.commit('g1', [{ topic: 'a', partition: 1, offset: 12 }]);
    const all = await engine.groups.fetch('g1');
    expect(all.map(({ topic, partition, offset }) => ({ topic, partition, offset }))).toEqual([
      { topic: 'a', partition: 1, offset: 12 },
      { topic: 'b', partition: 0, offset: 3 },
    ]);
    expect((await engine.groups.fetch('g1', 'b')).map((o) => o.offset)).toEqual([3]);
    expect(await engine.groups.fetch('other')).toEqual([]);
  });

  it('rejects unknown partitions, negative offsets and duplicates, committing nothing', async () => {
    const { engine } = await createTestEngine();
    await engine.topics.create({ name: 'a', partitions: 1 });
    await expect(
      engine.groups.commit('g', [
        { topic: 'a', partition: 0, offset: 1 },
        { topic: 'a', partition: 3, offset: 1 },
      ]),
    ).rejects.toBeInstanceOf(PartitionNotFoundError);
    await expect(engine.groups.commit('g', [{ topic: 'a', partition: 0, offset: -1 }])).rejects.toBeInstanceOf(ValidationError);
    await expect(
      engine.groups.commit('g', [
        { topic: 'a', partition: 0, offset: 1 },
        { topic: 'a', partition: 0, offset: 2 },
      ]),
    ).rejects.toBeInstanceOf(ValidationError);
    await expect(engine.groups.commit('bad group', [{ topic: 'a', partition: 0, offset: 1 }])).rejects.toBeInstanceOf(ValidationError);
    expect(await engine.groups.fetch('g')).toEqual([]);
  });

  it('forgets offsets committed for a deleted topic when the name is re-created', async () => {
    const { engine } = await createTestEngine({ engine: { topicCacheTtlMs: 0 } });
    await engine.topics.create({ name: 'a', partitions: 1 });
    await engine.groups.commit('g', [{ topic: 'a', partition: 0, offset: 5 }]);
    await engine.topics.delete('a');
    await engine.topics.create({ name: 'a', partitions: 1 });
    expect(await engine.groups.fetch('g')).toEqual([]);
  });
});
