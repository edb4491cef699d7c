/**
 * Append goodput across record sizes and partition counts, each next to the raw
 * DynamoDB primitive with the same bytes, concurrency and round.
 *
 * The append suite (bench/suites/append.ts) looks closely at one shape: 100 records of 1 KiB
 * on one partition. This suite varies the shape:
 *
 * - record size: 100 B, 1 KiB and 64 KiB values, in requests of about the same bytes
 *   (1,000 × 100 B, 100 × 1 KiB) or as many 64 KiB values as fit under the bench topics'
 *   stageBytes, 350 KiB (4 × 64 KiB = 256 KiB, still written into the tail: staged batches are
 *   measured in bench/suites/segments.ts);
 * - partitions: one, or eight with C = 16 clients spread over them (two per partition),
 *   which gives every partition its own group commit.
 *
 * Each case runs Strata through HTTP and `raw-independent` (bench/harness/raw-commit.ts): C
 * workers each sending one request's encoded batch per TransactWriteItems on a head of
 * their own, the primitive's ceiling at that concurrency. Every round runs every case
 * once, each case on an emptied table, and checks after every window that the high
 * watermarks (Strata) and the raw heads equal what was acknowledged.
 */
import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BenchHttpClient } from '../harness/http-client.js';
import { type LoadResult, mergeLoadResults, runClosedLoop } from '../harness/load.js';
import { RawCommitter } from '../harness/raw-commit.js';
import { ResourceMeter as Meter } from '../harness/resources.js';
import type { StackBenchContext } from '../harness/shared-stack.js';
import { formatMs, formatNumber, formatRatio, type LatencySummary, summarize } from '../harness/stats.js';
import { defineSuite, SECOND } from '../harness/suite.js';
import { groupedBarChart } from '../report/charts.js';
import type { ReportTable } from '../report/report.js';
import { createStrataTarget, makePayload, type Payload } from './append.js';

const KIB = 1024;
const MB = 1_000_000;
const RAW_PK_PREFIX = 'BENCH#shape';
/** Distinct bodies per size: enough that not every request is byte-identical, few enough to build fast. */
const BODY_VARIANTS = 4;

/** One request's shape: `records` values of `valueBytes` each. */
export interface RecordShape {
  valueBytes: number;
  records: number;
}

export const SHAPES: RecordShape[] = [
  { valueBytes: 100, records: 1000 },
  { valueBytes: KIB, records: 100 },
  { valueBytes: 64 * KIB, records: 4 },
];

export interface ShapeCase extends RecordShape {
  partitions: number;
  concurrency: number;
}

/**
 * Every size at C = 1, 4, 16 on one partition and at C = 16 on eight. 1 KiB on one
 * partition at C = 1 and 4 is left to the append suite, which measures it with more raw
 * baselines; its C = 16 stays here as the one-partition side of the eight-partition case.
 */
export const SHAPE_CASES: ShapeCase[] = SHAPES.flatMap((shape) => [
  ...(shape.valueBytes === KIB ? [16] : [1, 4, 16]).map((concurrency) => ({ ...shape, partitions: 1, concurrency })),
  { ...shape, partitions: 8, concurrency: 16 },
]);

export interface ShapeBenchOptions {
  cases: ShapeCase[];
  rounds: number;
  warmupMs: number;
  /** Measured time per case and suite, split evenly over the rounds. */
  durationMs: number;
}

export type ShapeBenchContext = StackBenchContext;

export interface ShapeSide {
  requestsPerSec: number;
  recordsPerSec: number;
  /** Value bytes per second, MB = 10^6 B. */
  mbPerSec: number;
  /** MB/s of the slowest and the fastest round. */
  roundRange: [number, number];
  latencyMs: LatencySummary;
  errors: number;
  firstError?: string;
  verified: boolean;
}

export interface ShapeMeasurement extends ShapeCase {
  requestBodyBytes: number;
  batchBytes: number;
  strata: ShapeSide;
  raw: ShapeSide;
  /** Strata's MB/s over raw's. */
  ratio: number;
}

export interface ShapeBenchResult {
  config: Omit<ShapeBenchOptions, 'cases'>;
  measurements: ShapeMeasurement[];
}

export async function runShapeBench(ctx: ShapeBenchContext, options: ShapeBenchOptions): Promise<ShapeBenchResult> {
  const doc = DynamoDBDocumentClient.from(ctx.dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const runId = randomUUID().slice(0, 8);
  const payloads = new Map<RecordShape, Payload>(SHAPES.map((s) => [s, makePayload(s.records, s.valueBytes, BODY_VARIANTS)]));
  const payloadOf = (c: ShapeCase) => payloads.get(SHAPES.find((s) => s.valueBytes === c.valueBytes && s.records === c.records)!)!;
  const maxConcurrency = Math.max(...options.cases.map((c) => c.concurrency));
  const client = new BenchHttpClient(ctx.url, maxConcurrency);
  let bodyNo = 0;
  const windowMs = options.durationMs / options.rounds;
  const slices = options.cases.map(() => ({ strata: [] as LoadResult[], raw: [] as LoadResult[], verified: { strata: true, raw: true } }));

  try {
    for (let round = 0; round < options.rounds; round++) {
      for (const [i, c] of options.cases.entries()) {
        const payload = payloadOf(c);
        const load = { concurrency: c.concurrency, warmupMs: options.warmupMs, durationMs: windowMs };
        const name = `bench-shape-${c.valueBytes}b-p${c.partitions}-c${c.concurrency}-r${round}`;
        await ctx.resetTable();
        const target = await createStrataTarget(
          client,
          name,
          c.partitions,
          c.records,
          () => payload.bodies[bodyNo++ % payload.bodies.length]!,
        );
        slices[i]!.strata.push(await runClosedLoop(load, ctx.meter, target.append));
        slices[i]!.verified.strata &&= await target.highWatermarkMatches();
        const raw = new RawCommitter(doc, {
          tableName: ctx.tableName,
          pkPrefix: `${RAW_PK_PREFIX}#${runId}#${name}`,
          batch: payload.batch,
          recordsPerBatch: c.records,
          batchesPerCommit: 1,
          contended: false,
        });
        slices[i]!.raw.push(await runClosedLoop(load, ctx.meter, (w) => raw.commit(w)));
        slices[i]!.verified.raw &&= await raw.headsMatch();
      }
      ctx.log(`  round ${round + 1} of ${options.rounds} done`);
    }
  } finally {
    client.close();
  }

  const measurements = options.cases.map((c, i) => {
    const payload = payloadOf(c);
    const strata = side(c, slices[i]!.strata, slices[i]!.verified.strata);
    const raw = side(c, slices[i]!.raw, slices[i]!.verified.raw);
    const m: ShapeMeasurement = {
      ...c,
      requestBodyBytes: payload.bodies[0]!.byteLength,
      batchBytes: payload.batch.byteLength,
      strata,
      raw,
      ratio: strata.mbPerSec / raw.mbPerSec,
    };
    ctx.log(
      `  ${caseLabel(c).padEnd(28)} Strata ${strata.mbPerSec.toFixed(2)} MB/s, raw ${raw.mbPerSec.toFixed(2)} MB/s: ${formatRatio(m.ratio)}` +
        (strata.errors + raw.errors > 0 ? `, ERRORS (first: ${strata.firstError ?? raw.firstError})` : ''),
    );
    return m;
  });
  return { config: { rounds: options.rounds, warmupMs: options.warmupMs, durationMs: options.durationMs }, measurements };
}

function side(c: ShapeCase, parts: LoadResult[], verified: boolean): ShapeSide {
  const load = mergeLoadResults(parts);
  const perSecond = (r: LoadResult) => r.operations / (r.windowMs / 1000);
  const mb = (requestsPerSec: number) => (requestsPerSec * c.records * c.valueBytes) / MB;
  const requestsPerSec = perSecond(load);
  const rounds = parts.map((p) => mb(perSecond(p)));
  return {
    requestsPerSec,
    recordsPerSec: requestsPerSec * c.records,
    mbPerSec: mb(requestsPerSec),
    roundRange: [Math.min(...rounds), Math.max(...rounds)],
    latencyMs: summarize(load.latenciesMs),
    errors: load.errors,
    ...(load.firstError !== undefined ? { firstError: load.firstError } : {}),
    verified,
  };
}

export function sizeLabel(valueBytes: number): string {
  return valueBytes >= KIB ? `${valueBytes / KIB} KiB` : `${valueBytes} B`;
}

/** e.g. `100 B × 1000, P=8, C=16`. */
export function caseLabel(c: ShapeCase): string {
  return `${sizeLabel(c.valueBytes)} × ${c.records}, P=${c.partitions}, C=${c.concurrency}`;
}

/** Strata's MB/s on eight partitions over one, at the same size and C (both measured). */
export function partitionScaling(result: ShapeBenchResult): { valueBytes: number; concurrency: number; ratio: number }[] {
  return result.measurements
    .filter((m) => m.partitions > 1)
    .flatMap((m) => {
      const one = result.measurements.find((o) => o.partitions === 1 && o.valueBytes === m.valueBytes && o.concurrency === m.concurrency);
      return one ? [{ valueBytes: m.valueBytes, concurrency: m.concurrency, ratio: m.strata.mbPerSec / one.strata.mbPerSec }] : [];
    });
}

export function shapeTables(result: ShapeBenchResult): ReportTable[] {
  const { config } = result;
  const range = ([low, high]: [number, number]) => `${low.toFixed(1)}–${high.toFixed(1)}`;
  const failed = result.measurements.filter((m) => !m.strata.verified || !m.raw.verified);
  const errors = result.measurements.reduce((sum, m) => sum + m.strata.errors + m.raw.errors, 0);
  const scaling = partitionScaling(result);
  return [
    {
      title: 'Append goodput by record size and partitions: Strata via HTTP vs raw TransactWriteItems',
      columns: [
        'value × records/request',
        'P',
        'C',
        'Strata MB/s',
        'raw MB/s',
        'Strata / raw',
        'Strata records/s',
        'Strata p50 / p99 ms',
        'raw p50 / p99 ms',
        'Strata rounds MB/s',
        'errors',
      ],
      rows: result.measurements.map((m) => [
        `${sizeLabel(m.valueBytes)} × ${m.records}`,
        String(m.partitions),
        String(m.concurrency),
        m.strata.mbPerSec.toFixed(2),
        m.raw.mbPerSec.toFixed(2),
        formatRatio(m.ratio),
        formatNumber(m.strata.recordsPerSec),
        `${formatMs(m.strata.latencyMs.p50)} / ${formatMs(m.strata.latencyMs.p99)}`,
        `${formatMs(m.raw.latencyMs.p50)} / ${formatMs(m.raw.latencyMs.p99)}`,
        range(m.strata.roundRange),
        String(m.strata.errors + m.raw.errors),
      ]),
      notes: [
        `Each case: ${config.durationMs / 1000} s per side in ${config.rounds} round(s), after ${config.warmupMs / 1000} s of warm-up each.`,
        ...(scaling.length > 0
          ? [
              `Eight partitions over one, Strata MB/s at C=16: ${scaling.map((s) => `${sizeLabel(s.valueBytes)} ${formatRatio(s.ratio)}`).join(', ')}.`,
            ]
          : []),
        failed.length === 0 && errors === 0
          ? 'Checked after every window: every high watermark and raw head matches what was acknowledged; no request failed.'
          : `CHECK FAILED or errors for ${failed.map(caseLabel).join('; ') || 'no case'} (${errors} errors): see shapes.json.`,
      ],
    },
  ];
}

export const shapesSuite = defineSuite({
  name: 'shapes',
  title: 'Append by record size and partitions',
  measures: 'append goodput by record size and partition count, beside raw TransactWriteItems',
  sharedStack: true,
  /** Record sizes and eight partitions; the quick run keeps the C=16 cases (one and eight partitions). */
  full: { cases: SHAPE_CASES, rounds: 2, warmupMs: SECOND / 2, durationMs: 4 * SECOND },
  quick: { cases: SHAPE_CASES.filter((c) => c.concurrency === 16), rounds: 1, warmupMs: SECOND / 4, durationMs: 1.5 * SECOND },
  start: 'append goodput by record size and partitions',
  async measure(options, ctx) {
    const { stack, dynamo, emptyTable } = await ctx.stack();
    return runShapeBench(
      { url: stack.url, dynamo, tableName: stack.tableName, meter: new Meter(), resetTable: emptyTable, log: ctx.log },
      options,
    );
  },
  render: (result) => ({
    tables: shapeTables(result),
    charts: [
      {
        file: 'append-shapes.svg',
        alt: 'Append goodput by record size and partitions: Strata vs raw',
        svg: groupedBarChart({
          title: 'Append goodput by record size and partitions',
          unit: 'MB/s of record values',
          categories: result.measurements.map(caseLabel),
          series: [
            { name: 'Strata via HTTP', values: result.measurements.map((m) => m.strata.mbPerSec) },
            { name: 'raw TransactWriteItems', values: result.measurements.map((m) => m.raw.mbPerSec) },
          ],
        }),
      },
    ],
  }),
});
