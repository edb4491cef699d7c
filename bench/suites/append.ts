/**
 * Append throughput on one partition, and the DynamoDB primitive it is built on.
 *
 * - `strata-http`: C clients POST 100 records of 1 KiB to one partition through the
 *   local HTTP API, so every request pays what a deployed append pays in Node: JSON,
 *   validation, base64, batch encoding, group commit, the SDK.
 * - `raw-independent`: C workers send the engine's commit transaction for one request
 *   (Update HEAD with its condition + Put of one tail item holding the request's encoded
 *   batch) straight through the SDK, each on its own head: the primitive's ceiling.
 * - `raw-contended`: the same, all C workers on ONE head with optimistic retries: one
 *   partition without group commit, every request its own transaction.
 * - `raw-grouped`: one transaction in flight carrying C requests' batches, packed like
 *   the sequencer packs them: what a perfect group commit of C requests would send.
 *
 * Before them, `client` drives a null server with the same client and bodies, to show
 * what the client and Node's HTTP stack cost per request in this shared thread.
 *
 * The machine drifts: the same raw measurement, repeated, ranged from 125 to 178
 * transactions per second over 3 s windows. So each level runs in rounds, and every
 * round runs every suite once on an emptied table (bench/harness/table.ts explains why):
 * a drift hits all suites alike instead of the one that happened to run during it,
 * and the spread of the rounds is reported next to each figure.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { MAX_TAIL_ITEM_BYTES } from '../../lib/core/constants.js';
import type { LogRecord } from '../../lib/core/record.js';
import { encodeBatch } from '../../lib/format/record-batch-encoder.js';
import type { CommitStats } from '../../lib/sequencing/sequencer.js';
import { BenchHttpClient, expectStatus, startNullServer } from '../harness/http-client.js';
import { type LoadOptions, type LoadResult, mergeLoadResults, runClosedLoop } from '../harness/load.js';
import { type ContentionCounts, RawCommitter } from '../harness/raw-commit.js';
import type { ResourceUsage } from '../harness/resources.js';
import { ResourceMeter as Meter, RESOURCE_COLUMNS, resourceCells } from '../harness/resources.js';
import type { StackBenchContext } from '../harness/shared-stack.js';
import { formatMs, formatNumber, formatPercent, formatRatio, type LatencySummary, summarize } from '../harness/stats.js';
import { type Chart, defineSuite, SECOND } from '../harness/suite.js';
import { groupedBarChart } from '../report/charts.js';
import type { ReportTable } from '../report/report.js';

export const APPEND_TOPIC = 'bench-append';
export const RECORDS_PER_REQUEST = 100;
export const VALUE_BYTES = 1024;
/** Distinct request bodies the clients rotate through, so not every request is byte-identical. */
const BODY_VARIANTS = 8;
const MIB = 1024 * 1024;
/** Prefix of the raw suites' partition keys: apart from every key the engine writes. */
const RAW_PK_PREFIX = 'BENCH#raw';
/**
 * The largest flushBytes a topic takes: the suites' appends never ask for a flush. Left at
 * the 4 MiB default, appends at these rates trigger a flush every 5 s, which the local
 * stack runs in this same process against the same DynamoDB Local: measured (two runs
 * each way), it took Strata from 0.77× to 0.53× of raw at C=1 and its p99 from 15 to
 * 46 ms. On AWS the flush runs in another function; the S3 suites (bench/suites/segments.ts)
 * measure it on its own.
 */
export const NO_TRIGGERED_FLUSH_BYTES = 1024 * MIB;
/** The client calibration is cheap and steady: a short window is enough. */
const CALIBRATION = { warmupMs: 500, durationMs: 2_000 };

export const AIM_RAW_RATIO_AT_C1 = 0.8;
export const AIM_GROUP_COMMIT_SPEEDUP = 3;

export const APPEND_SUITES = ['strata-http', 'raw-independent', 'raw-contended', 'raw-grouped'] as const;
export type AppendSuiteName = (typeof APPEND_SUITES)[number];

const SUITE_LABELS: Record<AppendSuiteName, string> = {
  'strata-http': 'Strata via HTTP',
  'raw-independent': 'raw tx, own head per worker',
  'raw-contended': 'raw tx, ONE contended head',
  'raw-grouped': 'raw tx, C requests per tx, 1 in flight',
};

export interface AppendBenchOptions {
  levels: number[];
  /** Rounds per level; each round runs every suite once. */
  rounds: number;
  /** Warm-up before each suite's window in each round. */
  warmupMs: number;
  /** Measured time per suite and level, split evenly over the rounds. */
  durationMs: number;
}

export interface AppendBenchContext extends StackBenchContext {
  commits: CommitRecorder;
}

/** The engine's commits in a measured window, summed (CommitStats of lib/sequencing/sequencer.ts). */
export interface CommitCounts {
  commits: number;
  appends: number;
  records: number;
  /** From each commit's first attempt to its success (mostly the TransactWriteItems call). */
  durationMs: number;
  conflicts: number;
}

export interface AppendMeasurement {
  suite: AppendSuiteName;
  concurrency: number;
  /** Append requests (100 records each) completed in the window. */
  requests: number;
  requestsPerSec: number;
  recordsPerSec: number;
  mibPerSec: number;
  /** Requests per second of the slowest and the fastest round. */
  roundRange: [number, number];
  /** Per request; for raw-grouped, per transaction (which carries C requests). */
  latencyMs: LatencySummary;
  /** Fewest workers that finished nothing in a round (starved by the others). */
  starvedWorkers: number;
  errors: number;
  firstError?: string;
  resources: ResourceUsage;
  groupCommit?: CommitCounts;
  contention?: ContentionCounts;
  /**
   * Checked after the window: Strata's high watermark equals the records its clients saw
   * acknowledged; the raw heads add up to the raw commits acknowledged.
   */
  verified: boolean;
}

export interface ClientCalibration {
  concurrency: number;
  requestsPerSec: number;
  /** Busy time of the event loop per request: client plus a server that only reads the body. */
  loopMsPerRequest: number;
}

export interface AppendBenchResult {
  config: AppendBenchOptions & { recordsPerRequest: number; valueBytes: number; requestBodyBytes: number; batchBytes: number };
  calibration: ClientCalibration[];
  measurements: AppendMeasurement[];
  ratios: {
    concurrency: number;
    strataOverRaw: number;
    strataOverContended: number;
    strataOverGrouped: number;
    /** Share of Strata's event-loop time per request that the client and HTTP stack alone take. */
    clientShare: number;
  }[];
  groupCommitSpeedup: number;
  rawSpeedup: number;
  aims: {
    rawRatioAtC1: { aim: number; actual: number; met: boolean };
    groupCommitSpeedup: { aim: number; actual: number; met: boolean };
  };
}

/** Counts the engine's group commits inside a measurement window (the engine's onCommit hook). */
export class CommitRecorder {
  private active = false;
  private commits = 0;
  private appends = 0;
  private records = 0;
  private durationMs = 0;
  private conflicts = 0;

  readonly onCommit = (stats: CommitStats): void => {
    if (!this.active) return;
    this.commits++;
    this.appends += stats.appends;
    this.records += stats.records;
    this.durationMs += stats.durationMs;
    this.conflicts += stats.conflicts;
  };

  start(): void {
    this.commits = this.appends = this.records = this.durationMs = this.conflicts = 0;
    this.active = true;
  }

  stop(): CommitCounts {
    this.active = false;
    return { commits: this.commits, appends: this.appends, records: this.records, durationMs: this.durationMs, conflicts: this.conflicts };
  }
}

/** One suite's window in one round: its load and what else it counted. */
interface Slice {
  load: LoadResult;
  commits?: CommitCounts;
  contention?: ContentionCounts;
  verified: boolean;
}

export interface Payload {
  /** JSON request bodies, ready to write to a socket. */
  bodies: Buffer[];
  /** The encoded batch of one request's records: the bytes a tail item holds. */
  batch: Uint8Array;
  /** An append response of the real shape, for the null server. */
  answer: string;
}

/** `variants` distinct request bodies of `records` random values of `valueBytes` each. */
export function makePayload(records = RECORDS_PER_REQUEST, valueBytes = VALUE_BYTES, variants = BODY_VARIANTS): Payload {
  const values = Array.from({ length: variants }, () => Array.from({ length: records }, () => randomBytes(valueBytes)));
  const bodies = values.map((list) =>
    Buffer.from(JSON.stringify({ records: list.map((v) => ({ value: v.toString('base64') })), encoding: 'base64' })),
  );
  const now = Date.now();
  const logRecords: LogRecord[] = values[0]!.map((value) => ({ key: null, value, headers: [], timestamp: now }));
  const offsets = logRecords.map((_, offset) => ({ partition: 0, offset }));
  const answer = JSON.stringify({
    offsets,
    partitions: [{ partition: 0, baseOffset: 0, lastOffset: offsets.length - 1, duplicate: false }],
  });
  return { bodies, batch: encodeBatch(logRecords, { baseOffset: 0 }), answer };
}

/** A Strata topic under load: worker `w` appends one body to partition `w % partitions`. */
export interface StrataTarget {
  append: (worker: number) => Promise<void>;
  /** Every partition's high watermark equals the records its clients saw acknowledged. */
  highWatermarkMatches: () => Promise<boolean>;
}

/**
 * Creates topic `name` (the table was just emptied) with appends that never trigger a
 * flush, and counts what its clients saw acknowledged per partition.
 */
export async function createStrataTarget(
  client: BenchHttpClient,
  name: string,
  partitions: number,
  recordsPerRequest: number,
  nextBody: () => Buffer,
): Promise<StrataTarget> {
  // The tail path: batches up to the largest stageBytes stay in DynamoDB items (the default,
  // 64 KiB, would stage the 100 KiB requests in S3; bench/suites/segments.ts measures staging).
  const config = { flushBytes: NO_TRIGGERED_FLUSH_BYTES, stageBytes: MAX_TAIL_ITEM_BYTES };
  expectStatus(await client.post('/v1/topics', Buffer.from(JSON.stringify({ name, partitions, config }))), 201, 'create topic');
  const acknowledged = new Array<number>(partitions).fill(0);
  return {
    append: async (worker) => {
      const partition = worker % partitions;
      const answer = expectStatus(
        await client.post<{ offsets: unknown[] }>(`/v1/topics/${name}/partitions/${partition}/records`, nextBody()),
        200,
        'append',
      );
      if (answer.offsets.length !== recordsPerRequest) {
        throw new Error(`append answered ${answer.offsets.length} offsets for ${recordsPerRequest} records`);
      }
      acknowledged[partition]! += recordsPerRequest;
    },
    highWatermarkMatches: async () => {
      for (let partition = 0; partition < partitions; partition++) {
        const path = `/v1/topics/${name}/partitions/${partition}/offsets?at=latest`;
        const latest = expectStatus(await client.get<{ offset: number }>(path), 200, 'offset lookup');
        if (latest.offset !== acknowledged[partition]) return false;
      }
      return true;
    },
  };
}

export async function runAppendBench(ctx: AppendBenchContext, options: AppendBenchOptions): Promise<AppendBenchResult> {
  const payload = makePayload();
  const maxConcurrency = Math.max(...options.levels);
  const doc = DynamoDBDocumentClient.from(ctx.dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const runId = randomUUID().slice(0, 8);
  let nextBody = 0;
  const nextPayload = () => payload.bodies[nextBody++ % payload.bodies.length]!;

  ctx.log('client and HTTP stack alone (null server)');
  const calibration = await calibrateClient(ctx, options.levels, payload.answer, nextPayload);

  const client = new BenchHttpClient(ctx.url, maxConcurrency);
  const strataTopic = (name: string) => createStrataTarget(client, name, 1, RECORDS_PER_REQUEST, nextPayload);
  const rawCommitter = (name: string, batchesPerCommit: number, contended: boolean) =>
    new RawCommitter(doc, {
      tableName: ctx.tableName,
      pkPrefix: `${RAW_PK_PREFIX}#${runId}#${name}`,
      batch: payload.batch,
      recordsPerBatch: RECORDS_PER_REQUEST,
      batchesPerCommit,
      contended,
    });

  const slice = async (suite: AppendSuiteName, concurrency: number, round: number): Promise<Slice> => {
    const load: LoadOptions = { concurrency, warmupMs: options.warmupMs, durationMs: options.durationMs / options.rounds };
    if (suite === 'strata-http') {
      const topic = await strataTopic(`${APPEND_TOPIC}-c${concurrency}-r${round}`);
      let commits: CommitCounts | undefined;
      const result = await runClosedLoop(load, ctx.meter, topic.append, {
        onWindowStart: () => ctx.commits.start(),
        onWindowEnd: () => (commits = ctx.commits.stop()),
      });
      return { load: result, ...(commits ? { commits } : {}), verified: await topic.highWatermarkMatches() };
    }
    const grouped = suite === 'raw-grouped';
    const raw = rawCommitter(`${suite}#C${concurrency}#r${round}`, grouped ? concurrency : 1, suite === 'raw-contended');
    const result = await runClosedLoop({ ...load, concurrency: grouped ? 1 : concurrency }, ctx.meter, (w) => raw.commit(w), {
      onWindowStart: () => raw.startCounting(),
    });
    return { load: result, contention: raw.contention(), verified: await raw.headsMatch() };
  };

  ctx.log(`warming up (${options.warmupMs} ms of Strata and of raw transactions at C=${maxConcurrency}, not measured)`);
  const warmup = { concurrency: maxConcurrency, warmupMs: options.warmupMs, durationMs: 0 };
  await runClosedLoop(warmup, ctx.meter, (await strataTopic(`${APPEND_TOPIC}-warmup`)).append);
  const warmRaw = rawCommitter('warmup', 1, false);
  await runClosedLoop(warmup, ctx.meter, (w) => warmRaw.commit(w));

  const measurements: AppendMeasurement[] = [];
  for (const concurrency of options.levels) {
    const slices = new Map<AppendSuiteName, Slice[]>(APPEND_SUITES.map((suite) => [suite, []]));
    for (let round = 0; round < options.rounds; round++) {
      await ctx.resetTable();
      for (const suite of APPEND_SUITES) slices.get(suite)!.push(await slice(suite, concurrency, round));
    }
    for (const suite of APPEND_SUITES) {
      const measurement = toMeasurement(suite, concurrency, slices.get(suite)!);
      measurements.push(measurement);
      ctx.log(describe(measurement));
    }
  }
  client.close();

  const find = (suite: AppendSuiteName, c: number) => measurements.find((m) => m.suite === suite && m.concurrency === c);
  const rate = (suite: AppendSuiteName, c: number) => find(suite, c)?.recordsPerSec ?? Number.NaN;
  const lowest = Math.min(...options.levels);
  const highest = Math.max(...options.levels);
  const rawRatioAtLowest = rate('strata-http', lowest) / rate('raw-independent', lowest);
  const groupCommitSpeedup = rate('strata-http', highest) / rate('strata-http', lowest);
  return {
    config: {
      ...options,
      recordsPerRequest: RECORDS_PER_REQUEST,
      valueBytes: VALUE_BYTES,
      requestBodyBytes: payload.bodies[0]!.byteLength,
      batchBytes: payload.batch.byteLength,
    },
    calibration,
    measurements,
    ratios: options.levels.map((c) => {
      const strata = find('strata-http', c);
      const strataLoopMs = strata ? (strata.resources.nodeEventLoop * 1000) / strata.requestsPerSec : Number.NaN;
      const client = calibration.find((k) => k.concurrency === c);
      return {
        concurrency: c,
        strataOverRaw: rate('strata-http', c) / rate('raw-independent', c),
        strataOverContended: rate('strata-http', c) / rate('raw-contended', c),
        strataOverGrouped: rate('strata-http', c) / rate('raw-grouped', c),
        clientShare: (client?.loopMsPerRequest ?? Number.NaN) / strataLoopMs,
      };
    }),
    groupCommitSpeedup,
    rawSpeedup: rate('raw-independent', highest) / rate('raw-independent', lowest),
    aims: {
      rawRatioAtC1: { aim: AIM_RAW_RATIO_AT_C1, actual: rawRatioAtLowest, met: rawRatioAtLowest >= AIM_RAW_RATIO_AT_C1 },
      groupCommitSpeedup: {
        aim: AIM_GROUP_COMMIT_SPEEDUP,
        actual: groupCommitSpeedup,
        met: groupCommitSpeedup >= AIM_GROUP_COMMIT_SPEEDUP,
      },
    },
  };
}

/** The same client and bodies against a server that only reads them: the harness's own cost. */
async function calibrateClient(
  ctx: AppendBenchContext,
  levels: number[],
  answer: string,
  nextPayload: () => Buffer,
): Promise<ClientCalibration[]> {
  const server = await startNullServer(answer);
  const client = new BenchHttpClient(server.url, Math.max(...levels));
  const results: ClientCalibration[] = [];
  try {
    for (const concurrency of levels) {
      const result = await runClosedLoop({ concurrency, ...CALIBRATION }, ctx.meter, async () => {
        expectStatus(await client.post(`/null`, nextPayload()), 200, 'null server');
      });
      const requestsPerSec = result.operations / (result.windowMs / 1000);
      const calibration = { concurrency, requestsPerSec, loopMsPerRequest: (result.resources.nodeEventLoop * 1000) / requestsPerSec };
      results.push(calibration);
      ctx.log(
        `  client          C=${String(concurrency).padEnd(2)} ${formatNumber(requestsPerSec)} req/s, ` +
          `${calibration.loopMsPerRequest.toFixed(3)} ms of event loop per request`,
      );
    }
  } finally {
    client.close();
    await server.close();
  }
  return results;
}

function toMeasurement(suite: AppendSuiteName, concurrency: number, slices: Slice[]): AppendMeasurement {
  const requestsPerOperation = suite === 'raw-grouped' ? concurrency : 1;
  const perSecond = (result: LoadResult) => (result.operations * requestsPerOperation) / (result.windowMs / 1000);
  const load = mergeLoadResults(slices.map((s) => s.load));
  const roundRates = slices.map((s) => perSecond(s.load));
  const requestsPerSec = perSecond(load);
  const sum = <T>(parts: T[], key: keyof T) => parts.reduce((total, part) => total + Number(part[key]), 0);
  const commits = slices.flatMap((s) => (s.commits ? [s.commits] : []));
  const contention = slices.flatMap((s) => (s.contention ? [s.contention] : []));
  return {
    suite,
    concurrency,
    requests: load.operations * requestsPerOperation,
    requestsPerSec,
    recordsPerSec: requestsPerSec * RECORDS_PER_REQUEST,
    mibPerSec: (requestsPerSec * RECORDS_PER_REQUEST * VALUE_BYTES) / MIB,
    roundRange: [Math.min(...roundRates), Math.max(...roundRates)],
    latencyMs: summarize(load.latenciesMs),
    starvedWorkers: Math.min(...slices.map((s) => s.load.perWorker.filter((n) => n === 0).length)),
    errors: load.errors,
    ...(load.firstError !== undefined ? { firstError: load.firstError } : {}),
    resources: load.resources,
    ...(suite === 'strata-http' && commits.length > 0
      ? {
          groupCommit: {
            commits: sum(commits, 'commits'),
            appends: sum(commits, 'appends'),
            records: sum(commits, 'records'),
            durationMs: sum(commits, 'durationMs'),
            conflicts: sum(commits, 'conflicts'),
          },
        }
      : {}),
    ...(suite === 'raw-contended' && contention.length > 0
      ? {
          contention: {
            successes: sum(contention, 'successes'),
            attempts: sum(contention, 'attempts'),
            conditionFailures: sum(contention, 'conditionFailures'),
            transactionConflicts: sum(contention, 'transactionConflicts'),
          },
        }
      : {}),
    verified: slices.every((s) => s.verified),
  };
}

function describe(m: AppendMeasurement): string {
  const extra = m.groupCommit
    ? `, ${(m.groupCommit.appends / m.groupCommit.commits).toFixed(2)} requests/commit`
    : m.contention
      ? `, ${(m.contention.attempts / m.contention.successes).toFixed(2)} attempts/success`
      : '';
  const errors = m.errors > 0 ? `, ${m.errors} ERRORS (first: ${m.firstError})` : '';
  return (
    `  ${m.suite.padEnd(15)} C=${String(m.concurrency).padEnd(2)} ${formatNumber(m.requestsPerSec, 1)} req/s, ` +
    `(rounds ${formatRange(m.roundRange)}), ${formatNumber(m.mibPerSec, 2)} MiB/s, ` +
    `p50 ${formatMs(m.latencyMs.p50)} ms, p99 ${formatMs(m.latencyMs.p99)} ms${extra}${errors}`
  );
}

export function appendTables(result: AppendBenchResult): ReportTable[] {
  const { config } = result;
  const seconds = config.durationMs / 1000;
  const throughput: ReportTable = {
    title: `Append throughput, one partition: ${config.recordsPerRequest} records × ${config.valueBytes} B values per request`,
    columns: ['suite', 'C', 'req/s', 'rounds req/s', 'records/s', 'MiB/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', ...RESOURCE_COLUMNS],
    rows: result.measurements.map((m) => [
      SUITE_LABELS[m.suite],
      String(m.concurrency),
      formatNumber(m.requestsPerSec, 1),
      formatRange(m.roundRange),
      formatNumber(m.recordsPerSec),
      formatNumber(m.mibPerSec, 2),
      formatMs(m.latencyMs.p50),
      formatMs(m.latencyMs.p99),
      formatMs(m.latencyMs.max),
      String(m.errors),
      ...resourceCells(m.resources),
    ]),
    notes: [
      `Each request: ${formatNumber(config.requestBodyBytes)} B of JSON carrying ${formatNumber((config.recordsPerRequest * config.valueBytes) / 1024)} KiB of values; a raw transaction's batch: ${formatNumber(config.batchBytes)} B.`,
      `Each row: ${seconds} s measured in ${config.rounds} rounds of ${seconds / config.rounds} s, after ${config.warmupMs / 1000} s of warm-up each.`,
    ],
  };
  const strata = result.measurements.filter((m) => m.suite === 'strata-http');
  const contended = result.measurements.filter((m) => m.suite === 'raw-contended');
  const commits: ReportTable = {
    title: 'Group commit and contention',
    columns: [
      'C',
      'Strata commits/s',
      'requests/commit',
      'commit ms',
      'contended attempts/success',
      'condition failures',
      'tx conflicts',
      'starved workers',
    ],
    rows: config.levels.map((c) => {
      const g = strata.find((m) => m.concurrency === c)?.groupCommit;
      const run = contended.find((m) => m.concurrency === c);
      const k = run?.contention;
      return [
        String(c),
        g ? formatNumber(g.commits / seconds, 1) : '–',
        g ? (g.appends / g.commits).toFixed(2) : '–',
        g ? formatMs(g.durationMs / g.commits) : '–',
        k ? (k.attempts / k.successes).toFixed(2) : '–',
        k ? formatNumber(k.conditionFailures) : '–',
        k ? formatNumber(k.transactionConflicts) : '–',
        run ? `${run.starvedWorkers} of ${c}` : '–',
      ];
    }),
  };
  const client: ReportTable = {
    title: 'Client cost: the same client and bodies against a null server',
    columns: ['C', 'req/s', 'event loop ms/request', 'share of Strata’s event loop ms/request'],
    rows: result.calibration.map((k) => [
      String(k.concurrency),
      formatNumber(k.requestsPerSec),
      k.loopMsPerRequest.toFixed(3),
      formatPercent(result.ratios.find((r) => r.concurrency === k.concurrency)?.clientShare ?? Number.NaN),
    ]),
  };
  const lowest = Math.min(...config.levels);
  const highest = Math.max(...config.levels);
  const { aims } = result;
  const atLowest = (c: number, text: string) => (c === lowest ? text : '');
  const ratios: ReportTable = {
    title: 'Ratios (records/s)',
    columns: ['ratio', 'value', 'aim', 'met'],
    rows: [
      ...result.ratios.map((r) => [
        `Strata / raw own heads, C=${r.concurrency}`,
        formatRatio(r.strataOverRaw),
        atLowest(r.concurrency, `≥ ${formatRatio(aims.rawRatioAtC1.aim)}`),
        atLowest(r.concurrency, yesNo(aims.rawRatioAtC1.met)),
      ]),
      ...result.ratios.map((r) => [`Strata / raw one contended head, C=${r.concurrency}`, formatRatio(r.strataOverContended), '', '']),
      ...result.ratios.map((r) => [`Strata / raw C requests per tx, C=${r.concurrency}`, formatRatio(r.strataOverGrouped), '', '']),
      [
        `Strata C=${highest} / C=${lowest} (group commit speedup)`,
        formatRatio(result.groupCommitSpeedup),
        `≥ ${formatRatio(aims.groupCommitSpeedup.aim)}`,
        yesNo(aims.groupCommitSpeedup.met),
      ],
      [`raw own heads C=${highest} / C=${lowest}`, formatRatio(result.rawSpeedup), '', ''],
    ],
    notes: [verificationNote(result)],
  };
  return [throughput, commits, client, ratios];
}

function verificationNote(result: AppendBenchResult): string {
  const failed = result.measurements.filter((m) => !m.verified);
  if (failed.length === 0) {
    return 'Checked after every row: every high watermark and raw head matches what was acknowledged.';
  }
  return `CHECK FAILED for ${failed.map((m) => `${m.suite} C=${m.concurrency}`).join(', ')}: the data written does not match what was acknowledged (see append.json).`;
}

function formatRange([low, high]: [number, number]): string {
  return `${formatNumber(low)}–${formatNumber(high)}`;
}

function yesNo(met: boolean): string {
  return met ? 'yes' : 'NO';
}

const CONCURRENCY_LEVELS = [1, 4, 16];

function appendCharts(result: AppendBenchResult): Chart[] {
  const levels = [...new Set(result.measurements.map((m) => m.concurrency))].sort((a, b) => a - b);
  const series = (suite: AppendBenchResult['measurements'][number]['suite'], name: string) => ({
    name,
    values: levels.map((c) => result.measurements.find((m) => m.suite === suite && m.concurrency === c)?.mibPerSec ?? Number.NaN),
  });
  return [
    {
      file: 'append.svg',
      alt: 'Append goodput by concurrency: Strata vs raw TransactWriteItems',
      svg: groupedBarChart({
        title: 'Append goodput, 100 × 1 KiB per request, one partition',
        unit: 'MiB/s of record values',
        categories: levels.map((c) => `C=${c}`),
        series: [
          series('strata-http', 'Strata via HTTP'),
          series('raw-independent', 'raw, independent tx'),
          series('raw-grouped', 'raw, C requests per tx'),
        ],
      }),
    },
  ];
}

export const appendSuite = defineSuite({
  name: 'append',
  title: 'Append',
  measures: 'append throughput on one partition at C=1, 4, 16, beside raw TransactWriteItems',
  sharedStack: true,
  /** Per level: `durationMs` measured in `rounds` windows, each after `warmupMs`. */
  full: { levels: CONCURRENCY_LEVELS, rounds: 5, warmupMs: 1 * SECOND, durationMs: 10 * SECOND },
  quick: { levels: CONCURRENCY_LEVELS, rounds: 2, warmupMs: SECOND / 2, durationMs: 1.5 * SECOND },
  start: 'append throughput',
  async measure(options, ctx) {
    const { stack, dynamo, commits, emptyTable } = await ctx.stack();
    return runAppendBench(
      { url: stack.url, dynamo, tableName: stack.tableName, meter: new Meter(), commits, resetTable: emptyTable, log: ctx.log },
      options,
    );
  },
  render: (result) => ({ tables: appendTables(result), charts: appendCharts(result) }),
});
