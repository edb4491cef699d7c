/**
 * `npm run bench` (`npm run bench -- --quick` for a shorter run, `--only a,b` for some
 * suites, `--contention-baseline` to save the engine's K=1 contention latencies as
 * "today's path" for later runs' aims): runs every suite in one process against the same
 * emulators (the contention suite with its own worker processes), prints the
 * tables, and regenerates their sections of docs/benchmarks.md, the charts under
 * docs/charts/, the summary at the top, and the JSON under bench/results/.
 * A benchmark, not a test: it reports what it measures, it does not pass or fail.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// Powertools reads these when the stack creates the handlers' loggers and metrics:
// without them every request would print an EMF metrics line.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';

const { checkJava, localDynamoClient, localS3Client, startS3rver } = await import('../local/emulators.js');
const { DEFAULT_BUCKET_NAME, startLocalStack } = await import('../local/stack.js');
const { S3ObjectStore } = await import('../lib/aws/s3-object-store.js');
const { appendTables, CommitRecorder, runAppendBench } = await import('./suites/append.js');
const { caseLabel, runShapeBench, SHAPE_CASES, shapeTables } = await import('./suites/append-shapes.js');
const { LATENCY_LABELS, latencyTables, runLatencyBench } = await import('./suites/latency.js');
const { CallMeter, MeteredObjectStore, meteredLogStore } = await import('./harness/metered-stores.js');
const { runSegmentBench, segmentTables } = await import('./suites/segments.js');
const { compressionTables, runCompressionBench } = await import('./suites/compression.js');
const { compactionTables, runCompactionBench } = await import('./suites/compaction.js');
const { bundleTables, runBundleBench } = await import('./suites/bundles.js');
const { producerTables, runProducerBench } = await import('./suites/producer.js');
const { groupedBarChart, percentileChart } = await import('./report/charts.js');
const { buildSummary } = await import('./report/summary.js');
const { machineInfo, machineLine, renderMarkdown, renderText, writeJson, writeSection } = await import('./report/report.js');
const { ResourceMeter } = await import('./harness/resources.js');
const { resetTable } = await import('./harness/table.js');
const { formatNumber, formatRatio } = await import('./harness/stats.js');
const { BATCH_SHAPE, SINGLE_RECORD_SHAPE } = await import('./suites/contention-modes.js');
const { runContentionBench } = await import('./suites/contention.js');
const { baselineOf, checkAims, contentionCharts, contentionTables, latencyReference } = await import('./suites/contention-report.js');
const { DEFAULT_LATENCY_MODEL, describeLatencyModel } = await import('./harness/latency-model.js');
const { runStagingLatencyBench, stagingLatencyTables } = await import('./suites/staging-latency.js');
const { fanOutTables, runFanOutBench } = await import('./suites/fanout.js');
const { pushAims, pushLatencyTables, runPushLatencyBench } = await import('./suites/push-latency.js');

import type { AppendBenchResult } from './suites/append.js';
import type { ShapeBenchResult } from './suites/append-shapes.js';
import type { LatencyBenchResult } from './suites/latency.js';
import type { ReportTable } from './report/report.js';
import type { ContentionBaseline } from './suites/contention-report.js';

const SECOND = 1000;
/** Per level: `durationMs` measured in `rounds` windows, each after `warmupMs`. */
const FULL_APPEND = { rounds: 5, warmupMs: 1 * SECOND, durationMs: 10 * SECOND };
const QUICK_APPEND = { rounds: 2, warmupMs: SECOND / 2, durationMs: 1.5 * SECOND };
const CONCURRENCY_LEVELS = [1, 4, 16];
/** Record sizes and eight partitions; the quick run keeps the C=16 cases (one and eight partitions). */
const FULL_SHAPES = { cases: SHAPE_CASES, rounds: 2, warmupMs: SECOND / 2, durationMs: 4 * SECOND };
const QUICK_SHAPES = { cases: SHAPE_CASES.filter((c) => c.concurrency === 16), rounds: 1, warmupMs: SECOND / 4, durationMs: 1.5 * SECOND };
/** p999 needs at least 1,000 samples (MIN_SAMPLES_FOR_P999). */
const FULL_LATENCY = { samples: 1000 };
const QUICK_LATENCY = { samples: 50 };
/**
 * The S3 suites: rounds of fill → flush → catch-up read on `fillMiB` of values, and the
 * staged-append suites at `levels`, measured like the append suites.
 */
const FULL_SEGMENTS = {
  rounds: 2,
  fillMiB: 256,
  staged: { levels: [1, 4], rounds: 3, warmupMs: 1 * SECOND, durationMs: 6 * SECOND },
};
const QUICK_SEGMENTS = {
  rounds: 1,
  fillMiB: 24,
  staged: { levels: [1, 4], rounds: 1, warmupMs: SECOND / 2, durationMs: 1.5 * SECOND },
};
/** Key compaction: rounds on a partition of `fillMiB` of values. */
const FULL_COMPACTION = { rounds: 2, fillMiB: 64 };
const QUICK_COMPACTION = { rounds: 1, fillMiB: 12 };
/** Client producer vs raw HTTP: records per row, batch sizes, partitions. */
const FULL_PRODUCER = { records: 40_000, batchRecords: [100, 300], partitions: [1, 4], rounds: 3 };
const QUICK_PRODUCER = { records: 6_000, batchRecords: [100], partitions: [1, 4], rounds: 1 };

/**
 * Contention (issue 13): K worker processes, one request at a time each, on one partition,
 * through the AWS latency model; per K and mode `durationMs` after `warmupMs`.
 */
const FULL_CONTENTION = { levels: [1, 2, 4, 8, 16, 32, 64], warmupMs: 1 * SECOND, durationMs: 8 * SECOND, poolWarmupMs: 2 * SECOND };
const QUICK_CONTENTION = { levels: [1, 8, 32], warmupMs: SECOND / 2, durationMs: 2 * SECOND, poolWarmupMs: 1 * SECOND };
/** Today's path and the reserving sequencer (issue 13), beside the raw primitives they are built on. */
const CONTENTION_MODES_RUN = ['engine-optimistic', 'engine-reserve', 'raw', 'optimistic-raw'];

/**
 * The staging tier (issue 15): appends of these batch sizes kept in the tail, staged in S3
 * Express, staged in S3 Standard, on the AWS latency model; `samples` of each.
 */
const FULL_STAGING = { samples: 300, batchKiB: [16, 64, 256] };
const QUICK_STAGING = { samples: 60, batchKiB: [16, 64, 256] };

/**
 * The scheduled fan-out (issue 16): one pass over this many active partitions, each
 * asynchronous invoke modelled at these latencies (ms); the one-at-a-time baseline on
 * `sequentialPartitions`, extrapolated.
 */
const FULL_FANOUT = { partitions: 5000, invokeMs: [20, 30], sequentialPartitions: 1000 };
const QUICK_FANOUT = { partitions: 5000, invokeMs: [20], sequentialPartitions: 250 };

/** Push delivery (issue 14): samples per setting and consumer. */
const FULL_PUSH = { samples: 300 };
const QUICK_PUSH = { samples: 60 };

/** Every suite, in the order a full run takes them. */
const SUITES = ['compression', 'bundles', 'append', 'latency', 'shapes', 'segments', 'compaction', 'producer', 'contention', 'staging', 'fanout', 'push'] as const;
type SuiteName = (typeof SUITES)[number];
/** The suites that share one local stack (and its metered stores). */
const STACK_SUITES: readonly SuiteName[] = ['append', 'latency', 'shapes', 'segments'];

const DOCS_PATH = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
const CHARTS_DIR = fileURLToPath(new URL('../docs/charts/', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results', import.meta.url));
/** The engine's K=1 latencies saved by `--contention-baseline`: "today's path" for later runs' aims. */
const CONTENTION_BASELINE_PATH = join(RESULTS_DIR, 'contention-baseline.json');

const DOCS_HEADER = `# Benchmarks

Generated by \`npm run bench\` (about twelve minutes on 2 cores) or \`npm run bench -- --quick\`
(under two minutes, noisier); \`npm run bench -- --only append,latency\` runs some suites
(${SUITES.join(', ')}). One process starts the emulators (DynamoDB Local in memory,
s3rver) and the HTTP API and runs every suite against them; the sections below, the charts
in docs/charts/ and the summary are rewritten on every run, the raw numbers go to
\`bench/results/\`.

**DynamoDB Local is not DynamoDB.** It is a Java program over SQLite on the same machine
as the client, with none of DynamoDB's latency, partitioning or throttling. The absolute
numbers do not transfer to AWS; the ratios (Strata against the raw DynamoDB or S3
primitive it is built on, measured in the same run) are what these benchmarks are for.
One difference matters for reading them: DynamoDB Local writes each TransactWriteItems
under a table-wide write lock, so raw transactions on independent keys scale only as far
as the work outside that lock goes, not linearly as on DynamoDB. Above C=1, compare
Strata with "C requests per tx, 1 in flight": the most one partition's group commit can
get out of this DynamoDB Local.
`;

interface Chart {
  /** File name under docs/charts/. */
  file: string;
  alt: string;
  svg: string;
}

/** One suite's output: its section of docs/benchmarks.md, its charts and its JSON. */
interface Section {
  name: SuiteName;
  title: string;
  tables: ReportTable[];
  charts?: Chart[];
  /** Lines between the "Measured on" line and the charts. */
  intro?: string[];
  result: unknown;
}

interface RunContext {
  quick: boolean;
  /** Save this run's engine K=1 latencies as the contention baseline. */
  saveContentionBaseline: boolean;
  /** The command that reproduces this run. */
  command: string;
  log: (line: string) => void;
}

async function publish(ctx: RunContext, section: Section): Promise<void> {
  for (const table of section.tables) ctx.log(`${renderText(table)}\n`);
  const machine = machineInfo();
  await mkdir(CHARTS_DIR, { recursive: true });
  for (const chart of section.charts ?? []) await writeFile(join(CHARTS_DIR, chart.file), chart.svg);
  const body = [
    `### ${section.title} (\`${ctx.command}\`)`,
    '',
    `Measured on ${machineLine(machine)}.`,
    ...(section.intro ?? []),
    '',
    ...(section.charts ?? []).map((c) => `![${c.alt}](charts/${c.file})\n`),
    ...section.tables.map((t) => `${renderMarkdown(t)}\n`),
  ].join('\n');
  await writeSection(DOCS_PATH, section.name, body, DOCS_HEADER);
  await writeJson(join(RESULTS_DIR, `${section.name}.json`), { command: ctx.command, quick: ctx.quick, machine, [section.name]: section.result });
}

async function publishSummary(ctx: RunContext): Promise<void> {
  const summary = buildSummary(RESULTS_DIR);
  if (!summary) return;
  ctx.log(renderText(summary.table));
  await mkdir(CHARTS_DIR, { recursive: true });
  await writeFile(join(CHARTS_DIR, 'summary.svg'), summary.chart);
  const body = ['## Summary', '', '![Strata over the raw primitives](charts/summary.svg)', '', renderMarkdown(summary.table), ''].join('\n');
  await writeSection(DOCS_PATH, 'summary', body, DOCS_HEADER, { first: true });
}

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
        series: [series('strata-http', 'Strata via HTTP'), series('raw-independent', 'raw, independent tx'), series('raw-grouped', 'raw, C requests per tx')],
      }),
    },
  ];
}

function shapeCharts(result: ShapeBenchResult): Chart[] {
  return [
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
  ];
}

function latencyCharts(result: LatencyBenchResult): Chart[] {
  return [
    {
      file: 'latency.svg',
      alt: 'Append and append-to-consume latency percentiles',
      svg: percentileChart({
        title: `Latency, one ${result.config.valueBytes} B record at a time (${result.config.samples} samples each)`,
        series: result.curves.map((c) => ({ name: LATENCY_LABELS[c.measure], points: c.points })),
      }),
    },
  ];
}

/** The suites that run against one shared local stack, with metered stores for the S3 suites. */
async function runStackSuites(ctx: RunContext, suites: Set<SuiteName>): Promise<void> {
  const { quick, log } = ctx;
  await checkJava();
  const commits = new CommitRecorder();
  // s3rver is started here rather than by the stack so that the engine's object store
  // can be wrapped: the S3 suites time the engine's storage calls and replay its GETs.
  const s3Dir = await mkdtemp(join(tmpdir(), 'strata-bench-s3-'));
  const s3rver = await startS3rver({ directory: s3Dir });
  const calls = new CallMeter();
  const s3 = localS3Client(s3rver.endpoint);
  const rawS3 = localS3Client(s3rver.endpoint);
  const stack = await startLocalStack({
    port: 0,
    s3Endpoint: s3rver.endpoint,
    engine: { onCommit: commits.onCommit, objects: new MeteredObjectStore(new S3ObjectStore(s3, DEFAULT_BUCKET_NAME), calls) },
    wrapStore: (store) => meteredLogStore(store, calls),
  });
  const dynamo = localDynamoClient(stack.dynamoEndpoint);
  const emptyTable = () => resetTable(dynamo, stack.tableName);
  try {
    if (suites.has('append')) {
      log('\nappend throughput');
      const append = await runAppendBench(
        { url: stack.url, dynamo, tableName: stack.tableName, meter: new ResourceMeter(), commits, resetTable: emptyTable, log },
        { levels: CONCURRENCY_LEVELS, ...(quick ? QUICK_APPEND : FULL_APPEND) },
      );
      await publish(ctx, { name: 'append', title: 'Append', tables: appendTables(append), charts: appendCharts(append), result: append });
    }
    if (suites.has('latency')) {
      log('\nappend → long-poll latency');
      await emptyTable();
      const latency = await runLatencyBench(stack.url, { dynamo, tableName: stack.tableName }, quick ? QUICK_LATENCY : FULL_LATENCY, log);
      await publish(ctx, { name: 'latency', title: 'Latency', tables: latencyTables(latency), charts: latencyCharts(latency), result: latency });
    }
    if (suites.has('shapes')) {
      log('\nappend goodput by record size and partitions');
      const shapes = await runShapeBench(
        { url: stack.url, dynamo, tableName: stack.tableName, meter: new ResourceMeter(), resetTable: emptyTable, log },
        quick ? QUICK_SHAPES : FULL_SHAPES,
      );
      await publish(ctx, { name: 'shapes', title: 'Append by record size and partitions', tables: shapeTables(shapes), charts: shapeCharts(shapes), result: shapes });
    }
    if (suites.has('segments')) {
      log('\nS3 segments: flush, catch-up read, staged appends');
      const segments = await runSegmentBench(
        { url: stack.url, engine: stack.engine, dynamo, tableName: stack.tableName, s3: rawS3, bucketName: stack.bucketName, calls, meter: new ResourceMeter(), resetTable: emptyTable, log },
        quick ? QUICK_SEGMENTS : FULL_SEGMENTS,
      );
      await publish(ctx, { name: 'segments', title: 'S3 segments and staged appends', tables: segmentTables(segments), result: segments });
    }
  } finally {
    dynamo.destroy();
    s3.destroy();
    rawS3.destroy();
    await stack.stop();
    await s3rver.stop();
    await rm(s3Dir, { recursive: true, force: true });
  }
}

/** The producer suite: the client library's producer against raw HTTP appends (own local stack). */
async function runProducer(ctx: RunContext): Promise<void> {
  await checkJava();
  ctx.log('\nclient producer vs raw HTTP append');
  const stack = await startLocalStack({ port: 0 });
  const dynamo = localDynamoClient(stack.dynamoEndpoint);
  try {
    const producer = await runProducerBench(
      { url: stack.url, resetTable: () => resetTable(dynamo, stack.tableName), log: ctx.log },
      ctx.quick ? QUICK_PRODUCER : FULL_PRODUCER,
    );
    await publish(ctx, { name: 'producer', title: 'Client producer', tables: producerTables(producer), result: producer });
  } finally {
    dynamo.destroy();
    await stack.stop();
  }
}

/** The contention suite (issue 13): its own DynamoDB Local and worker processes. */
async function runContention(ctx: RunContext): Promise<void> {
  ctx.log('\ncontention: K processes on one partition');
  const shapes = [SINGLE_RECORD_SHAPE, BATCH_SHAPE];
  const contention = await runContentionBench(
    { ...(ctx.quick ? QUICK_CONTENTION : FULL_CONTENTION), shapes, modes: CONTENTION_MODES_RUN, latencyModel: DEFAULT_LATENCY_MODEL },
    ctx.log,
  );
  const baseline = existsSync(CONTENTION_BASELINE_PATH) ? (JSON.parse(readFileSync(CONTENTION_BASELINE_PATH, 'utf8')) as ContentionBaseline) : undefined;
  const reference = latencyReference(contention.points, baseline);
  const aims = checkAims(contention.points, reference);
  const { consumedCapacity: cc } = contention;
  await publish(ctx, {
    name: 'contention',
    title: 'Contention: K processes on one partition (issue 13)',
    intro: [
      'Each of K worker processes stands for one Lambda environment: one engine (or one raw client), one request at a time, so no request is grouped with another process\'s; all append to partition 0 of one topic on one in-memory DynamoDB Local.',
      `AWS latency model (bench/harness/latency-model.ts), in every worker's DynamoDB client: ${describeLatencyModel(DEFAULT_LATENCY_MODEL)}. AWS documents single-digit-millisecond DynamoDB latency and in-region GetItem/PutItem from Lambda measures ~4–6 ms at p50; a transaction performs two underlying reads or writes per item (AWS docs, "Amazon DynamoDB Transactions: How it works"), hence about twice a single write. No throttling is injected.`,
      `Consumed capacity: DynamoDB Local ${cc.reportedByDynamoDbLocal ? 'returned' : '**did not always return**'} ConsumedCapacity on answered writes (${formatNumber(cc.answeredWrites)} writes, ${formatNumber(cc.unreportedWrites)} without); reported over counted-from-item-sizes: ${formatRatio(cc.reportedOverCounted)}. Failed writes report none and are counted from their items.`,
      `Windows of ${contention.config.durationMs / SECOND} s after ${contention.config.warmupMs / SECOND} s of warm-up per mode and K, on an emptied table; before the first, every worker process ran every mode for ${contention.config.poolWarmupMs / SECOND} s per shape, each worker on a partition of its own (uncontended: every mode's code compiled before K=1 is measured; until 2026-11-30 only raw was warmed, and the engine's K=1 rows were measured cold). Today's path for the latency aim: ${reference?.label ?? 'none measured'}; \`npm run bench -- --only contention --contention-baseline\` on the commit before a redesign saves the engine's K=1 latencies as that reference (bench/results/contention-baseline.json).`,
    ],
    tables: contentionTables({
      points: contention.points,
      shapes,
      aims,
      latencyModel: describeLatencyModel(DEFAULT_LATENCY_MODEL),
      modeLabels: contention.modeLabels,
    }),
    charts: contentionCharts(contention.points, shapes),
    result: { ...contention, aims, reference },
  });
  if (ctx.saveContentionBaseline) {
    const saved = baselineOf(contention.points, { savedAt: new Date().toISOString(), commit: gitCommit(), command: ctx.command });
    if (saved) {
      await writeJson(CONTENTION_BASELINE_PATH, saved);
      ctx.log(`Saved the engine's K=1 latencies as the contention baseline: ${CONTENTION_BASELINE_PATH}`);
    }
  }
}

/** The staging tier's latency (issue 15): its own DynamoDB Local and s3rver, with the AWS latency model. */
async function runStaging(ctx: RunContext): Promise<void> {
  await checkJava();
  ctx.log('\nstaging tier: append latency, DynamoDB tail vs S3 Express vs S3 Standard (AWS latency model)');
  const staging = await runStagingLatencyBench(ctx.quick ? QUICK_STAGING : FULL_STAGING, ctx.log);
  await publish(ctx, {
    name: 'staging',
    title: 'Staging tier: append latency on the AWS model (issue 15)',
    intro: [
      'What staging a batch in S3 Express One Zone (the staging tier, docs/design.md) adds to an append against keeping it in the DynamoDB tail, and against staging it in S3 Standard (bench/suites/staging-latency.ts).',
    ],
    tables: stagingLatencyTables(staging),
    result: staging,
  });
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function parseSuites(only: string | undefined): Set<SuiteName> {
  if (only === undefined) return new Set(SUITES);
  const names = only.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = names.filter((n) => !(SUITES as readonly string[]).includes(n));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`--only takes suite names separated by commas, from ${SUITES.join(', ')}; got '${only}'`);
  }
  return new Set(names as SuiteName[]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' }, 'contention-baseline': { type: 'boolean', default: false } },
  });
  const quick = values.quick === true;
  const saveContentionBaseline = values['contention-baseline'] === true;
  const suites = parseSuites(values.only);
  const flags = [...(quick ? ['--quick'] : []), ...(values.only ? [`--only ${values.only}`] : []), ...(saveContentionBaseline ? ['--contention-baseline'] : [])];
  const command = ['npm run bench', ...(flags.length > 0 ? ['--', ...flags] : [])].join(' ');
  const ctx: RunContext = { quick, saveContentionBaseline, command, log: (line) => console.log(line) };
  const started = performance.now();
  ctx.log(`Strata benchmarks${quick ? ' (quick)' : ''}: ${[...suites].join(', ')} on ${machineLine(machineInfo())}`);

  if (suites.has('compression')) {
    const compression = runCompressionBench({ minMs: quick ? 300 : 1000 });
    await publish(ctx, { name: 'compression', title: 'Compression', tables: compressionTables(compression), result: compression });
  }
  if (suites.has('bundles')) {
    const runs = quick ? 5 : 15;
    ctx.log(`function bundles (${runs} cold imports each)`);
    const bundles = await runBundleBench({ runs }, ctx.log);
    await publish(ctx, {
      name: 'bundles',
      title: 'Function bundles',
      intro: ['Bundled with the options the StrataLog construct uses (infra/function-bundling.ts).'],
      tables: bundleTables(bundles, runs),
      result: bundles,
    });
  }
  if (STACK_SUITES.some((s) => suites.has(s))) await runStackSuites(ctx, suites);
  if (suites.has('compaction')) {
    ctx.log('\nkey compaction');
    const compaction = await runCompactionBench(quick ? QUICK_COMPACTION : FULL_COMPACTION, ctx.log);
    await publish(ctx, { name: 'compaction', title: 'Key compaction', tables: compactionTables(compaction), result: compaction });
  }
  if (suites.has('producer')) await runProducer(ctx);
  if (suites.has('contention')) await runContention(ctx);
  if (suites.has('staging')) await runStaging(ctx);
  if (suites.has('fanout')) {
    ctx.log('\nscheduled fan-out');
    const fanout = await runFanOutBench(quick ? QUICK_FANOUT : FULL_FANOUT, ctx.log);
    await publish(ctx, {
      name: 'fanout',
      title: 'Scheduled fan-out',
      intro: [
        `The compact function's scheduled run (functions/compact/handler.ts) on the local stack's engine over ${fanout.options.partitions} partitions of ${Math.ceil(fanout.options.partitions / fanout.options.partitionsPerTopic)} topics, one record each (all due); each asynchronous Lambda invoke modelled as a wait of the latency shown (AWS answers an InvocationType Event invoke in 10 to 30 ms). Filling the partitions took ${(fanout.fillMs / 1000).toFixed(0)} s (not measured).`,
      ],
      tables: fanOutTables(fanout),
      result: fanout,
    });
  }
  if (suites.has('push')) {
    ctx.log('\npush: append → consumer delivery');
    const push = await runPushLatencyBench(quick ? QUICK_PUSH : FULL_PUSH, ctx.log);
    await publish(ctx, {
      name: 'push',
      title: 'Push',
      intro: [
        'A consumer caught up and waiting on its push channel (docs/push.md), in its own process, against the raw write round trip measured in the same run (bench/suites/push-latency.ts).',
        '',
        ...pushAims(push),
      ],
      tables: pushLatencyTables(push),
      result: push,
    });
  }
  await publishSummary(ctx);
  ctx.log(`\nWrote ${DOCS_PATH}, docs/charts/ and bench/results/ in ${((performance.now() - started) / 60_000).toFixed(1)} minutes`);
}

main().catch((err: unknown) => {
  console.error('✖ benchmark failed:', err);
  process.exitCode = 1;
});
