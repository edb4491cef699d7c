/**
 * The cost model of `npm run cost` without I/O: the workload's settings, the tiers and
 * configs it prices, what a measured phase costs at AWS list prices (bench/cost/prices.ts),
 * and the monthly figures derived from a run's result, the same for a run that has just
 * measured and for `npm run cost -- --render`, which redraws docs/cost.md from
 * bench/results/cost.json.
 */
import { EMF_METRICS } from '../../infra/monitoring.js';
import { DEFAULT_STAGE_BYTES, EXPRESS_STAGE_BYTES, MAX_TAIL_ITEM_BYTES, ORPHAN_SCAN_INTERVAL_MS } from '../../lib/core/constants.js';
import { PER_CALL_MS, S3_EXPRESS_REQUEST_MS, S3_STANDARD_REQUEST_MS, TRANSACT_WRITE_EXTRA_MS } from '../harness/latency-model.js';
import { formatUsd } from '../harness/stats.js';
import type { Usage } from '../harness/usage-meter.js';
import type { MachineInfo } from '../report/report.js';
import { DAYS_PER_MONTH, HOURS_PER_MONTH, PRICES } from './prices.js';
import type { BatchingResult } from './producer-batching.js';
import type { SequencerCostResult } from './sequencer-cost.js';

export const KIB = 1024;
export const MIB = 1024 * KIB;
export const PARTITIONS = 4;
export const VALUE_BYTES = KIB;
export const CONCURRENCY = 4;
/** Batch sizes measured, in 1 KiB records per request. */
export const BATCH_RECORDS = [1, 4, 16, 64, 256, 1024];
/** Per measured point: about this many bytes of values, and at least MIN_REQUESTS requests. */
export const POINT_BYTES = { quick: 1 * MIB, full: 4 * MIB };
export const MIN_REQUESTS = 32;
/** The append function's trigger fires at flushBytes (4 MiB): segments of about that size. */
export const SEGMENT_BYTES = 4 * MIB;
/** The StrataLog construct's default memory for every function (infra/strata-log.ts). */
export const LAMBDA_MEMORY_GB = 1;
/**
 * Alarm metrics and dashboards the construct creates, as billed: 17 alarms
 * (test/infra/strata-log.test.ts counts them), two of them metric math over two metrics.
 */
export const ALARMS = 19;
export const DASHBOARDS = 1;
/**
 * EMF metrics every scheduled compact run publishes (infra/monitoring.ts EMF_METRICS.compact,
 * dimension service): billed as custom metrics whenever published. The HTTP metrics exist
 * only for the hours a route is called, so at idle they cost nothing.
 */
export const IDLE_CUSTOM_METRICS = EMF_METRICS.compact.length;
/** The schedule's default: every 5 minutes. */
export const SCHEDULED_RUNS_PER_MONTH = 12 * HOURS_PER_MONTH;
/** The billed time of a scheduled root invocation with nothing to dispatch, ms: an estimate. */
export const SCHEDULED_RUN_MS = 100;
/** A settled partition (nothing appended or due) is visited by the schedule once per orphan scan. */
export const IDLE_PASSES_PER_MONTH = (HOURS_PER_MONTH * 3_600_000) / ORPHAN_SCAN_INTERVAL_MS;
/** The reference throughputs the comparison is made at, in MiB/s sustained. */
export const THROUGHPUTS_MIB_PER_SEC = [0.01, 0.1, 1, 10];
/** The rate the aims are set at. */
export const AIM_RATE_MIB_PER_SEC = 1;
/**
 * What a tail item holds beyond its batches, bytes: keys, offsets, timestamps, commit id,
 * ttl, and for a staged one its pointer. An estimate (DynamoDB bills item size as the
 * attribute names and values); it matters only for the TTL storage figure.
 */
export const TAIL_ITEM_OVERHEAD_BYTES = 200;

/** What one phase of the workload did. */
export interface Phase {
  name: string;
  /** Lambda invocations (HTTP requests to append/read, or compact passes). */
  invocations: number;
  /** Summed duration of those invocations, ms. */
  lambdaMs: number;
  /** API Gateway requests as metered (512 KB increments of the request); 0 for compact. */
  apiRequests: number;
  usage: Usage;
}

export interface CostBreakdown {
  dynamo: number;
  s3: number;
  lambda: number;
  api: number;
  total: number;
}

/** Handler time per invocation besides its calls (parse, encode, answer), ms: an estimate. */
export const HANDLER_MS = 5;
/** How fast a function moves bytes to and from S3, bytes per ms (50 MB/s, bench/cost/producer-batching.ts's model). */
export const S3_BYTES_PER_MS = 50_000;

/**
 * A phase's billed Lambda time on AWS, ms: its calls at the AWS latency model's times
 * (bench/harness/latency-model.ts: DynamoDB 6 ms a call, 12 for a transaction; S3 Standard 30 ms,
 * S3 Express 5 ms a request; the bytes at 50 MB/s), one after another (an upper bound:
 * the engine overlaps some), plus HANDLER_MS per invocation. Not this machine's wall
 * time: on two cores shared with the emulators, that measured the load more than the
 * design (a staged append took 50 ms here in a quiet run and 300 in a busy one).
 */
export function modelledLambdaMs(phase: Phase): number {
  const { dynamo, s3, s3express } = phase.usage;
  let ms = phase.invocations * HANDLER_MS;
  for (const [name, n] of Object.entries(dynamo.calls))
    ms += n * (PER_CALL_MS + (name === 'TransactWriteItemsCommand' ? TRANSACT_WRITE_EXTRA_MS : 0));
  for (const n of Object.values(s3.calls)) ms += n * S3_STANDARD_REQUEST_MS;
  for (const n of Object.values(s3express.calls)) ms += n * S3_EXPRESS_REQUEST_MS;
  return ms + (s3.bytesUp + s3.bytesDown + s3express.bytesUp + s3express.bytesDown) / S3_BYTES_PER_MS;
}

export function price(phase: Phase): CostBreakdown {
  const { usage } = phase;
  const dynamo = usage.dynamo.writeUnits * PRICES.dynamoWriteRequestUnit.usd + usage.dynamo.readUnits * PRICES.dynamoReadRequestUnit.usd;
  const standard = usage.s3.put * PRICES.s3PutRequest.usd + usage.s3.get * PRICES.s3GetRequest.usd;
  const x = usage.s3express;
  const express =
    x.put * PRICES.s3ExpressPutRequest.usd +
    x.get * PRICES.s3ExpressGetRequest.usd +
    x.delete * PRICES.s3ExpressDeleteRequest.usd +
    (x.bytesUp / 1e9) * PRICES.s3ExpressUploadGb.usd +
    (x.bytesDown / 1e9) * PRICES.s3ExpressRetrievalGb.usd;
  const lambda =
    phase.invocations * PRICES.lambdaRequest.usd + (modelledLambdaMs(phase) / 1000) * LAMBDA_MEMORY_GB * PRICES.lambdaArmGbSecond.usd;
  const api = phase.apiRequests * PRICES.httpApiRequest.usd;
  const s3 = standard + express;
  return { dynamo, s3, lambda, api, total: dynamo + s3 + lambda + api };
}

export function scale(c: CostBreakdown, factor: number): CostBreakdown {
  return { dynamo: c.dynamo * factor, s3: c.s3 * factor, lambda: c.lambda * factor, api: c.api * factor, total: c.total * factor };
}

/** Where a batch lives between its append and its flush, measured with a topic (and a stack) each. */
export interface TierSpec {
  id: 'tail' | 'standard' | 'express';
  name: string;
  stageBytes: number;
  /** The local stack runs the staging tier. */
  staging: boolean;
  /** Largest batch the tier holds (a tail item is at most 350 KiB: above it a batch is staged). */
  maxBatchBytes: number;
}

export const TIERS: TierSpec[] = [
  { id: 'tail', name: 'DynamoDB tail', stageBytes: MAX_TAIL_ITEM_BYTES, staging: false, maxBatchBytes: 256 * KIB },
  { id: 'standard', name: 'staged in S3 Standard', stageBytes: KIB, staging: false, maxBatchBytes: Infinity },
  { id: 'express', name: 'staged in S3 Express One Zone', stageBytes: KIB, staging: true, maxBatchBytes: Infinity },
];

/** A deployment and topic config a user picks: which tier a batch of a given size goes to. */
export interface ConfigSpec {
  id: 'default' | 'cost-first' | 'staging-tier' | 'latency-first';
  name: string;
  /** The topics' stageBytes under this config (docs/cost.md says what each config is for). */
  stageBytes: number;
  tier: (batchBytes: number) => TierSpec['id'];
}

export const CONFIGS: ConfigSpec[] = [
  {
    id: 'default',
    name: 'default',
    stageBytes: DEFAULT_STAGE_BYTES,
    tier: (b) => (b > DEFAULT_STAGE_BYTES ? 'standard' : 'tail'),
  },
  {
    id: 'staging-tier',
    name: 'staging tier',
    stageBytes: EXPRESS_STAGE_BYTES,
    tier: (b) => (b > EXPRESS_STAGE_BYTES ? 'express' : 'tail'),
  },
  {
    id: 'cost-first',
    name: 'cost-first',
    stageBytes: KIB,
    tier: () => 'standard',
  },
  {
    id: 'latency-first',
    name: 'latency-first',
    stageBytes: MAX_TAIL_ITEM_BYTES,
    tier: (b) => (b > MAX_TAIL_ITEM_BYTES ? 'standard' : 'tail'),
  },
];

/** One tier at one batch size, through every phase. */
export interface Point {
  tier: TierSpec['id'];
  batchBytes: number;
  requests: number;
  gib: number;
  phases: Phase[];
  perGib: Record<string, CostBreakdown>;
  /** $ per GiB: ingest (append + flush), the reads, retention, and the tail kept by TTL. */
  strata: { ingest: number; readTail: number; readSegments: number; retain24h: number; retain7d: number; tailTtl: number; apiTail: number };
  storedGibPerGib: number;
  /** Bytes DynamoDB holds per GiB of values until TTL removes the flushed items. */
  tailBytesPerGib: number;
}

/** ingest + one tail read + 24 h retention: the workload the aims are set on. */
export const headline = (s: Point['strata']) => s.ingest + s.readTail + s.retain24h + s.tailTtl;
/** ingest + one catch-up read of the segments + 7 days. */
export const catchUp = (s: Point['strata']) => s.ingest + s.readSegments + s.retain7d + s.tailTtl;

/**
 * $ per GiB of a tier at `batchBytes`, between the measured sizes: linear in 1/size,
 * since what a request costs is paid once per batch and what a byte costs once per byte.
 * Below the smallest size measured it is extrapolated the same way; above the largest, the
 * largest's. Undefined when the tier cannot hold such a batch.
 */
export function perGibAt(points: Point[], tier: TierSpec['id'], batchBytes: number, f: (s: Point['strata']) => number): number | undefined {
  const measured = points.filter((p) => p.tier === tier).sort((a, b) => a.batchBytes - b.batchBytes);
  const spec = TIERS.find((t) => t.id === tier)!;
  if (measured.length === 0 || batchBytes > spec.maxBatchBytes * 1.25) return undefined;
  if (batchBytes >= measured.at(-1)!.batchBytes) return f(measured.at(-1)!.strata);
  let i = measured.findIndex((p) => p.batchBytes >= batchBytes);
  if (i <= 0) i = 1;
  const [a, b] = [measured[i - 1]!, measured[i]!];
  const t = (1 / batchBytes - 1 / a.batchBytes) / (1 / b.batchBytes - 1 / a.batchBytes);
  return f(a.strata) + t * (f(b.strata) - f(a.strata));
}

export interface Policies {
  /** COST_MODEL_POLICIES at AIM_RATE_MIB_PER_SEC. */
  atAimRate: BatchingResult[];
  /** The default policy at each of THROUGHPUTS_MIB_PER_SEC. */
  byRate: { rate: number; result: BatchingResult }[];
}

export type CostResult = {
  command: string;
  quick: boolean;
  workload: {
    pointBytes: number;
    minRequests: number;
    partitions: number;
    batchRecords: number[];
    valueBytes: number;
    concurrency: number;
    segmentBytes: number;
  };
  points: Point[];
  policies: Policies;
  idle: {
    perPassPerPartition: CostBreakdown;
    monthlyPerPartition: number;
    monthlyFixed: number;
    usagePerPass: { dynamo: Record<string, number>; s3: Record<string, number> };
  };
  machine: MachineInfo;
  /** Write units per append by sequencer, K independent writers on one partition. */
  sequencers: SequencerCostResult;
};

/** One config at one rate under one producer policy, per month. */
export interface MonthlyRow {
  config: ConfigSpec['id'];
  policy: string;
  rate: number;
  batchBytes: number;
  requestsPerSecond: number;
  ackP99Ms: number;
  perGib: number | undefined;
  usd: number | undefined;
}

export interface Model {
  fixed: number;
  atAimRate: MonthlyRow[];
  byRate: MonthlyRow[];
  kinesis: {
    rate: number;
    onDemand: number;
    provisioned: number;
    onDemand7: number;
    provisioned7: number;
    shards: number;
    gibPerMonth: number;
  }[];
  aims: { name: string; aim: string; figure: string; met: boolean }[];
}

/** $ per GiB of a config at a batch size: the tier it sends such a batch to. */
export function configPerGib(
  points: Point[],
  config: ConfigSpec,
  batchBytes: number,
  f: (s: Point['strata']) => number,
): number | undefined {
  return perGibAt(points, config.tier(batchBytes), batchBytes, f);
}

export function monthly(r: CostResult): Model {
  const fixed = r.idle.monthlyFixed + r.idle.monthlyPerPartition * PARTITIONS;
  const row = (config: ConfigSpec, policy: string, rate: number, b: BatchingResult): MonthlyRow => {
    const perGib = configPerGib(r.points, config, b.meanBatchBytes, headline);
    const gibPerMonth = (rate * 3600 * HOURS_PER_MONTH) / 1024;
    return {
      config: config.id,
      policy,
      rate,
      batchBytes: b.meanBatchBytes,
      requestsPerSecond: b.requestsPerSecond,
      ackP99Ms: b.ackP99Ms,
      perGib,
      usd: perGib === undefined ? undefined : fixed + gibPerMonth * perGib,
    };
  };
  const atAimRate = CONFIGS.flatMap((c) => r.policies.atAimRate.map((b) => row(c, b.label, AIM_RATE_MIB_PER_SEC, b)));
  const byRate = CONFIGS.flatMap((c) => r.policies.byRate.map(({ rate, result }) => row(c, 'default', rate, result)));
  const kinesisRows = THROUGHPUTS_MIB_PER_SEC.map((rate) => {
    const k1 = kinesis(rate, 1);
    const k7 = kinesis(rate, 7);
    return {
      rate,
      onDemand: k1.onDemand,
      provisioned: k1.provisioned,
      onDemand7: k7.onDemand,
      provisioned7: k7.provisioned,
      shards: k1.shards,
      gibPerMonth: k1.gibPerMonth,
    };
  });
  const k = kinesisRows.find((x) => x.rate === AIM_RATE_MIB_PER_SEC)!;
  const defaults = atAimRate.filter((x) => x.policy === defaultPolicyLabel(r));
  const best = defaults.filter((x) => x.usd !== undefined).sort((a, b) => a.usd! - b.usd!)[0]!;
  const defaultConfig = defaults.find((x) => x.config === 'default')!;
  const aims = [
    {
      name: 'best config, default producer policy',
      aim: `≤ 1.0× Kinesis provisioned (${formatUsd(k.provisioned)})`,
      figure: `${configName(best.config)}: ${formatUsd(best.usd!)} = ${(best.usd! / k.provisioned).toFixed(2)}×`,
      met: best.usd! <= k.provisioned,
    },
    {
      name: 'default config, default producer policy',
      aim: `≤ Kinesis on-demand (${formatUsd(k.onDemand)})`,
      figure: `${formatUsd(defaultConfig.usd!)} = ${(defaultConfig.usd! / k.onDemand).toFixed(2)}× on-demand`,
      met: defaultConfig.usd! <= k.onDemand,
    },
  ];
  return { fixed, atAimRate, byRate, kinesis: kinesisRows, aims };
}

export function defaultPolicyLabel(r: CostResult): string {
  return r.policies.atAimRate.find((b) => /default/.test(b.label))!.label;
}

export function tierName(id: TierSpec['id']): string {
  return TIERS.find((t) => t.id === id)!.name;
}

export function configName(id: ConfigSpec['id']): string {
  return CONFIGS.find((c) => c.id === id)!.name;
}

/** Kinesis Data Streams for the same workload (1 KiB records, one standard consumer). */
export function kinesis(mibPerSec: number, days: 1 | 7) {
  const gibPerMonth = (mibPerSec * 3600 * HOURS_PER_MONTH) / 1024;
  const onDemand =
    PRICES.kinesisOnDemandStreamHour.usd * HOURS_PER_MONTH +
    gibPerMonth * (PRICES.kinesisOnDemandDataInGb.usd + PRICES.kinesisOnDemandDataOutGb.usd) +
    (days === 7 ? gibPerMonth * PRICES.kinesisOnDemandExtendedRetentionGbMonth.usd * (6 / DAYS_PER_MONTH) : 0);
  // A shard takes 1 MB/s or 1,000 records/s: with 1 KiB records, the records limit binds.
  const shards = Math.max(1, Math.ceil((mibPerSec * 1024) / 1000));
  const records = gibPerMonth * 1024 * 1024;
  const provisioned =
    shards * HOURS_PER_MONTH * (PRICES.kinesisShardHour.usd + (days === 7 ? PRICES.kinesisExtendedRetentionShardHour.usd : 0)) +
    records * PRICES.kinesisPutPayloadUnit.usd;
  return { gibPerMonth, onDemand, provisioned, shards };
}

export function scaleCalls(calls: Record<string, number>, factor: number): Record<string, number> {
  return Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, v * factor]));
}
