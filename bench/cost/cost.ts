/**
 * `npm run cost` (`-- --quick` for a smaller workload): what one GiB through Strata costs
 * on AWS, from the requests the engine actually made.
 *
 * It runs a workload on the local stack, configured as the construct deploys it (the
 * reserving sequencer, tail items removed by DynamoDB TTL), with a usage meter
 * (bench/harness/usage-meter.ts, an SDK middleware around the real calls) on the engine's
 * DynamoDB and S3 clients, in phases: ingest over HTTP, a live consumer reading the tail,
 * the flushes the compact function would run, a catch-up consumer reading the segments.
 * It does so for each place a batch can live (the DynamoDB tail, staged in S3 Standard,
 * staged in the S3 Express One Zone tier) at batch sizes from 1 KiB to 1 MiB, and counts
 * per phase the DynamoDB request units, S3 requests and bytes, Lambda invocations and
 * their duration (the HTTP request time measured by the client: an upper bound of the
 * billed duration) and API Gateway requests, then prices them (bench/cost/prices.ts) per GiB.
 *
 * What batch size a workload gets comes from the client producer's batching policy: the
 * real Producer in virtual time against a modelled append (bench/cost/producer-batching.ts),
 * at each rate. $ per GiB at that size is interpolated between the measured sizes
 * (linearly in 1/size: the per-request costs scale with it), and priced per month next
 * to Kinesis Data Streams for the same workload.
 *
 * Then, with the stack stopped, the write units per append of each sequencer when K
 * independent writers share one partition (bench/cost/sequencer-cost.ts, on the contention
 * suite's worker processes), wasted attempts included. It writes docs/cost.md,
 * docs/charts/cost-batch-size.svg and bench/results/cost.json.
 */
import { writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fanOutCostSection } from './fanout-cost.js';
import { pushCostSection } from './push-cost.js';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { checkJava, localDynamoClient } = await import('../../local/emulators.js');
const { startLocalStack } = await import('../../local/stack.js');
const { DynamoLogStore } = await import('../../lib/aws/dynamo-log-store.js');
const { DEFAULT_STAGE_BYTES, DEFAULT_TAIL_TTL_MS, EXPRESS_STAGE_BYTES, MAX_TAIL_ITEM_BYTES, ORPHAN_SCAN_INTERVAL_MS } = await import(
  '../../lib/core/constants.js'
);
const { UsageMeter, diffUsage } = await import('../harness/usage-meter.js');
const { DAYS_PER_MONTH, GIB, HOURS_PER_MONTH, HTTP_API_METERING_BYTES, PRICES, PRICES_AS_OF, PRICES_REGION } = await import('./prices.js');
const { machineInfo, machineLine, renderMarkdown, renderText, writeJson } = await import('../report/report.js');
const { formatUsd } = await import('../harness/stats.js');
const { logLogChart } = await import('../report/charts.js');
const { EMF_METRICS } = await import('../../infra/monitoring.js');
const { PER_CALL_MS, S3_EXPRESS_REQUEST_MS, S3_STANDARD_REQUEST_MS, TRANSACT_WRITE_EXTRA_MS } = await import('../harness/latency-model.js');
const { BATCH_SHAPE, SINGLE_RECORD_SHAPE } = await import('../suites/contention-modes.js');
const { appendCostTables, runSequencerCost } = await import('./sequencer-cost.js');
const { COST_MODEL_POLICIES, batchingTable, simulateProducerBatching } = await import('./producer-batching.js');
type Usage = import('../harness/usage-meter.js').Usage;
type ReportTable = import('../report/report.js').ReportTable;
type SequencerCostResult = import('./sequencer-cost.js').SequencerCostResult;
type BatchingResult = import('./producer-batching.js').BatchingResult;

const KIB = 1024;
const MIB = 1024 * KIB;
const PARTITIONS = 4;
const VALUE_BYTES = KIB;
const CONCURRENCY = 4;
/** Batch sizes measured, in 1 KiB records per request. */
const BATCH_RECORDS = [1, 4, 16, 64, 256, 1024];
/** Per measured point: about this many bytes of values, and at least MIN_REQUESTS requests. */
const POINT_BYTES = { quick: 1 * MIB, full: 4 * MIB };
const MIN_REQUESTS = 32;
/** The append function's trigger fires at flushBytes (4 MiB): segments of about that size. */
const SEGMENT_BYTES = 4 * MIB;
/** The StrataLog construct's default memory for every function (infra/strata-log.ts). */
const LAMBDA_MEMORY_GB = 1;
/**
 * Alarm metrics and dashboards the construct creates, as billed: 17 alarms
 * (test/infra/strata-log.test.ts counts them), two of them metric math over two metrics.
 */
const ALARMS = 19;
const DASHBOARDS = 1;
/**
 * EMF metrics every scheduled compact run publishes (infra/monitoring.ts EMF_METRICS.compact,
 * dimension service): billed as custom metrics whenever published. The HTTP metrics exist
 * only for the hours a route is called, so at idle they cost nothing.
 */
const IDLE_CUSTOM_METRICS = EMF_METRICS.compact.length;
/** The schedule's default: every 5 minutes. */
const SCHEDULED_RUNS_PER_MONTH = 12 * HOURS_PER_MONTH;
/** A settled partition (nothing appended or due) is visited by the schedule once per orphan scan. */
const IDLE_PASSES_PER_MONTH = (HOURS_PER_MONTH * 3_600_000) / ORPHAN_SCAN_INTERVAL_MS;
/** The reference throughputs the comparison is made at, in MiB/s sustained. */
const THROUGHPUTS_MIB_PER_SEC = [0.01, 0.1, 1, 10];
/** The rate the issue's aims are set at. */
const AIM_RATE_MIB_PER_SEC = 1;
/**
 * What a tail item holds beyond its batches, bytes: keys, offsets, timestamps, commit id,
 * ttl, and for a staged one its pointer. An estimate (DynamoDB bills item size as the
 * attribute names and values); it matters only for the TTL storage figure.
 */
const TAIL_ITEM_OVERHEAD_BYTES = 200;
/**
 * Write units per append by sequencer (bench/cost/sequencer-cost.ts): per mode and K, a window
 * of `durationMs` after `warmupMs`. The quick windows are short (a few acks at K=32) to keep
 * the section under two minutes.
 */
const FULL_SEQUENCERS = { warmupMs: 1000, durationMs: 8000, poolWarmupMs: 2000 };
const QUICK_SEQUENCERS = { warmupMs: 500, durationMs: 2000, poolWarmupMs: 1000 };

const DOCS_PATH = fileURLToPath(new URL('../../docs/cost.md', import.meta.url));
const CHART_PATH = fileURLToPath(new URL('../../docs/charts/cost-batch-size.svg', import.meta.url));
const RESULTS_PATH = fileURLToPath(new URL('../results/cost.json', import.meta.url));

/** What one phase of the workload did. */
interface Phase {
  name: string;
  /** Lambda invocations (HTTP requests to append/read, or compact passes). */
  invocations: number;
  /** Summed duration of those invocations, ms. */
  lambdaMs: number;
  /** API Gateway requests as metered (512 KB increments of the request); 0 for compact. */
  apiRequests: number;
  usage: Usage;
}

interface CostBreakdown {
  dynamo: number;
  s3: number;
  lambda: number;
  api: number;
  total: number;
}

/** Handler time per invocation besides its calls (parse, encode, answer), ms: an estimate. */
const HANDLER_MS = 5;
/** How fast a function moves bytes to and from S3, bytes per ms (50 MB/s, bench/cost/producer-batching.ts's model). */
const S3_BYTES_PER_MS = 50_000;

/**
 * A phase's billed Lambda time on AWS, ms: its calls at the AWS latency model's times
 * (bench/harness/latency-model.ts: DynamoDB 6 ms a call, 12 for a transaction; S3 Standard 30 ms,
 * S3 Express 5 ms a request; the bytes at 50 MB/s), one after another (an upper bound:
 * the engine overlaps some), plus HANDLER_MS per invocation. Not this machine's wall
 * time: on two cores shared with the emulators, that measured the load more than the
 * design (a staged append took 50 ms here in a quiet run and 300 in a busy one).
 */
function modelledLambdaMs(phase: Phase): number {
  const { dynamo, s3, s3express } = phase.usage;
  let ms = phase.invocations * HANDLER_MS;
  for (const [name, n] of Object.entries(dynamo.calls))
    ms += n * (PER_CALL_MS + (name === 'TransactWriteItemsCommand' ? TRANSACT_WRITE_EXTRA_MS : 0));
  for (const n of Object.values(s3.calls)) ms += n * S3_STANDARD_REQUEST_MS;
  for (const n of Object.values(s3express.calls)) ms += n * S3_EXPRESS_REQUEST_MS;
  return ms + (s3.bytesUp + s3.bytesDown + s3express.bytesUp + s3express.bytesDown) / S3_BYTES_PER_MS;
}

function price(phase: Phase): CostBreakdown {
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

function scale(c: CostBreakdown, factor: number): CostBreakdown {
  return { dynamo: c.dynamo * factor, s3: c.s3 * factor, lambda: c.lambda * factor, api: c.api * factor, total: c.total * factor };
}

/** Where a batch lives between its append and its flush, measured with a topic (and a stack) each. */
interface TierSpec {
  id: 'tail' | 'standard' | 'express';
  name: string;
  stageBytes: number;
  /** The local stack runs the staging tier. */
  staging: boolean;
  /** Largest batch the tier holds (a tail item is at most 350 KiB: above it a batch is staged). */
  maxBatchBytes: number;
}

const TIERS: TierSpec[] = [
  { id: 'tail', name: 'DynamoDB tail', stageBytes: MAX_TAIL_ITEM_BYTES, staging: false, maxBatchBytes: 256 * KIB },
  { id: 'standard', name: 'staged in S3 Standard', stageBytes: KIB, staging: false, maxBatchBytes: Infinity },
  { id: 'express', name: 'staged in S3 Express One Zone', stageBytes: KIB, staging: true, maxBatchBytes: Infinity },
];

/** A deployment and topic config a user picks: which tier a batch of a given size goes to. */
interface ConfigSpec {
  id: 'default' | 'cost-first' | 'staging-tier' | 'latency-first';
  name: string;
  description: string;
  tier: (batchBytes: number) => TierSpec['id'];
}

const CONFIGS: ConfigSpec[] = [
  {
    id: 'default',
    name: 'default',
    description: `the construct's defaults: stageBytes ${DEFAULT_STAGE_BYTES / KIB} KiB, batches up to it in the DynamoDB tail, larger ones staged in S3 Standard`,
    tier: (b) => (b > DEFAULT_STAGE_BYTES ? 'standard' : 'tail'),
  },
  {
    id: 'staging-tier',
    name: 'staging tier',
    description: `stagingAvailabilityZoneId set: new topics' stageBytes ${EXPRESS_STAGE_BYTES / KIB} KiB, larger batches staged in S3 Express One Zone`,
    tier: (b) => (b > EXPRESS_STAGE_BYTES ? 'express' : 'tail'),
  },
  {
    id: 'cost-first',
    name: 'cost-first',
    description: 'stageBytes 1 KiB: every batch staged in S3 Standard',
    tier: () => 'standard',
  },
  {
    id: 'latency-first',
    name: 'latency-first',
    description: `stageBytes ${MAX_TAIL_ITEM_BYTES / KIB} KiB (the default before issue 15): every batch up to it in the DynamoDB tail`,
    tier: (b) => (b > MAX_TAIL_ITEM_BYTES ? 'standard' : 'tail'),
  },
];

/** One tier at one batch size, through every phase. */
interface Point {
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
const headline = (s: Point['strata']) => s.ingest + s.readTail + s.retain24h + s.tailTtl;
/** ingest + one catch-up read of the segments + 7 days. */
const catchUp = (s: Point['strata']) => s.ingest + s.readSegments + s.retain7d + s.tailTtl;

type Stack = Awaited<ReturnType<typeof startLocalStack>>;
type Meter = InstanceType<typeof UsageMeter>;

async function post(url: string, path: string, body: unknown): Promise<{ ms: number; bytes: number }> {
  const text = JSON.stringify(body);
  const started = performance.now();
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: text });
  const answer = await res.text();
  if (res.status >= 300) throw new Error(`${path} → ${res.status} ${answer.slice(0, 200)}`);
  return { ms: performance.now() - started, bytes: Buffer.byteLength(text) };
}

async function measurePoint(
  stack: Stack,
  meter: Meter,
  tier: TierSpec,
  records: number,
  pointBytes: number,
  log: (line: string) => void,
): Promise<Point> {
  const url = stack.url;
  const topic = `cost-${tier.id}-${records}`;
  await post(url, '/v1/topics', {
    name: topic,
    partitions: PARTITIONS,
    config: { flushBytes: 1024 * MIB, segmentBytes: SEGMENT_BYTES, stageBytes: tier.stageBytes },
  });
  const meta = await stack.engine.topics.get(topic);
  const batchBytes = records * VALUE_BYTES;
  const requests = Math.max(MIN_REQUESTS, Math.ceil(pointBytes / batchBytes));
  log(`  ${tier.name}, ${batchBytes / KIB} KiB batches: ${requests} requests`);

  // 1. Ingest: batches of 1 KiB records, C=4, round-robin over the partitions.
  const value = 'v'.repeat(VALUE_BYTES);
  const body = { records: Array.from({ length: records }, () => ({ value })) };
  let before = meter.snapshot();
  let next = 0;
  const ingest: Phase = { name: 'ingest (append function)', invocations: 0, lambdaMs: 0, apiRequests: 0, usage: before };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests) {
        const partition = next++ % PARTITIONS;
        const r = await post(url, `/v1/topics/${topic}/partitions/${partition}/records`, body);
        ingest.invocations++;
        ingest.lambdaMs += r.ms;
        ingest.apiRequests += Math.ceil(r.bytes / HTTP_API_METERING_BYTES);
      }
    }),
  );
  ingest.usage = diffUsage(meter.snapshot(), before);
  const valueBytes = requests * batchBytes;
  const gib = valueBytes / GIB;

  // What DynamoDB keeps until TTL removes the flushed items (read outside the meter's clients).
  const store = new DynamoLogStore(localDynamoClient(stack.dynamoEndpoint), stack.tableName);
  let tailBytes = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    const items = await store.queryTail({ topic, topicId: meta.topicId, partition: p }, 0, { maxRecords: Infinity, maxBytes: Infinity });
    tailBytes += items.reduce((n, i) => n + i.data.byteLength + TAIL_ITEM_OVERHEAD_BYTES, 0);
  }

  // 2. A live consumer: reads the tail (default maxBytes 1 MiB).
  const tailRead = await readAll(url, topic, 'tail read (read function)', 1 * MIB, meter);

  // 3. Flushes: one compact invocation per segment, as the append trigger asks for them.
  before = meter.snapshot();
  const flush: Phase = { name: 'flush (compact function)', invocations: 0, lambdaMs: 0, apiRequests: 0, usage: before };
  for (let p = 0; p < PARTITIONS; p++) {
    for (;;) {
      const started = performance.now();
      // As Lambda retries a failed asynchronous compact invocation (twice): s3rver on a busy
      // machine resets a connection now and then.
      const r = await retried(() => stack.engine.flusher!.flushPartition(meta, p, { force: true, maxSegments: 1 }));
      if (r.segments === 0) break;
      flush.invocations++;
      flush.lambdaMs += performance.now() - started;
    }
  }
  flush.usage = diffUsage(meter.snapshot(), before);

  // 4. A catch-up consumer: reads the segments (maxBytes 5 MiB).
  const segmentRead = await readAll(url, topic, 'catch-up read (read function, S3 segments)', 5 * MIB, meter);

  // 5. What is stored: the segments (S3) for the retention period (stats written by a pass).
  for (let p = 0; p < PARTITIONS; p++) await retried(() => stack.engine.maintenance!.runPartition(topic, p));
  const described = await stack.engine.topics.describe(topic);
  const segmentBytes = described.partitionStates.reduce((n, p) => n + p.segmentBytes, 0);
  const storedGibPerGib = segmentBytes / valueBytes;
  const tailBytesPerGib = tailBytes / gib;

  const phases = [ingest, tailRead, flush, segmentRead];
  const perGib = Object.fromEntries(phases.map((p) => [p.name, scale(price(p), 1 / gib)])) as Record<string, CostBreakdown>;
  const retain = (days: number) => storedGibPerGib * PRICES.s3StorageGbMonth.usd * (days / DAYS_PER_MONTH);
  const ttlDays = DEFAULT_TAIL_TTL_MS / 86_400_000;
  return {
    tier: tier.id,
    batchBytes,
    requests,
    gib,
    phases,
    perGib,
    storedGibPerGib,
    tailBytesPerGib,
    strata: {
      ingest: perGib[ingest.name]!.total + perGib[flush.name]!.total,
      readTail: perGib[tailRead.name]!.total,
      readSegments: perGib[segmentRead.name]!.total,
      retain24h: retain(1),
      retain7d: retain(7),
      tailTtl: (tailBytesPerGib / 1e9) * PRICES.dynamoStorageGbMonth.usd * (ttlDays / DAYS_PER_MONTH),
      // API Gateway's part of the headline workload (ingest and the tail read): what function URLs save.
      apiTail: perGib[ingest.name]!.api + perGib[tailRead.name]!.api,
    },
  };
}

/** `call`, tried up to three times, as Lambda tries an asynchronous invocation. */
async function retried<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

/** Every tier at every batch size it holds; the idle pass on the first stack. */
async function measureStacks(pointBytes: number, log: (line: string) => void): Promise<{ points: Point[]; idle: Phase }> {
  const points: Point[] = [];
  let idle: Phase | undefined;
  for (const staging of [false, true]) {
    const meter = new UsageMeter();
    // As deployed: the reserving sequencer; tail items expire by TTL (the local stack's default).
    const stack = await startLocalStack({
      port: 0,
      staging,
      engine: { sequencing: 'reserve' },
      instrumentClients: (clients) => meter.install(clients),
    });
    try {
      for (const tier of TIERS.filter((t) => t.staging === staging)) {
        log(`\n${tier.name}`);
        for (const records of BATCH_RECORDS) {
          if (records * VALUE_BYTES > tier.maxBatchBytes) continue;
          points.push(await measurePoint(stack, meter, tier, records, pointBytes, log));
        }
      }
      if (!idle) {
        // An idle maintenance pass per partition: what the 5-minute schedule costs when nothing happens.
        const topic = `cost-${TIERS[0]!.id}-${BATCH_RECORDS[0]}`;
        const before = meter.snapshot();
        idle = { name: 'idle maintenance pass (per partition)', invocations: 0, lambdaMs: 0, apiRequests: 0, usage: before };
        for (let p = 0; p < PARTITIONS; p++) {
          const started = performance.now();
          await stack.engine.maintenance!.runPartition(topic, p);
          idle.invocations++;
          idle.lambdaMs += performance.now() - started;
        }
        idle.usage = diffUsage(meter.snapshot(), before);
      }
    } finally {
      await stack.stop();
    }
  }
  return { points, idle: idle! };
}

/**
 * $ per GiB of a tier at `batchBytes`, between the measured sizes: linear in 1/size,
 * since what a request costs is paid once per batch and what a byte costs once per byte.
 * Below the smallest size measured it is extrapolated the same way; above the largest, the
 * largest's. Undefined when the tier cannot hold such a batch.
 */
function perGibAt(points: Point[], tier: TierSpec['id'], batchBytes: number, f: (s: Point['strata']) => number): number | undefined {
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

interface Policies {
  /** COST_MODEL_POLICIES at AIM_RATE_MIB_PER_SEC. */
  atAimRate: BatchingResult[];
  /** The default policy at each of THROUGHPUTS_MIB_PER_SEC. */
  byRate: { rate: number; result: BatchingResult }[];
}

async function simulatePolicies(): Promise<Policies> {
  const atAimRate: BatchingResult[] = [];
  for (const policy of COST_MODEL_POLICIES)
    atAimRate.push(await simulateProducerBatching({ ...policy, bytesPerSecond: AIM_RATE_MIB_PER_SEC * MIB, partitions: PARTITIONS }));
  const byRate: Policies['byRate'] = [];
  for (const rate of THROUGHPUTS_MIB_PER_SEC) {
    // Slow rates need a longer window for enough requests.
    const durationMs = rate < 0.1 ? 120_000 : rate < 1 ? 30_000 : 10_000;
    byRate.push({
      rate,
      result: await simulateProducerBatching({
        label: `${rate} MiB/s`,
        producer: {},
        bytesPerSecond: rate * MIB,
        partitions: PARTITIONS,
        durationMs,
      }),
    });
  }
  return { atAimRate, byRate };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  const quick = values.quick === true;
  const pointBytes = quick ? POINT_BYTES.quick : POINT_BYTES.full;
  const command = quick ? 'npm run cost -- --quick' : 'npm run cost';
  const log = (line: string) => console.log(line);
  await checkJava();
  log('producer batching policies (virtual time)');
  const policies = await simulatePolicies();
  const { points, idle } = await measureStacks(pointBytes, log);
  // After the stacks have stopped: the harness starts its own DynamoDB Local and K worker processes.
  log('\nwrite units per append, by sequencer: K processes on one partition');
  const sequencers = await runSequencerCost(
    { shapes: [SINGLE_RECORD_SHAPE, BATCH_SHAPE], ...(quick ? QUICK_SEQUENCERS : FULL_SEQUENCERS) },
    log,
  );
  const idlePerPass = scale(price(idle), 1 / PARTITIONS);
  const result: Result = {
    command,
    quick,
    machine: machineInfo(),
    workload: {
      pointBytes,
      minRequests: MIN_REQUESTS,
      partitions: PARTITIONS,
      batchRecords: BATCH_RECORDS,
      valueBytes: VALUE_BYTES,
      concurrency: CONCURRENCY,
      segmentBytes: SEGMENT_BYTES,
    },
    points,
    policies,
    idle: {
      perPassPerPartition: idlePerPass,
      monthlyPerPartition: idlePerPass.total * IDLE_PASSES_PER_MONTH,
      monthlyFixed:
        SCHEDULED_RUNS_PER_MONTH * (PRICES.lambdaRequest.usd + 0.1 * LAMBDA_MEMORY_GB * PRICES.lambdaArmGbSecond.usd) +
        ALARMS * PRICES.cloudWatchAlarmMonth.usd +
        DASHBOARDS * PRICES.cloudWatchDashboardMonth.usd +
        IDLE_CUSTOM_METRICS * PRICES.cloudWatchMetricMonth.usd,
      usagePerPass: { dynamo: scaleCalls(idle.usage.dynamo.calls, 1 / PARTITIONS), s3: scaleCalls(idle.usage.s3.calls, 1 / PARTITIONS) },
    },
    sequencers,
  };
  const model = monthly(result);
  const tables = costTables(result, model);
  const sequencerTables = appendCostTables(sequencers);
  for (const t of [...tables, ...sequencerTables]) log(`\n${renderText(t)}`);
  await writeFile(CHART_PATH, batchSizeChart(result, model));
  await writeFile(DOCS_PATH, renderDoc(result, model, tables, sequencerTables));
  await writeJson(RESULTS_PATH, { ...result, model });
  log(`\nWrote ${DOCS_PATH}, ${CHART_PATH} and ${RESULTS_PATH}`);
}

/** Reads every partition from offset 0 to its high watermark over HTTP. */
async function readAll(url: string, topic: string, name: string, maxBytes: number, meter: Meter): Promise<Phase> {
  const before = meter.snapshot();
  const phase: Phase = { name, invocations: 0, lambdaMs: 0, apiRequests: 0, usage: before };
  for (let p = 0; p < PARTITIONS; p++) {
    let offset = 0;
    for (;;) {
      const started = performance.now();
      const res = await fetch(`${url}/v1/topics/${topic}/partitions/${p}/records?offset=${offset}&maxRecords=10000&maxBytes=${maxBytes}`);
      const page = (await res.json()) as { nextOffset: number; highWatermark: number };
      phase.invocations++;
      phase.apiRequests++;
      phase.lambdaMs += performance.now() - started;
      offset = page.nextOffset;
      if (offset >= page.highWatermark) break;
    }
  }
  phase.usage = diffUsage(meter.snapshot(), before);
  return phase;
}

type Result = {
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
  machine: ReturnType<typeof machineInfo>;
  /** Write units per append by sequencer, K independent writers on one partition. */
  sequencers: SequencerCostResult;
};

/** One config at one rate under one producer policy, per month. */
interface MonthlyRow {
  config: ConfigSpec['id'];
  policy: string;
  rate: number;
  batchBytes: number;
  requestsPerSecond: number;
  ackP99Ms: number;
  perGib: number | undefined;
  usd: number | undefined;
}

interface Model {
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
function configPerGib(points: Point[], config: ConfigSpec, batchBytes: number, f: (s: Point['strata']) => number): number | undefined {
  return perGibAt(points, config.tier(batchBytes), batchBytes, f);
}

function monthly(r: Result): Model {
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

function defaultPolicyLabel(r: Result): string {
  return r.policies.atAimRate.find((b) => /default/.test(b.label))!.label;
}

function tierName(id: TierSpec['id']): string {
  return TIERS.find((t) => t.id === id)!.name;
}

function configName(id: ConfigSpec['id']): string {
  return CONFIGS.find((c) => c.id === id)!.name;
}

/** Kinesis Data Streams for the same workload (1 KiB records, one standard consumer). */
function kinesis(mibPerSec: number, days: 1 | 7) {
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

function scaleCalls(calls: Record<string, number>, factor: number): Record<string, number> {
  return Object.fromEntries(Object.entries(calls).map(([k, v]) => [k, v * factor]));
}

function callList(calls: Record<string, number>): string {
  return Object.entries(calls)
    .map(([name, n]) => `${Number.isInteger(n) ? n : n.toFixed(1)} ${name.replace(/Command$/, '')}`)
    .join(', ');
}

const kib = (bytes: number) => (bytes >= 100 * KIB ? (bytes / KIB).toFixed(0) : (bytes / KIB).toFixed(1));
const usdOrDash = (usd: number | undefined) => (usd === undefined ? '—' : formatUsd(usd));

function costTables(r: Result, m: Model): ReportTable[] {
  const k = m.kinesis.find((x) => x.rate === AIM_RATE_MIB_PER_SEC)!;
  const aims: ReportTable = {
    title: `The aims, at ${AIM_RATE_MIB_PER_SEC} MiB/s of 1 KiB records on ${PARTITIONS} partitions, ingest + one read + 24 h retention, per month`,
    columns: ['aim', 'target', 'measured', 'met'],
    rows: m.aims.map((a) => [a.name, a.aim, a.figure, a.met ? 'yes' : 'no']),
    notes: [
      `The client producer's default policy makes ${kib(m.atAimRate.find((x) => x.policy === defaultPolicyLabel(r))!.batchBytes)} KiB batches at this rate (below, "Batches the producer makes").`,
      'The best config is the cheapest of the configs below under that policy; the default config is the construct and topic config as they come.',
      'Why the best config is not under Kinesis provisioned: every request is billed (API Gateway, Lambda, DynamoDB write units, a PUT), and at this rate the producer\'s batches carry too few bytes per request; it takes about 1 MiB batches (the table by batch size), i.e. requests carrying several partitions\' batches (docs/design.md, "What a GiB costs").',
    ],
  };
  const atAim: ReportTable = {
    title: `Per month at ${AIM_RATE_MIB_PER_SEC} MiB/s, 1 KiB records, ${PARTITIONS} partitions, ingest + one read of the tail + 24 h retention: by config and producer policy`,
    columns: [
      'config',
      'producer policy',
      'batch KiB',
      'requests/s',
      'ack p99 ms',
      '$ per GiB',
      '$ per month',
      '× Kinesis provisioned',
      '× Kinesis on-demand',
    ],
    rows: [
      ...m.atAimRate.map((x) => [
        configName(x.config),
        x.policy,
        kib(x.batchBytes),
        x.requestsPerSecond.toFixed(1),
        x.ackP99Ms.toFixed(0),
        usdOrDash(x.perGib),
        usdOrDash(x.usd),
        x.usd === undefined ? '—' : `${(x.usd / k.provisioned).toFixed(2)}×`,
        x.usd === undefined ? '—' : `${(x.usd / k.onDemand).toFixed(2)}×`,
      ]),
      [
        'Kinesis on-demand',
        '—',
        '—',
        '—',
        '—',
        formatUsd((k.onDemand - 0) / k.gibPerMonth),
        formatUsd(k.onDemand),
        `${(k.onDemand / k.provisioned).toFixed(2)}×`,
        '1.00×',
      ],
      [
        'Kinesis provisioned',
        '—',
        '—',
        '—',
        '—',
        formatUsd(k.provisioned / k.gibPerMonth),
        formatUsd(k.provisioned),
        '1.00×',
        `${(k.provisioned / k.onDemand).toFixed(2)}×`,
      ],
    ],
    notes: [
      ...CONFIGS.map((c) => `${c.name}: ${c.description}.`),
      `Strata's rows include its fixed cost (${formatUsd(m.fixed)} a month: schedule, alarms, dashboard, custom metrics, idle passes of ${PARTITIONS} partitions) and the DynamoDB storage of tail items kept until their TTL (${DEFAULT_TAIL_TTL_MS / 3_600_000} h).`,
      "$ per GiB at the policy's mean batch size is the measured cost of the tier the config sends such a batch to (below), interpolated between the measured sizes linearly in 1/size.",
      'Kinesis $ per GiB divides the month by its GiB; its shards and stream-hours are fixed costs.',
    ],
  };
  const policiesTable = batchingTable(
    r.policies.atAimRate,
    `Batches the producer makes at ${AIM_RATE_MIB_PER_SEC} MiB/s of 1 KiB records on ${PARTITIONS} partitions, by policy`,
  );
  const bySize: ReportTable = {
    title: '$ per GiB of record values by batch size and tier: ingest + one read of the tail + 24 h retention (measured)',
    columns: ['batch', ...TIERS.map((t) => t.name), 'requests per GiB'],
    rows: BATCH_RECORDS.map((records) => {
      const bytes = records * VALUE_BYTES;
      return [
        `${bytes / KIB} KiB`,
        ...TIERS.map((t) => {
          const p = r.points.find((x) => x.tier === t.id && x.batchBytes === bytes);
          return p ? formatUsd(headline(p.strata)) : '—';
        }),
        Math.round(GIB / bytes).toLocaleString('en-US'),
      ];
    }),
    notes: [
      `DynamoDB tail: topics with stageBytes ${MAX_TAIL_ITEM_BYTES / KIB} KiB (the most a tail item holds); staged: stageBytes 1 KiB, every batch PUT to the Standard bucket or, with the staging tier on, to the directory bucket (s3rver stands in for both), and committed by a pointer item.`,
      `Each point ingests about ${r.workload.pointBytes / MIB} MiB (at least ${r.workload.minRequests} requests) of 1 KiB values over HTTP, C=${r.workload.concurrency}, round-robin over ${r.workload.partitions} partitions, reads it once from the tail, flushes it into ${r.workload.segmentBytes / MIB} MiB segments, reads it once from the segments; the reserving sequencer (the append function's default) and tail items expiring by TTL, as deployed.`,
      'Chart: docs/charts/cost-batch-size.svg.',
    ],
  };
  const bySizeDetail: ReportTable = {
    title: '$ per GiB by batch size and tier, by part',
    columns: [
      'tier',
      'batch',
      'ingest (append + flush)',
      'read once, tail',
      'read once, segments',
      'retain 24 h',
      'retain 7 days',
      'tail kept to TTL',
      'ingest + tail read + 24 h',
      'ingest + segment read + 7 days',
    ],
    rows: r.points.map((p) => [
      tierName(p.tier),
      `${p.batchBytes / KIB} KiB`,
      formatUsd(p.strata.ingest),
      formatUsd(p.strata.readTail),
      formatUsd(p.strata.readSegments),
      formatUsd(p.strata.retain24h),
      formatUsd(p.strata.retain7d),
      formatUsd(p.strata.tailTtl),
      formatUsd(headline(p.strata)),
      formatUsd(catchUp(p.strata)),
    ]),
    notes: [
      'Retention is S3 Standard storage of the segments for 1 or 7 days of a month; "tail kept to TTL" is DynamoDB storage of the flushed tail items until TTL removes them (a day), from the items\' sizes (an estimate: batches + about 200 B each).',
      'Staged objects are deleted by the flush that copies them into a segment (DELETE is free): their storage, minutes at $0.023 or $0.11 per GB-month, is left out.',
    ],
  };
  const byRate: ReportTable = {
    title: `Per month at a sustained rate, 1 KiB records, ${PARTITIONS} partitions, ingest + one read of the tail + 24 h retention, the producer's default policy: Strata next to Kinesis Data Streams`,
    columns: [
      'rate',
      'GiB/month',
      'batch KiB',
      ...CONFIGS.map((c) => `Strata ${c.name}`),
      'Kinesis on-demand',
      'Kinesis provisioned',
      'shards',
    ],
    rows: m.kinesis.map((kr) => {
      const b = r.policies.byRate.find((x) => x.rate === kr.rate)!.result;
      return [
        `${kr.rate} MiB/s`,
        kr.gibPerMonth.toFixed(0),
        kib(b.meanBatchBytes),
        ...CONFIGS.map((c) => usdOrDash(m.byRate.find((x) => x.config === c.id && x.rate === kr.rate)!.usd)),
        formatUsd(kr.onDemand),
        formatUsd(kr.provisioned),
        String(kr.shards),
      ];
    }),
    notes: [
      `Strata includes its fixed cost (${formatUsd(m.fixed)} a month for ${PARTITIONS} partitions). With 7 days of retention and a catch-up read of the segments instead, see the by-part table; Kinesis with 7 days: ${m.kinesis.map((kr) => `${formatUsd(kr.onDemand7)} / ${formatUsd(kr.provisioned7)}`).join(', ')} (on-demand / provisioned, by rate).`,
      'The batch size is what the default policy makes at that rate (the producer simulation); the slower the rate, the smaller the batches its budget allows.',
      'Kinesis on-demand: stream-hours + GB in + GB out; provisioned: one shard per 1,000 records/s + PUT payload units; a standard (shared-throughput) consumer.',
      'Not in either: data transfer out of AWS, CloudWatch Logs volume, the client side.',
    ],
  };
  const frontDoor: ReportTable = {
    title:
      'API Gateway or Lambda function URLs in front of the functions: the default config, ingest + one read of the tail + 24 h retention',
    columns: [
      'request (batch of 1 KiB records)',
      '$ per GiB, API Gateway',
      '$ per GiB, function URLs',
      '$ per million appends, API Gateway',
      '$ per million appends, function URLs',
      'API Gateway share',
    ],
    rows: [KIB, 100 * KIB, MIB].map((bytes) => {
      const config = CONFIGS.find((c) => c.id === 'default')!;
      const api = configPerGib(r.points, config, bytes, headline)!;
      const urls = configPerGib(r.points, config, bytes, (x) => headline(x) - x.apiTail)!;
      const perMillion = (perGib: number) => (perGib * bytes * 1e6) / GIB;
      return [
        bytes >= MIB ? `${bytes / MIB} MiB` : `${bytes / KIB} KiB`,
        formatUsd(api),
        formatUsd(urls),
        formatUsd(perMillion(api)),
        formatUsd(perMillion(urls)),
        `${(((api - urls) / api) * 100).toFixed(0)}%`,
      ];
    }),
    notes: [
      "API Gateway HTTP API: $1 per million requests, metered per 512 KB (a 1 MiB request is three); a function URL costs nothing beyond the function (Lambda pricing), the Lambda side is the same. The construct's function URLs are issue 14; the figures here are this model's.",
      '100 KiB is interpolated between the measured sizes; per million appends counts the whole workload (the append, its share of flushes, the tail read and retention) per append of that size.',
    ],
  };
  const idle: ReportTable = {
    title: 'Idle: a deployed Strata with no traffic, per month',
    columns: ['item', '$ per month'],
    rows: [
      [
        `schedule: ${SCHEDULED_RUNS_PER_MONTH.toLocaleString('en-US')} compact invocations (every 5 min)`,
        formatUsd(SCHEDULED_RUNS_PER_MONTH * (PRICES.lambdaRequest.usd + 0.1 * LAMBDA_MEMORY_GB * PRICES.lambdaArmGbSecond.usd)),
      ],
      [
        `CloudWatch: ${ALARMS} alarms, ${DASHBOARDS} dashboard`,
        formatUsd(ALARMS * PRICES.cloudWatchAlarmMonth.usd + DASHBOARDS * PRICES.cloudWatchDashboardMonth.usd),
      ],
      [
        `CloudWatch: ${IDLE_CUSTOM_METRICS} custom (EMF) metrics every scheduled compact run publishes`,
        formatUsd(IDLE_CUSTOM_METRICS * PRICES.cloudWatchMetricMonth.usd),
      ],
      [
        `per partition holding data: ${IDLE_PASSES_PER_MONTH} maintenance passes (hourly orphan scan; settled partitions are skipped by the other runs; measured)`,
        formatUsd(r.idle.monthlyPerPartition),
      ],
      ['API Gateway, DynamoDB on-demand, SQS, S3 requests with no traffic', '$0'],
      ['Kinesis on-demand, per stream', formatUsd(PRICES.kinesisOnDemandStreamHour.usd * HOURS_PER_MONTH)],
      ['Kinesis provisioned, per shard (24 h retention)', formatUsd(PRICES.kinesisShardHour.usd * HOURS_PER_MONTH)],
    ],
    notes: [
      `One idle pass of one partition made ${callList({ ...r.idle.usagePerPass.dynamo, ...r.idle.usagePerPass.s3 })}: ${formatUsd(r.idle.perPassPerPartition.total)} (DynamoDB ${formatUsd(r.idle.perPassPerPartition.dynamo)}, S3 ${formatUsd(r.idle.perPassPerPartition.s3)}, Lambda ${formatUsd(r.idle.perPassPerPartition.lambda)}).`,
      'The scheduled root invocation is taken as 100 ms; stored data costs its storage on top (S3 $0.023 per GB-month).',
    ],
  };
  // The phases at the batch size the default policy makes at the aims' rate.
  const target = m.atAimRate.find((x) => x.policy === defaultPolicyLabel(r))!.batchBytes;
  const perPhase = TIERS.flatMap((t): ReportTable[] => {
    // The batch size the default policy makes at the aims' rate, in each tier.
    const candidates = r.points.filter((p) => p.tier === t.id);
    if (candidates.length === 0) return [];
    const p = candidates.reduce((a, b) => (Math.abs(Math.log(b.batchBytes / target)) < Math.abs(Math.log(a.batchBytes / target)) ? b : a));
    return [
      {
        title: `Measured, ${t.name}, ${p.batchBytes / KIB} KiB batches: ${p.requests} requests, scaled to 1 GiB ingested`,
        columns: [
          'phase',
          'Lambda invocations',
          'Lambda GB-s',
          'API requests',
          'DynamoDB WRU',
          'DynamoDB RRU',
          'S3 PUT/LIST',
          'S3 GET',
          'S3 Express PUT',
          'S3 Express GET',
          '$ DynamoDB',
          '$ S3',
          '$ Lambda',
          '$ API',
          '$ total',
        ],
        rows: p.phases.map((ph) => {
          const c = p.perGib[ph.name]!;
          const per = (n: number) => Math.round(n / p.gib).toLocaleString('en-US');
          return [
            ph.name,
            per(ph.invocations),
            per((modelledLambdaMs(ph) / 1000) * LAMBDA_MEMORY_GB),
            per(ph.apiRequests),
            per(ph.usage.dynamo.writeUnits),
            per(ph.usage.dynamo.readUnits),
            per(ph.usage.s3.put),
            per(ph.usage.s3.get),
            per(ph.usage.s3express.put),
            per(ph.usage.s3express.get),
            formatUsd(c.dynamo),
            formatUsd(c.s3),
            formatUsd(c.lambda),
            formatUsd(c.api),
            formatUsd(c.total),
          ];
        }),
      },
    ];
  });
  perPhase.at(-1)!.notes = [
    "Counts come from an SDK middleware on the engine's own DynamoDB and S3 clients (ConsumedCapacity as DynamoDB reports it; S3 requests by price class and bucket); Lambda and API Gateway requests are counted by the harness.",
    `Lambda GB-s at ${LAMBDA_MEMORY_GB * 1024} MB (the construct's default) from the calls each phase made, at the AWS latency model's times (DynamoDB ${PER_CALL_MS} ms a call, +${TRANSACT_WRITE_EXTRA_MS} for a transaction; S3 Standard ${S3_STANDARD_REQUEST_MS} ms, S3 Express ${S3_EXPRESS_REQUEST_MS} ms a request; bytes at ${S3_BYTES_PER_MS / 1000} MB/s), one after another, + ${HANDLER_MS} ms per invocation: not this machine's wall time, which measured its load (bench/results/cost.json keeps it as lambdaMs).`,
    'The flush writes no DynamoDB deletes: flushed tail items expire by TTL (free); its write units are the manifest and the head.',
    'S3 Express: $ includes the per-GB upload and retrieval charges on every byte (bench/cost/prices.ts).',
  ];
  return [aims, atAim, policiesTable, bySize, byRate, frontDoor, idle, bySizeDetail, ...perPhase];
}

function batchSizeChart(r: Result, m: Model): string {
  const k = m.kinesis.find((x) => x.rate === AIM_RATE_MIB_PER_SEC)!;
  return logLogChart({
    title: '$ per GiB by batch size: ingest + one read + 24 h retention (measured)',
    xUnit: 'batch size (1 KiB records per request)',
    yUnit: '$ per GiB of record values',
    xLabel: (x) => (x >= MIB ? `${x / MIB} MiB` : `${x / KIB} KiB`),
    yLabel: (y) => `$${y < 1 ? Number(y.toPrecision(1)) : y}`,
    series: TIERS.map((t) => ({
      name: t.name,
      points: r.points.filter((p) => p.tier === t.id).map((p): [number, number] => [p.batchBytes, headline(p.strata)]),
    })),
    references: [
      { value: k.onDemand / k.gibPerMonth, label: `Kinesis on-demand at ${AIM_RATE_MIB_PER_SEC} MiB/s` },
      { value: k.provisioned / k.gibPerMonth, label: `Kinesis provisioned at ${AIM_RATE_MIB_PER_SEC} MiB/s` },
    ],
  });
}

function renderDoc(r: Result, m: Model, tables: ReportTable[], sequencerTables: ReportTable[]): string {
  const priceRows = Object.values(PRICES).map(
    (p) => `| ${p.unit} | ${p.usd >= 0.001 || p.usd === 0 ? `$${p.usd}` : `$${(p.usd * 1e6).toPrecision(4)} per million`} | ${p.source} |`,
  );
  const [aims, atAim, policies, bySize, ...rest] = tables;
  return [
    '# Cost model',
    '',
    `Generated by \`${r.command}\` on ${machineLine(r.machine)}. Edit the prices in \`bench/cost/prices.ts\`, not here.`,
    '',
    'What one GiB of record values costs to ingest, read once and keep, from the requests the',
    'engine actually made in a measured workload (an SDK middleware counts DynamoDB capacity units',
    'and S3 requests around the real calls), priced at AWS list prices, next to Kinesis Data Streams',
    'for the same workload. Every request is billed (API Gateway, Lambda, DynamoDB, an S3 PUT when',
    'staged), so what a GiB costs depends first on how many requests carry it: on the batch size,',
    'which the client producer\'s policy sets (docs/design.md, "What a GiB costs").',
    '',
    `${renderMarkdown(aims!)}\n`,
    `${renderMarkdown(atAim!)}\n`,
    `${renderMarkdown(policies!)}\n`,
    `${renderMarkdown(bySize!)}\n`,
    '![$ per GiB by batch size](charts/cost-batch-size.svg)',
    '',
    ...rest.map((t) => `${renderMarkdown(t)}\n`),
    '## Which config for which workload',
    '',
    ...configAdvice(r, m),
    '',
    '## Write units per append, by sequencer',
    '',
    'What DynamoDB bills per acknowledged append when K independent writers (K Lambda environments, one',
    'request at a time each, so no group commit across them) append to one partition: the optimistic',
    "sequencer (the engine's and `npm start`'s default), the reserving one (`sequencing: 'reserve'`, the",
    "deployed append function's default; docs/design.md, issue 13), and",
    "the conflict-free primitive they are set against. Measured with the contention suite's worker processes",
    'and call meter (bench/cost/sequencer-cost.ts); the units are counted from the requests and their item sizes,',
    'failed writes included, as the notes say.',
    '',
    ...sequencerTables.map((t) => `${renderMarkdown(t)}\n`),
    ...fanOutCostSection(),
    ...pushCostSection(),
    `## Prices (${PRICES_REGION}, as of ${PRICES_AS_OF})`,
    '',
    'List prices, on-demand, without the free tier. They were taken from these pages as the team',
    `knew them on ${PRICES_AS_OF} and not re-fetched from this machine (it has no network):`,
    'check them before relying on a figure.',
    '',
    '| unit | price | source |',
    '| --- | ---: | --- |',
    ...priceRows,
    '',
    '## Assumptions',
    '',
    '- One GiB means 2^30 bytes of record values (keys, headers and JSON overhead not counted as data, but paid for in requests).',
    '- Batch sizes at a rate come from the real client Producer in virtual time against a modelled append (bench/cost/producer-batching.ts):',
    '  Poisson arrivals of 1 KiB records spread evenly over the partitions, one request in flight per partition.',
    '- Lambda durations are modelled from the calls made (the AWS latency model), not measured: request counts, capacity',
    "  units and S3 requests do not depend on the machine; this machine's wall time does, on its load.",
    '- Flushed tail items expire by DynamoDB TTL a day after their append (deletes are free); until then they cost DynamoDB storage',
    '  ($0.25 per GB-month), counted from their sizes.',
    '- Kinesis figures use the same records: on-demand bills GB in and out (records rounded up to 1 KB) plus stream-hours;',
    '  provisioned needs one shard per 1,000 records/s and bills PUT payload units. Enhanced fan-out is not used.',
    '- Not counted anywhere: data transfer out of AWS, CloudWatch Logs ingestion (Strata logs at WARN by default), KMS',
    '  (AWS-managed keys), PITR backups (about $0.20 per GB-month of table, which holds the tail and its TTL day).',
    '',
  ].join('\n');
}

/** Which config for which workload, from this run's numbers. */
function configAdvice(r: Result, m: Model): string[] {
  const def = defaultPolicyLabel(r);
  const k = m.kinesis.find((x) => x.rate === AIM_RATE_MIB_PER_SEC)!;
  const line = (config: ConfigSpec['id'], policy: string) => {
    const x = m.atAimRate.find((y) => y.config === config && y.policy === policy);
    return x?.usd === undefined
      ? '—'
      : `${formatUsd(x.usd)} a month (${(x.usd / k.provisioned).toFixed(2)}× Kinesis provisioned, ${(x.usd / k.onDemand).toFixed(2)}× on-demand)`;
  };
  const short = r.policies.atAimRate.find((p) => /budget 100 /.test(p.label))?.label ?? def;
  const longest = r.policies.atAimRate.at(-1)!.label;
  return [
    `At ${AIM_RATE_MIB_PER_SEC} MiB/s of 1 KiB records on ${PARTITIONS} partitions (the table above has other rates):`,
    '',
    `- **The default** suits most workloads: appends up to ${DEFAULT_STAGE_BYTES / KIB} KiB stay in DynamoDB (a few ms), larger batches are staged in S3 Standard. With the default producer: ${line('default', def)}.`,
    `- **Volume, with an Availability Zone to pin** (the functions mostly run in it): the staging tier (\`stagingAvailabilityZoneId\`): batches above ${EXPRESS_STAGE_BYTES / KIB} KiB go to S3 Express One Zone, single-digit-ms PUTs. ${line('staging-tier', def)}; with a ${longest.replace(/^budget /, '')} budget, ${line('staging-tier', longest)}.`,
    `- **Latency first** (appends acknowledged in a few ms whatever their size, modest volume): stageBytes ${MAX_TAIL_ITEM_BYTES / KIB} KiB. DynamoDB bills every KB: ${line('latency-first', def)}.`,
    `- **The producer's latency budget is the biggest lever**: the default config with a ${short.replace(/^budget /, '')} budget costs ${line('default', short)}; with ${longest.replace(/^budget /, '')}, ${line('default', longest)}.`,
  ];
}

main().catch((err: unknown) => {
  console.error('✖ cost model failed:', err);
  process.exitCode = 1;
});
