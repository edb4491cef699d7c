/**
 * The reserving sequencer's protocol against DynamoDB Local (docs/design.md, "reserve,
 * fill, seal"): the timelines of the design notes, each played with a writer stopped at
 * the step that matters by doing its steps by hand through the store.
 */
import { randomUUID } from 'node:crypto';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { HEAD_SK, partitionPk } from '../../../lib/aws/table-keys.js';
import type { Clock } from '../../../lib/core/clock.js';
import { COMMIT_ADVANCE_EVERY, VOID_KEEP_MS } from '../../../lib/core/constants.js';
import { FAST_RETRY } from '../../../lib/core/retry.js';
import { LogEngine } from '../../../lib/engine.js';
import { encodeBatch } from '../../../lib/format/record-batch-encoder.js';
import type { LogStore } from '../../../lib/ports/log-store.js';
import type { PartitionRef, TailItem } from '../../../lib/ports/model.js';
import { testClients } from '../../support/aws.js';
import { bytes, createTestEngine, readAll, text } from '../../support/engine.js';

/** Short enough for tests, far above a fill's latency on DynamoDB Local. */
const SEAL_AFTER_MS = 300;

async function setup(options: { clock?: Clock } = {}) {
  const t = await createTestEngine({ ...options, engine: { sequencing: 'reserve', sealAfterMs: SEAL_AFTER_MS } });
  const meta = await t.engine.topics.create({ name: 't', partitions: 1, config: { flushIntervalMs: 1000 } });
  const ref: PartitionRef = { topic: 't', topicId: meta.topicId, partition: 0 };
  const append = (value: string, engine: LogEngine = t.engine) =>
    engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes(value) }] });
  return { ...t, meta, ref, append };
}

/** A writer that reserves `count` offsets and stops there (killed before its fill). */
async function reserveOnly(store: LogStore, ref: PartitionRef, count: number, now = Date.now()): Promise<number> {
  const outcome = await store.reserve({ ref, count, bytes: 100, now, token: randomUUID() });
  if (!outcome.ok) throw new Error('reservation refused');
  return outcome.base;
}

/** The fill that writer would have sent: one item over [base, base + values.length). */
function fillOf(ref: PartitionRef, base: number, values: string[], token = randomUUID()) {
  const records = values.map((v) => ({ key: null, value: bytes(v), headers: [], timestamp: Date.now() }));
  const item: TailItem = {
    baseOffset: base,
    lastOffset: base + values.length - 1,
    recordCount: values.length,
    data: encodeBatch(records, { baseOffset: base }),
    minTimestamp: records[0]!.timestamp,
    maxTimestamp: records.at(-1)!.timestamp,
    appendedAt: Date.now(),
    commitId: token,
  };
  return { ref, items: [item], producers: [], requestToken: token };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records the store's looks and fills in order, with when each went out (ms since `spy`). */
function spyLooksAndFills(store: LogStore, slowFillMs = 0) {
  const start = Date.now();
  const calls: { call: 'look' | 'fill' | 'filled'; at: number }[] = [];
  const note = (call: 'look' | 'fill' | 'filled') => calls.push({ call, at: Date.now() - start });
  const look = store.tailExtents.bind(store);
  const fill = store.fill.bind(store);
  const spies = [
    vi.spyOn(store, 'tailExtents').mockImplementation((...args) => {
      note('look');
      return look(...args);
    }),
    vi.spyOn(store, 'fill').mockImplementation(async (...args) => {
      note('fill');
      await sleep(slowFillMs);
      const outcome = await fill(...args);
      note('filled');
      return outcome;
    }),
  ];
  const restore = () => {
    for (const spy of spies) spy.mockRestore();
  };
  return { calls, fill, restore };
}

describe('reserve, fill, seal', () => {
  it('gives independent writers contiguous offsets without a lost race', async () => {
    const commits: number[] = [];
    const t = await createTestEngine();
    await t.engine.topics.create({ name: 't', partitions: 1 });
    // Five engines, as five Lambda environments: none shares a queue with another.
    const engines = Array.from(
      { length: 5 },
      () =>
        new LogEngine({ store: t.recordingStore, retry: FAST_RETRY, sequencing: 'reserve', onCommit: (s) => commits.push(s.conflicts) }),
    );
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        engines[i % 5]!.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes(`v${i}`) }] }),
      ),
    );
    expect(results.map((r) => r.offsets[0]!.offset).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(commits.every((c) => c === 0)).toBe(true);
    expect((await readAll(t.verifier, 't', 0)).map((r) => r.offset)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('a writer behind one killed between reserve and fill seals the gap once it is stale, then acknowledges', async () => {
    const { realStore, verifier, ref, append } = await setup();
    await append('first');
    const dead = await reserveOnly(realStore, ref, 3);
    expect(dead).toBe(1);
    const started = Date.now();
    const result = await append('after the dead writer');
    expect(Date.now() - started).toBeGreaterThanOrEqual(SEAL_AFTER_MS - 50);
    expect(result.offsets).toEqual([{ partition: 0, offset: 4 }]);
    // Offsets 1–3 read as a gap, like compaction's; a reader continues from nextOffset.
    const page = await verifier.reader.read('t', 0, { offset: 0 });
    expect(page.records.map((r) => [r.offset, text(r.value)])).toEqual([
      [0, 'first'],
      [4, 'after the dead writer'],
    ]);
    expect(page.highWatermark).toBe(5);
    // The dead writer's late fill loses to the void on its key: it can never be acknowledged.
    const late = await realStore.fill(fillOf(ref, 1, ['late', 'late', 'late']));
    expect(late).toMatchObject({ ok: false });
    expect(late.ok === false && late.taken.every((i) => i.void)).toBe(true);
  });

  it('a writer whose predecessor reserved long ago looks with its fill, and still waits when that look finds the predecessor unfilled', async () => {
    const { realStore, verifier, ref, append } = await setup();
    await append('first');
    const base = await reserveOnly(realStore, ref, 1);
    // Old enough for the early look (many DynamoDB Local round trips), young enough not to be sealed.
    await sleep(SEAL_AFTER_MS / 3);
    const spy = spyLooksAndFills(realStore);
    let acknowledged = false;
    const pending = append('behind the slow writer').then((r) => {
      acknowledged = true;
      return r;
    });
    await sleep(SEAL_AFTER_MS / 3);
    // The look went out with the fill (before the fill's answer), found the gap, and the writer waits.
    expect(spy.calls.slice(0, 3).map((c) => c.call)).toEqual(['fill', 'look', 'filled']);
    expect(acknowledged).toBe(false);
    expect((await realStore.fill(fillOf(ref, base, ['slow']))).ok).toBe(true);
    expect((await pending).offsets).toEqual([{ partition: 0, offset: 2 }]);
    spy.restore();
    expect((await verifier.reader.read('t', 0, { offset: 0 })).records.map((r) => text(r.value))).toEqual([
      'first',
      'slow',
      'behind the slow writer',
    ]);
  });

  it('a writer whose predecessor has just reserved sends its look during its fill, once that reservation is old enough to be filled', async () => {
    const { realStore, verifier, ref, append } = await setup();
    await append('first');
    // The predecessor's reservation is dated 200 ms ahead: the look is due then, long
    // after this writer's fill went out (DynamoDB Local answers in a few ms), and this
    // writer's fill takes 400 ms.
    const base = await reserveOnly(realStore, ref, 1, Date.now() + 200);
    const spy = spyLooksAndFills(realStore, 400);
    const pending = append('behind a fresh reservation');
    await sleep(100);
    expect((await spy.fill(fillOf(ref, base, ['predecessor']))).ok).toBe(true);
    expect((await pending).offsets).toEqual([{ partition: 0, offset: 2 }]);
    spy.restore();
    // One look, sent while the fill was in flight and not before the reservation below was due.
    expect(spy.calls.map((c) => c.call)).toEqual(['fill', 'look', 'filled']);
    expect(spy.calls[1]!.at - spy.calls[0]!.at).toBeGreaterThanOrEqual(150);
    expect((await verifier.reader.read('t', 0, { offset: 0 })).records.map((r) => text(r.value))).toEqual([
      'first',
      'predecessor',
      'behind a fresh reservation',
    ]);
  });

  it('a writer whose fill answers before its look is due looks after the fill, without waiting for the due time', async () => {
    const { realStore, ref, append } = await setup();
    await append('first');
    const base = await reserveOnly(realStore, ref, 1, Date.now() + 5_000);
    expect((await realStore.fill(fillOf(ref, base, ['predecessor']))).ok).toBe(true);
    const spy = spyLooksAndFills(realStore);
    expect((await append('behind a filled reservation')).offsets).toEqual([{ partition: 0, offset: 2 }]);
    spy.restore();
    expect(spy.calls.map((c) => c.call)).toEqual(['fill', 'filled', 'look']);
    expect(spy.calls[2]!.at).toBeLessThan(2_000);
  });

  it('a writer looks first eventually consistent; a replica that has not applied the predecessor costs a consistent look, not an early acknowledgement', async () => {
    const { realStore, verifier, ref, append } = await setup();
    await append('first');
    const base = await reserveOnly(realStore, ref, 1);
    expect((await realStore.fill(fillOf(ref, base, ['predecessor']))).ok).toBe(true);
    // A lagging replica: eventually consistent looks do not see the predecessor's item yet.
    const consistency: (boolean | undefined)[] = [];
    const look = realStore.tailExtents.bind(realStore);
    const spy = vi.spyOn(realStore, 'tailExtents').mockImplementation(async (r, from, until, options) => {
      consistency.push(options?.consistent);
      const items = await look(r, from, until, options);
      return options?.consistent === false ? items.filter((item) => item.baseOffset < base) : items;
    });
    const result = await append('behind a lagging replica');
    spy.mockRestore();
    expect(result.offsets).toEqual([{ partition: 0, offset: 2 }]);
    expect(consistency).toEqual([false, undefined]);
    // Nothing was sealed: the predecessor's record is where it was written.
    expect((await verifier.reader.read('t', 0, { offset: 0 })).records.map((r) => text(r.value))).toEqual([
      'first',
      'predecessor',
      'behind a lagging replica',
    ]);
  });

  it('the high watermark stops at a young gap: nothing above it is readable or acknowledged yet', async () => {
    const { realStore, verifier, ref, append } = await setup();
    await append('first');
    const base = await reserveOnly(realStore, ref, 1);
    // Another writer fills above the gap (by hand, so it does not wait to acknowledge).
    const above = await reserveOnly(realStore, ref, 1);
    expect((await realStore.fill(fillOf(ref, above, ['above']))).ok).toBe(true);
    const page = await verifier.reader.read('t', 0, { offset: 0 });
    expect(page.records.map((r) => text(r.value))).toEqual(['first']);
    expect(page.highWatermark).toBe(1);
    expect((await verifier.topics.describe('t')).partitionStates[0]).toMatchObject({ highWatermark: 1, nextOffset: 3 });
    // The slow writer fills: both become readable, in offset order.
    expect((await realStore.fill(fillOf(ref, base, ['slow']))).ok).toBe(true);
    expect((await verifier.reader.read('t', 0, { offset: 0 })).records.map((r) => text(r.value))).toEqual(['first', 'slow', 'above']);
  });

  it('a slow writer that fills before the sealer keeps its records; the sealer seals nothing', async () => {
    const { engine, realStore, verifier, ref, append } = await setup();
    await append('first');
    const base = await reserveOnly(realStore, ref, 2);
    await sleep(SEAL_AFTER_MS + 50);
    // The sealer scanned and saw the gap as stale; the slow writer's fill lands first.
    const scan = await engine.sealer.scan(ref, 1, 3, Date.now() - SEAL_AFTER_MS - 50);
    expect(scan.gap).toMatchObject({ start: 1, end: 3 });
    expect(engine.sealer.isStale(scan.gap!)).toBe(true);
    expect((await realStore.fill(fillOf(ref, base, ['slow-1', 'slow-2']))).ok).toBe(true);
    expect(await engine.sealer.seal(ref, scan.gap!)).toBe(0);
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(['first', 'slow-1', 'slow-2']);
  });

  it('a sealer that wins the race makes the slow writer reserve again: its records land once, later', async () => {
    const { recordingStore, verifier, append } = await setup();
    await append('first');
    // Between this writer's reservation and its fill, a sealer voids its range.
    let sealedFirst = false;
    const racing = new Proxy(recordingStore, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'fill') return typeof value === 'function' ? value.bind(target) : value;
        return async (commit: Parameters<LogStore['fill']>[0]) => {
          if (!sealedFirst) {
            sealedFirst = true;
            const offsets = commit.items.flatMap((i) =>
              Array.from({ length: i.lastOffset - i.baseOffset + 1 }, (_, k) => i.lastOffset - k),
            );
            expect((await target.sealOffsets(commit.ref, offsets, Date.now())).sealed).toBe(true);
          }
          return target.fill(commit);
        };
      },
    });
    const slow = new LogEngine({ store: racing, retry: FAST_RETRY, sealAfterMs: SEAL_AFTER_MS, sequencing: 'reserve' });
    const result = await slow.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('again') }] });
    expect(sealedFirst).toBe(true);
    expect(result.offsets[0]!.offset).toBe(2);
    expect((await readAll(verifier, 't', 0)).map((r) => [r.offset, text(r.value)])).toEqual([
      [0, 'first'],
      [2, 'again'],
    ]);
  });

  it('a flush stops at a young gap, and seals a stale one and flushes across it', async () => {
    const { engine, realStore, verifier, ref, meta, append } = await setup();
    await append('a');
    await reserveOnly(realStore, ref, 2);
    const above = await reserveOnly(realStore, ref, 1);
    expect((await realStore.fill(fillOf(ref, above, ['c']))).ok).toBe(true);
    const young = await engine.flusher!.flushPartition(meta, 0, { force: true });
    expect(young.segments).toBe(1);
    expect((await realStore.getHead(ref)).flushedOffset).toBe(1);
    await sleep(SEAL_AFTER_MS + 50);
    const stale = await engine.flusher!.flushPartition(meta, 0, { force: true });
    expect(stale.segments).toBe(1);
    expect((await realStore.getHead(ref)).flushedOffset).toBe(4);
    const page = await verifier.reader.read('t', 0, { offset: 0 });
    expect(page.records.map((r) => [r.offset, text(r.value)])).toEqual([
      [0, 'a'],
      [3, 'c'],
    ]);
    expect(page.nextOffset).toBe(4);
  });

  /*
   * Regression (de3b740; found by the reserve model): a flush deleted the voids it moved
   * to a segment, so their keys were free again below flushedOffset, where no read looks.
   *
   *     writer B (stalls)            HEAD, tail                     engine A's flusher
   *     ADD R += 1 → [1, 2) ───────▶ R 2
   *     … past sealAfterMs …         void B#1 ◀──────────────────── seal [1, 2)
   *                                  F 0 → 2, delete B#0 ◀───────── flush [0, 2)
   *                                  (before: delete B#1, the void, too)
   *     Put B#1 (late) ────────────▶ ✗ the void: lost; B reserves [2, 3) and acks 2
   *                                  (before: ✓, ack 1; a read from 0 returns offset 0 alone)
   */
  it("a writer that stalls past the seal while a flush runs is acknowledged only where its records read back (regression: the flush freed the voids' keys)", async () => {
    const { engine, recordingStore, realStore, verifier, meta, ref, append } = await setup();
    await append('first');
    // Writer B's first fill waits until engine A's forced flush has sealed its range and flushed across it.
    let stalledAt: number | undefined;
    let flushedBeforeFill = 0;
    const stalling = new Proxy(recordingStore, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== 'fill') return typeof value === 'function' ? value.bind(target) : value;
        return async (commit: Parameters<LogStore['fill']>[0]) => {
          if (stalledAt === undefined) {
            stalledAt = commit.items[0]!.baseOffset;
            const end = commit.items.at(-1)!.lastOffset + 1;
            // The flusher seals once the gap is stale to it (sealAfterMs, or more on a slow emulator).
            for (let tries = 0; tries < 20 && flushedBeforeFill < end; tries++) {
              await sleep(SEAL_AFTER_MS);
              await engine.flusher!.flushPartition(meta, 0, { force: true });
              flushedBeforeFill = (await realStore.getHead(ref)).flushedOffset;
            }
          }
          return target.fill(commit);
        };
      },
    });
    const writer = new LogEngine({ store: stalling, retry: FAST_RETRY, sealAfterMs: SEAL_AFTER_MS, sequencing: 'reserve' });
    const result = await writer.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('late') }] });
    expect(stalledAt).toBe(1);
    expect(flushedBeforeFill).toBe(2);
    const late = result.offsets[0]!.offset;
    // Every acknowledged record reads back at its offset; the sealed one reads as a gap.
    expect((await readAll(verifier, 't', 0)).map((r) => [r.offset, text(r.value)])).toEqual([
      [0, 'first'],
      [late, 'late'],
    ]);
    expect(late).toBeGreaterThan(1);
    expect((await realStore.getTailItem(ref, 1))?.void).toBe(true);
  });

  it('a flush keeps the voids it moved to a segment for VOID_KEEP_MS, so late fills still lose; GC deletes them after', async () => {
    const clock = { t: Date.now(), now: () => clock.t };
    const { engine, realStore, verifier, meta, ref, append } = await setup({ clock });
    await append('first');
    const dead = await reserveOnly(realStore, ref, 2, clock.t);
    clock.t += SEAL_AFTER_MS;
    const sealedAt = clock.t;
    await engine.flusher!.flushPartition(meta, 0, { force: true });
    expect((await realStore.getHead(ref)).flushedOffset).toBe(3);
    // The record went to the segment and its tail item was deleted; the voids stay.
    expect(await realStore.listTailBelow(ref, 3, 10)).toEqual([
      { lastOffset: 1, appendedAt: sealedAt, void: true },
      { lastOffset: 2, appendedAt: sealedAt, void: true },
    ]);

    // While they are kept, GC leaves them and says when they are due.
    clock.t = sealedAt + VOID_KEEP_MS - 1;
    const early = (await engine.maintenance!.runPartition('t', 0))!;
    expect(early.gc).toMatchObject({ items: 0, nextGarbageAt: sealedAt + VOID_KEEP_MS });
    expect(await realStore.listTailBelow(ref, 3, 10)).toHaveLength(2);
    const late = await realStore.fill(fillOf(ref, dead, ['late', 'late']));
    expect(late.ok === false && late.taken.every((i) => i.void)).toBe(true);

    clock.t = sealedAt + VOID_KEEP_MS;
    const due = (await engine.maintenance!.runPartition('t', 0))!;
    expect(due.gc).toMatchObject({ items: 2, nextGarbageAt: null });
    expect(await realStore.listTailBelow(ref, 3, 10)).toEqual([]);
    const page = await verifier.reader.read('t', 0, { offset: 0 });
    expect(page.records.map((r) => [r.offset, text(r.value)])).toEqual([[0, 'first']]);
    expect(page.nextOffset).toBe(3);
  });

  it('a long-poll reader behind a dead writer seals the gap and returns the records above it', async () => {
    const { realStore, verifier, ref, append } = await setup();
    await append('first');
    const dead = await reserveOnly(realStore, ref, 1);
    const above = await reserveOnly(realStore, ref, 1);
    expect((await realStore.fill(fillOf(ref, above, ['above']))).ok).toBe(true);
    const page = await verifier.reader.read('t', 0, { offset: 1, waitMs: 5_000 });
    expect(page.records.map((r) => [r.offset, text(r.value)])).toEqual([[above, 'above']]);
    expect((await realStore.getTailItem(ref, dead))?.void).toBe(true);
  });

  it('a reservation whose answer was lost is found through the head when no other came since', async () => {
    const { realStore, ref, append } = await setup();
    await append('first');
    const token = randomUUID();
    const outcome = await realStore.reserve({ ref, count: 4, bytes: 10, now: Date.now(), token });
    const head = await realStore.getHead(ref);
    expect(head.lastReservation).toEqual({ token, base: outcome.ok ? outcome.base : -1 });
    await reserveOnly(realStore, ref, 1);
    expect((await realStore.getHead(ref)).lastReservation?.token).not.toBe(token);
  });

  it('two retries of one idempotent batch on two engines: one fills, the other voids its range and answers the duplicate', async () => {
    const { engine, recordingStore, verifier, append } = await setup();
    await append('first');
    const other = new LogEngine({ store: recordingStore, retry: FAST_RETRY, sealAfterMs: SEAL_AFTER_MS, sequencing: 'reserve' });
    const request = { records: [{ key: null, value: bytes('once') }], producer: { producerId: 'p', epoch: 0, sequence: 0 } };
    const [a, b] = await Promise.all([
      engine.appender.appendToPartition('t', 0, request),
      other.appender.appendToPartition('t', 0, request),
    ]);
    expect(a.offsets).toEqual(b.offsets);
    expect([a.partitions[0]!.duplicate, b.partitions[0]!.duplicate].sort()).toEqual([false, true]);
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(['first', 'once']);
  });

  it('answers a conditional append at a counter that moved with 409, and writes nothing', async () => {
    const { engine, realStore, verifier, ref, append } = await setup();
    await append('first');
    await reserveOnly(realStore, ref, 1);
    const err = await engine.appender
      .appendToPartition('t', 0, { records: [{ key: null, value: bytes('no') }], expectedOffset: 1 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'OFFSET_MISMATCH', status: 409 });
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(['first']);
  });

  it('takes over a head written before reservations: the first reservation sets committedOffset from its counter', async () => {
    const t = await createTestEngine({ engine: { sequencing: 'optimistic' } });
    const meta = await t.engine.topics.create({ name: 't', partitions: 1 });
    for (let i = 0; i < 3; i++) await t.engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes(`o${i}`) }] });
    // A head as the optimistic protocol wrote it before this design: no committedOffset.
    await testClients().dynamo.send(
      new UpdateItemCommand({
        TableName: t.tableName,
        Key: { pk: { S: partitionPk({ topic: 't', topicId: meta.topicId, partition: 0 }) }, sk: { S: HEAD_SK } },
        UpdateExpression: 'REMOVE committedOffset',
      }),
    );
    const reserving = new LogEngine({ store: t.realStore, retry: FAST_RETRY, sequencing: 'reserve' });
    const result = await reserving.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('r') }] });
    expect(result.offsets[0]!.offset).toBe(3);
    expect((await readAll(t.verifier, 't', 0)).map((r) => text(r.value))).toEqual(['o0', 'o1', 'o2', 'r']);
  });

  it('moves committedOffset up when every environment appends fewer than COMMIT_ADVANCE_EVERY times (regression: a fleet of short-lived Lambda environments never advanced it, and each look read from the last flush)', async () => {
    const { recordingStore, realStore, ref, append } = await setup();
    // 24 environments, each appending twice and then gone: 48 appends, none by one engine 16 times.
    for (let env = 0; env < 24; env++) {
      const environment = new LogEngine({ store: recordingStore, retry: FAST_RETRY, sequencing: 'reserve', sealAfterMs: SEAL_AFTER_MS });
      await append(`e${env}a`, environment);
      await append(`e${env}b`, environment);
    }
    const head = await realStore.getHead(ref);
    expect(head.nextOffset).toBe(48);
    // Every COMMIT_ADVANCE_EVERY-th reservation on the partition moves it, whoever made it.
    expect(head.committedOffset).toBeGreaterThanOrEqual(2 * COMMIT_ADVANCE_EVERY);
  });

  it('an optimistic writer after reserving ones catches committedOffset up instead of losing every race (a deploy switching sequencing)', async () => {
    const { recordingStore, verifier, append } = await setup();
    // Fewer than COMMIT_ADVANCE_EVERY appends: committedOffset stays behind the counter.
    for (let i = 0; i < 3; i++) await append(`r${i}`);
    const optimistic = new LogEngine({ store: recordingStore, retry: FAST_RETRY, sequencing: 'optimistic' });
    const result = await optimistic.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('o') }] });
    expect(result.offsets[0]!.offset).toBe(3);
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(['r0', 'r1', 'r2', 'o']);
  });
});
