/**
 * The compact function: flush, retention, key compaction and garbage collection
 * (lib/maintenance/maintenance.ts).
 *
 * - A scheduled event (EventBridge, every 5 minutes by default) cleans up deleted topics
 *   a bounded step and fans out: one asynchronous invocation of this function per
 *   partition with records (`{topic, partition}`), DEFAULT_DISPATCH_CONCURRENCY at a
 *   time, for at most FANOUT_RUN_BUDGET_MS (or MAX_DISPATCHES_PER_RUN partitions); then
 *   it invokes itself with `{fanOut: cursor, chain}` and that run continues the pass where
 *   this one stopped (lib/maintenance/maintenance.ts runAll). No run walks every partition, and a
 *   retried run resumes at its own cursor.
 * - `{topic, partition}` runs one bounded pass over that partition (the append function
 *   sends the same event when a tail passed its flush threshold). A pass that stopped at
 *   its bound invokes the function again for the partition (`continuation`, at most
 *   MAX_CONTINUATIONS in a row; the schedule picks up the rest).
 *
 * - `{"inline": true}` runs every partition in this invocation (`npm run compact`).
 *
 * Duplicated or retried invocations are harmless: every step is conditioned on what it read.
 */
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { FANOUT_RUN_BUDGET_MS, FANOUT_TIMEOUT_RESERVE_MS, MAX_FANOUT_CHAIN } from '../../lib/core/constants.js';
import { InternalError } from '../../lib/core/errors.js';
import type { LogEngine } from '../../lib/engine.js';
import type { FanOutBudget, FanOutCursor, PartitionPass, ScheduledRun } from '../../lib/maintenance/maintenance.js';
import { readEnv } from '../shared/env.js';
import { lambdaFlushTrigger, lambdaSelfInvoker, type PartitionInvoker } from '../shared/flush-trigger.js';
import { createObservability, MetricUnit, type Observability } from '../shared/observability.js';
import { createEngine, lambdaClient } from '../shared/runtime.js';
import { invocation } from '../shared/tracing.js';

/** Self-invocations in a row for one partition before leaving the rest to the schedule. */
export const MAX_CONTINUATIONS = 10;

/** An asynchronous invocation for one partition. */
export const partitionEventSchema = z.object({
  topic: z.string().min(1),
  partition: z.number().int().min(0),
  continuation: z.number().int().min(0).optional(),
});
export type PartitionEvent = z.infer<typeof partitionEventSchema>;

/** The rest of a scheduled pass: resume at `fanOut`; `chain` counts the runs of the pass so far. */
export const fanOutEventSchema = z.object({
  fanOut: z.object({ topic: z.string().min(1), partition: z.number().int().min(0) }),
  chain: z.number().int().min(1),
});
export type FanOutEvent = z.infer<typeof fanOutEventSchema>;

/** `{"inline": true}`: the scheduled run without the fan-out, every partition in this invocation (`npm run compact`). */
export const inlineEventSchema = z.object({ inline: z.literal(true) });

export interface CompactResult {
  /** Partitions passed over in this invocation. */
  partitions: number;
  /** Partitions handed to other invocations (the scheduled fan-out, or a continuation). */
  dispatched: number;
  /** Partitions the schedule left alone: nothing appended and nothing due since their last pass. */
  skipped: number;
  /** Where a scheduled run stopped at its budget and the next run of the pass continues (handed on with continueFanOut). */
  cursor?: FanOutCursor;
  /** Flushed segments, records and tail bytes. */
  segments: number;
  records: number;
  bytes: number;
  retainedSegments: number;
  compactedSegments: number;
  recordsRemoved: number;
  gcObjects: number;
  deletedTopicsRemoved: number;
  /**
   * The longest any passed-over partition's oldest unflushed offset had waited when its
   * flush ended (ms; 0 when all were flushed), absent when no pass saw its tail.
   */
  flushLagMs?: number;
  /** Unflushed tail items whose TTL was extended: they were about to expire (flushes failing for hours). */
  ttlExtended: number;
}

export interface CompactDeps {
  /** Invokes this function asynchronously for a partition; without it the scheduled run works inline. */
  dispatch?: PartitionInvoker;
  /** Invokes this function asynchronously with the rest of a scheduled pass; without it one run dispatches the whole pass. */
  continueFanOut?: (event: FanOutEvent) => Promise<void>;
  /** The scheduled run's budget and concurrency (FanOutBudget; the defaults in lib/core/constants.ts). */
  fanOut?: FanOutBudget;
}

export function createCompactHandler(engine: LogEngine, obs: Observability, deps: CompactDeps = {}) {
  return (event: unknown, context?: Context): Promise<CompactResult> =>
    invocation(obs.logger, context, obs.service, () => compact(engine, obs, deps, event, context));
}

async function compact(
  engine: LogEngine,
  obs: Observability,
  deps: CompactDeps,
  event: unknown,
  context?: Context,
): Promise<CompactResult> {
  const maintenance = engine.maintenance;
  if (!maintenance) throw new InternalError('the compact function needs an object store (STRATA_BUCKET_NAME)');
  const one = partitionEventSchema.safeParse(event);
  let passes: PartitionPass[];
  let dispatched = 0;
  let run: ScheduledRun | undefined;
  if (one.success) {
    const { topic, partition, continuation = 0 } = one.data;
    const pass = await maintenance.runPartition(topic, partition);
    passes = pass ? [pass] : [];
    if (pass?.more && deps.dispatch && continuation < MAX_CONTINUATIONS) {
      const meta = await engine.topics.get(topic);
      await deps.dispatch({ topic, topicId: meta.topicId, partition }, continuation + 1);
      dispatched = 1;
    }
  } else {
    const inline = inlineEventSchema.safeParse(event).success;
    const rest = fanOutEventSchema.safeParse(event);
    const chain = rest.success ? rest.data.chain : 0;
    const dispatch = deps.dispatch && !inline ? deps.dispatch : undefined;
    run = await maintenance.runAll(dispatch ? (ref) => dispatch(ref) : undefined, {
      ...deps.fanOut,
      ...(rest.success ? { cursor: rest.data.fanOut } : {}),
      // Without a way to hand the rest on, this run has to finish the pass.
      ...(deps.continueFanOut ? { budgetMs: runBudgetMs(deps.fanOut?.budgetMs, context) } : { maxDispatches: Infinity }),
    });
    passes = run.passes;
    dispatched = run.dispatched.length;
    if (run.cursor && deps.continueFanOut) {
      if (chain < MAX_FANOUT_CHAIN) await deps.continueFanOut({ fanOut: run.cursor, chain: chain + 1 });
      else obs.logger.warn('scheduled pass stopped at its longest chain; the next schedule starts it again', { chain, cursor: run.cursor });
    }
  }
  const result = summarize(passes, dispatched, run);
  emitMetrics(obs, result);
  obs.logger.info('compact pass', { trigger: one.success ? 'partition' : 'schedule', ...result });
  return result;
}

/**
 * How long a scheduled run may dispatch: FANOUT_RUN_BUDGET_MS, and never closer than
 * FANOUT_TIMEOUT_RESERVE_MS to the invocation's timeout (a compact function configured
 * with a short timeout still hands on before Lambda stops it).
 */
export function runBudgetMs(budgetMs: number | undefined, context?: Pick<Context, 'getRemainingTimeInMillis'>): number {
  const budget = budgetMs ?? FANOUT_RUN_BUDGET_MS;
  const remaining = context?.getRemainingTimeInMillis?.();
  return remaining === undefined ? budget : Math.max(0, Math.min(budget, remaining - FANOUT_TIMEOUT_RESERVE_MS));
}

function summarize(passes: PartitionPass[], dispatched: number, run: ScheduledRun | undefined): CompactResult {
  const sum = (f: (p: PartitionPass) => number) => passes.reduce((n, p) => n + f(p), 0);
  return {
    partitions: passes.length,
    dispatched,
    skipped: run?.skipped ?? 0,
    ...(run?.cursor ? { cursor: run.cursor } : {}),
    segments: sum((p) => p.flush.segments),
    records: sum((p) => p.flush.records),
    bytes: sum((p) => p.flush.bytes),
    retainedSegments: sum((p) => p.retention.segments),
    compactedSegments: sum((p) => p.compaction.segmentsIn),
    recordsRemoved: sum((p) => p.compaction.recordsRemoved),
    gcObjects: sum((p) => p.gc.objects) + (run?.deletedTopics.objects ?? 0),
    deletedTopicsRemoved: run?.deletedTopics.topics ?? 0,
    ...maxLag(passes),
    ttlExtended: sum((p) => p.flush.kept ?? 0),
  };
}

function maxLag(passes: PartitionPass[]): Pick<CompactResult, 'flushLagMs'> {
  const lags = passes.flatMap((p) => (p.flush.lagMs === undefined ? [] : [p.flush.lagMs]));
  return lags.length === 0 ? {} : { flushLagMs: Math.max(...lags) };
}

function emitMetrics(obs: Observability, r: CompactResult): void {
  obs.metrics.addMetric('FlushSegments', MetricUnit.Count, r.segments);
  obs.metrics.addMetric('FlushRecords', MetricUnit.Count, r.records);
  obs.metrics.addMetric('FlushBytes', MetricUnit.Bytes, r.bytes);
  obs.metrics.addMetric('RetentionSegments', MetricUnit.Count, r.retainedSegments);
  obs.metrics.addMetric('CompactionSegments', MetricUnit.Count, r.compactedSegments);
  obs.metrics.addMetric('CompactionRecordsRemoved', MetricUnit.Count, r.recordsRemoved);
  obs.metrics.addMetric('GcObjectsDeleted', MetricUnit.Count, r.gcObjects);
  obs.metrics.addMetric('PartitionsDispatched', MetricUnit.Count, r.dispatched);
  if (r.flushLagMs !== undefined) obs.metrics.addMetric('FlushLag', MetricUnit.Milliseconds, r.flushLagMs);
  obs.metrics.addMetric('TailTtlExtended', MetricUnit.Count, r.ttlExtended);
  obs.metrics.publishStoredMetrics();
}

let instance: ReturnType<typeof createCompactHandler> | undefined;

/** Lambda entry point: builds the engine once per cold start from the environment. */
export async function handler(event: unknown, context?: Context): Promise<CompactResult> {
  if (!instance) {
    const env = readEnv();
    const obs = createObservability('compact');
    // The function invokes itself: its own name, as Lambda sets it.
    const self = env.functionName ?? env.compactFunctionName;
    const client = self ? lambdaClient(env) : undefined;
    instance = createCompactHandler(
      createEngine(env),
      obs,
      client && self ? { dispatch: lambdaFlushTrigger(client, self, obs.logger), continueFanOut: lambdaSelfInvoker(client, self) } : {},
    );
  }
  return instance(event, context);
}
