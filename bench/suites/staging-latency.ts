/**
 * The staging tier's latency (issue 15, item 2): what staging a batch in S3 Express One
 * Zone adds to an append, against keeping it in the DynamoDB tail and against staging it
 * in S3 Standard, on the AWS latency model (bench/harness/latency-model.ts: DynamoDB 6 ms a call
 * and 6 ms more a transaction; S3 Standard 30 ms, S3 Express 5 ms a request).
 *
 * Two latencies per append. `measured`: its wall time here, the emulators' own time
 * included (DynamoDB Local and s3rver on a shared two-core machine: a few ms a call idle,
 * tens under load, which swamps a 5 ms model). `model`: what the append takes on the AWS
 * model, its wall time less what the emulators' calls took and less the model's sleeps,
 * plus what the model asks for those calls: the engine's own time plus the modelled
 * round trips. One request at a time, so the middleware's counters between the start
 * and the end of an append are that append's calls. The aim is judged on `model`.
 *
 * One process, one request at a time, through the engine (no HTTP): the engine's
 * deployed sequencing (`reserve`), on DynamoDB Local in memory and one s3rver with two
 * buckets (the Standard bucket and the Express stand-in, each behind its own SDK client
 * and model). Per batch size, three topics: stageBytes 350 KiB (the batch stays in the
 * tail), stageBytes 1 KiB on the engine with the tier (staged in Express), and the same
 * on an engine without it (staged in Standard). Each round appends once to every topic,
 * in a shuffled order, so drift in the machine's load falls on all of them alike.
 *
 *     tail       reserve ─▶ fill (TransactWrite, the batch inline)
 *     express    PUT batch (Express, 5 ms) ─▶ reserve ─▶ fill (the pointer)
 *     standard   PUT batch (Standard, 30 ms) ─▶ reserve ─▶ fill (the pointer)
 */
import { performance } from 'node:perf_hooks';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { LogEngine } from '../../lib/engine.js';
import type { AppendRecordInput } from '../../lib/sequencing/appender.js';
import { ensureBucket, ensureTable } from '../../local/emulators.js';
import {
  DEFAULT_LATENCY_MODEL,
  describeLatencyModel,
  installLatencyModel,
  installS3LatencyModel,
  type LatencyModelStats,
  S3_EXPRESS_LATENCY_MODEL,
  S3_STANDARD_LATENCY_MODEL,
} from '../harness/latency-model.js';
import { startOwnEmulators } from '../harness/own-emulators.js';
import { formatMs, type LatencySummary, summarize } from '../harness/stats.js';
import { defineSuite } from '../harness/suite.js';
import type { ReportTable } from '../report/report.js';

const KiB = 1024;
/** The aim of issue 15: S3 Express staging adds less than this to the append's p99 (ms). */
export const STAGING_ADDED_P99_AIM_MS = 10;
/** Bytes of each record's value: the issue's 1 KiB records. */
const RECORD_VALUE_BYTES = 1 * KiB;
/** Unmeasured rounds first (connections, JIT, the S3 clients' first requests). */
const WARMUP_ROUNDS = 10;

export type StagingTierCase = 'tail' | 'express' | 'standard';
export const STAGING_TIER_CASES: readonly StagingTierCase[] = ['tail', 'express', 'standard'];
const CASE_LABELS: Record<StagingTierCase, string> = {
  tail: 'DynamoDB tail',
  express: 'staged, S3 Express',
  standard: 'staged, S3 Standard',
};

export interface StagingLatencyOptions {
  /** Measured appends per batch size and case. */
  samples: number;
  /** Batch sizes, in KiB of 1 KiB records. */
  batchKiB: number[];
}

export interface StagingLatencyPoint {
  batchKiB: number;
  tier: StagingTierCase;
  /** On the AWS model: the engine's own time plus the modelled calls (the emulators' time and timer lateness taken out). */
  latency: LatencySummary;
  /** Wall time on this machine, the emulators' own time and the model's sleeps included. */
  measured: LatencySummary;
}

export interface StagingLatencyResult {
  config: StagingLatencyOptions & { recordValueBytes: number; warmupRounds: number; sequencing: 'reserve' };
  models: { dynamo: string; s3StandardMs: number; s3ExpressMs: number };
  points: StagingLatencyPoint[];
  /** Per batch size: what Express (and Standard) staging adds to the tail's p50 and p99, on the model. */
  added: { batchKiB: number; expressP50: number; expressP99: number; standardP50: number; standardP99: number; aimMet: boolean }[];
  /** What the models' sleeps really added per call, against what they asked (timer lateness on a busy machine). */
  addedPerCall: Record<'dynamo' | 's3Standard' | 's3Express', { modelledMs: number; addedMs: number; callMs: number }>;
  /** Staged objects found in each bucket after the run: where each case's batches really went. */
  placement: Record<StagingTierCase, { expressObjects: number; standardObjects: number }>;
}

function topicOf(tier: StagingTierCase, batchKiB: number): string {
  return `staging-${tier}-${batchKiB}k`;
}

function batchOf(batchKiB: number, round: number): AppendRecordInput[] {
  return Array.from({ length: batchKiB }, (_, i) => ({
    key: null,
    value: new TextEncoder().encode(`${round}-${i}-`.padEnd(RECORD_VALUE_BYTES, 'v')),
  }));
}

function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function perCall(stats: LatencyModelStats): { modelledMs: number; addedMs: number; callMs: number } {
  const mean = (total: number) => (stats.calls ? total / stats.calls : Number.NaN);
  return { modelledMs: mean(stats.modelledMs), addedMs: mean(stats.addedMs), callMs: mean(stats.callMs ?? 0) };
}

export async function runStagingLatencyBench(options: StagingLatencyOptions, log: (line: string) => void): Promise<StagingLatencyResult> {
  const emulators = await startOwnEmulators('staging');
  const { dynamo } = emulators;
  const s3Standard = emulators.s3Client();
  const s3Express = emulators.s3Client();
  try {
    const tableName = 'strata-bench-staging';
    await Promise.all([ensureTable(dynamo, tableName), ensureBucket(s3Standard, 'standard'), ensureBucket(s3Express, 'express')]);
    const modelStats = {
      dynamo: installLatencyModel(dynamo, DEFAULT_LATENCY_MODEL),
      s3Standard: installS3LatencyModel(s3Standard, S3_STANDARD_LATENCY_MODEL),
      s3Express: installS3LatencyModel(s3Express, S3_EXPRESS_LATENCY_MODEL),
    };
    const store = new DynamoLogStore(dynamo, tableName);
    const standard = new S3ObjectStore(s3Standard, 'standard');
    const express = new S3ObjectStore(s3Express, 'express');
    const engines: Record<StagingTierCase, LogEngine> = {
      tail: new LogEngine({ store, objects: standard, staging: { objects: express }, sequencing: 'reserve' }),
      express: new LogEngine({ store, objects: standard, staging: { objects: express }, sequencing: 'reserve' }),
      standard: new LogEngine({ store, objects: standard, sequencing: 'reserve' }),
    };
    const cases = options.batchKiB.flatMap((batchKiB) => STAGING_TIER_CASES.map((tier) => ({ batchKiB, tier })));
    for (const { batchKiB, tier } of cases) {
      await engines[tier].topics.create({
        name: topicOf(tier, batchKiB),
        partitions: 1,
        config: { stageBytes: tier === 'tail' ? 350 * KiB : 1 * KiB },
      });
    }
    const samples = new Map<string, number[]>(cases.map((c) => [topicOf(c.tier, c.batchKiB), []]));
    const measured = new Map<string, number[]>(cases.map((c) => [topicOf(c.tier, c.batchKiB), []]));
    const all = Object.values(modelStats);
    // What the emulators' calls and the model's sleeps took so far, and what the model asked for.
    const counters = () => ({
      local: all.reduce((sum, s) => sum + (s.callMs ?? 0) + s.addedMs, 0),
      modelled: all.reduce((sum, s) => sum + s.modelledMs, 0),
    });
    const rounds = WARMUP_ROUNDS + options.samples;
    for (let round = 0; round < rounds; round++) {
      for (const { batchKiB, tier } of shuffled(cases)) {
        const topic = topicOf(tier, batchKiB);
        const records = batchOf(batchKiB, round);
        const before = counters();
        const begin = performance.now();
        await engines[tier].appender.appendToPartition(topic, 0, { records });
        const ms = performance.now() - begin;
        const after = counters();
        if (round >= WARMUP_ROUNDS) {
          measured.get(topic)!.push(ms);
          samples.get(topic)!.push(ms - (after.local - before.local) + (after.modelled - before.modelled));
        }
      }
      if ((round + 1) % 50 === 0) log(`  ${Math.max(round + 1 - WARMUP_ROUNDS, 0)} of ${options.samples} rounds`);
    }
    const points = cases.map(({ batchKiB, tier }) => ({
      batchKiB,
      tier,
      latency: summarize(samples.get(topicOf(tier, batchKiB))!),
      measured: summarize(measured.get(topicOf(tier, batchKiB))!),
    }));
    const find = (batchKiB: number, tier: StagingTierCase) => points.find((p) => p.batchKiB === batchKiB && p.tier === tier)!.latency;
    const added = options.batchKiB.map((batchKiB) => {
      const tail = find(batchKiB, 'tail');
      const ex = find(batchKiB, 'express');
      const st = find(batchKiB, 'standard');
      const expressP99 = ex.p99 - tail.p99;
      return {
        batchKiB,
        expressP50: ex.p50 - tail.p50,
        expressP99,
        standardP50: st.p50 - tail.p50,
        standardP99: st.p99 - tail.p99,
        aimMet: expressP99 < STAGING_ADDED_P99_AIM_MS,
      };
    });
    const count = async (objects: S3ObjectStore, tier: StagingTierCase) =>
      (await Promise.all(options.batchKiB.map((k) => objects.list(`topics/${topicOf(tier, k)}/`))))
        .flat()
        .filter((o) => o.key.includes('/staged/')).length;
    const placement = Object.fromEntries(
      await Promise.all(
        STAGING_TIER_CASES.map(async (tier) => [
          tier,
          { expressObjects: await count(express, tier), standardObjects: await count(standard, tier) },
        ]),
      ),
    ) as StagingLatencyResult['placement'];
    return {
      config: { ...options, recordValueBytes: RECORD_VALUE_BYTES, warmupRounds: WARMUP_ROUNDS, sequencing: 'reserve' },
      models: {
        dynamo: describeLatencyModel(DEFAULT_LATENCY_MODEL),
        s3StandardMs: S3_STANDARD_LATENCY_MODEL.requestMs,
        s3ExpressMs: S3_EXPRESS_LATENCY_MODEL.requestMs,
      },
      points,
      added,
      addedPerCall: {
        dynamo: perCall(modelStats.dynamo),
        s3Standard: perCall(modelStats.s3Standard),
        s3Express: perCall(modelStats.s3Express),
      },
      placement,
    };
  } finally {
    await emulators.stop();
  }
}

export function stagingLatencyTables(result: StagingLatencyResult): ReportTable[] {
  const point = (batchKiB: number, tier: StagingTierCase) => result.points.find((p) => p.batchKiB === batchKiB && p.tier === tier)!;
  const perCallNote = (): string => {
    const { dynamo, s3Standard, s3Express } = result.addedPerCall;
    return `Mean per call: DynamoDB Local ${formatMs(dynamo.callMs)} ms of its own plus ${formatMs(dynamo.addedMs)} ms slept for a modelled ${formatMs(dynamo.modelledMs)}; s3rver, Standard bucket ${formatMs(s3Standard.callMs)} + ${formatMs(s3Standard.addedMs)} slept for ${formatMs(s3Standard.modelledMs)}; Express stand-in ${formatMs(s3Express.callMs)} + ${formatMs(s3Express.addedMs)} slept for ${formatMs(s3Express.modelledMs)}.`;
  };
  const model: ReportTable = {
    title: `Append latency on the AWS model by where the batch goes, ${result.config.samples} appends each (ms)`,
    columns: ['batch of 1 KiB records', ...STAGING_TIER_CASES.flatMap((t) => [`${CASE_LABELS[t]} p50`, 'p99'])],
    rows: result.config.batchKiB.map((k) => [
      `${k} KiB`,
      ...STAGING_TIER_CASES.flatMap((t) => [formatMs(point(k, t).latency.p50), formatMs(point(k, t).latency.p99)]),
    ]),
    notes: [
      `Model: DynamoDB ${result.models.dynamo}; S3 Standard +${result.models.s3StandardMs} ms and S3 Express +${result.models.s3ExpressMs} ms per request (bench/harness/latency-model.ts, with the sources of each figure).`,
      `${result.config.warmupRounds} unmeasured rounds first.`,
      `Where the batches went: ${STAGING_TIER_CASES.map((t) => `${CASE_LABELS[t]} ${result.placement[t].expressObjects} in Express, ${result.placement[t].standardObjects} in Standard`).join('; ')}.`,
    ],
  };
  const added: ReportTable = {
    title: `What staging adds to the DynamoDB tail's latency on the AWS model (ms; aim: S3 Express under +${STAGING_ADDED_P99_AIM_MS} ms at p99)`,
    columns: ['batch', 'S3 Express +p50', 'S3 Express +p99', 'aim', 'S3 Standard +p50', 'S3 Standard +p99'],
    rows: result.added.map((a) => [
      `${a.batchKiB} KiB`,
      formatMs(a.expressP50),
      formatMs(a.expressP99),
      a.aimMet ? 'met' : 'missed',
      formatMs(a.standardP50),
      formatMs(a.standardP99),
    ]),
  };
  const wall: ReportTable = {
    title: "The same appends, wall time on this machine (ms; the emulators' own time included)",
    columns: ['batch of 1 KiB records', ...STAGING_TIER_CASES.flatMap((t) => [`${CASE_LABELS[t]} p50`, 'p99'])],
    rows: result.config.batchKiB.map((k) => [
      `${k} KiB`,
      ...STAGING_TIER_CASES.flatMap((t) => [formatMs(point(k, t).measured.p50), formatMs(point(k, t).measured.p99)]),
    ]),
    notes: [perCallNote()],
  };
  return [model, added, wall];
}

export const stagingSuite = defineSuite({
  name: 'staging',
  title: 'Staging tier: append latency on the AWS model (issue 15)',
  measures: 'append latency with the batch in the DynamoDB tail, in S3 Express, in S3 Standard (AWS latency model)',
  /** Batch sizes appended kept in the tail, staged in S3 Express, staged in S3 Standard; `samples` of each. */
  full: { samples: 300, batchKiB: [16, 64, 256] },
  quick: { samples: 60, batchKiB: [16, 64, 256] },
  start: 'staging tier: append latency, DynamoDB tail vs S3 Express vs S3 Standard (AWS latency model)',
  measure: (options, ctx) => runStagingLatencyBench(options, ctx.log),
  render: (result) => ({ tables: stagingLatencyTables(result) }),
});
