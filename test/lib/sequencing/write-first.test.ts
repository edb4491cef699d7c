/**
 * The write-first sequencer (docs/design.md, "Write first, number after") against DynamoDB
 * Local: data items written before they have offsets, one head update numbering them,
 * index steps, reads and flushes through the store's `queryTail`, a numbering whose
 * answer is lost, `expectedOffset`, and idempotent producers (claims, order, takeover, fences).
 */
import { DeleteItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, inject, it, vi } from 'vitest';
import { DynamoLogStore } from '../../../lib/aws/dynamo-log-store.js';
import { INDEX_REMOVE_BATCH } from '../../../lib/aws/dynamo-partition-store.js';
import { DATA_PREFIX, HEAD_SK, INDEX_PREFIX, partitionPk, producerSk } from '../../../lib/aws/table-keys.js';
import type { Clock } from '../../../lib/core/clock.js';
import { INDEX_MIN_TTL_MS, PRODUCER_CACHE_MAX_AGE_MS, PRODUCER_STATE_TTL_MS, SEAL_AFTER_MS } from '../../../lib/core/constants.js';
import { InternalError, OffsetMismatchError, StorageUnavailableError } from '../../../lib/core/errors.js';
import { FAST_RETRY } from '../../../lib/core/retry.js';
import { LogEngine } from '../../../lib/engine.js';
import type { LogStore, NumberRequest } from '../../../lib/ports/log-store.js';
import type { PartitionRef } from '../../../lib/ports/model.js';
import { INDEX_AWAIT_ENTRIES, INDEX_EVERY } from '../../../lib/sequencing/write-first-sequencer.js';
import { localDynamoClient } from '../../../local/emulators.js';
import { partitionRawItems, testClients } from '../../support/aws.js';
import { bytes, createTestEngine, readAll, text } from '../../support/engine.js';
import { FaultInjector } from '../../support/faults.js';

async function setup(options: { faults?: FaultInjector; clock?: Clock } = {}) {
  const t = await createTestEngine({ ...options, engine: { sequencing: 'write-first' } });
  const meta = await t.engine.topics.create({ name: 't', partitions: 1, config: { flushIntervalMs: 1000 } });
  const ref: PartitionRef = { topic: 't', topicId: meta.topicId, partition: 0 };
  /** Appends to partition 0 and answers the range it got. */
  const append = async (values: string[], engine: LogEngine = t.engine, extra: { expectedOffset?: number } = {}) =>
    (await engine.appender.appendToPartition('t', 0, { records: values.map((v) => ({ key: null, value: bytes(v) })), ...extra }))
      .partitions[0]!;
  /** Another writer: an engine of its own on the same table, as another Lambda environment. */
  const writer = () => new LogEngine({ store: t.realStore, objects: t.realObjects, retry: FAST_RETRY, sequencing: 'write-first' });
  return { ...t, meta, ref, append, writer };
}

/** The partition's items by kind, read directly. */
async function partitionItems(tableName: string, ref: PartitionRef) {
  const items = await partitionRawItems(tableName, ref);
  const head = items.find((i) => i.sk?.S === HEAD_SK);
  return {
    pending: Object.keys(head?.pending?.M ?? {}).length,
    data: items.filter((i) => i.sk?.S?.startsWith(DATA_PREFIX)).length,
    index: items.filter((i) => i.sk?.S?.startsWith(INDEX_PREFIX)).length,
    tail: items.filter((i) => i.sk?.S?.startsWith('B#')).length,
  };
}

describe('write first, number after', () => {
  it('acknowledges each append at its offsets, and reads them back there', async () => {
    const t = await setup();
    expect(await t.append(['a'])).toMatchObject({ baseOffset: 0, lastOffset: 0 });
    expect(await t.append(['b', 'c', 'd'])).toMatchObject({ baseOffset: 1, lastOffset: 3 });
    expect(await t.append(['e'])).toMatchObject({ baseOffset: 4, lastOffset: 4 });
    const records = await readAll(t.verifier, 't', 0);
    expect(records.map((r) => [r.offset, text(r.value)])).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
      [3, 'd'],
      [4, 'e'],
    ]);
    // A read from the middle of an append's range starts at its offset.
    const middle = await t.verifier.reader.read('t', 0, { offset: 2, maxRecords: 2 });
    expect(middle.records.map((r) => [r.offset, text(r.value)])).toEqual([
      [2, 'c'],
      [3, 'd'],
    ]);
    expect(middle.highWatermark).toBe(5);
    // A process that never numbered (a read function) learns it from the head.
    const reader = new LogEngine({
      store: new DynamoLogStore(testClients().dynamo, t.tableName),
      objects: t.realObjects,
      retry: FAST_RETRY,
    });
    expect((await readAll(reader, 't', 0)).map((r) => text(r.value))).toEqual(['a', 'b', 'c', 'd', 'e']);
    // No offset-keyed tail item: the data items and the head hold it all.
    expect(await partitionItems(t.tableName, t.ref)).toMatchObject({ data: 3, tail: 0, pending: 3 });
  });

  it('numbers the appends of independent writers without a hole or a repeat, and every acknowledgement reads back', async () => {
    const t = await setup();
    const writers = Array.from({ length: 6 }, () => t.writer());
    const acked: { offset: number; value: string }[] = [];
    await Promise.all(
      writers.map(async (engine, w) => {
        for (let i = 0; i < 12; i++) {
          const value = `w${w}-${i}`;
          const result = await t.append([value], engine);
          acked.push({ offset: result.baseOffset, value });
        }
      }),
    );
    const offsets = acked.map((a) => a.offset).sort((x, y) => x - y);
    expect(offsets).toEqual(Array.from({ length: 72 }, (_, i) => i));
    const records = await readAll(t.verifier, 't', 0);
    const byOffset = new Map(records.map((r) => [r.offset, text(r.value)]));
    for (const a of acked) expect(byOffset.get(a.offset)).toBe(a.value);
    expect(records).toHaveLength(72);
    // 72 numberings: the index steps moved most pending entries off the head.
    const items = await partitionItems(t.tableName, t.ref);
    expect(items.index).toBeGreaterThan(0);
    expect(items.pending).toBeLessThan(72);
  });

  it('reads across index items and pending entries from any offset', async () => {
    const t = await setup();
    const total = INDEX_EVERY * 2 + 5;
    for (let i = 0; i < total; i++) await t.append([`v${i}`]);
    await t.engine.idle();
    const items = await partitionItems(t.tableName, t.ref);
    expect(items.index).toBe(2);
    expect(items.pending).toBe(5);
    for (const from of [0, 1, INDEX_EVERY - 1, INDEX_EVERY, INDEX_EVERY * 2 + 1, total - 1]) {
      const records = await readAll(t.verifier, 't', 0, from);
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: total - from }, (_, i) => from + i));
      expect(records.map((r) => text(r.value))).toEqual(Array.from({ length: total - from }, (_, i) => `v${from + i}`));
    }
  });

  it('reads a tail with the head it read: the newest ranges with their data only, older ones with the index beside', async () => {
    const t = await setup();
    for (let i = 0; i < 5; i++) await t.append([`v${i}`]);
    const dynamo = localDynamoClient(inject('dynamoEndpoint'));
    const calls: string[] = [];
    dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        calls.push(String(context.commandName).replace('Command', ''));
        return next(args);
      },
      { step: 'initialize', name: 'countCalls' },
    );
    const reader = new LogEngine({ store: new DynamoLogStore(dynamo, t.tableName), objects: t.realObjects, retry: FAST_RETRY });
    await reader.reader.read('t', 0, { offset: 3, maxRecords: 10 }); // the topic's metadata, once
    calls.length = 0;
    const page = await reader.reader.read('t', 0, { offset: 3, maxRecords: 10 });
    expect(page.records.map((r) => [r.offset, text(r.value)])).toEqual([
      [3, 'v3'],
      [4, 'v4'],
    ]);
    expect(calls).toEqual(['GetItem', 'BatchGetItem']);
    // Ranges an index step took off the head: the index beside them, still no second head read.
    await t.realStore.indexPending(t.ref, 3, 3);
    calls.length = 0;
    const older = await reader.reader.read('t', 0, { offset: 1, maxRecords: 10 });
    expect(older.records.map((r) => text(r.value))).toEqual(['v1', 'v2', 'v3', 'v4']);
    expect(calls).toEqual(['GetItem', 'Query', 'BatchGetItem']);
  });

  it('flushes the numbered tail into a segment, and reads it back from there', async () => {
    const t = await setup();
    for (let i = 0; i < 20; i++) await t.append([`v${i}`, `w${i}`]);
    const flushed = await t.engine.flusher!.flushPartition(t.meta, 0, { force: true });
    expect(flushed.records).toBe(40);
    expect((await t.realStore.getHead(t.ref)).flushedOffset).toBe(40);
    await t.append(['after']);
    const records = await readAll(t.verifier, 't', 0);
    expect(records.map((r) => r.offset)).toEqual(Array.from({ length: 41 }, (_, i) => i));
    expect(text(records[0]!.value)).toBe('v0');
    expect(text(records[39]!.value)).toBe('w19');
    expect(text(records[40]!.value)).toBe('after');
  });

  it('acknowledges a numbering whose answer was lost once, at the offsets it got', async () => {
    const faults = new FaultInjector([{ method: 'numberData', mode: 'after', times: 3 }]);
    const t = await setup({ faults });
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await t.append([`v${i}`]));
    expect(faults.count('numberData', 'after')).toBe(3);
    expect(results.map((r) => r.baseOffset)).toEqual([0, 1, 2, 3]);
    const records = await readAll(t.verifier, 't', 0);
    expect(records.map((r) => text(r.value))).toEqual(['v0', 'v1', 'v2', 'v3']);
  });

  it('numbers a head that has its map but not the counters a numbering adds to (a map given by an older startNumbering)', async () => {
    const t = await setup();
    const dynamo = localDynamoClient(inject('dynamoEndpoint'));
    await dynamo.send(
      new UpdateItemCommand({
        TableName: t.tableName,
        Key: { pk: { S: partitionPk(t.ref) }, sk: { S: HEAD_SK } },
        UpdateExpression: 'SET pending = :empty',
        ExpressionAttributeValues: { ':empty': { M: {} } },
      }),
    );
    expect(await t.append(['a', 'b'])).toMatchObject({ baseOffset: 0, lastOffset: 1 });
    expect(await t.append(['c'])).toMatchObject({ baseOffset: 2, lastOffset: 2 });
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['a', 'b', 'c']);
    expect(await t.realStore.getHead(t.ref)).toMatchObject({ nextOffset: 3, committedOffset: 3, logStartOffset: 0, flushedOffset: 0 });
  });

  it('numbers only at the expected offset, and writes no offset otherwise', async () => {
    const t = await setup();
    await t.append(['a']);
    expect(await t.append(['b'], t.engine, { expectedOffset: 1 })).toMatchObject({ baseOffset: 1 });
    await expect(t.append(['c'], t.engine, { expectedOffset: 1 })).rejects.toBeInstanceOf(OffsetMismatchError);
    expect((await t.realStore.getHead(t.ref)).nextOffset).toBe(2);
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['a', 'b']);
  });
});

describe('index steps beside the answer', () => {
  /** A writer whose index steps wait for `release` (or fail, while `fail` is set). */
  function heldSteps(t: Awaited<ReturnType<typeof setup>>) {
    const held: { release: () => void }[] = [];
    const state = { fail: false, steps: 0 };
    const store = new Proxy(t.realStore, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'indexPending' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          state.steps++;
          if (state.fail) throw new StorageUnavailableError('the index step failed (injected)');
          let release!: () => void;
          const gate = new Promise<void>((resolve) => {
            release = resolve;
          });
          held.push({ release });
          await gate;
          return (value as (...a: unknown[]) => Promise<void>).apply(target, args);
        };
      },
    }) as LogStore;
    const engine = new LogEngine({ store, objects: t.realObjects, retry: FAST_RETRY, sequencing: 'write-first' });
    return { engine, held, state };
  }

  it('answers the INDEX_EVERY-th append before its index step has ended', async () => {
    const t = await setup();
    const { engine, held } = heldSteps(t);
    for (let i = 0; i < INDEX_EVERY; i++) await t.append([`v${i}`], engine);
    // Answered, with its step still held: two round trips off the append's latency.
    expect(held).toHaveLength(1);
    expect((await partitionItems(t.tableName, t.ref)).index).toBe(0);
    held[0]!.release();
    await engine.idle();
    expect(await partitionItems(t.tableName, t.ref)).toMatchObject({ index: 1, pending: 0 });
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(Array.from({ length: INDEX_EVERY }, (_, i) => `v${i}`));
  });

  it('makes the step before answering once the head holds INDEX_AWAIT_ENTRIES entries (steps lost, as with a recycled Lambda)', async () => {
    const t = await setup();
    const { engine, held, state } = heldSteps(t);
    // The steps beside the answers fail: the head keeps every entry.
    state.fail = true;
    for (let i = 0; i < INDEX_AWAIT_ENTRIES - 1; i++) await t.append([`v${i}`], engine);
    expect((await partitionItems(t.tableName, t.ref)).pending).toBe(INDEX_AWAIT_ENTRIES - 1);
    state.fail = false;
    // The numbering that brings the head to INDEX_AWAIT_ENTRIES (an INDEX_EVERY-th one) waits for its step.
    expect(INDEX_AWAIT_ENTRIES % INDEX_EVERY).toBe(0);
    let answered = false;
    const last = t.append(['last'], engine).then(() => {
      answered = true;
    });
    await vi.waitFor(() => expect(held).toHaveLength(1));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(answered).toBe(false);
    held[0]!.release();
    await last;
    // One step took every entry up to its own off the head.
    expect(await partitionItems(t.tableName, t.ref)).toMatchObject({ index: 1, pending: 0 });
    expect(await readAll(t.verifier, 't', 0)).toHaveLength(INDEX_AWAIT_ENTRIES);
  });
});

describe('idempotent producers, written first', () => {
  /** An append of one record from producer p1 at `sequence`, through `engine`. */
  const produce = (engine: LogEngine, value: string, sequence: number, epoch = 0) =>
    engine.appender
      .appendToPartition('t', 0, { records: [{ key: null, value: bytes(value) }], producer: { producerId: 'p1', epoch, sequence } })
      .then((r) => r.partitions[0]!);
  /** A writer whose numberings wait for `gate` (its data and claim go out at once). */
  const gated = (t: Awaited<ReturnType<typeof setup>>, gate: Promise<void>, options: { appendDeadlineMs?: number } = {}) => {
    const store = new DynamoLogStore(testClients().dynamo, t.tableName);
    const number = store.numberData.bind(store);
    store.numberData = async (request) => {
      await gate;
      return number(request);
    };
    return new LogEngine({ store, retry: FAST_RETRY, sequencing: 'write-first', ...options });
  };

  it("numbers a producer's batches in order across writers, and answers a retry from any writer with the first offsets", async () => {
    const t = await setup();
    await t.append(['x']);
    const [a, b, c] = [t.writer(), t.writer(), t.writer()];
    expect(await produce(a, 'p0', 0)).toMatchObject({ baseOffset: 1, duplicate: false });
    expect(await produce(b, 'p1', 1)).toMatchObject({ baseOffset: 2, duplicate: false });
    // The retry of sequence 1 on a third writer: the offsets of the first attempt.
    expect(await produce(c, 'p1', 1)).toMatchObject({ baseOffset: 2, lastOffset: 2, duplicate: true });
    // Once the index took the entries off the head, the retry finds them there.
    await t.realStore.indexPending(t.ref, 2, 2);
    expect(await produce(a, 'p0', 0)).toMatchObject({ baseOffset: 1, duplicate: true });
    // Out of order and fenced epochs are refused, nothing written.
    await expect(produce(b, 'p3', 3)).rejects.toMatchObject({ code: 'OUT_OF_ORDER_SEQUENCE' });
    expect(await produce(c, 'q0', 0, 1)).toMatchObject({ baseOffset: 3 });
    await expect(produce(a, 'old', 2, 0)).rejects.toMatchObject({ code: 'PRODUCER_FENCED' });
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['x', 'p0', 'p1', 'q0']);
  });

  it('numbers a batch only after the batch before it, when both are in flight on different writers', async () => {
    const t = await setup();
    let open!: () => void;
    const slow = gated(t, new Promise<void>((resolve) => (open = resolve)));
    const first = produce(slow, 's0', 0);
    // Sequence 0 is claimed and written, not numbered; sequence 1 comes on another writer.
    await vi.waitFor(async () => expect((await t.realStore.getProducerState(t.ref, 'p1'))?.batches.length).toBe(1));
    const second = produce(t.writer(), 's1', 1);
    await new Promise((r) => setTimeout(r, 150));
    expect((await t.realStore.getHead(t.ref)).nextOffset).toBe(0);
    open();
    expect(await first).toMatchObject({ baseOffset: 0 });
    expect(await second).toMatchObject({ baseOffset: 1 });
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['s0', 's1']);
  });

  it("takes over a batch whose writer died after claiming it, and fences that writer's numbering", async () => {
    const t = await setup();
    let captured: NumberRequest | undefined;
    const store = new DynamoLogStore(testClients().dynamo, t.tableName);
    // The writer dies between its claim and its numbering (the request it would have sent is kept).
    store.numberData = async (request) => {
      captured = request;
      throw new InternalError('injected: the environment died');
    };
    const dying = new LogEngine({ store, retry: FAST_RETRY, sequencing: 'write-first', appendDeadlineMs: 300 });
    await expect(produce(dying, 'v', 0)).rejects.toBeInstanceOf(InternalError);
    // The producer's retry waits out the claim's deadline, fences it, and numbers its own write.
    expect(await produce(t.writer(), 'v', 0)).toMatchObject({ baseOffset: 0, duplicate: false });
    // The dead writer's numbering, had it been sent late, is refused: the record is there once.
    const late = await t.realStore.numberData(captured!);
    expect(late).toMatchObject({ ok: false });
    expect((await t.realStore.getHead(t.ref)).nextOffset).toBe(1);
    expect(await produce(t.writer(), 'w', 1)).toMatchObject({ baseOffset: 1 });
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['v', 'w']);
  });

  it('claims and writes again under the new fence when its numbering was fenced', async () => {
    const t = await setup();
    expect(await produce(t.engine, 'a', 0)).toMatchObject({ baseOffset: 0 });
    const store = new DynamoLogStore(testClients().dynamo, t.tableName);
    const number = store.numberData.bind(store);
    let fenced = 0;
    let raised = 0;
    store.numberData = async (request) => {
      // Another writer's takeover raises the fence between this writer's claim and its numbering.
      if (fenced++ === 0) raised = await t.realStore.raiseFence(t.ref, request.fence!);
      return number(request);
    };
    const writer = new LogEngine({ store, retry: FAST_RETRY, sequencing: 'write-first' });
    expect(await produce(writer, 'b', 1)).toMatchObject({ baseOffset: 1, duplicate: false });
    expect(fenced).toBe(2);
    // A fence already above is left where it is.
    expect(await t.realStore.raiseFence(t.ref, 0)).toBe(raised);
    expect(await produce(t.writer(), 'b', 1)).toMatchObject({ baseOffset: 1, duplicate: true });
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['a', 'b']);
  });

  it('takes back the claim of a batch refused at its expected offset, so that the corrected retry numbers at once', async () => {
    const t = await setup();
    await t.append(['x']);
    const conditional = (engine: LogEngine, value: string, sequence: number, expectedOffset: number) =>
      engine.appender.appendToPartition('t', 0, {
        records: [{ key: null, value: bytes(value) }],
        producer: { producerId: 'p1', epoch: 0, sequence },
        expectedOffset,
      });
    // A retry that waited for a claim left behind would answer 503 within this deadline.
    const quick = new LogEngine({ store: t.realStore, retry: FAST_RETRY, sequencing: 'write-first', appendDeadlineMs: 1_000 });
    const created = Date.now();
    await expect(conditional(t.engine, 'a', 0, 5)).rejects.toBeInstanceOf(OffsetMismatchError);
    // Taken back to no batches, at a new version (a state deleted and created again would start at a version a cached copy may have).
    const released = await t.realStore.getProducerState(t.ref, 'p1');
    expect(released).toMatchObject({ batches: [] });
    // Created at the time of its first write (nextVersion), then one version up.
    expect(released!.version).toBeGreaterThan(created);
    expect((await conditional(quick, 'a', 0, 1)).partitions[0]).toMatchObject({ baseOffset: 1 });
    await expect(conditional(t.engine, 'b', 1, 7)).rejects.toBeInstanceOf(OffsetMismatchError);
    expect((await t.realStore.getProducerState(t.ref, 'p1'))?.batches.map((b) => b.firstSequence)).toEqual([0]);
    expect((await conditional(quick, 'b', 1, 2)).partitions[0]).toMatchObject({ baseOffset: 2 });
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['x', 'a', 'b']);
  });

  it('answers a retry 503 while the first attempt may still be numbered, then its offsets once it is', async () => {
    const t = await setup();
    let open!: () => void;
    const slow = gated(t, new Promise<void>((resolve) => (open = resolve)));
    const first = produce(slow, 'r', 0);
    await vi.waitFor(async () => expect((await t.realStore.getProducerState(t.ref, 'p1'))?.batches.length).toBe(1));
    const impatient = new LogEngine({ store: t.realStore, retry: FAST_RETRY, sequencing: 'write-first', appendDeadlineMs: 200 });
    await expect(produce(impatient, 'r', 0)).rejects.toMatchObject({ code: 'RETRY', status: 503 });
    open();
    expect(await first).toMatchObject({ baseOffset: 0, duplicate: false });
    expect(await produce(impatient, 'r', 0)).toMatchObject({ baseOffset: 0, duplicate: true });
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['r']);
  });
});

describe('regression: a producer back after a pause longer than the tail TTL could not find its previous batch', () => {
  // Found by review (2026-12-03). A producer state names its newest batch by a claim's
  // token; once an index step moved the claim's entry off the head, only an index item
  // held its numbering, and index items expired with the tail TTL (a day by default)
  // while producer states live 7 days. The producer's next batch, sent by another
  // process, waited for a predecessor it could not find until every deadline (503s); a
  // retry of the last batch found it nowhere, took it for never numbered, and wrote it
  // again. And every such look read the partition's whole index, newest first.
  const produceOn = (engine: LogEngine, value: string, sequence: number) =>
    engine.appender
      .appendToPartition('t', 0, { records: [{ key: null, value: bytes(value) }], producer: { producerId: 'p1', epoch: 0, sequence } })
      .then((r) => r.partitions[0]!);

  it('index items outlive the producer states that name their ranges', async () => {
    const tailTtlMs = 24 * 60 * 60 * 1000;
    const t = await createTestEngine({ engine: { sequencing: 'write-first' }, store: { tailTtlMs } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1 });
    const ref: PartitionRef = { topic: 't', topicId: meta.topicId, partition: 0 };
    const before = Date.now();
    expect(await produceOn(t.engine, 'a', 0)).toMatchObject({ baseOffset: 0 });
    await t.realStore.indexPending(ref, 0, 0);
    const items = await partitionRawItems(t.tableName, ref);
    const index = items.find((i) => i.sk?.S?.startsWith(INDEX_PREFIX))!;
    const state = items.find((i) => i.sk?.S === producerSk('p1'))!;
    expect(Number(index.ttl?.N) * 1000).toBeGreaterThanOrEqual(before + INDEX_MIN_TTL_MS - 1000);
    expect(Number(index.ttl?.N)).toBeGreaterThan(Number(state.ttl?.N));
    expect(INDEX_MIN_TTL_MS).toBeGreaterThan(PRODUCER_STATE_TTL_MS);
  });

  it('a claim keeps the counter its writer saw, and a look for its numbering reads the index from there: one Query', async () => {
    const t = await setup();
    const a = t.writer();
    await t.append(['x'], a);
    expect(await produceOn(a, 'p0', 0)).toMatchObject({ baseOffset: 1 });
    const stored = await t.realStore.getProducerState(t.ref, 'p1');
    expect(stored?.batches.at(-1)?.claim?.floor).toBe(1);
    // Its entry goes to an index item, and many index items come after it.
    await t.realStore.indexPending(t.ref, 1, 1);
    for (let i = 0; i < INDEX_EVERY * 6; i++) await t.append([`v${i}`]);
    const dynamo = localDynamoClient(inject('dynamoEndpoint'));
    const queries: number[] = [];
    dynamo.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === 'QueryCommand') queries.push(((out as { output: { Items?: unknown[] } }).output.Items ?? []).length);
        return out;
      },
      { step: 'initialize', name: 'countQueries' },
    );
    const b = new LogEngine({ store: new DynamoLogStore(dynamo, t.tableName), retry: FAST_RETRY, sequencing: 'write-first' });
    // The next batch from a process that never saw the first numbered: found in one Query.
    expect(await produceOn(b, 'p1', 1)).toMatchObject({ baseOffset: INDEX_EVERY * 6 + 2, duplicate: false });
    expect(queries).toHaveLength(1);
    // Without the floor, the look reads the index newest first, page after page.
    queries.length = 0;
    expect(await new DynamoLogStore(dynamo, t.tableName).findNumbering(t.ref, stored!.batches.at(-1)!.claim!.token)).toBe(1);
    expect(queries.length).toBeGreaterThan(1);
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value)).filter((v) => v?.startsWith('p'))).toEqual(['p0', 'p1']);
  });
});

describe('switching a live partition to write-first and back', () => {
  it('numbers once the ranges the reserving sequencer reserved are filled or sealed', async () => {
    const t = await createTestEngine({ engine: { sequencing: 'reserve', sealAfterMs: 300 } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1 });
    const ref: PartitionRef = { topic: 't', topicId: meta.topicId, partition: 0 };
    const one = (engine: LogEngine, value: string) =>
      engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes(value) }] }).then((r) => r.partitions[0]!);
    expect(await one(t.engine, 'a')).toMatchObject({ baseOffset: 0 });
    // A reserving writer died between its reservation and its fill: offsets 1 and 2 are a hole.
    await t.realStore.reserve({ ref, count: 2, bytes: 2, now: Date.now(), token: 'dead-writer' });
    const writeFirst = new LogEngine({ store: t.realStore, retry: FAST_RETRY, sequencing: 'write-first', sealAfterMs: 300 });
    expect(await one(writeFirst, 'b')).toMatchObject({ baseOffset: 3 });
    expect(await one(writeFirst, 'c')).toMatchObject({ baseOffset: 4 });
    const records = await readAll(t.verifier, 't', 0);
    expect(records.map((r) => [r.offset, text(r.value)])).toEqual([
      [0, 'a'],
      [3, 'b'],
      [4, 'c'],
    ]);
  });

  it('regression: a numbering stepped committedOffset over a range a reserving writer reserved after numberings began', async () => {
    // Found by review (2026-12-03): only the head's first numbering checked that no reserved
    // range was outstanding. A reserving writer of a sequencing being switched back that
    // died before its fill left a hole below committedOffset, which no reader or flusher
    // may seal there (the offsets below it are taken as written).
    const t = await createTestEngine({ engine: { sequencing: 'write-first', sealAfterMs: 300 } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1 });
    const ref: PartitionRef = { topic: 't', topicId: meta.topicId, partition: 0 };
    const one = (value: string) =>
      t.engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes(value) }] }).then((r) => r.partitions[0]!);
    expect(await one('a')).toMatchObject({ baseOffset: 0 });
    await t.realStore.reserve({ ref, count: 2, bytes: 2, now: Date.now(), token: 'dead-writer' });
    // Numbered only once the reserved range is sealed (its writer never fills it).
    expect(await one('b')).toMatchObject({ baseOffset: 3 });
    const head = await t.realStore.getHead(ref);
    expect(head).toMatchObject({ nextOffset: 4, committedOffset: 4 });
    expect(t.voids('t').get(0)).toEqual(new Set([1, 2]));
    expect((await readAll(t.verifier, 't', 0)).map((r) => [r.offset, text(r.value)])).toEqual([
      [0, 'a'],
      [3, 'b'],
    ]);
    expect((await t.engine.flusher!.flushPartition(meta, 0, { force: true })).records).toBe(2);
  });

  it('reads the ranges it numbered below the offset-keyed items of the sequencing switched back to', async () => {
    const t = await setup();
    await t.append(['a', 'b']);
    await t.append(['c']);
    const reserve = new LogEngine({ store: t.realStore, retry: FAST_RETRY, sequencing: 'reserve' });
    const optimistic = new LogEngine({ store: t.realStore, retry: FAST_RETRY, sequencing: 'optimistic' });
    expect((await reserve.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('d') }] })).partitions[0]).toMatchObject(
      {
        baseOffset: 3,
      },
    );
    expect(
      (await optimistic.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('e') }] })).partitions[0],
    ).toMatchObject({ baseOffset: 4 });
    // A process that never appended reads every offset from anywhere, across the switch.
    const reader = new LogEngine({ store: new DynamoLogStore(testClients().dynamo, t.tableName), retry: FAST_RETRY });
    for (const from of [0, 1, 2, 3]) {
      const records = await readAll(reader, 't', 0, from);
      expect(records.map((r) => [r.offset, text(r.value)])).toEqual(
        [
          [0, 'a'],
          [1, 'b'],
          [2, 'c'],
          [3, 'd'],
          [4, 'e'],
        ].slice(from),
      );
    }
  });
});

describe('regression: a producer told "nothing written" was refused DUPLICATE_SEQUENCE ever after, when the release of its claim failed', () => {
  // Found by the multi-process checker's long run (16 processes, 180 s, SDK faults): a
  // conditional idempotent append refused at its expected offset (409: nothing written)
  // left its claim in the producer's state when taking it back failed; the producer sent
  // that sequence again with other records and was refused on every request after.
  it.each([0, 1])('drops the claim once its writer is past its deadline, and takes the batch (sequence %i)', async (sequence) => {
    const t = await setup();
    await t.append(['x']);
    const store = new DynamoLogStore(testClients().dynamo, t.tableName);
    const number = store.numberData.bind(store);
    let refused = false;
    store.numberData = async (request) => {
      const outcome = await number(request);
      if (!outcome.ok) refused = true;
      return outcome;
    };
    // Every way of taking a claim back fails once the numbering was refused.
    const put = store.putProducerState.bind(store);
    store.putProducerState = async (ref, state, expected) => {
      if (refused) throw new StorageUnavailableError('injected: the release timed out');
      return put(ref, state, expected);
    };
    // A deadline the refused append ends well within on a loaded machine (300 ms did not, once, beside a long run).
    const writer = new LogEngine({ store, retry: FAST_RETRY, sequencing: 'write-first', appendDeadlineMs: 1_000 });
    const send = (engine: LogEngine, values: string[], seq: number, expectedOffset?: number) =>
      engine.appender.appendToPartition('t', 0, {
        records: values.map((v) => ({ key: null, value: bytes(v) })),
        producer: { producerId: 'p1', epoch: 0, sequence: seq },
        ...(expectedOffset !== undefined ? { expectedOffset } : {}),
      });
    if (sequence === 1) await send(t.engine, ['s0'], 0);
    await expect(send(writer, ['a'], sequence, 9)).rejects.toBeInstanceOf(OffsetMismatchError);
    expect((await t.realStore.getProducerState(t.ref, 'p1'))?.batches.at(-1)?.claim).toBeDefined();
    // The same sequence, other records: taken once the refused writer's deadline has passed.
    const retried = await send(t.writer(), ['b', 'c'], sequence);
    expect(retried.partitions[0]).toMatchObject({ baseOffset: sequence + 1, lastOffset: sequence + 2, duplicate: false });
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['x', ...(sequence === 1 ? ['s0'] : []), 'b', 'c']);
  });
});

describe('regression: a claim taken back by deleting the state let a stale copy of that state write a sequence twice', () => {
  // Found by the model of idempotent producers (test/design/write-first-producers-model.test.ts).
  // A producer's first claim, taken back after a 409, deleted its state; the next claim
  // created it again at version 1, the version a process's cached copy of the deleted
  // state had. That process's claim, conditioned on version 1, passed on the new state
  // (ABA): it dropped the new claim of the same sequence, which was numbered, and
  // numbered the sequence again.
  it('answers the stale writer as a duplicate at the offsets the sequence has', async () => {
    const t = await setup();
    await t.append(['x']);
    const send = (engine: LogEngine, values: string[], sequence: number, expectedOffset?: number) =>
      engine.appender.appendToPartition('t', 0, {
        records: values.map((v) => ({ key: null, value: bytes(v) })),
        producer: { producerId: 'p1', epoch: 0, sequence },
        ...(expectedOffset !== undefined ? { expectedOffset } : {}),
      });
    const stale = t.writer();
    // Writer A's claim of sequence 0 is refused at its expected offset; before A takes
    // the claim back, the stale writer reads the state with the claim (a gap: refused).
    const store = new DynamoLogStore(testClients().dynamo, t.tableName);
    const number = store.numberData.bind(store);
    store.numberData = async (request) => {
      const outcome = await number(request);
      if (!outcome.ok) await expect(send(stale, ['gap'], 3)).rejects.toThrow(/sequence/i);
      return outcome;
    };
    const a = new LogEngine({ store, retry: FAST_RETRY, sequencing: 'write-first', appendDeadlineMs: 300 });
    await expect(send(a, ['a'], 0, 9)).rejects.toBeInstanceOf(OffsetMismatchError);
    // Another writer takes sequence 0: numbered and acknowledged at 1.
    expect((await send(t.writer(), ['b'], 0)).partitions[0]).toMatchObject({ baseOffset: 1, duplicate: false });
    // Past A's deadline, the stale writer gets a retry of sequence 0.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await send(stale, ['b'], 0)).partitions[0]).toMatchObject({ baseOffset: 1, duplicate: true });
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['x', 'b']);
  });
});

describe('a producer state remembered for long', () => {
  it('is read again after PRODUCER_CACHE_MAX_AGE_MS: a state that expired and was created again is not taken for the old one', async () => {
    const t = await setup();
    const clock = { t: Date.now(), now: () => clock.t };
    const old = new LogEngine({ store: t.realStore, retry: FAST_RETRY, sequencing: 'write-first', clock });
    const send = async (engine: LogEngine, value: string) =>
      (
        await engine.appender.appendToPartition('t', 0, {
          records: [{ key: null, value: bytes(value) }],
          producer: { producerId: 'p1', epoch: 0, sequence: 0 },
        })
      ).partitions[0];
    expect(await send(old, 'a')).toMatchObject({ baseOffset: 0, duplicate: false });
    // The state expires (PRODUCER_STATE_TTL_MS idle) and the producer starts over at sequence 0.
    await testClients().dynamo.send(
      new DeleteItemCommand({ TableName: t.tableName, Key: { pk: { S: partitionPk(t.ref) }, sk: { S: producerSk('p1') } } }),
    );
    expect(await send(t.writer(), 'b')).toMatchObject({ baseOffset: 1, duplicate: false });
    clock.t += PRODUCER_CACHE_MAX_AGE_MS;
    expect(await send(old, 'b')).toMatchObject({ baseOffset: 1, duplicate: true });
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['a', 'b']);
  });
});

describe('regression: a producer state past its TTL, not deleted yet, was taken for a live one', () => {
  // Found by review of the open items (2026-12-03). DynamoDB deletes an expired item days
  // after its TTL at worst; until then it read as live. A producer back after a week's
  // pause starts its sequences over, and a process that remembered the old state (read
  // within the hour, before it expired) answered the new sequence 0 as a duplicate of the
  // old one: the new record was acknowledged and never written.
  for (const sequencing of ['optimistic', 'write-first'] as const) {
    it(`${sequencing}: a producer back after the TTL starts afresh, even on a process that remembered its old state`, async () => {
      const start = Date.now();
      const clock = { t: start, now: () => clock.t };
      const t = await createTestEngine({ clock, engine: { sequencing } });
      const meta = await t.engine.topics.create({ name: 't', partitions: 1 });
      const send = (engine: LogEngine, value: string, sequence: number) =>
        engine.appender
          .appendToPartition('t', 0, { records: [{ key: null, value: bytes(value) }], producer: { producerId: 'p1', epoch: 0, sequence } })
          .then((r) => r.partitions[0]!);
      const remembering = new LogEngine({ store: t.realStore, retry: FAST_RETRY, sequencing, clock });
      expect(await send(t.engine, 'a', 0)).toMatchObject({ baseOffset: 0, duplicate: false });
      // Half an hour before the state expires, a retry reads it: remembered.
      clock.t = start + PRODUCER_STATE_TTL_MS - 30 * 60_000;
      expect(await send(remembering, 'a', 0)).toMatchObject({ baseOffset: 0, duplicate: true });
      // Ten minutes after it expired by the engines' clock (its TTL is still ahead of the real
      // one, so DynamoDB Local keeps the item, as DynamoDB may for days): the producer starts over.
      clock.t = start + PRODUCER_STATE_TTL_MS + 10 * 60_000;
      expect(await send(remembering, 'b', 0)).toMatchObject({ baseOffset: 1, duplicate: false });
      expect(await send(t.engine, 'c', 1)).toMatchObject({ baseOffset: 2, duplicate: false });
      // The new life's versions begin at its creation: above every version of the old one.
      const state = await t.realStore.getProducerState({ topic: 't', topicId: meta.topicId, partition: 0 }, 'p1', clock.t);
      expect(state!.version).toBeGreaterThanOrEqual(start + PRODUCER_STATE_TTL_MS);
      expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['a', 'b', 'c']);
    });
  }
});

describe('regression: a numbering sent again after an index step took its applied entry off the head numbered the same data twice', () => {
  // Found by the multi-process checker's long run (16 processes, 180 s): one value at two
  // offsets 249 apart. Sent again, the numbering's condition (its entry not on the head)
  // no longer refuses it once an index step moved the entry to an index item.
  it('the SDK does not repeat a numbering whose first attempt was applied and whose answer was lost', async () => {
    const t = await setup();
    await t.append(['a']);
    const dynamo = localDynamoClient(inject('dynamoEndpoint'));
    let numberings = 0;
    // Inside the SDK's retry loop: every attempt that goes out passes here.
    dynamo.middlewareStack.add(
      (next) => async (args) => {
        const input = (args as { input: { UpdateExpression?: string } }).input;
        if (!input.UpdateExpression?.includes('pending.#t0')) return next(args);
        numberings++;
        const result = await next(args);
        if (numberings > 1) return result;
        // Applied at 1; an index step takes the entries to an index item; the answer is lost.
        await t.realStore.indexPending(t.ref, 1, 1);
        throw Object.assign(new Error('socket hang up after the request was sent'), { name: 'TimeoutError', $metadata: {} });
      },
      { step: 'deserialize', name: 'loseFirstNumberingAnswer' },
    );
    const engine = new LogEngine({ store: new DynamoLogStore(dynamo, t.tableName), retry: FAST_RETRY, sequencing: 'write-first' });
    expect(await t.append(['b'], engine)).toMatchObject({ baseOffset: 1, lastOffset: 1 });
    expect(numberings).toBe(1);
    expect((await t.realStore.getHead(t.ref)).nextOffset).toBe(2);
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['a', 'b']);
  });

  /**
   * A partition holding 'a', and a store whose first numbering is held (DynamoDB has it and
   * applies it later: `number(late())`) while its writer hears a timeout.
   */
  async function heldNumbering() {
    const t = await setup();
    await t.append(['a']);
    const store = new DynamoLogStore(testClients().dynamo, t.tableName);
    const number = store.numberData.bind(store);
    let held: NumberRequest | undefined;
    store.numberData = async (request) => {
      if (held !== undefined) return number(request);
      held = request;
      throw new StorageUnavailableError('injected: the numbering timed out');
    };
    return { t, store, number, late: () => held };
  }

  it('a numbering DynamoDB applies late, after its writer looked and found nothing, is found by the look after the fence: numbered once', async () => {
    // Found by review (2026-12-03): a request the client gave up on (requestTimeout) may
    // still be applied. Applied after the writer's look, with an index step taking its entry
    // off the head before the writer's second send, the same data was numbered twice.
    const { t, store, number, late } = await heldNumbering();
    const findNumbering = store.findNumbering.bind(store);
    let looks = 0;
    let lateOutcome: unknown;
    store.findNumbering = async (ref, token, floor) => {
      const found = await findNumbering(ref, token, floor);
      // After the first look found nothing: the held numbering is applied now, and an
      // index step takes its entry off the head.
      if (++looks === 1) {
        expect(found).toBeUndefined();
        lateOutcome = await number(late()!);
        await t.realStore.indexPending(t.ref, 1, 1);
      }
      return found;
    };
    const engine = new LogEngine({ store, retry: FAST_RETRY, sequencing: 'write-first' });
    expect(await t.append(['b'], engine)).toMatchObject({ baseOffset: 1, lastOffset: 1 });
    expect(lateOutcome).toMatchObject({ ok: true, base: 1 });
    expect((await t.realStore.getHead(t.ref)).nextOffset).toBe(2);
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['a', 'b']);
  });

  it('a numbering applied late, after the fence was raised, is refused: the writer numbers under the new fence', async () => {
    const { t, store, number, late } = await heldNumbering();
    const raiseFence = store.raiseFence.bind(store);
    let lateOutcome: unknown;
    store.raiseFence = async (ref, above) => {
      const fence = await raiseFence(ref, above);
      lateOutcome = await number(late()!); // applied now: after the raise
      return fence;
    };
    const engine = new LogEngine({ store, retry: FAST_RETRY, sequencing: 'write-first' });
    expect(await t.append(['b'], engine)).toMatchObject({ baseOffset: 1, lastOffset: 1 });
    expect(lateOutcome).toMatchObject({ ok: false });
    expect((await t.realStore.getHead(t.ref)).nextOffset).toBe(2);
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['a', 'b']);
    // A writer that knew the old fence numbers above the new one.
    expect(await t.append(['c'])).toMatchObject({ baseOffset: 2 });
  });

  it("a raise refuses only the numbering it fences: another writer's next numbering goes through at once", async () => {
    // Until 2026-12-03 a writer numbered under the fence as it last saw it, so every raise
    // refused every other writer's next numbering once (with 1% of numberings in doubt:
    // 0.08 to 0.29 UpdateItem calls more per append at K = 8 to 64). A numbering now goes
    // under the clock's ms when that is above the fence it knows (WriteFirstProducers.stamp).
    const { t, store } = await heldNumbering();
    const otherStore = new DynamoLogStore(testClients().dynamo, t.tableName);
    const otherNumber = otherStore.numberData.bind(otherStore);
    const refusals: number[] = [];
    otherStore.numberData = async (request) => {
      const outcome = await otherNumber(request);
      if (!outcome.ok) refusals.push(outcome.fence);
      return outcome;
    };
    const other = new LogEngine({ store: otherStore, retry: FAST_RETRY, sequencing: 'write-first' });
    expect(await t.append(['x'], other)).toMatchObject({ baseOffset: 1 });
    const raiseFence = vi.spyOn(store, 'raiseFence');
    const engine = new LogEngine({ store, retry: FAST_RETRY, sequencing: 'write-first' });
    expect(await t.append(['b'], engine)).toMatchObject({ baseOffset: 2 });
    expect(raiseFence).toHaveBeenCalledTimes(1);
    expect(await t.append(['y'], other)).toMatchObject({ baseOffset: 3 });
    expect(refusals).toEqual([]);
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['a', 'x', 'b', 'y']);
  });

  it('a writer whose look at an in-doubt numbering fails looks again before it sends anything', async () => {
    const faults = new FaultInjector([{ method: 'numberData', mode: 'after', times: 1 }]);
    faults.enabled = false;
    const t = await setup({ faults });
    await t.append(['a']);
    faults.enabled = true;
    const look = t.store.findNumbering.bind(t.store);
    let looks = 0;
    const spy = vi.spyOn(t.store, 'findNumbering').mockImplementation(async (ref, token) => {
      looks++;
      if (looks > 1) return look(ref, token);
      // Meanwhile an index step takes the applied entry off the head; this look fails.
      await t.realStore.indexPending(t.ref, 1, 1);
      throw new StorageUnavailableError('injected: the look timed out');
    });
    try {
      expect(await t.append(['b'])).toMatchObject({ baseOffset: 1, lastOffset: 1 });
    } finally {
      spy.mockRestore();
    }
    expect(looks).toBe(2);
    expect((await t.realStore.getHead(t.ref)).nextOffset).toBe(2);
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['a', 'b']);
  });
});

describe("regression: a partly failed index step left a hole in the head's pending entries, and the flusher sealed every unflushed offset above it", () => {
  // Found by the write-first chaos run (2026-12-02): 211 acknowledged records of one
  // partition, every offset from its flushed offset up, sealed with voids in one seal. An
  // index step takes its entries off the head INDEX_REMOVE_BATCH at a time, in the order
  // the head's map gave them; one that failed part-way left entries on the head below
  // ranges it had taken off. A tail read took the head's entries for every range from the
  // lowest of them on, lacked the next range, and answered nothing: the flusher took that
  // for a gap as old as the last append and, once the partition was idle, sealed it.
  // More entries than one REMOVE takes, so that a step needs two: the second one fails.
  const total = INDEX_REMOVE_BATCH + 20;
  /** An offset whose entry the failed step leaves on the head, above the lowest it leaves. */
  const TAKEN_OFF = INDEX_REMOVE_BATCH + 10;
  const values = (from: number) => Array.from({ length: total - from }, (_, i) => `v${from + i}`);

  /** `total` appends, the first half flushed, every entry still on the head (the writers' index steps fail). */
  async function unindexed() {
    const clock = { t: Date.now(), now: () => clock.t };
    const faults = new FaultInjector([{ method: 'indexPending', mode: 'before' }]);
    const t = await setup({ faults, clock });
    for (let i = 0; i < total; i++) {
      await t.append([`v${i}`]);
      // The entries below the flushed offset stay on the head too.
      if (i === total / 2 - 1) expect((await t.engine.flusher!.flushPartition(t.meta, 0, { force: true })).records).toBe(total / 2);
    }
    expect(await partitionItems(t.tableName, t.ref)).toMatchObject({ pending: total, index: 0 });
    return { ...t, clock };
  }

  /** An index step of every entry whose second REMOVE fails. */
  async function partlyIndexed(t: Awaited<ReturnType<typeof unindexed>>) {
    const dynamo = localDynamoClient(inject('dynamoEndpoint'));
    let removes = 0;
    dynamo.middlewareStack.add(
      (next) => async (args) => {
        const input = (args as { input: { UpdateExpression?: string } }).input;
        if (input.UpdateExpression?.startsWith('REMOVE') && ++removes > 1) {
          throw Object.assign(new Error('injected: the REMOVE failed'), { name: 'InternalServerError', $fault: 'server', $metadata: {} });
        }
        return next(args);
      },
      { step: 'initialize', name: 'failSecondRemove' },
    );
    await expect(new DynamoLogStore(dynamo, t.tableName).indexPending(t.ref, total - 1, total - 1)).rejects.toThrow();
  }

  /** Reads from around every boundary, then flushes the idle partition far past the seal age: all of it, no void. */
  async function expectAllReadAndFlushed(t: Awaited<ReturnType<typeof unindexed>>) {
    const edges = [total / 2, INDEX_REMOVE_BATCH, TAKEN_OFF].flatMap((edge) => [edge - 1, edge, edge + 1]);
    for (const from of [0, 1, ...edges, total - 1]) {
      expect((await readAll(t.verifier, 't', 0, from)).map((r) => text(r.value))).toEqual(values(from));
    }
    t.clock.t += 100 * SEAL_AFTER_MS;
    let flushed = 0;
    for (let pass = 0; pass < 5; pass++) flushed += (await t.engine.flusher!.flushPartition(t.meta, 0, { force: true })).records;
    expect(t.voids('t').size).toBe(0);
    expect(flushed).toBe(total / 2);
    expect((await t.realStore.getHead(t.ref)).flushedOffset).toBe(total);
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(values(0));
  }

  it('takes the entries off the head lowest first: what a failed step leaves is the newest ranges', async () => {
    const t = await unindexed();
    await partlyIndexed(t);
    const items = await partitionRawItems(t.tableName, t.ref);
    const head = items.find((i) => i.sk?.S === HEAD_SK)!;
    const left = Object.values(head.pending!.M!).map((v) => Number(v.N));
    expect(left.sort((a, b) => a - b)).toEqual(Array.from({ length: total - INDEX_REMOVE_BATCH }, (_, i) => INDEX_REMOVE_BATCH + i));
    await expectAllReadAndFlushed(t);
  });

  it('reads and flushes every record when the head holds entries above a range only an index item holds', async () => {
    const t = await unindexed();
    await partlyIndexed(t);
    // As a step from before the fix could leave it: one entry above the lowest left taken off, those around it not.
    const head = (await partitionRawItems(t.tableName, t.ref)).find((i) => i.sk?.S === HEAD_SK)!;
    const token = Object.entries(head.pending!.M!).find(([, v]) => Number(v.N) === TAKEN_OFF)![0];
    await testClients().dynamo.send(
      new UpdateItemCommand({
        TableName: t.tableName,
        Key: { pk: { S: partitionPk(t.ref) }, sk: { S: HEAD_SK } },
        UpdateExpression: 'REMOVE pending.#t',
        ExpressionAttributeNames: { '#t': token },
      }),
    );
    await expectAllReadAndFlushed(t);
  });

  it('a flusher whose tail read finds nothing below the committed offset stops with an error, and seals nothing', async () => {
    const t = await unindexed();
    t.clock.t += 100 * SEAL_AFTER_MS;
    const spy = vi.spyOn(t.store, 'queryTail').mockResolvedValue([]);
    try {
      await expect(t.engine.flusher!.flushPartition(t.meta, 0, { force: true })).rejects.toThrow(
        new RegExp(`holds nothing there, below its committed offset ${total}: not sealing`),
      );
    } finally {
      spy.mockRestore();
    }
    expect(t.voids('t').size).toBe(0);
    expect((await t.engine.flusher!.flushPartition(t.meta, 0, { force: true })).records).toBe(total / 2);
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(values(0));
  });

  it('a flusher stopped so keeps the items it could not read alive', async () => {
    const clock = { t: Date.now(), now: () => clock.t };
    const tailTtlMs = 24 * 60 * 60 * 1000;
    const t = await createTestEngine({ clock, engine: { sequencing: 'write-first' }, store: { tailTtlMs } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1 });
    const ref: PartitionRef = { topic: 't', topicId: meta.topicId, partition: 0 };
    for (let i = 0; i < 5; i++) await t.engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes(`v${i}`) }] });
    // Three quarters of the TTL later, the flush still cannot read the tail.
    clock.t += 0.75 * tailTtlMs;
    const spy = vi.spyOn(t.store, 'queryTail').mockResolvedValue([]);
    try {
      await expect(t.engine.flusher!.flushPartition(meta, 0, { force: true })).rejects.toThrow(/not sealing/);
    } finally {
      spy.mockRestore();
    }
    const data = (await partitionRawItems(t.tableName, ref)).filter((i) => i.sk?.S?.startsWith(DATA_PREFIX));
    expect(data).toHaveLength(5);
    for (const item of data) expect(Number(item.ttl?.N) * 1000).toBeGreaterThanOrEqual(clock.t + tailTtlMs - 1000);
  });
});
