/**
 * `npm run cost` (`-- --quick` for a smaller workload): what one GiB through Strata costs
 * on AWS, from the requests the engine actually made.
 *
 * It runs a workload on the local stack with a usage meter (bench/usage-meter.ts, an SDK
 * middleware around the real calls) on the engine's DynamoDB and S3 clients, in phases:
 * ingest over HTTP, a live consumer reading the DynamoDB tail, the flushes the compact
 * function would run, a catch-up consumer reading the segments, and an idle maintenance
 * pass. It counts per phase the DynamoDB request units, S3 requests, Lambda invocations
 * and their duration (the HTTP request time measured by the client: an upper bound of the
 * billed duration) and API Gateway requests, then prices them (bench/prices.ts) per GiB
 * ingested, read once and retained 24 h or 7 days, next to Kinesis Data Streams for the
 * same workload.
 *
 * Then, with the stack stopped, the write units per append of each sequencer when K
 * independent writers share one partition (bench/sequencer-cost.ts, on the contention
 * suite's worker processes), wasted attempts included. It writes docs/cost.md and
 * bench/results/cost.json.
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { checkJava } = await import('../local/emulators.js');
const { startLocalStack } = await import('../local/stack.js');
const { ORPHAN_SCAN_INTERVAL_MS } = await import('../lib/constants.js');
const { UsageMeter, diffUsage } = await import('./usage-meter.js');
const { DAYS_PER_MONTH, GIB, HOURS_PER_MONTH, HTTP_API_METERING_BYTES, PRICES, PRICES_AS_OF, PRICES_REGION } = await import('./prices.js');
const { machineInfo, machineLine, renderMarkdown, renderText, writeJson } = await import('./report.js');
const { formatUsd } = await import('./stats.js');
const { BATCH_SHAPE, SINGLE_RECORD_SHAPE } = await import('./contention-modes.js');
const { appendCostTables, runSequencerCost } = await import('./sequencer-cost.js');
type Usage = import('./usage-meter.js').Usage;
type ReportTable = import('./report.js').ReportTable;
type SequencerCostResult = import('./sequencer-cost.js').SequencerCostResult;

const KIB = 1024;
const MIB = 1024 * KIB;
const PARTITIONS = 4;
const RECORDS_PER_REQUEST = 100;
const VALUE_BYTES = KIB;
const CONCURRENCY = 4;
/** The append function's trigger fires at flushBytes (4 MiB): segments of about that size. */
const SEGMENT_BYTES = 4 * MIB;
/** The StrataLog construct's default memory for every function (infra/strata-log.ts). */
const LAMBDA_MEMORY_GB = 1;
/** Alarms and dashboards the construct creates (test/infra/strata-log.test.ts counts them). */
const ALARMS = 10;
const DASHBOARDS = 1;
/** The schedule's default: every 5 minutes. */
const SCHEDULED_RUNS_PER_MONTH = 12 * HOURS_PER_MONTH;
/** A settled partition (nothing appended or due) is visited by the schedule once per orphan scan. */
const IDLE_PASSES_PER_MONTH = (HOURS_PER_MONTH * 3_600_000) / ORPHAN_SCAN_INTERVAL_MS;
/** The reference throughputs the comparison is made at, in MiB/s sustained. */
const THROUGHPUTS_MIB_PER_SEC = [0.01, 0.1, 1, 10];
/**
 * Write units per append by sequencer (bench/sequencer-cost.ts): per mode and K, a window
 * of `durationMs` after `warmupMs`. The quick windows are short (a few acks at K=32) to keep
 * the section under two minutes.
 */
const FULL_SEQUENCERS = { warmupMs: 1000, durationMs: 8000, poolWarmupMs: 2000 };
const QUICK_SEQUENCERS = { warmupMs: 500, durationMs: 2000, poolWarmupMs: 1000 };

const DOCS_PATH = fileURLToPath(new URL('../docs/cost.md', import.meta.url));
const RESULTS_PATH = fileURLToPath(new URL('./results/cost.json', import.meta.url));

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

function price(phase: Phase): CostBreakdown {
  const dynamo = phase.usage.dynamo.writeUnits * PRICES.dynamoWriteRequestUnit.usd + phase.usage.dynamo.readUnits * PRICES.dynamoReadRequestUnit.usd;
  const s3 = phase.usage.s3.put * PRICES.s3PutRequest.usd + phase.usage.s3.get * PRICES.s3GetRequest.usd;
  const lambda = phase.invocations * PRICES.lambdaRequest.usd + (phase.lambdaMs / 1000) * LAMBDA_MEMORY_GB * PRICES.lambdaArmGbSecond.usd;
  const api = phase.apiRequests * PRICES.httpApiRequest.usd;
  return { dynamo, s3, lambda, api, total: dynamo + s3 + lambda + api };
}

function scale(c: CostBreakdown, factor: number): CostBreakdown {
  return { dynamo: c.dynamo * factor, s3: c.s3 * factor, lambda: c.lambda * factor, api: c.api * factor, total: c.total * factor };
}

/** One way to configure a topic, measured through every phase. */
interface VariantSpec {
  name: string;
  topic: string;
  config: Record<string, unknown>;
  description: string;
}

const VARIANTS: VariantSpec[] = [
  {
    name: 'default (batches in the DynamoDB tail)',
    topic: 'cost',
    config: {},
    description: 'stageBytes 350 KiB (the default): a 100 KiB batch goes into a tail item',
  },
  {
    name: 'cost-first (every batch staged in S3)',
    topic: 'cost-staged',
    config: { stageBytes: 1024 },
    description: 'stageBytes 1 KiB: every batch is PUT to S3 and committed by a pointer item',
  },
];

interface Variant {
  spec: VariantSpec;
  phases: Phase[];
  perGib: Record<string, CostBreakdown>;
  strata: { ingest: number; readTail: number; readSegments: number; retain24h: number; retain7d: number };
  storedGibPerGib: number;
  gib: number;
}

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

async function runVariant(stack: Stack, meter: Meter, spec: VariantSpec, ingestMiB: number, log: (line: string) => void): Promise<Variant> {
  const url = stack.url;
  await post(url, '/v1/topics', { name: spec.topic, partitions: PARTITIONS, config: { flushBytes: 1024 * MIB, segmentBytes: SEGMENT_BYTES, ...spec.config } });
  const meta = await stack.engine.topics.get(spec.topic);
  log(`\n${spec.name}`);

  // 1. Ingest: 1 KiB records, 100 per request, C=4, keyless (one partition per request).
  log(`  ingest ${ingestMiB} MiB of ${VALUE_BYTES} B values, ${RECORDS_PER_REQUEST} per request, C=${CONCURRENCY}`);
  const requests = Math.ceil((ingestMiB * MIB) / (VALUE_BYTES * RECORDS_PER_REQUEST));
  const value = 'v'.repeat(VALUE_BYTES);
  let before = meter.snapshot();
  let next = 0;
  const ingest: Phase = { name: 'ingest (append function)', invocations: 0, lambdaMs: 0, apiRequests: 0, usage: before };
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests) {
        next++;
        const r = await post(url, `/v1/topics/${spec.topic}/records`, { records: Array.from({ length: RECORDS_PER_REQUEST }, () => ({ value })) });
        ingest.invocations++;
        ingest.lambdaMs += r.ms;
        ingest.apiRequests += Math.ceil(r.bytes / HTTP_API_METERING_BYTES);
      }
    }),
  );
  ingest.usage = diffUsage(meter.snapshot(), before);
  const valueBytes = requests * RECORDS_PER_REQUEST * VALUE_BYTES;
  const gib = valueBytes / GIB;

  // 2. A live consumer: reads the DynamoDB tail (default maxBytes 1 MiB).
  log('  read once from the tail (a consumer keeping up)');
  const tailRead = await readAll(url, spec.topic, 'tail read (read function)', 1 * MIB, meter);

  // 3. Flushes: one compact invocation per segment, as the append trigger asks for them.
  log('  flush the tail into segments');
  before = meter.snapshot();
  const flush: Phase = { name: 'flush (compact function)', invocations: 0, lambdaMs: 0, apiRequests: 0, usage: before };
  for (let p = 0; p < PARTITIONS; p++) {
    for (;;) {
      const started = performance.now();
      const r = await stack.engine.flusher!.flushPartition(meta, p, { force: true, maxSegments: 1 });
      if (r.segments === 0) break;
      flush.invocations++;
      flush.lambdaMs += performance.now() - started;
    }
  }
  flush.usage = diffUsage(meter.snapshot(), before);

  // 4. A catch-up consumer: reads the segments (maxBytes 5 MiB).
  log('  read once from the segments (a consumer catching up)');
  const segmentRead = await readAll(url, spec.topic, 'catch-up read (read function, S3 segments)', 5 * MIB, meter);

  // 5. What is stored: the segments (S3) for the retention period (stats written by a pass).
  for (let p = 0; p < PARTITIONS; p++) await stack.engine.maintenance!.runPartition(spec.topic, p);
  const described = await stack.engine.topics.describe(spec.topic);
  const segmentBytes = described.partitionStates.reduce((n, p) => n + p.segmentBytes, 0);
  const storedGibPerGib = segmentBytes / valueBytes;

  const phases = [ingest, tailRead, flush, segmentRead];
  const perGib = Object.fromEntries(phases.map((p) => [p.name, scale(price(p), 1 / gib)])) as Record<string, CostBreakdown>;
  const retain = (days: number) => storedGibPerGib * PRICES.s3StorageGbMonth.usd * (days / DAYS_PER_MONTH);
  return {
    spec,
    phases,
    perGib,
    gib,
    storedGibPerGib,
    strata: {
      ingest: perGib[ingest.name]!.total + perGib[flush.name]!.total,
      readTail: perGib[tailRead.name]!.total,
      readSegments: perGib[segmentRead.name]!.total,
      retain24h: retain(1),
      retain7d: retain(7),
    },
  };
}

/** The workload's phases on the local stack, then an idle maintenance pass per partition. */
async function measureStack(ingestMiB: number, log: (line: string) => void): Promise<{ variants: Variant[]; idle: Phase }> {
  const meter = new UsageMeter();
  const stack = await startLocalStack({ port: 0, instrumentClients: (clients) => meter.install(clients) });
  try {
    const variants: Variant[] = [];
    for (const spec of VARIANTS) variants.push(await runVariant(stack, meter, spec, ingestMiB, log));

    // An idle maintenance pass per partition: what the 5-minute schedule costs when nothing happens.
    const before = meter.snapshot();
    const idle: Phase = { name: 'idle maintenance pass (per partition)', invocations: 0, lambdaMs: 0, apiRequests: 0, usage: before };
    for (let p = 0; p < PARTITIONS; p++) {
      const started = performance.now();
      await stack.engine.maintenance!.runPartition(VARIANTS[0]!.topic, p);
      idle.invocations++;
      idle.lambdaMs += performance.now() - started;
    }
    idle.usage = diffUsage(meter.snapshot(), before);
    return { variants, idle };
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  const quick = values.quick === true;
  const ingestMiB = quick ? 16 : 64;
  const command = quick ? 'npm run cost -- --quick' : 'npm run cost';
  const log = (line: string) => console.log(line);
  await checkJava();
  const { variants, idle } = await measureStack(ingestMiB, log);
  // After the stack has stopped: the harness starts its own DynamoDB Local and K worker processes.
  log('\nwrite units per append, by sequencer: K processes on one partition');
  const sequencers = await runSequencerCost({ shapes: [SINGLE_RECORD_SHAPE, BATCH_SHAPE], ...(quick ? QUICK_SEQUENCERS : FULL_SEQUENCERS) }, log);
  const idlePerPass = scale(price(idle), 1 / PARTITIONS);
  const result: Result = {
    command,
    quick,
    machine: machineInfo(),
    workload: { ingestMiB, partitions: PARTITIONS, recordsPerRequest: RECORDS_PER_REQUEST, valueBytes: VALUE_BYTES, concurrency: CONCURRENCY, segmentBytes: SEGMENT_BYTES },
    variants,
    idle: {
      perPassPerPartition: idlePerPass,
      monthlyPerPartition: idlePerPass.total * IDLE_PASSES_PER_MONTH,
      monthlyFixed:
        SCHEDULED_RUNS_PER_MONTH * (PRICES.lambdaRequest.usd + 0.1 * LAMBDA_MEMORY_GB * PRICES.lambdaArmGbSecond.usd) +
        ALARMS * PRICES.cloudWatchAlarmMonth.usd +
        DASHBOARDS * PRICES.cloudWatchDashboardMonth.usd,
      usagePerPass: { dynamo: scaleCalls(idle.usage.dynamo.calls, 1 / PARTITIONS), s3: scaleCalls(idle.usage.s3.calls, 1 / PARTITIONS) },
    },
    sequencers,
  };
  const tables = costTables(result);
  const sequencerTables = appendCostTables(sequencers);
  for (const t of [...tables, ...sequencerTables]) log(`\n${renderText(t)}`);
  await writeFile(DOCS_PATH, renderDoc(result, tables, sequencerTables));
  await writeJson(RESULTS_PATH, result);
  log(`\nWrote ${DOCS_PATH} and ${RESULTS_PATH}`);
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
  workload: { ingestMiB: number; partitions: number; recordsPerRequest: number; valueBytes: number; concurrency: number; segmentBytes: number };
  variants: Variant[];
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

function costTables(r: Result): ReportTable[] {
  const perGib: ReportTable = {
    title: 'Strata, $ per GiB of record values (variable cost only)',
    columns: ['topic config', 'ingest (append + flush)', 'read once, tail', 'read once, segments', 'retain 24 h', 'retain 7 days', 'ingest + read tail + 24 h', 'ingest + read segments + 7 days'],
    rows: r.variants.map(({ spec, strata: s }) => [
      spec.name,
      formatUsd(s.ingest),
      formatUsd(s.readTail),
      formatUsd(s.readSegments),
      formatUsd(s.retain24h),
      formatUsd(s.retain7d),
      formatUsd(s.ingest + s.readTail + s.retain24h),
      formatUsd(s.ingest + s.readSegments + s.retain7d),
    ]),
    notes: [
      ...r.variants.map((v) => `${v.spec.name}: ${v.spec.description}.`),
      `Retention is S3 storage of the segments (${r.variants.map((v) => v.storedGibPerGib.toFixed(3)).join(' and ')} GiB stored per GiB of values) for 1 or 7 days of a ${DAYS_PER_MONTH.toFixed(1)}-day month; the DynamoDB tail holds at most about flushBytes per partition and is left out.`,
    ],
  };
  const fixed = r.idle.monthlyFixed + r.idle.monthlyPerPartition * r.workload.partitions;
  const comparison: ReportTable = {
    title: `Per month at a sustained rate, 1 KiB records, read once, ${r.workload.partitions} partitions: Strata next to Kinesis Data Streams`,
    columns: ['rate', 'GiB/month', ...r.variants.flatMap((v) => [`Strata ${v.spec.topic === 'cost' ? 'default' : 'cost-first'}, 24 h`, '7 days']), 'Kinesis on-demand, 24 h', '7 days', 'Kinesis provisioned, 24 h', '7 days', 'shards'],
    rows: THROUGHPUTS_MIB_PER_SEC.map((rate) => {
      const k1 = kinesis(rate, 1);
      const k7 = kinesis(rate, 7);
      return [
        `${rate} MiB/s`,
        k1.gibPerMonth.toFixed(0),
        ...r.variants.flatMap(({ strata: s }) => [
          formatUsd(fixed + k1.gibPerMonth * (s.ingest + s.readTail + s.retain24h)),
          formatUsd(fixed + k1.gibPerMonth * (s.ingest + s.readSegments + s.retain7d)),
        ]),
        formatUsd(k1.onDemand),
        formatUsd(k7.onDemand),
        formatUsd(k1.provisioned),
        formatUsd(k7.provisioned),
        String(k1.shards),
      ];
    }),
    notes: [
      `Strata includes its idle cost (${formatUsd(fixed)} a month for ${r.workload.partitions} partitions); "24 h" reads the tail as it arrives, "7 days" reads the segments once.`,
      'Kinesis on-demand: stream-hours + GB in + GB out (+ extended retention); provisioned: one shard per 1,000 records/s + PUT payload units (+ extended retention shard-hours); a standard (shared-throughput) consumer.',
      'Not in either: data transfer out of AWS, CloudWatch Logs volume, the client side.',
    ],
  };
  const idle: ReportTable = {
    title: 'Idle: a deployed Strata with no traffic, per month',
    columns: ['item', '$ per month'],
    rows: [
      [`schedule: ${SCHEDULED_RUNS_PER_MONTH.toLocaleString('en-US')} compact invocations (every 5 min)`, formatUsd(SCHEDULED_RUNS_PER_MONTH * (PRICES.lambdaRequest.usd + 0.1 * LAMBDA_MEMORY_GB * PRICES.lambdaArmGbSecond.usd))],
      [`CloudWatch: ${ALARMS} alarms, ${DASHBOARDS} dashboard`, formatUsd(ALARMS * PRICES.cloudWatchAlarmMonth.usd + DASHBOARDS * PRICES.cloudWatchDashboardMonth.usd)],
      [`per partition holding data: ${IDLE_PASSES_PER_MONTH} maintenance passes (hourly orphan scan; settled partitions are skipped by the other runs; measured)`, formatUsd(r.idle.monthlyPerPartition)],
      ['API Gateway, DynamoDB on-demand, SQS, S3 requests with no traffic', '$0'],
      ['Kinesis on-demand, per stream', formatUsd(PRICES.kinesisOnDemandStreamHour.usd * HOURS_PER_MONTH)],
      ['Kinesis provisioned, per shard (24 h retention)', formatUsd(PRICES.kinesisShardHour.usd * HOURS_PER_MONTH)],
    ],
    notes: [
      `One idle pass of one partition made ${callList({ ...r.idle.usagePerPass.dynamo, ...r.idle.usagePerPass.s3 })}: ${formatUsd(r.idle.perPassPerPartition.total)} (DynamoDB ${formatUsd(r.idle.perPassPerPartition.dynamo)}, S3 ${formatUsd(r.idle.perPassPerPartition.s3)}, Lambda ${formatUsd(r.idle.perPassPerPartition.lambda)}).`,
      'The scheduled root invocation is taken as 100 ms; stored data costs its storage on top (S3 $0.023 per GB-month).',
    ],
  };
  const perPhase = r.variants.map(
    (v): ReportTable => ({
      title: `Measured, ${v.spec.name}: ${r.workload.ingestMiB} MiB per phase, scaled to 1 GiB ingested`,
      columns: ['phase', 'Lambda invocations', 'Lambda GB-s', 'API requests', 'DynamoDB WRU', 'DynamoDB RRU', 'S3 PUT/LIST', 'S3 GET', '$ DynamoDB', '$ S3', '$ Lambda', '$ API', '$ total'],
      rows: v.phases.map((p) => {
        const c = v.perGib[p.name]!;
        const per = (n: number) => Math.round(n / v.gib).toLocaleString('en-US');
        return [
          p.name,
          per(p.invocations),
          per((p.lambdaMs / 1000) * LAMBDA_MEMORY_GB),
          per(p.apiRequests),
          per(p.usage.dynamo.writeUnits),
          per(p.usage.dynamo.readUnits),
          per(p.usage.s3.put),
          per(p.usage.s3.get),
          formatUsd(c.dynamo),
          formatUsd(c.s3),
          formatUsd(c.lambda),
          formatUsd(c.api),
          formatUsd(c.total),
        ];
      }),
    }),
  );
  perPhase.at(-1)!.notes = [
    "Counts come from an SDK middleware on the engine's own DynamoDB and S3 clients (ConsumedCapacity as DynamoDB reports it; S3 requests by price class); Lambda and API Gateway requests are counted by the harness.",
    `Lambda duration is the HTTP time the client measured (an upper bound of the billed duration) at ${LAMBDA_MEMORY_GB * 1024} MB, the construct's default; compact time is the flush call's wall time.`,
    `Ingest: ${r.workload.recordsPerRequest} records of ${r.workload.valueBytes} B per request (${(r.workload.recordsPerRequest * r.workload.valueBytes) / 1024} KiB of values), C=${r.workload.concurrency}, ${r.workload.partitions} partitions. Flush: one compact invocation per ${r.workload.segmentBytes / MIB} MiB segment, as the append trigger asks at flushBytes (4 MiB). The tail read uses maxBytes 1 MiB, the catch-up read 5 MiB.`,
  ];
  return [perGib, comparison, idle, ...perPhase];
}

function renderDoc(r: Result, tables: ReportTable[], sequencerTables: ReportTable[]): string {
  const priceRows = Object.values(PRICES).map((p) => `| ${p.unit} | ${p.usd >= 0.001 || p.usd === 0 ? `$${p.usd}` : `$${(p.usd * 1e6).toPrecision(4)} per million`} | ${p.source} |`);
  return [
    '# Cost model',
    '',
    `Generated by \`${r.command}\` on ${machineLine(r.machine)}. Edit the prices in \`bench/prices.ts\`, not here.`,
    '',
    'What one GiB of record values costs to ingest, read once and keep, from the requests the',
    'engine actually made in a measured workload (an SDK middleware counts DynamoDB capacity units',
    'and S3 requests around the real calls), priced at AWS list prices, next to Kinesis Data Streams',
    'for the same workload.',
    '',
    ...tables.map((t) => renderMarkdown(t) + '\n'),
    '## Write units per append, by sequencer',
    '',
    'What DynamoDB bills per acknowledged append when K independent writers (K Lambda environments, one',
    'request at a time each, so no group commit across them) append to one partition: the optimistic',
    'sequencer (the engine\'s and `npm start`\'s default), the reserving one (`sequencing: \'reserve\'`, the',
    'deployed append function\'s default; docs/design.md, issue 13), and',
    'the conflict-free primitive they are set against. Measured with the contention suite\'s worker processes',
    'and call meter (bench/sequencer-cost.ts); the units are counted from the requests and their item sizes,',
    'failed writes included, as the notes say.',
    '',
    ...sequencerTables.map((t) => renderMarkdown(t) + '\n'),
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
    '- The workload appends 1 KiB records in requests of 100, the batching a client producer does; smaller requests cost',
    '  proportionally more in Lambda and API Gateway requests and DynamoDB write units (each transaction writes at least one item).',
    '- Lambda durations come from this machine against DynamoDB Local and s3rver, not from AWS; they are an upper bound of',
    '  the handler time but AWS latencies differ. Request counts and capacity units do not depend on the machine.',
    '- Tail items are deleted after a flush (each delete costs write units); DynamoDB TTL would delete them for free and is',
    '  the obvious saving still open (docs/design.md).',
    '- Kinesis figures use the same records: on-demand bills GB in and out (records rounded up to 1 KB) plus stream-hours;',
    '  provisioned needs one shard per 1,000 records/s and bills PUT payload units. Enhanced fan-out is not used.',
    '- Not counted anywhere: data transfer out of AWS, CloudWatch Logs ingestion (Strata logs at WARN by default), KMS',
    '  (AWS-managed keys), PITR backups (about $0.20 per GB-month of table, which holds only the tail).',
    '',
  ].join('\n');
}

main().catch((err: unknown) => {
  console.error('✖ cost model failed:', err);
  process.exitCode = 1;
});
