/**
 * The cost model's section on write units per append by sequencer (bench/cost/sequencer-cost.ts):
 * contention points turned into units and dollars per append, and the tables.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GIB, PRICES } from '../../bench/cost/prices.js';
import { appendCosts, appendCostTables, type SequencerCostResult, usdPerGib } from '../../bench/cost/sequencer-cost.js';
import { type CallUsage, emptyCallUsage } from '../../bench/harness/contention-meter.js';
import { formatUsd } from '../../bench/harness/stats.js';
import { BATCH_SHAPE, SINGLE_RECORD_SHAPE } from '../../bench/suites/contention-modes.js';
import { aggregatePoint, type ContentionPoint } from '../../bench/suites/contention-report.js';

/** A measurement of one worker: `acks` appends, and the units its calls cost in the window. */
function measured(mode: string, shape: typeof SINGLE_RECORD_SHAPE, k: number, acks: number, units: Partial<CallUsage>): ContentionPoint {
  const usage = { ...emptyCallUsage(), writes: 1, ...units };
  const worker = {
    acks,
    records: acks,
    totalRecords: acks,
    failedRecords: 0,
    latenciesMs: [],
    unavailable: 0,
    throttled: 0,
    errors: 0,
    usage,
    cpuMs: 0,
    latencyModel: { calls: 1, modelledMs: 1, addedMs: 1 },
  };
  return aggregatePoint({ mode, shape: shape.name, recordsPerRequest: shape.recordsPerRequest, concurrency: k, windowMs: 1000 }, [worker], {
    dynamoCores: 0,
    storedRecords: acks,
  });
}

describe('formatUsd', () => {
  it('prints about three significant figures, whole dollars from $100, and a dash for no figure', () => {
    expect([0, 0.000822, 0.0652, 2.084, 55.032, 554.4, Number.NaN].map(formatUsd)).toEqual([
      '$0',
      '$0.000822',
      '$0.0652',
      '$2.08',
      '$55.03',
      '$554',
      '–',
    ]);
  });
});

describe('usdPerGib', () => {
  it('prices the units of one append times the appends a GiB of values takes', () => {
    expect(usdPerGib(6, 1024, 0.625e-6)).toBeCloseTo(3.93216, 5);
    expect(usdPerGib(206, 100 * 1024, PRICES.dynamoWriteRequestUnit.usd)).toBeCloseTo((206 * 0.625e-6 * GIB) / (100 * 1024), 10);
    expect(usdPerGib(0, 1024, 1)).toBe(0);
  });
});

describe('appendCosts', () => {
  const prices = { write: 1e-6, read: 0.5e-6 };
  const points = [
    measured('raw', SINGLE_RECORD_SHAPE, 8, 100, { writeUnits: 300 }),
    measured('engine-optimistic', SINGLE_RECORD_SHAPE, 8, 10, { writeUnits: 200, failedWriteUnits: 140, readUnits: 5 }),
    measured('engine-reserve', SINGLE_RECORD_SHAPE, 8, 20, { writeUnits: 62, readUnits: 400 }),
    measured('engine-reserve', SINGLE_RECORD_SHAPE, 1, 4, { writeUnits: 12.4 }),
    measured('optimistic-raw', SINGLE_RECORD_SHAPE, 8, 10, { writeUnits: 90 }),
    measured('engine-reserve', BATCH_SHAPE, 32, 0, { writeUnits: 5000, writes: 70 }),
  ];
  const costs = appendCosts(points, [SINGLE_RECORD_SHAPE, BATCH_SHAPE], prices);

  it('keeps the sequencers and the primitive, ordered by shape, K, then optimistic, reserve, primitive', () => {
    expect(costs.map((c) => `${c.shape} K=${c.concurrency} ${c.mode}`)).toEqual([
      'single K=1 engine-reserve',
      'single K=8 engine-optimistic',
      'single K=8 engine-reserve',
      'single K=8 raw',
      'batch K=32 engine-reserve',
    ]);
  });

  it('splits the units per append into answered and failed, and sets them against the primitive at the same K', () => {
    const optimistic = costs.find((c) => c.mode === 'engine-optimistic')!;
    expect(optimistic).toMatchObject({ appends: 10, writeUnits: 20, answeredWriteUnits: 6, failedWriteUnits: 14, readUnits: 0.5 });
    expect(optimistic.wastedShare).toBeCloseTo(0.7, 10);
    expect(optimistic.overPrimitive).toBeCloseTo(20 / 3, 10);
    expect(optimistic.writeUsdPerGib).toBeCloseTo((20 * 1e-6 * GIB) / 1024, 10);
    expect(optimistic.readUsdPerGib).toBeCloseTo((0.5 * 0.5e-6 * GIB) / 1024, 10);
    const reserve = costs.find((c) => c.mode === 'engine-reserve' && c.concurrency === 8)!;
    expect(reserve).toMatchObject({ writeUnits: 3.1, failedWriteUnits: 0, wastedShare: 0, readUnits: 20 });
    expect(costs.find((c) => c.mode === 'engine-reserve' && c.concurrency === 1)!.overPrimitive).toBeNaN();
  });

  it('has no figure per append where no append was acknowledged, and keeps the writes sent', () => {
    const starved = costs.find((c) => c.shape === 'batch')!;
    expect(starved).toMatchObject({ appends: 0, writesSent: 70 });
    expect(starved.writeUnits).toBeNaN();
    expect(starved.wastedShare).toBeNaN();
    expect(starved.writeUsdPerGib).toBeNaN();
  });

  it('renders one table per shape, marks a row of few appends and dashes the unacknowledged; docs/cost.md says how failed writes are counted', () => {
    const result: SequencerCostResult = {
      config: {
        shapes: [SINGLE_RECORD_SHAPE, BATCH_SHAPE],
        warmupMs: 500,
        durationMs: 2000,
        poolWarmupMs: 1000,
        levels: [1, 8, 32],
        modes: [],
        deadlineMs: 10_000,
        latencyModel: 'none',
      },
      consumedCapacity: { reportedByDynamoDbLocal: true, answeredWrites: 10, unreportedWrites: 0, reportedOverCounted: 1 },
      costs,
    };
    const [single, batch] = appendCostTables(result);
    expect(single!.title).toContain('single 1 KiB records');
    expect(single!.rows[0]!.slice(0, 4)).toEqual(['reserve', '1', '4 (few)', '3.1']);
    expect(single!.rows[1]).toEqual([
      'optimistic (engine default)',
      '8',
      '10',
      '20.0',
      '6.0',
      '14.0',
      '70.0%',
      '6.67×',
      '$20.97',
      '0.5',
      '$0.262',
    ]);
    expect(batch!.rows).toEqual([['reserve', '32', '0', '–', '–', '–', '–', '–', '–', '–', '–']]);
    const notes = batch!.notes!.join('\n');
    expect(notes).toContain('70 writes in it (reserve, batch, K=32)');
    // How failed writes are counted: docs/cost.md's hand-written text before the tables.
    const docs = readFileSync(new URL('../../docs/cost.md', import.meta.url), 'utf8');
    const text = docs.slice(docs.indexOf('## Write units per append, by sequencer'), docs.indexOf('<!-- bench:sequencers:start -->'));
    expect(text).toContain('bench/harness/write-units.ts');
    expect(text).toContain('twice per action of a TransactWriteItems');
  });
});
