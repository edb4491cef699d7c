/**
 * Appends from environments that append now and then (issue 13): each of K worker
 * processes (one Lambda environment each, bench/suites/contention-worker.ts) appends one
 * 1 KiB record, waits, and appends again, so its copy of the topic's metadata is past
 * the cache's second at every append. Through the AWS latency model, by mode: the engine
 * that reads the topic before the commit (before 2026-12-01), the reserving engine that
 * reads it beside the commit (lib/topics/topic-service.ts, forAppend), the write-first
 * engine (the deployed sequencing, which re-reads the topic once in
 * TOPIC_APPEND_REFRESH_MS), and the raw primitive.
 */
import { DEFAULT_LATENCY_MODEL, describeLatencyModel } from '../harness/latency-model.js';
import { formatMs, formatNumber, formatRatio } from '../harness/stats.js';
import { defineSuite, SECOND } from '../harness/suite.js';
import type { ReportTable } from '../report/report.js';
import { type ContentionBenchResult, runContentionBench } from './contention.js';
import type { ContentionShape } from './contention-modes.js';
import { callsText, findPoint } from './contention-report.js';

const TOPIC_FIRST_MODE = 'engine-reserve-topic-first';
const BESIDE_MODE = 'engine-reserve';
const DEPLOYED_MODE = 'engine-write-first';
const RAW_MODE = 'raw';
const SPARSE_MODES = [TOPIC_FIRST_MODE, BESIDE_MODE, DEPLOYED_MODE, RAW_MODE];

/** Two seconds between appends: twice the topic cache's TTL. */
export const SPARSE_SHAPE: ContentionShape = {
  name: 'sparse',
  recordsPerRequest: 1,
  valueBytes: 1024,
  pauseMs: 2 * SECOND,
  frozenPauses: true,
};

export type SparseSuiteResult = ContentionBenchResult;

/** The table of the run, and one sentence per K: the p50 of the topic read beside the commit over the p50 of the read before it. */
export function sparseTables(result: SparseSuiteResult): ReportTable[] {
  const rows = [...result.points]
    .sort((a, b) => a.concurrency - b.concurrency || SPARSE_MODES.indexOf(a.mode) - SPARSE_MODES.indexOf(b.mode))
    .map((p) => [
      p.mode,
      String(p.concurrency),
      String(p.latencyMs.count),
      formatMs(p.latencyMs.p50),
      formatMs(p.latencyMs.p99),
      callsText(p),
      String(p.unavailable + p.errors + p.throttled),
      p.verified ? 'yes' : '**no**',
    ]);
  const levels = [...new Set(result.points.map((p) => p.concurrency))].sort((a, b) => a - b);
  const comparisons = levels.flatMap((k) => {
    const before = findPoint(result.points, TOPIC_FIRST_MODE, SPARSE_SHAPE.name, k);
    const beside = findPoint(result.points, BESIDE_MODE, SPARSE_SHAPE.name, k);
    const deployed = findPoint(result.points, DEPLOYED_MODE, SPARSE_SHAPE.name, k);
    const raw = findPoint(result.points, RAW_MODE, SPARSE_SHAPE.name, k);
    if (!before || !beside) return [];
    const deployedText = deployed
      ? `; write-first (deployed) ${formatMs(deployed.latencyMs.p50)} ms${raw ? ` (${formatRatio(deployed.latencyMs.p50 / raw.latencyMs.p50)} raw's)` : ''}`
      : '';
    const rawText = raw ? `; raw ${formatMs(raw.latencyMs.p50)} ms` : '';
    return [
      `K=${k}: p50 ${formatMs(beside.latencyMs.p50)} ms with the topic read beside the commit, ${formatMs(before.latencyMs.p50)} ms with it before (${formatRatio(beside.latencyMs.p50 / before.latencyMs.p50)})${deployedText}${rawText}.`,
    ];
  });
  return [
    {
      title: `Sparse appends: K processes append one ${SPARSE_SHAPE.valueBytes / 1024} KiB record every ${(SPARSE_SHAPE.pauseMs ?? 0) / SECOND} s to one partition`,
      columns: ['mode', 'K', 'appends', 'p50 ms', 'p99 ms', 'DDB calls/ack', 'failed', 'head = acks'],
      rows,
      notes: comparisons,
    },
  ];
}

export const sparseSuite = defineSuite({
  name: 'sparse',
  title: 'Sparse appends: environments that append now and then (issue 13)',
  measures: 'append latency of processes appending every 2 s (topic cache expired) through the AWS latency model',
  /** Per K and mode, `durationMs` after `warmupMs`; each worker appends about once every 2 s. */
  full: { levels: [1, 8], warmupMs: 3 * SECOND, durationMs: 40 * SECOND, poolWarmupMs: 4 * SECOND },
  quick: { levels: [1, 8], warmupMs: 3 * SECOND, durationMs: 10 * SECOND, poolWarmupMs: 2 * SECOND },
  start: 'sparse: processes appending every 2 s',
  measure: (options, ctx) =>
    runContentionBench({ ...options, shapes: [SPARSE_SHAPE], modes: SPARSE_MODES, latencyModel: DEFAULT_LATENCY_MODEL }, ctx.log),
  render(result) {
    const { config } = result;
    return {
      intro: [
        `AWS latency model (bench/harness/latency-model.ts), in every worker's DynamoDB client: ${describeLatencyModel(DEFAULT_LATENCY_MODEL)}.`,
        `Windows of ${config.durationMs / SECOND} s after ${config.warmupMs / SECOND} s of warm-up per mode and K (${formatNumber(result.points.reduce((n, p) => n + p.latencyMs.count, 0))} appends measured); every worker warmed every mode for ${config.poolWarmupMs / SECOND} s first.`,
      ],
      tables: sparseTables(result),
    };
  },
});
