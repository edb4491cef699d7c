/**
 * The contention suite's numbers, free of I/O: the workers' reports of one measurement
 * merged into a point, issue 13's aims checked against the points, and the tables and
 * charts of docs/benchmarks.md. Everything here is computed from the measured data;
 * nothing is judged by hand.
 */

import { addCallUsage, type CallUsage, emptyCallUsage } from '../harness/contention-meter.js';
import type { LatencyModelStats } from '../harness/latency-model.js';
import { formatMs, formatNumber, formatPercent, formatRatio, type LatencySummary, summarize } from '../harness/stats.js';
import { groupedBarChart } from '../report/charts.js';
import type { ReportTable } from '../report/report.js';

/** The mode whose figures the aims judge: the engine with the write-first sequencer (issue 13). */
export const CANDIDATE_MODE = 'engine-write-first';
/** Today's path: the engine with the optimistic sequencer, measured in the same run. */
export const TODAY_MODE = 'engine-optimistic';
/** The conflict-free primitive the candidate is set against. */
export const PRIMITIVE_MODE = 'raw';
/** Today's commit done by hand: the latency reference when no baseline of the engine was saved. */
export const TODAY_BY_HAND_MODE = 'optimistic-raw';

/** Issue 13's aims. */
export const AIMS = Object.freeze({
  /** At every K, the candidate's acks/s over the primitive's. */
  minRawRatio: 0.8,
  /** The K at which the tail and the cost per ack are judged. */
  highK: 32,
  /** At highK: p99 at most this many times p50 (and no 503). */
  maxP99OverP50: 3,
  /** Write units per ack at highK at most this many times those at K=1. */
  maxUnitsGrowth: 1.2,
  /** p50 at K=1 at most this many times today's path's. */
  maxK1LatencyRatio: 1.1,
  /** Fewer acknowledged requests than this make p99 the maximum under another name: the tail aim is not met. */
  minTailSamples: 100,
});

/** DynamoDB's throughput of one partition, which bounds the writes to one item: write units per second. */
export const PARTITION_WRITE_UNITS_PER_SEC = 1000;
/** The same for reads (consistent read units per second; DynamoDB's documented partition limit). */
export const PARTITION_READ_UNITS_PER_SEC = 3000;

/** What one worker process measured in one measurement. */
export interface WorkerReport {
  /** Requests acknowledged inside the window. */
  acks: number;
  records: number;
  /** Requests acknowledged over the whole run (warm-up and drain too): checked against the head. */
  totalRecords: number;
  /**
   * Records of the requests that failed over the whole run: a request answered 503 at its
   * deadline may have been written (its outcome is unknown), so the head may hold them.
   */
  failedRecords: number;
  /** Latency of each acknowledged request that started inside the window, ms. */
  latenciesMs: number[];
  /** Requests that started inside the window and failed with a 503 (the deadline passed), a 429, or another error. */
  unavailable: number;
  throttled: number;
  errors: number;
  firstError?: string;
  /** DynamoDB calls sent inside the window and their units. */
  usage: CallUsage;
  /** CPU time of the process during the window. */
  cpuMs: number;
  /** What the latency model added to this worker's calls (warm-up included). */
  latencyModel: LatencyModelStats;
}

/** A worker's report before its first request. */
export function emptyWorkerReport(latencyModel: LatencyModelStats = { calls: 0, modelledMs: 0, addedMs: 0 }): WorkerReport {
  return {
    acks: 0,
    records: 0,
    totalRecords: 0,
    failedRecords: 0,
    latenciesMs: [],
    unavailable: 0,
    throttled: 0,
    errors: 0,
    usage: emptyCallUsage(),
    cpuMs: 0,
    latencyModel,
  };
}

export interface PointMeta {
  mode: string;
  shape: string;
  recordsPerRequest: number;
  concurrency: number;
  windowMs: number;
  /** The latency model's delays were this many times as long (bench/suites/dilated.ts); absent: 1. */
  dilation?: number;
}

export interface ContentionPoint extends PointMeta {
  acks: number;
  records: number;
  acksPerSec: number;
  recordsPerSec: number;
  latencyMs: LatencySummary;
  callsPerAck: number;
  callsPerAckByOperation: Record<string, number>;
  /** Billed: reported by DynamoDB for answered writes, counted from items for failed ones. */
  writeUnitsPerAck: number;
  failedWriteUnitsPerAck: number;
  /** Counted from items for every write: the cross-check of the reported units. */
  countedWriteUnitsPerAck: number;
  readUnitsPerAck: number;
  writes: number;
  /** Answered writes without ConsumedCapacity in the answer. */
  unreportedWrites: number;
  unavailable: number;
  throttled: number;
  errors: number;
  firstError?: string;
  /** Fewest and most acks of one worker; starved workers acknowledged nothing. */
  workerAcks: [number, number];
  starvedWorkers: number;
  /** The most-written item's write units per second (on AWS, a partition serves ~1,000). */
  hottestItemUnitsPerSec: number;
  /** Delay the latency model actually added over what it modelled (timers fire late on a busy machine). */
  modelAddedOverModelled: number;
  /** CPU of the workers together and of DynamoDB Local, in cores. */
  workerCores: number;
  dynamoCores: number;
  /**
   * Records the partition's head holds after the run, and whether that is every record
   * acknowledged and no more than those and the failed requests' (whose outcome is unknown).
   */
  storedRecords: number;
  /** Records acknowledged over the whole run (warm-up included), and those of failed requests: what `verified` compares with. */
  totalRecords?: number;
  failedRecords?: number;
  verified: boolean;
  /**
   * The point pools this many windows of `windowMs / rounds` each (absent: 1), measured
   * in rounds with the modes in a different order each round (`modesOfRound`), and the
   * acks/s of each window in the order measured.
   */
  rounds?: number;
  roundAcksPerSec?: number[];
}

function perAck(value: number, acks: number): number {
  return acks > 0 ? value / acks : Number.NaN;
}

/** Merges the workers' reports of one measurement. */
export function aggregatePoint(
  meta: PointMeta,
  reports: readonly WorkerReport[],
  extra: { dynamoCores: number; storedRecords: number },
): ContentionPoint {
  const usage = reports.reduce((sum, r) => addCallUsage(sum, r.usage), emptyCallUsage());
  const acks = reports.reduce((n, r) => n + r.acks, 0);
  const records = reports.reduce((n, r) => n + r.records, 0);
  const totalRecords = reports.reduce((n, r) => n + r.totalRecords, 0);
  const failedRecords = reports.reduce((n, r) => n + r.failedRecords, 0);
  const seconds = meta.windowMs / 1000;
  const perWorker = reports.map((r) => r.acks);
  const calls = Object.values(usage.calls).reduce((n, c) => n + c, 0);
  const firstError = reports.find((r) => r.firstError !== undefined)?.firstError;
  return {
    ...meta,
    acks,
    records,
    acksPerSec: acks / seconds,
    recordsPerSec: records / seconds,
    latencyMs: summarize(reports.flatMap((r) => r.latenciesMs)),
    callsPerAck: perAck(calls, acks),
    callsPerAckByOperation: Object.fromEntries(Object.entries(usage.calls).map(([op, n]) => [op, perAck(n, acks)])),
    writeUnitsPerAck: perAck(usage.writeUnits, acks),
    failedWriteUnitsPerAck: perAck(usage.failedWriteUnits, acks),
    countedWriteUnitsPerAck: perAck(usage.countedWriteUnits, acks),
    readUnitsPerAck: perAck(usage.readUnits, acks),
    writes: usage.writes,
    unreportedWrites: usage.unreportedWrites,
    unavailable: reports.reduce((n, r) => n + r.unavailable, 0),
    throttled: reports.reduce((n, r) => n + r.throttled, 0),
    errors: reports.reduce((n, r) => n + r.errors, 0),
    ...(firstError !== undefined ? { firstError } : {}),
    workerAcks: [Math.min(...perWorker), Math.max(...perWorker)],
    starvedWorkers: perWorker.filter((n) => n === 0).length,
    hottestItemUnitsPerSec: Math.max(0, ...Object.values(usage.items)) / seconds,
    modelAddedOverModelled:
      reports.reduce((n, r) => n + r.latencyModel.addedMs, 0) / reports.reduce((n, r) => n + r.latencyModel.modelledMs, 0),
    workerCores: reports.reduce((n, r) => n + r.cpuMs, 0) / meta.windowMs,
    dynamoCores: extra.dynamoCores,
    storedRecords: extra.storedRecords,
    totalRecords,
    failedRecords,
    verified: extra.storedRecords >= totalRecords && extra.storedRecords <= totalRecords + failedRecords,
  };
}

/** What one window of a mode measured: the workers' reports and what the harness read beside them. */
export interface MeasuredWindow {
  reports: readonly WorkerReport[];
  dynamoCores: number;
  storedRecords: number;
}

/**
 * The order of the modes in round `round` (from 0): round r starts at mode r and steps
 * through the list by the r-th step coprime with its length (1, 2, 3, 4 for five modes),
 * so each order is a permutation and, while steps last, a mode follows a different mode
 * each round (in round r, mode x comes right after mode x − step) and moves place.
 * Measured: the raw primitive's acks/s at K=8 moved by a quarter with the mode run just
 * before it (205 against 269), so a fixed order favours some modes over others, and so
 * would a plain rotation, which keeps every mode behind the same one.
 */
export function modesOfRound<T>(modes: readonly T[], round: number): T[] {
  const n = modes.length;
  // 1 to n − 1 (just 1 for a single mode), those sharing no factor with n.
  const steps = Array.from({ length: Math.max(1, n - 1) }, (_, i) => i + 1).filter((step) => gcd(step, n) === 1);
  const step = steps[round % steps.length]!;
  return modes.map((_, i) => modes[(round + i * step) % n]!);
}

/**
 * What the suite measures at one shape and K, in order: every round's modes by their place
 * in `modes` (so a mode named twice is two places, two points).
 */
export function roundPlan(modes: readonly string[], rounds: number): { round: number; place: number; mode: string }[] {
  const places = modes.map((_, place) => place);
  return Array.from({ length: rounds }, (_, round) =>
    modesOfRound(places, round).map((place) => ({ round, place, mode: modes[place]! })),
  ).flat();
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Pools the windows of one mode, shape and K into one point: acks, calls, units and
 * latencies over all of them (acks/s over their total time). What was read per window is
 * judged per window: the hottest item's rate is the highest window's, the head is
 * verified only if every window's was, DynamoDB Local's cores are the mean.
 */
export function aggregateRounds(meta: PointMeta, windows: readonly MeasuredWindow[]): ContentionPoint {
  if (windows.length === 0) throw new Error('aggregateRounds needs at least one window');
  if (windows.length === 1) {
    const [only] = windows;
    return aggregatePoint(meta, only!.reports, only!);
  }
  const each = windows.map((w) => aggregatePoint(meta, w.reports, w));
  const pooled = aggregatePoint(
    { ...meta, windowMs: meta.windowMs * windows.length },
    windows.flatMap((w) => w.reports),
    {
      dynamoCores: mean(each.map((p) => p.dynamoCores)),
      storedRecords: windows.reduce((n, w) => n + w.storedRecords, 0),
    },
  );
  return {
    ...pooled,
    workerAcks: [Math.min(...each.map((p) => p.workerAcks[0])), Math.max(...each.map((p) => p.workerAcks[1]))],
    starvedWorkers: Math.max(...each.map((p) => p.starvedWorkers)),
    hottestItemUnitsPerSec: Math.max(...each.map((p) => p.hottestItemUnitsPerSec)),
    verified: each.every((p) => p.verified),
    rounds: windows.length,
    roundAcksPerSec: each.map((p) => p.acksPerSec),
  };
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * A mode's acks/s over the primitive's at one K: pooled over the rounds, and the lowest
 * and highest of the rounds' own ratios (each window against the primitive's window of
 * the same round) when there was more than one.
 */
export function rawRatio(mode: ContentionPoint, raw: ContentionPoint): { ratio: number; range?: [number, number] } {
  const ratio = mode.acksPerSec / raw.acksPerSec;
  const a = mode.roundAcksPerSec;
  const b = raw.roundAcksPerSec;
  if (!a || !b || a.length < 2 || a.length !== b.length) return { ratio };
  const each = a.map((x, i) => x / b[i]!);
  return { ratio, range: [Math.min(...each), Math.max(...each)] };
}

function ratioText({ ratio, range }: { ratio: number; range?: [number, number] }): string {
  return range ? `${formatRatio(ratio)} (${formatRatio(range[0])}–${formatRatio(range[1])})` : formatRatio(ratio);
}

/** The p50 at K=1 that "today's path" had, per shape, and where it comes from. */
export interface LatencyReference {
  label: string;
  p50ByShape: Record<string, number>;
}

/** A saved run of the candidate at K=1: what today's path was before a redesign. */
export interface ContentionBaseline {
  savedAt: string;
  commit: string;
  command: string;
  mode: string;
  p50ByShape: Record<string, number>;
  p99ByShape: Record<string, number>;
}

/** The candidate's K=1 latencies of this run, to save as the baseline of later runs. */
export function baselineOf(
  points: readonly ContentionPoint[],
  meta: { savedAt: string; commit: string; command: string },
): ContentionBaseline | undefined {
  const k1 = points.filter((p) => p.mode === CANDIDATE_MODE && p.concurrency === 1);
  if (k1.length === 0) return undefined;
  return {
    ...meta,
    mode: CANDIDATE_MODE,
    p50ByShape: Object.fromEntries(k1.map((p) => [p.shape, p.latencyMs.p50])),
    p99ByShape: Object.fromEntries(k1.map((p) => [p.shape, p.latencyMs.p99])),
  };
}

/**
 * Today's path's K=1 latency: the optimistic engine measured in this run when it was;
 * else the saved baseline of the engine, else this run's conditional transaction by
 * hand (TODAY_BY_HAND_MODE).
 */
export function latencyReference(points: readonly ContentionPoint[], baseline?: ContentionBaseline): LatencyReference | undefined {
  const today = points.filter((p) => p.mode === TODAY_MODE && p.concurrency === 1);
  if (today.length > 0) {
    return {
      label: `${TODAY_MODE} at K=1 in this run (today's path)`,
      p50ByShape: Object.fromEntries(today.map((p) => [p.shape, p.latencyMs.p50])),
    };
  }
  if (baseline) {
    return {
      label: `the engine saved as baseline on ${baseline.savedAt.slice(0, 10)} (commit ${baseline.commit.slice(0, 8)})`,
      p50ByShape: baseline.p50ByShape,
    };
  }
  const k1 = points.filter((p) => p.mode === TODAY_BY_HAND_MODE && p.concurrency === 1);
  if (k1.length === 0) return undefined;
  return {
    label: `${TODAY_BY_HAND_MODE} at K=1 in this run (today's commit by hand; no engine baseline saved)`,
    p50ByShape: Object.fromEntries(k1.map((p) => [p.shape, p.latencyMs.p50])),
  };
}

export interface AimCheck {
  aim: string;
  shape: string;
  /** The figures the verdict rests on. */
  measured: string;
  /** undefined: not measured in this run (a mode or a K missing). */
  met: boolean | undefined;
}

/** The point of one mode, shape and K, if the run measured it. */
export function findPoint(points: readonly ContentionPoint[], mode: string, shape: string, k: number): ContentionPoint | undefined {
  return points.find((p) => p.mode === mode && p.shape === shape && p.concurrency === k);
}

/** Issue 13's aims for the candidate mode, per shape, from the points measured. */
export function checkAims(points: readonly ContentionPoint[], reference?: LatencyReference): AimCheck[] {
  const shapes = [...new Set(points.map((p) => p.shape))];
  const checks: AimCheck[] = [];
  const notMeasured = (aim: string, shape: string, what: string): AimCheck => ({
    aim,
    shape,
    measured: `not measured (${what})`,
    met: undefined,
  });
  for (const shape of shapes) {
    const levels = [...new Set(points.filter((p) => p.shape === shape).map((p) => p.concurrency))].sort((a, b) => a - b);

    const rawAim = `acks/s ≥ ${AIMS.minRawRatio.toFixed(2)}× ${PRIMITIVE_MODE} at every K`;
    const ratios = levels.flatMap((k) => {
      const c = findPoint(points, CANDIDATE_MODE, shape, k);
      const r = findPoint(points, PRIMITIVE_MODE, shape, k);
      return c && r ? [{ k, ...rawRatio(c, r) }] : [];
    });
    if (ratios.length === 0) checks.push(notMeasured(rawAim, shape, `needs ${CANDIDATE_MODE} and ${PRIMITIVE_MODE}`));
    else {
      const worst = ratios.reduce((a, b) => (b.ratio < a.ratio ? b : a));
      checks.push({
        aim: rawAim,
        shape,
        measured:
          `${ratios.map((r) => `K=${r.k} ${ratioText(r)}`).join(', ')}; lowest ${formatRatio(worst.ratio)} at K=${worst.k}` +
          (ratios.some((r) => r.range) ? ' (pooled over the rounds; in brackets, the lowest and highest round)' : ''),
        met: ratios.every((r) => r.ratio >= AIMS.minRawRatio),
      });
    }

    const tailAim = `at K=${AIMS.highK}: p99 ≤ ${AIMS.maxP99OverP50}× p50 and no 503`;
    const high = findPoint(points, CANDIDATE_MODE, shape, AIMS.highK);
    if (!high) checks.push(notMeasured(tailAim, shape, `no ${CANDIDATE_MODE} point at K=${AIMS.highK}`));
    else {
      const ratio = high.latencyMs.p99 / high.latencyMs.p50;
      const enough = high.latencyMs.count >= AIMS.minTailSamples;
      checks.push({
        aim: tailAim,
        shape,
        measured:
          `p50 ${formatMs(high.latencyMs.p50)} ms, p99 ${formatMs(high.latencyMs.p99)} ms (${formatRatio(ratio)}), ${high.unavailable} × 503` +
          (enough ? '' : `; only ${high.latencyMs.count} acks sampled, fewer than the ${AIMS.minTailSamples} a p99 needs`),
        met: enough && ratio <= AIMS.maxP99OverP50 && high.unavailable === 0,
      });
    }

    const unitsAim = `write units per ack at K=${AIMS.highK} ≤ ${AIMS.maxUnitsGrowth.toFixed(2)}× K=1`;
    const one = findPoint(points, CANDIDATE_MODE, shape, 1);
    if (!one || !high) checks.push(notMeasured(unitsAim, shape, `needs ${CANDIDATE_MODE} at K=1 and K=${AIMS.highK}`));
    else {
      const growth = high.writeUnitsPerAck / one.writeUnitsPerAck;
      checks.push({
        aim: unitsAim,
        shape,
        measured: `K=1 ${formatNumber(one.writeUnitsPerAck, 1)}, K=${AIMS.highK} ${formatNumber(high.writeUnitsPerAck, 1)} WCU/ack (${formatRatio(growth)})`,
        met: growth <= AIMS.maxUnitsGrowth,
      });
    }

    const latencyAim = `p50 at K=1 ≤ ${AIMS.maxK1LatencyRatio.toFixed(2)}× today's path`;
    const today = reference?.p50ByShape[shape];
    if (!one || today === undefined || !Number.isFinite(today))
      checks.push(notMeasured(latencyAim, shape, one ? "no reference for today's path" : `no ${CANDIDATE_MODE} point at K=1`));
    else {
      const ratio = one.latencyMs.p50 / today;
      checks.push({
        aim: latencyAim,
        shape,
        measured: `${formatMs(one.latencyMs.p50)} ms vs ${formatMs(today)} ms (${formatRatio(ratio)}), today's path: ${reference!.label}`,
        met: ratio <= AIMS.maxK1LatencyRatio,
      });
    }
  }
  return checks;
}

function verdict(met: boolean | undefined): string {
  return met === undefined ? '–' : met ? 'met' : '**not met**';
}

/** How a shape is described in titles. */
export function shapeTitle(shape: { name: string; recordsPerRequest: number; valueBytes: number }): string {
  const kib = shape.valueBytes / 1024;
  return shape.recordsPerRequest === 1 ? `single ${kib} KiB records` : `batches of ${shape.recordsPerRequest} records of ${kib} KiB`;
}

/** DynamoDB calls per ack, with the calls of each operation. */
export function callsText(point: ContentionPoint): string {
  const parts = Object.entries(point.callsPerAckByOperation)
    .sort((a, b) => b[1] - a[1])
    .map(([op, n]) => `${op} ${formatNumber(n, 2)}`);
  return `${formatNumber(point.callsPerAck, 2)} (${parts.join(', ')})`;
}

export interface ContentionTablesInput {
  points: readonly ContentionPoint[];
  shapes: readonly { name: string; recordsPerRequest: number; valueBytes: number }[];
  aims: readonly AimCheck[];
}

export function contentionTables(input: ContentionTablesInput): ReportTable[] {
  const { points, aims } = input;
  const tables: ReportTable[] = [];
  for (const shape of input.shapes) {
    const rows = points
      .filter((p) => p.shape === shape.name)
      .sort((a, b) => a.concurrency - b.concurrency)
      .map((p) => [
        p.mode,
        String(p.concurrency),
        formatNumber(p.acksPerSec, 0),
        formatNumber(p.recordsPerSec, 0),
        formatMs(p.latencyMs.p50),
        formatMs(p.latencyMs.p99),
        formatMs(p.latencyMs.p999),
        callsText(p),
        formatNumber(p.writeUnitsPerAck, 1),
        formatNumber(p.failedWriteUnitsPerAck, 1),
        String(p.unavailable),
        String(p.errors + p.throttled),
        `${p.workerAcks[0]}–${p.workerAcks[1]}`,
        `${formatNumber(p.hottestItemUnitsPerSec, 0)}${p.hottestItemUnitsPerSec > PARTITION_WRITE_UNITS_PER_SEC ? ' (over)' : ''}`,
        formatRatio(p.modelAddedOverModelled),
        formatPercent(p.workerCores),
        formatPercent(p.dynamoCores),
        p.verified ? 'yes' : '**no**',
      ]);
    tables.push({
      title: `Contention, ${shapeTitle(shape)}: K processes append to one partition, one request at a time each`,
      columns: [
        'mode',
        'K',
        'acks/s',
        'records/s',
        'p50 ms',
        'p99 ms',
        'p999 ms',
        'DDB calls/ack',
        'WCU/ack',
        'failed WCU/ack',
        '503',
        'errors',
        'acks per worker',
        'hottest item WCU/s',
        'model delay added/asked',
        'workers CPU',
        'DDB Local CPU',
        'head = acks',
      ],
      rows,
    });
  }
  const modes = [...new Set(points.map((p) => p.mode))].filter((m) => m !== PRIMITIVE_MODE);
  const levels = [...new Set(points.map((p) => p.concurrency))].sort((a, b) => a - b);
  const ratioRows = levels.map((k) => [
    `K=${k}`,
    ...input.shapes.flatMap((shape) =>
      modes.map((mode) => {
        const m = findPoint(points, mode, shape.name, k);
        const r = findPoint(points, PRIMITIVE_MODE, shape.name, k);
        return m && r ? ratioText(rawRatio(m, r)) : '–';
      }),
    ),
  ]);
  tables.push({
    title: `acks/s over ${PRIMITIVE_MODE} at the same K`,
    columns: ['K', ...input.shapes.flatMap((shape) => modes.map((mode) => `${mode}, ${shape.name}`))],
    rows: ratioRows,
    ...(points.some((p) => (p.rounds ?? 1) > 1)
      ? {
          notes: [
            "Pooled over the rounds (acks of all windows over their total time); in brackets, the lowest and highest of the rounds, each window against the primitive's window of the same round. The modes ran in a different order each round.",
          ],
        }
      : {}),
  });

  tables.push(...cpuTables(points, input.shapes));

  tables.push({
    title: 'Issue 13 aims, for the engine',
    columns: ['aim', 'shape', 'measured', 'met'],
    rows: aims.map((a) => [a.aim, a.shape, a.measured, verdict(a.met)]),
  });
  return tables;
}

/**
 * The CPU each acknowledged append cost, the workers' and DynamoDB Local's together, for
 * the reserving engine and the raw primitive at each K. Once the machine's cores are
 * full for both, each acknowledges as many appends a second as its CPU per append lets
 * them run, so the ratio of their acks/s cannot pass the inverse ratio of their CPU per
 * append, whatever their round trips: what this machine, not the protocol, allows.
 */
/**
 * Workers' and DynamoDB Local's cores together; NaN when DynamoDB Local's were not
 * measured (NaN in the run, null once saved as JSON: the same "–" either way).
 */
export const coresUsed = (p: ContentionPoint): number => (Number.isFinite(p.dynamoCores) ? p.workerCores + p.dynamoCores : Number.NaN);

export function cpuTables(points: readonly ContentionPoint[], shapes: ContentionTablesInput['shapes']): ReportTable[] {
  const levels = [...new Set(points.map((p) => p.concurrency))].sort((a, b) => a - b);
  const cpuMsPerAck = (p: ContentionPoint) => (coresUsed(p) * 1000) / p.acksPerSec;
  return shapes.flatMap((shape) => {
    const rows = levels.flatMap((k) => {
      const engine = findPoint(points, CANDIDATE_MODE, shape.name, k);
      const raw = findPoint(points, PRIMITIVE_MODE, shape.name, k);
      if (!engine || !raw || !Number.isFinite(coresUsed(engine)) || !Number.isFinite(coresUsed(raw))) return [];
      return [
        [
          String(k),
          `${formatNumber(coresUsed(engine), 2)} / ${formatNumber(coresUsed(raw), 2)}`,
          `${formatNumber(cpuMsPerAck(engine), 1)} / ${formatNumber(cpuMsPerAck(raw), 1)}`,
          `${formatNumber(engine.callsPerAck, 2)} / ${formatNumber(raw.callsPerAck, 2)}`,
          formatRatio(cpuMsPerAck(raw) / cpuMsPerAck(engine)),
          formatRatio(engine.acksPerSec / raw.acksPerSec),
        ],
      ];
    });
    if (rows.length === 0) return [];
    return [
      {
        title: `CPU per acknowledged append, ${shapeTitle(shape)}: ${CANDIDATE_MODE} against ${PRIMITIVE_MODE}`,
        columns: [
          'K',
          'cores used (workers + DDB Local)',
          'CPU ms per ack',
          'DDB calls per ack',
          `${PRIMITIVE_MODE} CPU / ${CANDIDATE_MODE} CPU`,
          'acks/s ratio',
        ],
        rows,
        notes: [
          `Each pair is ${CANDIDATE_MODE} / ${PRIMITIVE_MODE}. Where both use all of the machine's cores, the acks/s ratio cannot exceed the CPU ratio: the ratio then measures the CPU per append (most of it the SDK's work per DynamoDB call, so it follows the calls per ack), not the round trips.`,
        ],
      },
    ];
  });
}

export interface ContentionChart {
  file: string;
  alt: string;
  svg: string;
}

/** acks/s and p99 against K, one bar per mode, for each shape. */
export function contentionCharts(
  points: readonly ContentionPoint[],
  shapes: readonly { name: string; recordsPerRequest: number; valueBytes: number }[],
): ContentionChart[] {
  const modes = [...new Set(points.map((p) => p.mode))];
  return shapes.flatMap((shape) => {
    const own = points.filter((p) => p.shape === shape.name);
    const levels = [...new Set(own.map((p) => p.concurrency))].sort((a, b) => a - b);
    const series = (pick: (p: ContentionPoint) => number) =>
      modes.map((mode) => ({
        name: mode,
        values: levels.map((k) => {
          const p = findPoint(own, mode, shape.name, k);
          return p ? pick(p) : Number.NaN;
        }),
      }));
    const categories = levels.map((k) => `K=${k}`);
    return [
      {
        file: `contention-acks-${shape.name}.svg`,
        alt: `Acknowledged appends per second by number of processes, ${shapeTitle(shape)}`,
        svg: groupedBarChart({
          title: `Acks/s vs K processes on one partition, ${shapeTitle(shape)}`,
          unit: 'acknowledged requests per second',
          categories,
          series: series((p) => p.acksPerSec),
        }),
      },
      {
        file: `contention-p99-${shape.name}.svg`,
        alt: `p99 append latency by number of processes, ${shapeTitle(shape)}`,
        svg: groupedBarChart({
          title: `p99 latency vs K processes on one partition, ${shapeTitle(shape)}`,
          unit: 'ms',
          categories,
          series: series((p) => p.latencyMs.p99),
        }),
      },
    ];
  });
}
