/**
 * Write units per append, by sequencer (issue 13), for `npm run cost`: what DynamoDB
 * bills per acknowledged append when K independent writers (Lambda environments, one
 * request at a time each) append to one partition, with the optimistic sequencer, the
 * reserving one, the write-first one, and the conflict-free primitive beside them.
 *
 * It runs the contention suite's harness (bench/suites/contention.ts: K worker processes, the
 * AWS latency model, the call meter) on those modes and turns its points into
 * units and dollars per append:
 *
 *     calls sent in the window ─┬▶ answered writes: ConsumedCapacity ───┐
 *                               └▶ failed writes: units of their items ─┴▶ units ÷ appends acked = WCU/append
 *                                  (bench/harness/write-units.ts)                   failed ÷ all = wasted share
 *                                                                           WCU/append × $/WCU × appends per GiB = $/GiB
 *
 * The figures are counted from the requests and their items, not read from a bill.
 */

import { DEFAULT_LATENCY_MODEL, describeLatencyModel } from '../harness/latency-model.js';
import { formatNumber, formatRatio, formatUsd } from '../harness/stats.js';
import type { ReportTable } from '../report/report.js';
import { type ContentionBenchResult, runContentionBench } from '../suites/contention.js';
import type { ContentionShape } from '../suites/contention-modes.js';
import { type ContentionPoint, PRIMITIVE_MODE, shapeTitle } from '../suites/contention-report.js';
import { GIB, PRICES } from './prices.js';

/** The modes measured (bench/suites/contention-modes.ts), in the order of the table's rows, with their row labels. */
export const SEQUENCER_MODES: Readonly<Record<string, string>> = Object.freeze({
  'engine-optimistic': 'optimistic (engine default)',
  'engine-reserve': 'reserve',
  'engine-write-first': 'write-first (deployed default)',
  [PRIMITIVE_MODE]: 'raw primitive',
});

/** K: independent writers on the partition. */
export const SEQUENCER_LEVELS: readonly number[] = [1, 8, 32];

/**
 * Fewer appends measured than this mark a row as rough: its units are those of the calls
 * sent inside the window, its appends those that ended inside it, and with a handful of
 * slow requests the two can belong to different requests.
 */
export const FEW_APPENDS = 10;

export interface SequencerCostOptions {
  shapes: ContentionShape[];
  /** Per mode and K: a window of `durationMs` after `warmupMs`. */
  warmupMs: number;
  durationMs: number;
  /** Before the first window, every worker runs the primitive this long per shape (a cold process runs the SDK slowly). */
  poolWarmupMs: number;
}

/** What one mode paid per acknowledged append at one K and shape. */
export interface AppendCost {
  mode: string;
  shape: string;
  recordsPerRequest: number;
  valueBytes: number;
  concurrency: number;
  /** Appends acknowledged inside the window, all workers together: what the figures are divided by. */
  appends: number;
  /** Write requests sent inside the window: what was spent when no append was acknowledged in it. */
  writesSent: number;
  /** Write units per append, answered + failed. */
  writeUnits: number;
  /** Of writeUnits, those of writes DynamoDB answered. */
  answeredWriteUnits: number;
  /** Of writeUnits, those of writes that failed (a failed condition, a cancelled transaction): wasted. */
  failedWriteUnits: number;
  /** failedWriteUnits over writeUnits. */
  wastedShare: number;
  readUnits: number;
  /** writeUnits over the primitive's at the same shape and K. */
  overPrimitive: number;
  /** DynamoDB write request units, at the on-demand price, per GiB of record values appended. */
  writeUsdPerGib: number;
  /** The same for the read request units the appends made (heads, predecessor Queries). */
  readUsdPerGib: number;
}

export interface SequencerCostResult {
  config: SequencerCostOptions & { levels: readonly number[]; modes: string[]; deadlineMs: number; latencyModel: string };
  consumedCapacity: ContentionBenchResult['consumedCapacity'];
  costs: AppendCost[];
}

/**
 * Dollars per GiB of record values for a cost of `unitsPerAppend` units per append of
 * `bytesPerAppend` bytes of values, at `usdPerUnit`.
 *
 * @example
 * usdPerGib(6, 1024, 0.625e-6); // 3.93: a 6-unit transaction per 1 KiB record, 2^20 of them
 */
export function usdPerGib(unitsPerAppend: number, bytesPerAppend: number, usdPerUnit: number): number {
  return (unitsPerAppend * usdPerUnit * GIB) / bytesPerAppend;
}

/** The contention points of the measured modes as costs per append, priced at `prices` (dollars per request unit). */
export function appendCosts(
  points: readonly ContentionPoint[],
  shapes: readonly ContentionShape[],
  prices: { write: number; read: number } = { write: PRICES.dynamoWriteRequestUnit.usd, read: PRICES.dynamoReadRequestUnit.usd },
): AppendCost[] {
  const modes = Object.keys(SEQUENCER_MODES);
  return shapes.flatMap((shape) => {
    const own = points.filter((p) => p.shape === shape.name && modes.includes(p.mode));
    const bytesPerAppend = shape.recordsPerRequest * shape.valueBytes;
    return own
      .sort((a, b) => a.concurrency - b.concurrency || modes.indexOf(a.mode) - modes.indexOf(b.mode))
      .map((p): AppendCost => {
        const primitive = own.find((q) => q.mode === PRIMITIVE_MODE && q.concurrency === p.concurrency);
        return {
          mode: p.mode,
          shape: shape.name,
          recordsPerRequest: shape.recordsPerRequest,
          valueBytes: shape.valueBytes,
          concurrency: p.concurrency,
          appends: p.acks,
          writesSent: p.writes,
          writeUnits: p.writeUnitsPerAck,
          answeredWriteUnits: p.writeUnitsPerAck - p.failedWriteUnitsPerAck,
          failedWriteUnits: p.failedWriteUnitsPerAck,
          wastedShare: p.failedWriteUnitsPerAck / p.writeUnitsPerAck,
          readUnits: p.readUnitsPerAck,
          overPrimitive: primitive ? p.writeUnitsPerAck / primitive.writeUnitsPerAck : Number.NaN,
          writeUsdPerGib: usdPerGib(p.writeUnitsPerAck, bytesPerAppend, prices.write),
          readUsdPerGib: usdPerGib(p.readUnitsPerAck, bytesPerAppend, prices.read),
        };
      });
  });
}

/** A share as a percentage with one decimal, so that a little waste does not print as none. */
function formatShare(share: number): string {
  return Number.isFinite(share) ? `${(share * 100).toFixed(1)}%` : '–';
}

/** One table per shape: a row per K and mode. */
export function appendCostTables(result: SequencerCostResult): ReportTable[] {
  const { config, consumedCapacity: cc } = result;
  const tables = config.shapes.map(
    (shape): ReportTable => ({
      title: `Write units per append by sequencer, ${shapeTitle(shape)}: K independent writers on one partition`,
      columns: [
        'sequencer',
        'K',
        'appends measured',
        'WCU/append',
        'answered',
        'failed (wasted)',
        'wasted share',
        'WCU × primitive',
        '$ writes per GiB',
        'RRU/append',
        '$ reads per GiB',
      ],
      rows: result.costs
        .filter((c) => c.shape === shape.name)
        .map((c) => [
          SEQUENCER_MODES[c.mode] ?? c.mode,
          String(c.concurrency),
          `${formatNumber(c.appends)}${c.appends > 0 && c.appends < FEW_APPENDS ? ' (few)' : ''}`,
          formatNumber(c.writeUnits, 1),
          formatNumber(c.answeredWriteUnits, 1),
          formatNumber(c.failedWriteUnits, 1),
          formatShare(c.wastedShare),
          formatRatio(c.overPrimitive),
          formatUsd(c.writeUsdPerGib),
          formatNumber(c.readUnits, 1),
          formatUsd(c.readUsdPerGib),
        ]),
    }),
  );
  const bytes = (shape: ContentionShape) => shape.recordsPerRequest * shape.valueBytes;
  const unacknowledged = result.costs.filter((c) => c.appends === 0);
  tables.at(-1)!.notes = [
    `This run's answered writes reported ${formatRatio(cc.reportedOverCounted)} the units counted from their item sizes (${formatNumber(cc.answeredWrites)} writes, ${formatNumber(cc.unreportedWrites)} without ConsumedCapacity).`,
    `"(few)": under ${FEW_APPENDS} appends measured.`,
    `$ per GiB: ${formatUsd(PRICES.dynamoWriteRequestUnit.usd * 1e6)} per million write request units (${formatUsd(PRICES.dynamoReadRequestUnit.usd * 1e6)} per million read) on demand; appends per GiB of record values: ${config.shapes.map((s) => `${formatNumber(GIB / bytes(s))} for ${s.name}`).join(', ')}.`,
    `AWS latency model: ${config.latencyModel}; windows of ${config.durationMs / 1000} s after ${config.warmupMs / 1000} s of warm-up per mode and K.`,
    ...(unacknowledged.length > 0
      ? [
          `"–": no request ended with an ack inside the ${config.durationMs / 1000} s window, so there is nothing to divide by, though the writers sent ${unacknowledged
            .map((c) => `${formatNumber(c.writesSent)} writes in it (${SEQUENCER_MODES[c.mode] ?? c.mode}, ${c.shape}, K=${c.concurrency})`)
            .join('; ')}.`,
        ]
      : []),
  ];
  return tables;
}

/** Runs the contention harness on the sequencers and the primitive, and prices the points. */
export async function runSequencerCost(options: SequencerCostOptions, log: (line: string) => void): Promise<SequencerCostResult> {
  const modes = Object.keys(SEQUENCER_MODES);
  const bench = await runContentionBench(
    {
      levels: [...SEQUENCER_LEVELS],
      shapes: options.shapes,
      modes,
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      poolWarmupMs: options.poolWarmupMs,
      latencyModel: DEFAULT_LATENCY_MODEL,
    },
    log,
  );
  return {
    config: {
      ...options,
      levels: SEQUENCER_LEVELS,
      modes,
      deadlineMs: bench.config.deadlineMs,
      latencyModel: describeLatencyModel(DEFAULT_LATENCY_MODEL),
    },
    consumedCapacity: bench.consumedCapacity,
    costs: appendCosts(bench.points, options.shapes),
  };
}
