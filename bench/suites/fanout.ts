/**
 * The scheduled fan-out at scale (issue 16, item 2): one scheduled pass over `partitions`
 * active partitions on the local stack (DynamoDB Local, s3rver, the stack's engine), run
 * by the compact function's own handler, with each asynchronous Lambda invoke modelled as
 * `invokeMs` of waiting (on AWS an Invoke with InvocationType Event returns 202 once
 * Lambda has queued the event: 10 to 30 ms; locally the stack would run the pass
 * in-process, which is not what the root run waits for). What it measures:
 *
 * - the root run's wall time (listing topics, reading heads and stats, dispatching), and
 *   the dispatch rate, at the default concurrency, against the compact function's default
 *   timeout (5 minutes);
 * - the same pass split into a chain (MAX_DISPATCHES_PER_RUN lowered to a fifth of it),
 *   each run handing the rest on with {fanOut, chain} as on AWS;
 * - the old sequential dispatch (concurrency 1), on a tenth of the partitions in the quick
 *   run, extrapolated per partition.
 *
 * Runs by itself (`npm run bench -- --only fanout`): it starts its own local stack.
 */
import { performance } from 'node:perf_hooks';
import { type CompactResult, createCompactHandler, type FanOutEvent } from '../../functions/compact/handler.js';
import { createObservability } from '../../functions/shared/observability.js';
import { DEFAULT_DISPATCH_CONCURRENCY, FANOUT_RUN_BUDGET_MS } from '../../lib/core/constants.js';
import type { LogEngine } from '../../lib/engine.js';
import type { FanOutBudget } from '../../lib/maintenance/maintenance.js';
import { startLocalStack } from '../../local/stack.js';
import { formatNumber } from '../harness/stats.js';
import { defineSuite } from '../harness/suite.js';
import type { ReportTable } from '../report/report.js';

/** The compact function's default timeout (infra/strata-log.ts). */
export const COMPACT_TIMEOUT_MS = 5 * 60_000;
/** Partitions per topic (MAX_PARTITIONS is 1,024). */
const PARTITIONS_PER_TOPIC = 1000;
/** Appends in flight while the partitions are filled. */
const FILL_CONCURRENCY = 32;

export interface FanOutBenchOptions {
  partitions: number;
  /** The modelled latency of one asynchronous invoke (ms). */
  invokeMs: number[];
  /** Partitions the sequential baseline dispatches (extrapolated to `partitions`). */
  sequentialPartitions: number;
}

export interface FanOutMeasurement {
  label: string;
  invokeMs: number;
  concurrency: number;
  partitions: number;
  /** Runs of the pass (1 + hand-ons). */
  runs: number;
  /** Wall time of the slowest run, and of all runs together (ms). */
  longestRunMs: number;
  totalMs: number;
  dispatchesPerSec: number;
  /** Measured on fewer partitions and scaled per partition. */
  extrapolated: boolean;
}

export interface FanOutBenchResult {
  options: FanOutBenchOptions & { partitionsPerTopic: number; timeoutMs: number; budgetMs: number };
  fillMs: number;
  measurements: FanOutMeasurement[];
}

/** Gives every partition of `topics` one record, so each is due for a pass. */
async function fill(engine: LogEngine, partitions: number): Promise<string[]> {
  const topics: string[] = [];
  const jobs: { topic: string; partition: number }[] = [];
  for (let t = 0; t * PARTITIONS_PER_TOPIC < partitions; t++) {
    const count = Math.min(PARTITIONS_PER_TOPIC, partitions - t * PARTITIONS_PER_TOPIC);
    const topic = `fanout-${t}`;
    await engine.topics.create({ name: topic, partitions: count });
    topics.push(topic);
    for (let p = 0; p < count; p++) jobs.push({ topic, partition: p });
  }
  for (let i = 0; i < jobs.length; i += FILL_CONCURRENCY) {
    await Promise.all(
      jobs
        .slice(i, i + FILL_CONCURRENCY)
        .map((j) =>
          engine.appender.appendToPartition(j.topic, j.partition, { records: [{ key: null, value: new TextEncoder().encode('x') }] }),
        ),
    );
  }
  return topics;
}

/** One scheduled pass through the handler, following its hand-ons; each run timed. */
async function pass(engine: LogEngine, invokeMs: number, fanOut: FanOutBudget, limit?: number) {
  let dispatched = 0;
  const handedOn: FanOutEvent[] = [];
  const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const handler = createCompactHandler(engine, createObservability('compact'), {
    dispatch: async () => {
      await wait(invokeMs);
      dispatched++;
    },
    continueFanOut: async (event) => {
      await wait(invokeMs);
      handedOn.push(event);
    },
    fanOut: { ...fanOut, ...(limit !== undefined ? { maxDispatches: Math.min(limit, fanOut.maxDispatches ?? Infinity) } : {}) },
  });
  const times: number[] = [];
  let event: unknown = { source: 'aws.events', 'detail-type': 'Scheduled Event' };
  for (;;) {
    const started = performance.now();
    const result: CompactResult = await handler(event);
    times.push(performance.now() - started);
    if (limit !== undefined && dispatched >= limit) break;
    const next = handedOn.shift();
    if (!next || !result.cursor) break;
    event = next;
  }
  return { dispatched, times };
}

export async function runFanOutBench(options: FanOutBenchOptions, log: (line: string) => void): Promise<FanOutBenchResult> {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  const stack = await startLocalStack({ port: 0, push: false });
  try {
    const fillStarted = performance.now();
    await fill(stack.engine, options.partitions);
    const fillMs = performance.now() - fillStarted;
    log(`  filled ${options.partitions} partitions in ${(fillMs / 1000).toFixed(1)} s`);
    const measurements: FanOutMeasurement[] = [];
    const measure = async (label: string, invokeMs: number, fanOut: FanOutBudget, limit?: number) => {
      const { dispatched, times } = await pass(stack.engine, invokeMs, fanOut, limit);
      const totalMs = times.reduce((a, b) => a + b, 0);
      const extrapolated = limit !== undefined && limit < options.partitions;
      const scale = extrapolated ? options.partitions / dispatched : 1;
      const m: FanOutMeasurement = {
        label,
        invokeMs,
        concurrency: fanOut.concurrency ?? DEFAULT_DISPATCH_CONCURRENCY,
        partitions: extrapolated ? options.partitions : dispatched,
        runs: times.length,
        longestRunMs: extrapolated ? totalMs * scale : Math.max(...times),
        totalMs: totalMs * scale,
        dispatchesPerSec: dispatched / (totalMs / 1000),
        extrapolated,
      };
      log(
        `  ${label}, ${invokeMs} ms an invoke: ${m.partitions} partitions in ${m.runs} run(s), longest ${(m.longestRunMs / 1000).toFixed(2)} s${extrapolated ? ' (extrapolated)' : ''}`,
      );
      measurements.push(m);
    };
    for (const invokeMs of options.invokeMs) await measure('parallel batches, one run', invokeMs, { budgetMs: FANOUT_RUN_BUDGET_MS });
    const chained = Math.ceil(options.partitions / 5);
    await measure(`chain of runs of ${chained}`, options.invokeMs[0]!, { budgetMs: FANOUT_RUN_BUDGET_MS, maxDispatches: chained });
    await measure(
      'one at a time (before)',
      options.invokeMs[0]!,
      { concurrency: 1, budgetMs: Infinity, maxDispatches: Infinity },
      options.sequentialPartitions,
    );
    return {
      options: { ...options, partitionsPerTopic: PARTITIONS_PER_TOPIC, timeoutMs: COMPACT_TIMEOUT_MS, budgetMs: FANOUT_RUN_BUDGET_MS },
      fillMs,
      measurements,
    };
  } finally {
    await stack.stop();
  }
}

export function fanOutTables(result: FanOutBenchResult): ReportTable[] {
  return [
    {
      title: `Scheduled pass over ${formatNumber(result.options.partitions)} active partitions (compact function timeout ${result.options.timeoutMs / 60_000} min)`,
      columns: ['dispatch', 'invoke (modelled)', 'in flight', 'runs', 'longest run', 'share of timeout', 'all runs', 'dispatches/s'],
      rows: result.measurements.map((m) => [
        m.label + (m.extrapolated ? ' *' : ''),
        `${m.invokeMs} ms`,
        String(m.concurrency),
        String(m.runs),
        `${(m.longestRunMs / 1000).toFixed(2)} s`,
        `${((100 * m.longestRunMs) / result.options.timeoutMs).toFixed(1)}%`,
        `${(m.totalMs / 1000).toFixed(2)} s`,
        formatNumber(Math.round(m.dispatchesPerSec)),
      ]),
      notes: [
        `* measured on ${formatNumber(result.options.sequentialPartitions)} partitions and scaled per partition; it would pass the ${result.options.timeoutMs / 60_000}-minute timeout at about ${formatNumber(Math.round((result.options.timeoutMs / (result.measurements.find((m) => m.extrapolated)?.totalMs ?? 1)) * result.options.partitions))} partitions.`,
      ],
    },
  ];
}

export const fanOutSuite = defineSuite({
  name: 'fanout',
  title: 'Scheduled fan-out',
  measures: "the compact function's scheduled pass over thousands of due partitions",
  /**
   * One pass over this many active partitions, each asynchronous invoke modelled at these
   * latencies (ms); the one-at-a-time baseline on `sequentialPartitions`, extrapolated.
   */
  full: { partitions: 5000, invokeMs: [20, 30], sequentialPartitions: 1000 },
  quick: { partitions: 5000, invokeMs: [20], sequentialPartitions: 250 },
  start: 'scheduled fan-out',
  measure: (options, ctx) => runFanOutBench(options, ctx.log),
  render: (result) => ({
    intro: [
      `${result.options.partitions} partitions of ${Math.ceil(result.options.partitions / result.options.partitionsPerTopic)} topics, one record each; filling them took ${(result.fillMs / 1000).toFixed(0)} s (not measured).`,
    ],
    tables: fanOutTables(result),
  }),
});
