/**
 * Property: random appends, flushes, maintenance passes (retention, compaction, GC) and
 * clock moves against DynamoDB Local + s3rver, compared after every step with a simple
 * in-memory model of what a reader may and must see.
 *
 * The model keeps every record ever appended. A reader of the real log must see:
 * - only records of the model, at their offsets, in offset order (nothing invented or moved);
 * - from logStartOffset on, every record compaction may not remove: the latest record of
 *   each key, unless it is a tombstone older than deleteRetentionMs, and every record not
 *   yet flushed (the tail is never compacted);
 * - logStartOffset never moving back, and never past the flushed offset;
 * - the same records from any starting offset as the full read has from there.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytes, createTestEngine, readAll, text } from '../../support/engine.js';

const MINUTE = 60_000;
const KEYS = ['a', 'b', 'c', 'd', 'e'];

type Op =
  | { kind: 'append'; records: { key: string; tombstone: boolean }[] }
  | { kind: 'flush' }
  | { kind: 'maintain' }
  | { kind: 'tick'; ms: number }
  | { kind: 'read'; from: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      records: fc.array(fc.record({ key: fc.constantFrom(...KEYS), tombstone: fc.integer({ min: 0, max: 4 }).map((n) => n === 0) }), {
        minLength: 1,
        maxLength: 6,
      }),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'maintain' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 4 * MINUTE }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), from: fc.nat(60) }) },
);

interface ModelRecord {
  offset: number;
  key: string;
  value: string | null;
  timestamp: number;
}

describe('maintenance against an in-memory model (fast-check)', () => {
  it('a reader always sees a log the model allows', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('compact', 'compact,delete', 'delete'),
        fc.array(opArb, { minLength: 5, maxLength: 25 }),
        async (policy, ops) => {
          run++;
          const clock = { t: 1_700_000_000_000, now: () => clock.t };
          const { engine, verifier } = await createTestEngine({ clock, engine: { maintenance: { graceMs: 5 * MINUTE } } });
          const config = {
            cleanupPolicy: policy as 'compact',
            deleteRetentionMs: 3 * MINUTE,
            retentionMs: 10 * MINUTE,
            flushIntervalMs: 2 * MINUTE,
          };
          const meta = await engine.topics.create({ name: `m${run}`, config });
          const topic = meta.name;
          const model: ModelRecord[] = [];
          let lastStart = 0;
          let seq = 0;

          for (const op of ops) {
            if (op.kind === 'append') {
              const records = op.records.map((r) => ({ key: r.key, value: r.tombstone ? null : `v${seq++}` }));
              const res = await engine.appender.appendToPartition(topic, 0, {
                records: records.map((r) => ({ key: bytes(r.key), value: r.value === null ? null : bytes(r.value) })),
              });
              records.forEach((r, i) => {
                model.push({ offset: res.offsets[i]!.offset, ...r, timestamp: clock.t });
              });
            } else if (op.kind === 'flush') {
              await engine.flusher!.flushPartition(meta, 0, { force: true });
            } else if (op.kind === 'maintain') {
              await engine.maintenance!.runPartition(topic, 0);
            } else if (op.kind === 'tick') {
              clock.t += op.ms;
            }

            const state = (await verifier.topics.describe(topic)).partitionStates[0]!;
            expect(state.logStartOffset).toBeGreaterThanOrEqual(lastStart);
            expect(state.logStartOffset).toBeLessThanOrEqual(state.flushedOffset);
            lastStart = state.logStartOffset;
            const seen = (await readAll(verifier, topic, 0, state.logStartOffset)).map((r) => ({
              offset: r.offset,
              key: text(r.key)!,
              value: text(r.value),
            }));
            // Nothing invented or moved, in offset order.
            const byOffset = new Map(model.map((r) => [r.offset, r]));
            for (const r of seen) expect(byOffset.get(r.offset), `offset ${r.offset}`).toMatchObject({ key: r.key, value: r.value });
            expect(seen.map((r) => r.offset)).toEqual([...seen.map((r) => r.offset)].sort((a, b) => a - b));
            // Nothing compaction may not remove is missing.
            const offsets = new Set(seen.map((r) => r.offset));
            const latest = new Map<string, ModelRecord>();
            for (const r of model) latest.set(r.key, r);
            for (const r of model) {
              if (r.offset < state.logStartOffset) continue;
              const isLatest = latest.get(r.key) === r;
              const expiredTombstone = r.value === null && r.timestamp <= clock.t - config.deleteRetentionMs;
              const mustStay = policy === 'delete' || r.offset >= state.flushedOffset || (isLatest && !expiredTombstone);
              if (mustStay) expect(offsets.has(r.offset), `record at ${r.offset} (${r.key}=${r.value}) is missing`).toBe(true);
            }
            if (op.kind === 'read') {
              const from = Math.min(Math.max(op.from, state.logStartOffset), state.nextOffset);
              const page = await verifier.reader.read(topic, 0, { offset: from, maxRecords: 3 });
              expect(page.records.map((r) => r.offset)).toEqual(
                seen
                  .filter((r) => r.offset >= from)
                  .slice(0, 3)
                  .map((r) => r.offset),
              );
            }
          }
        },
      ),
      { numRuns: 25, seed: 20261123, endOnFailure: true },
    );
  }, 240_000);
});
