/**
 * The contention suite's pure parts: the AWS latency model's delays, DynamoDB's
 * write-unit arithmetic, the merging of the workers' reports, and issue 13's aims
 * judged from the points (bench/harness/latency-model.ts, bench/harness/write-units.ts,
 * bench/suites/contention-report.ts).
 */
import { describe, expect, it } from 'vitest';
import { addCallUsage, type CallUsage, emptyCallUsage, hottestItems } from '../../bench/harness/contention-meter.js';
import {
  afterDelay,
  DEFAULT_LATENCY_MODEL,
  describeLatencyModel,
  dilateLatencyModel,
  jitterForTail,
  modelDelays,
  NO_LATENCY_MODEL,
  PER_CALL_MS,
  standardNormal,
  TimerCalibration,
  TRANSACT_WRITE_EXTRA_MS,
} from '../../bench/harness/latency-model.js';
import { itemBytes, itemWrites, numberBytes, reportedUnits, writeUnits } from '../../bench/harness/write-units.js';
import {
  AIMS,
  aggregatePoint,
  aggregateRounds,
  baselineOf,
  CANDIDATE_MODE,
  type ContentionPoint,
  checkAims,
  contentionCharts,
  contentionTables,
  cpuTables,
  emptyWorkerReport,
  latencyReference,
  modesOfRound,
  rawRatio,
  roundPlan,
  type WorkerReport,
} from '../../bench/suites/contention-report.js';

describe('latency model', () => {
  it('adds 6 ms per call and 6 ms more per TransactWriteItems, half before and half after', () => {
    expect(PER_CALL_MS).toBe(6);
    expect(TRANSACT_WRITE_EXTRA_MS).toBe(6);
    expect(modelDelays(DEFAULT_LATENCY_MODEL, 'GetItemCommand')).toEqual({ beforeMs: 3, afterMs: 3 });
    expect(modelDelays(DEFAULT_LATENCY_MODEL, 'UpdateItemCommand')).toEqual({ beforeMs: 3, afterMs: 3 });
    expect(modelDelays(DEFAULT_LATENCY_MODEL, 'TransactWriteItemsCommand')).toEqual({ beforeMs: 6, afterMs: 6 });
    expect(modelDelays(NO_LATENCY_MODEL, 'TransactWriteItemsCommand')).toEqual({ beforeMs: 0, afterMs: 0 });
    expect(modelDelays({ perCallMs: 8, transactWriteExtraMs: 2, beforeShare: 0.25 }, 'TransactWriteItemsCommand')).toEqual({
      beforeMs: 2.5,
      afterMs: 7.5,
    });
  });

  it('spreads each call around the same median when told to, with the p99 over p50 asked for', () => {
    const jitter = jitterForTail(2.5);
    expect(jitter).toBeCloseTo(0.394, 3);
    // A seeded uniform source (a linear congruential generator): the test cannot flake.
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const totals = Array.from({ length: 20_000 }, () => {
      const d = modelDelays({ ...DEFAULT_LATENCY_MODEL, jitter }, 'GetItemCommand', random);
      expect(d.beforeMs).toBeCloseTo(d.afterMs, 10);
      return d.beforeMs + d.afterMs;
    }).sort((a, b) => a - b);
    const p50 = totals[10_000]!;
    const p99 = totals[19_800]!;
    expect(p50).toBeGreaterThan(5.7);
    expect(p50).toBeLessThan(6.3);
    expect(p99 / p50).toBeGreaterThan(2.3);
    expect(p99 / p50).toBeLessThan(2.7);
    expect(describeLatencyModel({ ...DEFAULT_LATENCY_MODEL, jitter })).toContain('p99 2.5× p50');
    // Without jitter the model is constant, whatever the source.
    expect(modelDelays(DEFAULT_LATENCY_MODEL, 'GetItemCommand', () => 0.999)).toEqual({ beforeMs: 3, afterMs: 3 });
  });

  it('draws standard normals and dilates every delay by a factor', () => {
    expect(standardNormal(() => 0)).toBeCloseTo(0, 10);
    expect(standardNormal(() => 0.5)).toBeCloseTo(-Math.sqrt(-2 * Math.log(0.5)), 10);
    expect(dilateLatencyModel(DEFAULT_LATENCY_MODEL, 8)).toEqual({ perCallMs: 48, transactWriteExtraMs: 48, beforeShare: 0.5 });
    expect(modelDelays(dilateLatencyModel(DEFAULT_LATENCY_MODEL, 32), 'PutItemCommand')).toEqual({ beforeMs: 96, afterMs: 96 });
  });

  it('shortens the sleep after the call by what the sleep before it overslept, never below zero', () => {
    const delays = { beforeMs: 3, afterMs: 3 };
    expect(afterDelay(delays, 3)).toBe(3);
    expect(afterDelay(delays, 4.5)).toBe(1.5);
    expect(afterDelay(delays, 9)).toBe(0);
  });

  it('learns how late timers fire and asks that much less, but never less than 1 ms', () => {
    const timers = new TimerCalibration();
    expect(timers.request(3)).toBe(3);
    timers.observe(3, 5);
    expect(timers.lateness).toBeCloseTo(0.2, 10);
    expect(timers.request(3)).toBeCloseTo(2.8, 10);
    for (let i = 0; i < 200; i++) timers.observe(3, 5);
    expect(timers.lateness).toBeCloseTo(2, 3);
    expect(timers.request(6)).toBeCloseTo(4, 3);
    expect(timers.request(2)).toBe(1);
    expect(timers.request(0)).toBe(0);
  });

  it('describes itself in one line for the report', () => {
    expect(describeLatencyModel(DEFAULT_LATENCY_MODEL)).toBe(
      '+6 ms per call, +6 ms more per TransactWriteItems, half before and half after the real call',
    );
    expect(describeLatencyModel(NO_LATENCY_MODEL)).toMatch(/^none/);
  });
});

describe('write units', () => {
  it('sizes numbers by significant digits and items by names plus values', () => {
    expect(numberBytes('0')).toBe(1);
    expect(numberBytes('7')).toBe(2);
    expect(numberBytes('1234')).toBe(3);
    expect(numberBytes('-12345')).toBe(4);
    expect(numberBytes('1200')).toBe(2);
    expect(numberBytes('0.0012')).toBe(2);
    expect(itemBytes({ pk: { S: 'ab' }, n: { N: '1234' }, b: { B: new Uint8Array(10) }, t: { BOOL: true } })).toBe(
      2 + 2 + 1 + 3 + 1 + 10 + 1 + 1,
    );
    expect(itemBytes({ m: { M: { a: { S: 'x' } } }, l: { L: [{ N: '1' }, { NULL: true }] } })).toBe(
      1 + (3 + 1 + 1 + 1) + 1 + (3 + 1 + 2 + 1 + 1),
    );
  });

  it('costs 1 unit per KB rounded up, at least 1', () => {
    expect([0, 1, 1024, 1025, 3000, 103_500].map(writeUnits)).toEqual([1, 1, 1, 2, 3, 102]);
  });

  it('counts a transaction twice per item and keys every item written', () => {
    const head = { pk: { S: 'p' }, sk: { S: 'HEAD' } };
    const tail = { pk: { S: 'p' }, sk: { S: 'B#9' }, data: { B: new Uint8Array(1500) } };
    expect(itemWrites('PutItemCommand', { Item: tail })).toEqual([{ key: 'p|B#9', units: 2 }]);
    expect(itemWrites('UpdateItemCommand', { Key: head, ExpressionAttributeValues: { ':n': { N: '100' } } })).toEqual([
      { key: 'p|HEAD', units: 1 },
    ]);
    expect(itemWrites('TransactWriteItemsCommand', { TransactItems: [{ Update: { Key: head } }, { Put: { Item: tail } }] })).toEqual([
      { key: 'p|HEAD', units: 2 },
      { key: 'p|B#9', units: 4 },
    ]);
    expect(itemWrites('GetItemCommand', { Key: head })).toEqual([]);
  });

  it('reads the units of a ConsumedCapacity answer, one entry or a list', () => {
    expect(reportedUnits({ TableName: 't', CapacityUnits: 3 })).toBe(3);
    expect(reportedUnits([{ CapacityUnits: 4 }, { WriteCapacityUnits: 2 }])).toBe(6);
    expect(reportedUnits(undefined)).toBeUndefined();
  });
});

function usage(fields: Partial<CallUsage>): CallUsage {
  return { ...emptyCallUsage(), ...fields };
}

function report(fields: Partial<WorkerReport>): WorkerReport {
  return { ...emptyWorkerReport(), ...fields };
}

describe('call usage', () => {
  it('adds calls, units and per-item units, and keeps the hottest items', () => {
    const sum = addCallUsage(
      usage({ calls: { PutItem: 1 }, writeUnits: 2, items: { a: 1, b: 5 } }),
      usage({ calls: { PutItem: 2, GetItem: 1 }, writeUnits: 3, items: { a: 9 } }),
    );
    expect(sum.calls).toEqual({ PutItem: 3, GetItem: 1 });
    expect(sum.writeUnits).toBe(5);
    expect(hottestItems(sum.items, 1)).toEqual({ a: 10 });
  });
});

describe('aggregatePoint', () => {
  const meta = { mode: 'engine', shape: 'single', recordsPerRequest: 1, concurrency: 2, windowMs: 2000 };

  it('adds the workers up, pools their latencies and divides costs by acks', () => {
    const point = aggregatePoint(
      meta,
      [
        report({
          acks: 30,
          records: 30,
          totalRecords: 40,
          latenciesMs: Array.from({ length: 30 }, (_, i) => i + 1),
          usage: usage({
            calls: { TransactWriteItems: 45 },
            writeUnits: 300,
            failedWriteUnits: 90,
            writes: 45,
            failedWrites: 15,
            items: { 'p|HEAD': 90 },
          }),
          cpuMs: 500,
          latencyModel: { calls: 45, modelledMs: 540, addedMs: 594 },
          unavailable: 1,
        }),
        report({
          acks: 0,
          totalRecords: 0,
          latenciesMs: [],
          usage: usage({
            calls: { TransactWriteItems: 5, GetItem: 10 },
            writeUnits: 30,
            failedWriteUnits: 30,
            writes: 5,
            failedWrites: 5,
            items: { 'p|HEAD': 10 },
          }),
          cpuMs: 300,
          latencyModel: { calls: 15, modelledMs: 120, addedMs: 132 },
          firstError: 'boom',
          errors: 2,
        }),
      ],
      { dynamoCores: 0.5, storedRecords: 40 },
    );
    expect(point.acks).toBe(30);
    expect(point.acksPerSec).toBe(15);
    expect(point.recordsPerSec).toBe(15);
    // Nearest rank over the 30 pooled samples 1..30: p50 is the 15th, p99 the 30th.
    expect(point.latencyMs.p50).toBe(15);
    expect(point.latencyMs.p99).toBe(30);
    expect(point.latencyMs.p999).toBeNaN();
    expect(point.callsPerAck).toBeCloseTo(60 / 30, 10);
    expect(point.callsPerAckByOperation).toEqual({ TransactWriteItems: 50 / 30, GetItem: 10 / 30 });
    expect(point.writeUnitsPerAck).toBeCloseTo(330 / 30, 10);
    expect(point.failedWriteUnitsPerAck).toBeCloseTo(120 / 30, 10);
    expect(point.workerAcks).toEqual([0, 30]);
    expect(point.starvedWorkers).toBe(1);
    expect(point.hottestItemUnitsPerSec).toBe(50);
    expect(point.modelAddedOverModelled).toBeCloseTo(726 / 660, 10);
    expect(point.workerCores).toBeCloseTo(0.4, 10);
    expect(point.unavailable).toBe(1);
    expect(point.errors).toBe(2);
    expect(point.firstError).toBe('boom');
    expect(point.verified).toBe(true);
  });

  it('leaves per-ack figures undefined without acks and flags a head that differs from the acks', () => {
    const point = aggregatePoint(meta, [report({ totalRecords: 3 })], { dynamoCores: Number.NaN, storedRecords: 5 });
    expect(point.callsPerAck).toBeNaN();
    expect(point.writeUnitsPerAck).toBeNaN();
    expect(point.latencyMs.p50).toBeNaN();
    expect(point.verified).toBe(false);
  });

  it("accepts a head that holds the acknowledged records and some of the failed requests', never fewer than acknowledged", () => {
    const stored = (storedRecords: number) =>
      aggregatePoint(meta, [report({ totalRecords: 300, failedRecords: 200 })], { dynamoCores: Number.NaN, storedRecords }).verified;
    expect(stored(300)).toBe(true);
    expect(stored(400)).toBe(true);
    expect(stored(500)).toBe(true);
    expect(stored(299)).toBe(false);
    expect(stored(501)).toBe(false);
  });
});

describe('rounds', () => {
  const meta = { mode: 'engine', shape: 'single', recordsPerRequest: 1, concurrency: 2, windowMs: 2000 };
  const window = (acks: number, storedRecords: number, hot: number, cores: number) => ({
    reports: [
      report({
        acks,
        records: acks,
        totalRecords: acks,
        latenciesMs: Array.from({ length: acks }, () => acks),
        usage: usage({ calls: { UpdateItem: acks }, writeUnits: acks, writes: acks, items: { [`p${acks}|HEAD`]: hot } }),
      }),
      report({ acks: 0 }),
    ],
    dynamoCores: cores,
    storedRecords,
  });

  it('orders the modes differently each round, so a mode follows a different mode each round', () => {
    const modes = ['a', 'b', 'c', 'd', 'e'];
    const orders = [0, 1, 2, 3].map((r) => modesOfRound(modes, r));
    expect(orders.map((o) => o.join(''))).toEqual(['abcde', 'bdace', 'cadbe', 'dcbae']);
    for (const order of orders) expect([...order].sort()).toEqual(modes);
    for (const mode of modes) {
      const before = orders.flatMap((o) => (o.indexOf(mode) > 0 ? [o[o.indexOf(mode) - 1]] : []));
      expect(new Set(before).size).toBe(before.length);
    }
    // The steps repeat once used up; two modes alternate; one mode is its own order.
    expect(modesOfRound(modes, 4)).toEqual(modesOfRound(modes, 0).map((_, i) => modes[(4 + i) % 5]));
    expect([0, 1].map((r) => modesOfRound(['a', 'b'], r).join(''))).toEqual(['ab', 'ba']);
    expect(modesOfRound(['a'], 3)).toEqual(['a']);
    // Six modes: only 1 and 5 are coprime with 6.
    expect(modesOfRound(['a', 'b', 'c', 'd', 'e', 'f'], 1).join('')).toBe('bafedc');
  });

  it('plans the windows by place in the mode list, so a mode named twice is two points', () => {
    const plan = roundPlan(['raw', 'engine', 'raw'], 2);
    expect(plan.map((w) => `${w.round}:${w.place}:${w.mode}`)).toEqual([
      '0:0:raw',
      '0:1:engine',
      '0:2:raw',
      '1:1:engine',
      '1:0:raw',
      '1:2:raw',
    ]);
    // Every place once per round.
    for (const round of [0, 1])
      expect(
        plan
          .filter((w) => w.round === round)
          .map((w) => w.place)
          .sort(),
      ).toEqual([0, 1, 2]);
    expect(roundPlan(['a', 'b'], 1).map((w) => w.mode)).toEqual(['a', 'b']);
  });

  it('pools the windows of a point, but judges the hottest item, the head and the starved workers per window', () => {
    const one = aggregateRounds(meta, [window(20, 20, 10, 0.5)]);
    expect(one).toEqual(aggregatePoint(meta, window(20, 20, 10, 0.5).reports, window(20, 20, 10, 0.5)));
    expect(one.rounds).toBeUndefined();

    const pooled = aggregateRounds(meta, [window(20, 20, 10, 0.5), window(40, 40, 60, 0.7)]);
    expect(pooled.rounds).toBe(2);
    expect(pooled.windowMs).toBe(4000);
    expect(pooled.acks).toBe(60);
    expect(pooled.acksPerSec).toBe(15);
    expect(pooled.roundAcksPerSec).toEqual([10, 20]);
    expect(pooled.latencyMs.count).toBe(60);
    expect(pooled.callsPerAck).toBe(1);
    // 60 units on the hot head of the second window in its 2 s, not spread over 4 s.
    expect(pooled.hottestItemUnitsPerSec).toBe(30);
    expect(pooled.dynamoCores).toBeCloseTo(0.6, 10);
    expect(pooled.workerAcks).toEqual([0, 40]);
    expect(pooled.starvedWorkers).toBe(1);
    expect(pooled.verified).toBe(true);

    // A window whose head lacks an acknowledged record fails the point, whatever the sum says.
    const short = aggregateRounds(meta, [window(20, 19, 10, 0.5), window(40, 41, 10, 0.5)]);
    expect(short.storedRecords).toBe(60);
    expect(short.verified).toBe(false);
    expect(() => aggregateRounds(meta, [])).toThrow(/at least one window/);
  });

  it('gives the ratio over raw pooled, with the lowest and highest round', () => {
    const engine = aggregateRounds({ ...meta, mode: CANDIDATE_MODE }, [window(16, 16, 1, 0.5), window(24, 24, 1, 0.5)]);
    const raw = aggregateRounds({ ...meta, mode: 'raw' }, [window(20, 20, 1, 0.5), window(20, 20, 1, 0.5)]);
    expect(rawRatio(engine, raw)).toEqual({ ratio: 1, range: [0.8, 1.2] });
    expect(rawRatio(point(CANDIDATE_MODE, 'single', 1, { acksPerSec: 45 }), point('raw', 'single', 1, { acksPerSec: 50 }))).toEqual({
      ratio: 0.9,
    });
    const tables = contentionTables({
      points: [engine, raw],
      shapes: [{ name: 'single', recordsPerRequest: 1, valueBytes: 1024 }],
      aims: [],
    });
    const ratios = tables.find((t) => t.title.startsWith('acks/s over raw'))!;
    expect(ratios.rows).toEqual([['K=2', '1.00× (0.80×–1.20×)']]);
    expect(ratios.notes?.[0]).toMatch(/Pooled over the rounds/);
    const [aim] = checkAims([engine, raw]);
    expect(aim!.measured).toMatch(/^K=2 1\.00× \(0\.80×–1\.20×\); lowest 1\.00× at K=2 \(pooled over the rounds/);
  });
});

/** A point with the figures the aims read; the rest is filler. */
function point(
  mode: string,
  shape: string,
  k: number,
  fields: { acksPerSec: number; p50?: number; p99?: number; wcu?: number; unavailable?: number },
): ContentionPoint {
  const p50 = fields.p50 ?? 20;
  return {
    mode,
    shape,
    recordsPerRequest: 1,
    concurrency: k,
    windowMs: 1000,
    acks: fields.acksPerSec,
    records: fields.acksPerSec,
    acksPerSec: fields.acksPerSec,
    recordsPerSec: fields.acksPerSec,
    latencyMs: { count: 100, mean: p50, p50, p99: fields.p99 ?? 2 * p50, p999: Number.NaN, max: 3 * p50 },
    callsPerAck: 1,
    callsPerAckByOperation: { TransactWriteItems: 1 },
    writeUnitsPerAck: fields.wcu ?? 6,
    failedWriteUnitsPerAck: 0,
    countedWriteUnitsPerAck: fields.wcu ?? 6,
    readUnitsPerAck: 0,
    writes: 100,
    unreportedWrites: 0,
    unavailable: fields.unavailable ?? 0,
    throttled: 0,
    errors: 0,
    workerAcks: [1, 1],
    starvedWorkers: 0,
    hottestItemUnitsPerSec: 1200,
    modelAddedOverModelled: 1.1,
    workerCores: 0.5,
    dynamoCores: 0.5,
    storedRecords: 1,
    verified: true,
  };
}

describe('checkAims', () => {
  const points = [
    point(CANDIDATE_MODE, 'single', 1, { acksPerSec: 45, p50: 21, wcu: 6 }),
    point('raw', 'single', 1, { acksPerSec: 50 }),
    point('optimistic-raw', 'single', 1, { acksPerSec: 50, p50: 20 }),
    point(CANDIDATE_MODE, 'single', 32, { acksPerSec: 100, p50: 30, p99: 120, wcu: 9, unavailable: 2 }),
    point('raw', 'single', 32, { acksPerSec: 1000 }),
  ];

  it("judges the engine against raw at every K, its tail and its cost at K=32, and its K=1 latency against today's path", () => {
    const aims = checkAims(points, latencyReference(points));
    const byAim = (prefix: string) => aims.find((a) => a.aim.startsWith(prefix))!;
    expect(aims).toHaveLength(4);
    expect(byAim('acks/s')).toMatchObject({ shape: 'single', met: false });
    expect(byAim('acks/s').measured).toBe('K=1 0.90×, K=32 0.10×; lowest 0.10× at K=32');
    expect(byAim('at K=32')).toMatchObject({ met: false, measured: 'p50 30.0 ms, p99 120 ms (4.00×), 2 × 503' });
    expect(byAim('write units')).toMatchObject({ met: false, measured: 'K=1 6.0, K=32 9.0 WCU/ack (1.50×)' });
    expect(byAim('p50 at K=1')).toMatchObject({ met: true });
    expect(byAim('p50 at K=1').measured).toMatch(/^21\.0 ms vs 20\.0 ms \(1\.05×\), today's path: optimistic-raw at K=1 in this run/);
  });

  it('meets the aims exactly at their bounds', () => {
    const atBounds = [
      point(CANDIDATE_MODE, 'batch', 1, { acksPerSec: 80, p50: 22, wcu: 10 }),
      point('raw', 'batch', 1, { acksPerSec: 100 }),
      point(CANDIDATE_MODE, 'batch', 32, { acksPerSec: 80, p50: 10, p99: 10 * AIMS.maxP99OverP50, wcu: 10 * AIMS.maxUnitsGrowth }),
      point('raw', 'batch', 32, { acksPerSec: 100 }),
    ];
    const aims = checkAims(atBounds, { label: 'baseline', p50ByShape: { batch: 20 } });
    expect(aims.map((a) => a.met)).toEqual([true, true, true, true]);
  });

  it('does not take a p99 of too few acks as a met tail', () => {
    const few = point(CANDIDATE_MODE, 'single', 32, { acksPerSec: 2, p50: 10, p99: 10 });
    few.latencyMs.count = AIMS.minTailSamples - 1;
    const tail = checkAims([few]).find((a) => a.aim.startsWith('at K=32'))!;
    expect(tail.met).toBe(false);
    expect(tail.measured).toMatch(/only 99 acks sampled/);
  });

  it('says "not measured" when the run lacks a mode or a K', () => {
    const aims = checkAims([point(CANDIDATE_MODE, 'single', 1, { acksPerSec: 10 })]);
    expect(aims.map((a) => a.met)).toEqual([undefined, undefined, undefined, undefined]);
    expect(aims[0]!.measured).toMatch(/^not measured/);
  });

  it("takes today's path from a saved baseline of the engine before this run's hand-made transaction", () => {
    const baseline = baselineOf(points, { savedAt: '2026-11-24T10:00:00.000Z', commit: '0123456789abcdef', command: 'npm run bench' })!;
    expect(baseline.p50ByShape).toEqual({ single: 21 });
    const reference = latencyReference(points, baseline)!;
    expect(reference.label).toBe('the engine saved as baseline on 2026-11-24 (commit 01234567)');
    expect(reference.p50ByShape).toEqual({ single: 21 });
    expect(latencyReference([point('raw', 'single', 1, { acksPerSec: 1 })])).toBeUndefined();
  });
});

describe('contention report', () => {
  const shapes = [{ name: 'single', recordsPerRequest: 1, valueBytes: 1024 }];
  const points = [point(CANDIDATE_MODE, 'single', 1, { acksPerSec: 45 }), point('raw', 'single', 1, { acksPerSec: 50 })];

  it('prints one table per shape, the ratios over raw and the aims', () => {
    const tables = contentionTables({
      points,
      shapes,
      aims: checkAims(points),
    });
    expect(tables.map((t) => t.title)).toEqual([
      'Contention, single 1 KiB records: K processes append to one partition, one request at a time each',
      'acks/s over raw at the same K',
      'CPU per acknowledged append, single 1 KiB records: engine-write-first against raw',
      'Issue 13 aims, for the engine',
    ]);
    expect(tables[0]!.rows).toHaveLength(2);
    expect(tables[0]!.rows[0]!.slice(0, 3)).toEqual([CANDIDATE_MODE, '1', '45']);
    // 1,200 WCU/s on the head is over what one partition serves.
    expect(tables[0]!.rows[0]).toContain('1,200 (over)');
    expect(tables[1]!.rows).toEqual([['K=1', '0.90×']]);
  });

  it('sets the CPU per acknowledged append of the engine against raw beside their acks/s ratio', () => {
    const cpu = [
      { ...point(CANDIDATE_MODE, 'single', 8, { acksPerSec: 100 }), workerCores: 1.2, dynamoCores: 0.6, callsPerAck: 3.2 },
      { ...point('raw', 'single', 8, { acksPerSec: 200 }), workerCores: 1.2, dynamoCores: 0.6, callsPerAck: 2 },
      // No DynamoDB Local meter in the window: no row rather than a CPU that leaves it out.
      { ...point(CANDIDATE_MODE, 'single', 16, { acksPerSec: 100 }), dynamoCores: Number.NaN },
      point('raw', 'single', 16, { acksPerSec: 200 }),
    ];
    const [table] = cpuTables(cpu, shapes);
    expect(table!.rows).toEqual([['8', '1.80 / 1.80', '18.0 / 9.0', '3.20 / 2.00', '0.50×', '0.50×']]);
    expect(cpuTables([point('raw', 'single', 1, { acksPerSec: 50 })], shapes)).toEqual([]);
  });

  it('draws acks/s and p99 against K for every shape', () => {
    const charts = contentionCharts(points, shapes);
    expect(charts.map((c) => c.file)).toEqual(['contention-acks-single.svg', 'contention-p99-single.svg']);
    expect(charts[0]!.svg.startsWith('<svg')).toBe(true);
  });
});
