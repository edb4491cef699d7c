/**
 * `npm run cost` (`-- --quick` for a smaller workload; `-- --render` to redraw docs/cost.md
 * and its chart from bench/results/cost.json without measuring): what one GiB through
 * Strata costs on AWS, from the requests the engine actually made.
 *
 * It runs a workload on the local stack, configured as the construct deploys it (the
 * write-first sequencer, tail items removed by DynamoDB TTL), with a usage meter
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
 * suite's worker processes), wasted attempts included. It saves the result in
 * bench/results/cost.json and writes docs/cost.md and docs/charts/cost-batch-size.svg from it
 * (bench/cost/cost-report.ts; the model's arithmetic is bench/cost/cost-model.ts).
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { checkJava, localDynamoClient } = await import('../../local/emulators.js');
const { startLocalStack } = await import('../../local/stack.js');
const { DynamoLogStore } = await import('../../lib/aws/dynamo-log-store.js');
const { DEFAULT_TAIL_TTL_MS } = await import('../../lib/core/constants.js');
const { UsageMeter, diffUsage } = await import('../harness/usage-meter.js');
const { DAYS_PER_MONTH, GIB, HTTP_API_METERING_BYTES, PRICES } = await import('./prices.js');
const { machineInfo, renderText } = await import('../report/report.js');
const { BATCH_SHAPE, SINGLE_RECORD_SHAPE } = await import('../suites/contention-modes.js');
const { runSequencerCost } = await import('./sequencer-cost.js');
const { COST_MODEL_POLICIES, simulateProducerBatching } = await import('./producer-batching.js');
const {
  AIM_RATE_MIB_PER_SEC,
  ALARMS,
  BATCH_RECORDS,
  CONCURRENCY,
  DASHBOARDS,
  IDLE_CUSTOM_METRICS,
  IDLE_PASSES_PER_MONTH,
  KIB,
  LAMBDA_MEMORY_GB,
  MIB,
  MIN_REQUESTS,
  PARTITIONS,
  POINT_BYTES,
  SCHEDULED_RUN_MS,
  SCHEDULED_RUNS_PER_MONTH,
  SEGMENT_BYTES,
  TAIL_ITEM_OVERHEAD_BYTES,
  THROUGHPUTS_MIB_PER_SEC,
  TIERS,
  VALUE_BYTES,
  price,
  scale,
  scaleCalls,
} = await import('./cost-model.js');
const { readCostResult, writeCostDocs, writeCostResult } = await import('./cost-report.js');
type CostBreakdown = import('./cost-model.js').CostBreakdown;
type CostResult = import('./cost-model.js').CostResult;
type Phase = import('./cost-model.js').Phase;
type Point = import('./cost-model.js').Point;
type Policies = import('./cost-model.js').Policies;
type TierSpec = import('./cost-model.js').TierSpec;
type BatchingResult = import('./producer-batching.js').BatchingResult;
type CostPaths = import('./cost-report.js').CostPaths;

/**
 * Write units per append by sequencer (bench/cost/sequencer-cost.ts): per mode and K, a window
 * of `durationMs` after `warmupMs`. The quick windows are short (a few acks at K=32) to keep
 * the section under two minutes.
 */
const FULL_SEQUENCERS = { warmupMs: 1000, durationMs: 8000, poolWarmupMs: 2000 };
const QUICK_SEQUENCERS = { warmupMs: 500, durationMs: 2000, poolWarmupMs: 1000 };

const PATHS: CostPaths = {
  docs: fileURLToPath(new URL('../../docs/cost.md', import.meta.url)),
  chart: fileURLToPath(new URL('../../docs/charts/cost-batch-size.svg', import.meta.url)),
  results: fileURLToPath(new URL('../results/cost.json', import.meta.url)),
};

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
    // As deployed: the write-first sequencer; tail items expire by TTL (the local stack's default).
    const stack = await startLocalStack({
      port: 0,
      staging,
      engine: { sequencing: 'write-first' },
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
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, render: { type: 'boolean', default: false } },
  });
  const log = (line: string) => console.log(line);
  if (values.render === true) {
    await writeCostDocs(PATHS, await readCostResult(PATHS));
    log(`Redrew ${PATHS.docs} and ${PATHS.chart} from ${PATHS.results}`);
    return;
  }
  const quick = values.quick === true;
  const pointBytes = quick ? POINT_BYTES.quick : POINT_BYTES.full;
  const command = quick ? 'npm run cost -- --quick' : 'npm run cost';
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
  const result: CostResult = {
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
        SCHEDULED_RUNS_PER_MONTH *
          (PRICES.lambdaRequest.usd + (SCHEDULED_RUN_MS / 1000) * LAMBDA_MEMORY_GB * PRICES.lambdaArmGbSecond.usd) +
        ALARMS * PRICES.cloudWatchAlarmMonth.usd +
        DASHBOARDS * PRICES.cloudWatchDashboardMonth.usd +
        IDLE_CUSTOM_METRICS * PRICES.cloudWatchMetricMonth.usd,
      usagePerPass: { dynamo: scaleCalls(idle.usage.dynamo.calls, 1 / PARTITIONS), s3: scaleCalls(idle.usage.s3.calls, 1 / PARTITIONS) },
    },
    sequencers,
  };
  await writeCostResult(PATHS, result);
  const tables = await writeCostDocs(PATHS, result);
  for (const t of tables) log(`\n${renderText(t)}`);
  log(`\nWrote ${PATHS.docs}, ${PATHS.chart} and ${PATHS.results}`);
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

main().catch((err: unknown) => {
  console.error('✖ cost model failed:', err);
  process.exitCode = 1;
});
