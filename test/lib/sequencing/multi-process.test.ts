/**
 * Appends as Lambda sends them (issue 13): separate OS processes, each with its own
 * engine and one request at a time, under SDK faults, SIGKILLs and an AWS latency model,
 * while flushes, retention and compaction run; then Jepsen's queue checks and the
 * checker's own (test/support/multi-process.ts).
 *
 * `npm test` runs a short slice; `npm run test:multi-process` a long run. Environment:
 *
 *     STRATA_MP_DURATION_MS   how long workers append (default 25000)
 *     STRATA_MP_PROCESSES     worker processes (default 8, at least 8)
 *     STRATA_MP_PARTITIONS    partitions of the topic (default 2)
 *     STRATA_MP_SEED          seed of the schedule, the workload and the faults (default 1)
 *     STRATA_MP_KILL_EVERY_MS "min,max" between two SIGKILLs of a random worker (default 2000,5000)
 *     STRATA_MP_CRASH_POINTS  JSON {point: probability}, merged over the defaults
 *     STRATA_MP_HOOK_OPTION   the EngineOptions field engine:<hook> points are passed in (default testHooks)
 *     STRATA_MP_SEQUENCING    optimistic | reserve | write-first: the engines' sequencing (default: the
 *                             engine's)
 *     STRATA_MP_STAGING       express: every engine stages batches in a second bucket, the
 *                             S3 Express staging tier's stand-in (lib/staging/tier.ts); default off
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { freshBucket, freshTable } from '../../support/aws.js';
import { DEFAULT_CRASH_POINTS, formatReport, runMultiProcess, writeReport } from '../../support/multi-process.js';

const MIN_PROCESSES = 8;
/** Acknowledged records a run must reach at least: a loaded two-core machine made about 70 in 25 s. */
const MIN_ACKED = 20;
/** Startup of the workers, stop, heal, drain, final reads and checks, on a busy 2-core machine. */
const OVERHEAD_MS = 240_000;

function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be a whole number ≥ ${min}; got ${JSON.stringify(raw)}`);
  return value;
}

function rangeEnv(name: string, fallback: [number, number]): [number, number] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const parts = raw.split(',').map(Number);
  if (parts.length !== 2 || !parts.every((n) => Number.isSafeInteger(n) && n > 0) || parts[0]! > parts[1]!) {
    throw new Error(`${name} must be "min,max" in ms with 0 < min ≤ max; got ${JSON.stringify(raw)}`);
  }
  return parts as [number, number];
}

function crashPointsEnv(): Record<string, number> {
  const raw = process.env.STRATA_MP_CRASH_POINTS;
  if (raw === undefined || raw.trim() === '') return DEFAULT_CRASH_POINTS;
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new Error(`STRATA_MP_CRASH_POINTS must be JSON (${(err as Error).message}); got ${raw}`);
  }
  const valid =
    typeof parsed === 'object' && parsed !== null && Object.values(parsed).every((p) => typeof p === 'number' && p >= 0 && p <= 1);
  if (!valid) throw new Error(`STRATA_MP_CRASH_POINTS must be a JSON object of probabilities; got ${raw}`);
  return { ...DEFAULT_CRASH_POINTS, ...(parsed as Record<string, number>) };
}

function sequencingEnv(): 'optimistic' | 'reserve' | 'write-first' | undefined {
  const raw = process.env.STRATA_MP_SEQUENCING;
  if (raw === undefined || raw.trim() === '') return undefined;
  if (raw !== 'optimistic' && raw !== 'reserve' && raw !== 'write-first')
    throw new Error(`STRATA_MP_SEQUENCING must be optimistic, reserve or write-first; got ${JSON.stringify(raw)}`);
  return raw;
}

/** STRATA_MP_STAGING: `express` turns the staging tier on. */
function stagingEnv(): boolean {
  const raw = process.env.STRATA_MP_STAGING;
  if (raw === undefined || raw.trim() === '' || raw === 'off') return false;
  if (raw !== 'express') throw new Error(`STRATA_MP_STAGING must be express or off; got ${JSON.stringify(raw)}`);
  return true;
}

const durationMs = intEnv('STRATA_MP_DURATION_MS', 25_000, 1_000);
const processes = intEnv('STRATA_MP_PROCESSES', MIN_PROCESSES, MIN_PROCESSES);
const partitions = intEnv('STRATA_MP_PARTITIONS', 2, 1);
const seed = intEnv('STRATA_MP_SEED', 1, 0);
const staging = stagingEnv();
const sequencing = sequencingEnv();

describe('appends from separate processes, one request at a time each', () => {
  it(
    `lose, duplicate, reorder and skip nothing through SIGKILLs and SDK faults (${processes} processes, ${durationMs / 1000} s${sequencing ? `, ${sequencing}` : ''}${staging ? ', staging tier' : ''})`,
    async () => {
      const workDir = await mkdtemp(join(tmpdir(), 'strata-mp-'));
      try {
        const report = await runMultiProcess({
          dynamoEndpoint: inject('dynamoEndpoint'),
          s3Endpoint: inject('s3Endpoint'),
          tableName: await freshTable(),
          bucket: await freshBucket(),
          durationMs,
          processes,
          partitions,
          seed,
          killEveryMs: rangeEnv('STRATA_MP_KILL_EVERY_MS', [2_000, 5_000]),
          crashPoints: crashPointsEnv(),
          engineHookOption: process.env.STRATA_MP_HOOK_OPTION || 'testHooks',
          ...(sequencing ? { engine: { sequencing } } : {}),
          ...(staging ? { stagingBucket: await freshBucket('strata-staging') } : {}),
          workDir,
          log: (line) => console.log(line),
        });
        const file = writeReport(report);
        console.log(`${formatReport(report)}\n  report: ${file}`);

        expect(report.anomalies, `${formatReport(report)}\n${report.summary}`).toEqual(
          Object.fromEntries(Object.keys(report.anomalies).map((k) => [k, 0])),
        );
        // The run did what it is for (bounds a busy two-core machine still reaches): acks
        // from every kind of append, kills with requests in flight, SDK faults, flushes.
        expect(report.history.acked).toBeGreaterThan(MIN_ACKED);
        for (const kind of ['plain', 'idempotent', 'conditional'] as const) expect(report.requests.byKind[kind]).toBeGreaterThan(0);
        expect(report.kills.parent + Object.values(report.kills.crashPoints).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
        expect(report.faults.total).toBeGreaterThan(0);
        expect(report.maintenance.flushedSegments).toBeGreaterThan(0);
        expect(report.history.polls).toBeGreaterThan(0);
      } finally {
        await rm(workDir, { recursive: true, force: true });
      }
    },
    durationMs + OVERHEAD_MS,
  );
});
