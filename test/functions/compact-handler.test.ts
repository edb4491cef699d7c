/** The compact function's event handling: scheduled fan-out, per-partition passes, continuations. */
import { describe, expect, it } from 'vitest';
import { createCompactHandler, MAX_CONTINUATIONS } from '../../functions/compact/handler.js';
import { createObservability } from '../../functions/shared/observability.js';
import type { PartitionRef } from '../../lib/ports/model.js';
import { bytes, createTestEngine } from '../support/engine.js';

const SCHEDULED_EVENT = { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} };

async function setup(clock?: { now(): number }) {
  const t = await createTestEngine(clock ? { clock } : {});
  const dispatched: { ref: PartitionRef; continuation: number | undefined }[] = [];
  const handler = createCompactHandler(t.engine, createObservability('compact'), {
    dispatch: async (ref, continuation) => {
      dispatched.push({ ref, continuation });
    },
  });
  return { ...t, handler, dispatched };
}

describe('compact function', () => {
  it('fans the scheduled run out to the partitions with records, and runs inline on {inline: true}', async () => {
    const { engine, handler, dispatched } = await setup();
    await engine.topics.create({ name: 'fan', partitions: 4 });
    await engine.appender.appendToPartition('fan', 1, { records: [{ key: null, value: bytes('a') }] });
    await engine.appender.appendToPartition('fan', 3, { records: [{ key: null, value: bytes('b') }] });
    expect(await handler(SCHEDULED_EVENT)).toMatchObject({ partitions: 0, dispatched: 2 });
    expect(dispatched.map((d) => [d.ref.topic, d.ref.partition, d.continuation])).toEqual([
      ['fan', 1, undefined],
      ['fan', 3, undefined],
    ]);
    expect(await handler({ inline: true })).toMatchObject({ partitions: 2, dispatched: 0 });
    expect(dispatched).toHaveLength(2);
  });

  it('continues a partition whose pass stopped at its bound, at most MAX_CONTINUATIONS times in a row', async () => {
    const { engine, handler, dispatched } = await setup();
    await engine.topics.create({ name: 'big', config: { flushBytes: 64 * 1024, segmentBytes: 64 * 1024 } });
    const value = bytes('x'.repeat(30_000));
    for (let i = 0; i < 22; i++)
      await engine.appender.appendToPartition('big', 0, {
        records: [
          { key: null, value },
          { key: null, value },
        ],
      });
    expect(await handler({ topic: 'big', partition: 0 })).toMatchObject({ partitions: 1, segments: 8, dispatched: 1 });
    expect(dispatched.at(-1)).toMatchObject({ ref: { topic: 'big', partition: 0 }, continuation: 1 });
    expect(await handler({ topic: 'big', partition: 0, continuation: MAX_CONTINUATIONS })).toMatchObject({ segments: 8, dispatched: 0 });
    expect(dispatched).toHaveLength(1);
  });

  it('skips partitions with nothing appended and nothing due since their last pass, until something is', async () => {
    const clock = { t: Date.now(), now: () => clock.t };
    const { engine, handler, dispatched } = await setup(clock);
    await engine.topics.create({ name: 'quiet', partitions: 2, config: { retentionMs: 3_600_000 * 5 } });
    await engine.appender.appendToPartition('quiet', 0, { records: [{ key: null, value: bytes('a') }] });
    await engine.appender.appendToPartition('quiet', 1, { records: [{ key: null, value: bytes('b') }] });
    clock.t += 1;
    // The first runs flush and settle both partitions (an unflushed tail is never skipped).
    expect(await handler({ inline: true })).toMatchObject({ partitions: 2, skipped: 0 });
    await engine.flusher!.flushPartition(await engine.topics.get('quiet'), 0, { force: true });
    await engine.flusher!.flushPartition(await engine.topics.get('quiet'), 1, { force: true });
    clock.t += 1;
    await handler({ inline: true });
    expect(await handler(SCHEDULED_EVENT)).toMatchObject({ dispatched: 0, skipped: 2 });
    // An append wakes its partition up; the hourly orphan scan wakes both.
    clock.t += 1;
    await engine.appender.appendToPartition('quiet', 1, { records: [{ key: null, value: bytes('c') }] });
    expect(await handler(SCHEDULED_EVENT)).toMatchObject({ dispatched: 1, skipped: 1 });
    expect(dispatched.at(-1)!.ref.partition).toBe(1);
    clock.t += 3_600_000;
    expect(await handler(SCHEDULED_EVENT)).toMatchObject({ dispatched: 2, skipped: 0 });
  });

  it('does nothing for a partition of a topic deleted meanwhile (a late or duplicated invocation)', async () => {
    const { handler } = await setup();
    expect(await handler({ topic: 'gone', partition: 0 })).toMatchObject({ partitions: 0, dispatched: 0 });
  });
});
