/**
 * Append throughput on one partition, and the DynamoDB primitive it is built on.
 *
 * - `strata-http`: C clients POST 100 records of 1 KiB to one partition through the
 *   local HTTP API, so every request pays what a deployed append pays in Node: JSON,
 *   validation, base64, batch encoding, group commit, the SDK.
 * - `raw-independent`: C workers send the engine's commit transaction (Update HEAD with
 *   its condition + Put of one tail item holding the encoded batch of one request) with
 *   the SDK directly, each on its own partition key: the ceiling of the primitive.
 * - `raw-contended`: the same transaction, all C workers on ONE head, each retrying
 *   optimistically at the head the failed condition returns: what one partition gets
 *   without group commit, when every request is its own transaction.
 *
 * Levels run interleaved (strata, raw, contended at C=1, then at C=4, …) so that all
 * three see DynamoDB Local's tables at about the same size.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransactionCanceledException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { HEAD_SK, tailSk } from '../lib/keys.js';
import { encodeBatch } from '../lib/record-batch.js';
import type { LogRecord } from '../lib/record.js';
import { backoffDelay, DEFAULT_RETRY } from '../lib/retry.js';
import type { CommitStats } from '../lib/sequencer.js';
import { BenchHttpClient, expectStatus } from './http-client.js';
import { runClosedLoop, type LoadOptions, type LoadResult } from './load.js';
import type { ReportTable } from './report.js';
import type { ResourceMeter, ResourceUsage } from './resources.js';
import { formatMs, formatNumber, formatPercent, formatRatio, summarize, type LatencySummary } from './stats.js';

export const APPEND_TOPIC = 'bench-append';
export const RECORDS_PER_REQUEST = 100;
export const VALUE_BYTES = 1024;
/** Distinct request bodies the clients rotate through, so not every request is byte-identical. */
const BODY_VARIANTS = 8;
const MIB = 1024 * 1024;
/** Prefix of the raw suites' partition keys: apart from every key the engine writes. */
const RAW_PK_PREFIX = 'BENCH#raw';

export const AIM_RAW_RATIO_AT_C1 = 0.8;
export const AIM_GROUP_COMMIT_SPEEDUP = 3;

export type AppendSuiteName = 'strata-http' | 'raw-independent' | 'raw-contended';

export interface AppendBenchOptions {
  levels: number[];
  warmupMs: number;
  durationMs: number;
}

export interface AppendBenchContext {
  url: string;
  dynamo: DynamoDBClient;
  tableName: string;
  meter: ResourceMeter;
  commits: CommitRecorder;
  log: (line: string) => void;
}

export interface GroupCommitStats {
  commits: number;
  appendsPerCommit: number;
  recordsPerCommit: number;
  /** Mean time from the first attempt of a commit to its success (the DynamoDB transaction). */
  commitMs: number;
  conflicts: number;
}

export interface ContentionStats {
  attemptsPerSuccess: number;
  conditionFailures: number;
  transactionConflicts: number;
}

export interface AppendMeasurement {
  suite: AppendSuiteName;
  concurrency: number;
  requests: number;
  requestsPerSec: number;
  recordsPerSec: number;
  mibPerSec: number;
  latencyMs: LatencySummary;
  errors: number;
  firstError?: string;
  resources: ResourceUsage;
  groupCommit?: GroupCommitStats;
  contention?: ContentionStats;
  /** Raw suites: the heads written add up to the commits acknowledged. */
  headsMatch?: boolean;
}

export interface AppendBenchResult {
  config: AppendBenchOptions & { recordsPerRequest: number; valueBytes: number; requestBodyBytes: number; batchBytes: number };
  measurements: AppendMeasurement[];
  ratios: {
    concurrency: number;
    strataOverRaw: number;
    strataOverContended: number;
  }[];
  groupCommitSpeedup: number;
  rawSpeedup: number;
  aims: { rawRatioAtC1: { aim: number; actual: number; met: boolean }; groupCommitSpeedup: { aim: number; actual: number; met: boolean } };
  /** The partition's high watermark against the records the clients saw acknowledged. */
  verified: { highWatermark: number; acknowledgedRecords: number; matches: boolean };
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

  stop(): GroupCommitStats {
    this.active = false;
    return {
      commits: this.commits,
      appendsPerCommit: this.appends / this.commits,
      recordsPerCommit: this.records / this.commits,
      commitMs: this.durationMs / this.commits,
      conflicts: this.conflicts,
    };
  }
}

interface Payload {
  /** JSON request bodies, ready to write to a socket. */
  bodies: Buffer[];
  /** The encoded batch of one request's records: the bytes a tail item holds. */
  batch: Uint8Array;
}

function makePayload(): Payload {
  const variants = Array.from({ length: BODY_VARIANTS }, () =>
    Array.from({ length: RECORDS_PER_REQUEST }, () => randomBytes(VALUE_BYTES)),
  );
  const bodies = variants.map((values) =>
    Buffer.from(JSON.stringify({ records: values.map((v) => ({ value: v.toString('base64') })), encoding: 'base64' })),
  );
  const now = Date.now();
  const records: LogRecord[] = variants[0]!.map((value) => ({ key: null, value, headers: [], timestamp: now }));
  return { bodies, batch: encodeBatch(records, { baseOffset: 0 }) };
}

export async function runAppendBench(ctx: AppendBenchContext, options: AppendBenchOptions): Promise<AppendBenchResult> {
  const payload = makePayload();
  const maxConcurrency = Math.max(...options.levels);
  const client = new BenchHttpClient(ctx.url, maxConcurrency);
  const doc = DynamoDBDocumentClient.from(ctx.dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const runId = randomUUID().slice(0, 8);
  let acknowledgedRecords = 0;

  expectStatus(await client.post(`/v1/topics`, Buffer.from(JSON.stringify({ name: APPEND_TOPIC, partitions: 1 }))), 201, 'create topic');
  const appendPath = `/v1/topics/${APPEND_TOPIC}/partitions/0/records`;
  let nextBody = 0;
  const strataAppend = async () => {
    const body = payload.bodies[nextBody++ % payload.bodies.length]!;
    const answer = expectStatus(await client.post<{ offsets: unknown[] }>(appendPath, body), 200, 'append');
    if (answer.offsets.length !== RECORDS_PER_REQUEST) {
      throw new Error(`append answered ${answer.offsets.length} offsets for ${RECORDS_PER_REQUEST} records`);
    }
    acknowledgedRecords += RECORDS_PER_REQUEST;
  };

  const measurements: AppendMeasurement[] = [];
  const run = async (suite: AppendSuiteName, concurrency: number, load: LoadOptions) => {
    let measurement: AppendMeasurement;
    if (suite === 'strata-http') {
      let groupCommit: GroupCommitStats | undefined;
      const result = await runClosedLoop(load, ctx.meter, strataAppend, {
        onWindowStart: () => ctx.commits.start(),
        onWindowEnd: () => (groupCommit = ctx.commits.stop()),
      });
      measurement = { ...toMeasurement(suite, concurrency, result), ...(groupCommit ? { groupCommit } : {}) };
    } else {
      const raw = new RawWriter(doc, ctx.tableName, `${RAW_PK_PREFIX}#${runId}#${suite}#C${concurrency}`, payload.batch, suite === 'raw-contended');
      const result = await runClosedLoop(load, ctx.meter, (worker) => raw.commit(worker), {
        onWindowStart: () => raw.startCounting(),
      });
      measurement = {
        ...toMeasurement(suite, concurrency, result),
        ...(raw.contended ? { contention: raw.contention() } : {}),
        headsMatch: await raw.headsMatch(),
      };
    }
    measurements.push(measurement);
    ctx.log(describe(measurement));
  };

  ctx.log(`warming up (${options.warmupMs} ms per suite at C=${maxConcurrency}, not measured)`);
  const warmup = { concurrency: maxConcurrency, warmupMs: options.warmupMs, durationMs: 0 };
  await runClosedLoop(warmup, ctx.meter, strataAppend);
  const warmRaw = new RawWriter(doc, ctx.tableName, `${RAW_PK_PREFIX}#${runId}#warmup`, payload.batch, false);
  await runClosedLoop(warmup, ctx.meter, (worker) => warmRaw.commit(worker));

  for (const concurrency of options.levels) {
    const load = { concurrency, warmupMs: options.warmupMs, durationMs: options.durationMs };
    for (const suite of ['strata-http', 'raw-independent', 'raw-contended'] as const) await run(suite, concurrency, load);
  }

  const offsets = expectStatus(
    await client.get<{ offset: number }>(`/v1/topics/${APPEND_TOPIC}/partitions/0/offsets?at=latest`),
    200,
    'offset lookup',
  );
  client.close();

  const rate = (suite: AppendSuiteName, c: number) =>
    measurements.find((m) => m.suite === suite && m.concurrency === c)?.recordsPerSec ?? Number.NaN;
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
    measurements,
    ratios: options.levels.map((c) => ({
      concurrency: c,
      strataOverRaw: rate('strata-http', c) / rate('raw-independent', c),
      strataOverContended: rate('strata-http', c) / rate('raw-contended', c),
    })),
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
    verified: { highWatermark: offsets.offset, acknowledgedRecords, matches: offsets.offset === acknowledgedRecords },
  };
}

/**
 * Sends the engine's append transaction (the same actions and conditions as
 * DynamoLogStore.commitAppend, with one tail item) straight to DynamoDB. Independent
 * workers each own a head; contended workers share one and, like independent writers
 * would, each knows only the head its own last attempt returned.
 */
class RawWriter {
  private readonly known: number[] = [];
  private counting = false;
  private successes = 0;
  private attempts = 0;
  private conditionFailures = 0;
  private transactionConflicts = 0;
  private readonly pks = new Set<string>();
  private committedRecords = 0;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly pkPrefix: string,
    private readonly batch: Uint8Array,
    readonly contended: boolean,
  ) {}

  startCounting(): void {
    this.successes = this.attempts = this.conditionFailures = this.transactionConflicts = 0;
    this.counting = true;
  }

  contention(): ContentionStats {
    return {
      attemptsPerSuccess: this.attempts / this.successes,
      conditionFailures: this.conditionFailures,
      transactionConflicts: this.transactionConflicts,
    };
  }

  /** One successful commit of one request's batch, retrying lost races like the engine does. */
  async commit(worker: number): Promise<void> {
    const pk = this.contended ? this.pkPrefix : `${this.pkPrefix}#w${worker}`;
    this.pks.add(pk);
    for (let failures = 0; ; ) {
      const expected = this.known[worker] ?? 0;
      const outcome = await this.attempt(pk, expected);
      if (this.counting) this.attempts++;
      if (outcome.ok) {
        this.known[worker] = expected + RECORDS_PER_REQUEST;
        this.committedRecords += RECORDS_PER_REQUEST;
        if (this.counting) this.successes++;
        return;
      }
      failures++;
      if (outcome.head !== undefined) {
        this.known[worker] = outcome.head;
        if (this.counting) this.conditionFailures++;
      } else if (this.counting) this.transactionConflicts++;
      // The engine's policy: re-send at once after a first lost race, back off after more.
      if (outcome.head === undefined || failures > 1) await sleep(backoffDelay(DEFAULT_RETRY, failures));
    }
  }

  private async attempt(pk: string, expected: number): Promise<{ ok: true } | { ok: false; head?: number }> {
    const next = expected + RECORDS_PER_REQUEST;
    const now = Date.now();
    const requestToken = randomUUID();
    try {
      await this.doc.send(
        new TransactWriteCommand({
          ClientRequestToken: requestToken,
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: { pk, sk: HEAD_SK },
                UpdateExpression:
                  'SET nextOffset = :next, tailBytes = if_not_exists(tailBytes, :zero) + :bytes, lastAppendAt = :now, ' +
                  'logStartOffset = if_not_exists(logStartOffset, :zero), flushedOffset = if_not_exists(flushedOffset, :zero)',
                ConditionExpression:
                  expected === 0 ? 'attribute_not_exists(nextOffset) OR nextOffset = :expected' : 'nextOffset = :expected',
                ExpressionAttributeValues: {
                  ':expected': expected,
                  ':next': next,
                  ':bytes': this.batch.byteLength,
                  ':now': now,
                  ':zero': 0,
                },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: {
                  pk,
                  sk: tailSk(next - 1),
                  baseOffset: expected,
                  lastOffset: next - 1,
                  recordCount: RECORDS_PER_REQUEST,
                  data: this.batch,
                  minTimestamp: now,
                  maxTimestamp: now,
                  appendedAt: now,
                  commitId: requestToken,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
          ],
        }),
      );
      return { ok: true };
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const head = err.CancellationReasons?.[0];
      if (head?.Code === 'ConditionalCheckFailed') return { ok: false, head: Number(head.Item?.nextOffset?.N ?? 0) };
      return { ok: false };
    }
  }

  /** Every acknowledged commit moved a head: do the heads add up to the records committed? */
  async headsMatch(): Promise<boolean> {
    let total = 0;
    for (const pk of this.pks) {
      const out = await this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk, sk: HEAD_SK }, ConsistentRead: true }));
      total += Number(out.Item?.nextOffset ?? 0);
    }
    return total === this.committedRecords;
  }
}

function toMeasurement(suite: AppendSuiteName, concurrency: number, result: LoadResult): AppendMeasurement {
  const seconds = result.windowMs / 1000;
  const requestsPerSec = result.operations / seconds;
  return {
    suite,
    concurrency,
    requests: result.operations,
    requestsPerSec,
    recordsPerSec: requestsPerSec * RECORDS_PER_REQUEST,
    mibPerSec: (requestsPerSec * RECORDS_PER_REQUEST * VALUE_BYTES) / MIB,
    latencyMs: summarize(result.latenciesMs),
    errors: result.errors,
    ...(result.firstError !== undefined ? { firstError: result.firstError } : {}),
    resources: result.resources,
  };
}

function describe(m: AppendMeasurement): string {
  const extra = m.groupCommit
    ? `, ${m.groupCommit.appendsPerCommit.toFixed(2)} requests/commit`
    : m.contention
      ? `, ${m.contention.attemptsPerSuccess.toFixed(2)} attempts/success`
      : '';
  const errors = m.errors > 0 ? `, ${m.errors} ERRORS (first: ${m.firstError})` : '';
  return (
    `  ${m.suite.padEnd(15)} C=${String(m.concurrency).padEnd(2)} ${formatNumber(m.requestsPerSec, 1)} req/s, ` +
    `${formatNumber(m.mibPerSec, 2)} MiB/s, p50 ${formatMs(m.latencyMs.p50)} ms, p99 ${formatMs(m.latencyMs.p99)} ms${extra}${errors}`
  );
}

const SUITE_LABELS: Record<AppendSuiteName, string> = {
  'strata-http': 'Strata via HTTP',
  'raw-independent': 'raw TransactWriteItems, own head per worker',
  'raw-contended': 'raw TransactWriteItems, ONE contended head',
};

export function appendTables(result: AppendBenchResult): ReportTable[] {
  const { config } = result;
  const throughput: ReportTable = {
    title: `Append throughput, one partition: ${config.recordsPerRequest} records × ${config.valueBytes} B values per request`,
    columns: ['suite', 'C', 'req/s', 'records/s', 'MiB/s', 'p50 ms', 'p99 ms', 'errors', 'Node CPU', 'event loop', 'DDB Local CPU'],
    rows: result.measurements.map((m) => [
      SUITE_LABELS[m.suite],
      String(m.concurrency),
      formatNumber(m.requestsPerSec, 1),
      formatNumber(m.recordsPerSec),
      formatNumber(m.mibPerSec, 2),
      formatMs(m.latencyMs.p50),
      formatMs(m.latencyMs.p99),
      String(m.errors),
      formatPercent(m.resources.nodeCores),
      formatPercent(m.resources.nodeEventLoop),
      formatPercent(m.resources.dynamoCores),
    ]),
    notes: [
      `Each request is ${formatNumber(config.requestBodyBytes)} B of JSON (base64 values); MiB/s counts only the raw value bytes (${config.recordsPerRequest} KiB per request).`,
      `Each raw transaction writes the encoded batch of one request (${formatNumber(config.batchBytes)} B) plus the head update, exactly as the engine does for one request.`,
      `${config.warmupMs / 1000} s warm-up, then ${config.durationMs / 1000} s measured per row; latency is per request (raw: per successful transaction, retries included).`,
      'CPU columns are shares of one core: Node = this whole process (clients, HTTP server, engine, SDK), event loop = busy share of its JavaScript thread, DDB Local = the JVM.',
    ],
  };
  const strata = result.measurements.filter((m) => m.suite === 'strata-http' && m.groupCommit);
  const contended = result.measurements.filter((m) => m.suite === 'raw-contended' && m.contention);
  const commits: ReportTable = {
    title: 'Group commit and contention',
    columns: ['C', 'Strata commits/s', 'requests/commit', 'commit ms', 'contended: attempts/success', 'condition failures', 'transaction conflicts'],
    rows: result.config.levels.map((c) => {
      const g = strata.find((m) => m.concurrency === c)?.groupCommit;
      const k = contended.find((m) => m.concurrency === c)?.contention;
      return [
        String(c),
        g ? formatNumber(g.commits / (config.durationMs / 1000), 1) : '–',
        g ? g.appendsPerCommit.toFixed(2) : '–',
        g ? formatMs(g.commitMs) : '–',
        k ? k.attemptsPerSuccess.toFixed(2) : '–',
        k ? formatNumber(k.conditionFailures) : '–',
        k ? formatNumber(k.transactionConflicts) : '–',
      ];
    }),
    notes: ['commit ms: mean time of one engine commit (the TransactWriteItems call, retries included).'],
  };
  const lowest = Math.min(...config.levels);
  const highest = Math.max(...config.levels);
  const { aims } = result;
  const ratios: ReportTable = {
    title: 'Ratios',
    columns: ['ratio', 'value', 'aim', 'met'],
    rows: [
      ...result.ratios.map((r) => [`Strata / raw (own heads), C=${r.concurrency}`, formatRatio(r.strataOverRaw), r.concurrency === lowest ? `≥ ${formatRatio(aims.rawRatioAtC1.aim)}` : '', r.concurrency === lowest ? yesNo(aims.rawRatioAtC1.met) : '']),
      ...result.ratios.map((r) => [`Strata / raw (one contended head), C=${r.concurrency}`, formatRatio(r.strataOverContended), '', '']),
      [`Strata C=${highest} / C=${lowest} (group commit speedup)`, formatRatio(result.groupCommitSpeedup), `≥ ${formatRatio(aims.groupCommitSpeedup.aim)}`, yesNo(aims.groupCommitSpeedup.met)],
      [`raw (own heads) C=${highest} / C=${lowest}`, formatRatio(result.rawSpeedup), '', ''],
    ],
    notes: [verificationNote(result)],
  };
  return [throughput, commits, ratios];
}

function verificationNote(result: AppendBenchResult): string {
  const { highWatermark, acknowledgedRecords, matches } = result.verified;
  const rawOk = result.measurements.every((m) => m.headsMatch !== false);
  const strata = matches
    ? `the partition's high watermark (${formatNumber(highWatermark)}) equals the records the clients saw acknowledged`
    : `MISMATCH: the partition's high watermark is ${formatNumber(highWatermark)} but the clients saw ${formatNumber(acknowledgedRecords)} records acknowledged`;
  const raw = rawOk ? 'the raw heads add up to the raw commits acknowledged' : 'MISMATCH in the raw heads (see append.json)';
  return `Checked after the run: ${strata}; ${raw}.`;
}

function yesNo(met: boolean): string {
  return met ? 'yes' : 'NO';
}
