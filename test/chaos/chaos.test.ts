/**
 * The chaos suite (issue 8, part 3): the local stack in its own process under a mixed
 * workload while a fault schedule SIGKILLs it and makes DynamoDB and S3 fail, hang and
 * throttle; then Jepsen's queue checks. `npm test` runs a 60-second slice;
 * `npm run test:chaos` runs it for STRATA_CHAOS_DURATION_MS (default 5 minutes) at full scale
 * and writes its figures into docs/reliability.md.
 * Each run writes its figures to .tmp/chaos/ (docs/reliability.md quotes them).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findFreePort } from '../../local/emulators.js';
import { REFUSED_RECORDS } from './actors.js';
import { writeReliabilitySection } from './reliability-doc.js';
import { runChaos } from './run-chaos.js';

const SLICE_DURATION_MS = 60_000;
/**
 * What `npm run test:chaos` runs unless STRATA_CHAOS_DURATION_MS says otherwise
 * (package.json): seven minutes, to pass 100,000 operations with the append worker
 * processes beside the server (five minutes made 84,785 on reserve, fill, seal: their
 * start-ups and the slower server restarts take the two cores' time).
 */
const DEFAULT_FULL_DURATION_MS = 420_000;
const durationMs = Number(process.env.STRATA_CHAOS_DURATION_MS || SLICE_DURATION_MS);
const fullRun = durationMs > SLICE_DURATION_MS;
/**
 * What a full run must check: its faults go on past durationMs until the run has
 * recorded this many operations, for up to half as long again, so that a slow machine
 * (a server that takes longer to come back after each SIGKILL) checks as much as a fast
 * one. A run still short of it at the end fails.
 */
const FULL_RUN_OPERATIONS = 100_000;
const maxDurationMs = fullRun ? Math.round(durationMs * 1.5) : durationMs;
/** Startup, the drain after the faults stop, and the checks. */
const OVERHEAD_MS = 300_000;

describe('chaos', () => {
  it(
    `keeps every queue property through SIGKILLs and injected DynamoDB/S3 faults (${durationMs / 1000} s)`,
    async () => {
      const dataDir = await mkdtemp(join(tmpdir(), 'strata-chaos-'));
      // A run that finds an anomaly keeps its data (DynamoDB Local's and s3rver's files) to be read after it.
      let anomalies = 0;
      try {
        const report = await runChaos({
          durationMs,
          ...(fullRun ? { minOperations: FULL_RUN_OPERATIONS, maxDurationMs } : {}),
          seed: Number(process.env.STRATA_CHAOS_SEED || 1),
          dataDir,
          port: await findFreePort(),
          upMs: [10_000, 20_000],
          scale: fullRun ? 1 : 0.5,
          // Append workers: separate processes with their own engines, as Lambda environments (STRATA_CHAOS_PROCESSES).
          appendProcesses: Number(process.env.STRATA_CHAOS_PROCESSES || (fullRun ? 3 : 2)),
          ...(fullRun ? { workerKillEveryMs: [15_000, 30_000] as [number, number] } : {}),
          // STRATA_CHAOS_SEQUENCING=reserve runs the server with the reserving sequencer (issue 13).
          ...(process.env.STRATA_CHAOS_SEQUENCING
            ? { sequencing: process.env.STRATA_CHAOS_SEQUENCING as 'optimistic' | 'reserve' | 'write-first' }
            : {}),
          log: (line) => console.log(line),
        });
        const { details: _details, outcomes: workerOutcomes, ...workers } = report.workers;
        console.log(
          JSON.stringify(
            {
              operations: report.operations,
              faults: report.faults.injected,
              kills: report.schedule.kills,
              workers: { ...workers, faults: workers.faults.injected },
              workerOutcomes,
              anomalies: report.anomalies,
            },
            null,
            2,
          ),
        );
        console.log(report.summaries.join('\n'));
        const push = Object.fromEntries(
          Object.entries(report.outcomes).filter(([k]) => k.startsWith('group push') || k.includes('without push')),
        );
        console.log(`group members' push channels: ${JSON.stringify(push)}`);
        // A full run documents itself, anomalies and all, before the verdict.
        if (fullRun) {
          const viaNpm = process.env.npm_lifecycle_event === 'test:chaos';
          // The settings the run inherits from its environment, as the command to repeat it.
          const sequencing = ['STRATA_CHAOS_SEQUENCING', 'STRATA_TAIL_TTL_MS', 'STRATA_STAGING']
            .flatMap((name) => (process.env[name] ? [`${name}=${process.env[name]} `] : []))
            .join('');
          const command =
            sequencing +
            (viaNpm && durationMs === DEFAULT_FULL_DURATION_MS
              ? 'npm run test:chaos'
              : `STRATA_CHAOS_DURATION_MS=${durationMs} ${viaNpm ? 'npm run test:chaos' : 'npx vitest run test/chaos'}`);
          await writeReliabilitySection(report, command);
        }
        anomalies = report.anomalyCount;
        if (anomalies > 0) console.log(`chaos: ${anomalies} anomalies; the run's data is kept in ${dataDir}`);
        expect(report.anomalyCount, report.summaries.join('\n')).toBe(0);
        expect(report.schedule.kills).toBeGreaterThanOrEqual(2);
        // The group members waited on the push path (and reconnected after the kills).
        expect(report.outcomes['group push connections'] ?? 0).toBeGreaterThan(0);
        expect(report.outcomes['group push notifications'] ?? 0).toBeGreaterThan(0);
        const injected = Object.values(report.faults.injected).flatMap((k) => Object.values(k));
        expect(injected.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
        // Most sends that reached a server were acknowledged (a slow restart refuses many more).
        const reached = report.operations.sends - (report.outcomes[REFUSED_RECORDS] ?? 0);
        expect(report.operations.acked).toBeGreaterThan(0.5 * reached);
        // The append worker processes wrote beside the server, and were killed doing so.
        if (report.workers.processes > 0) {
          expect(report.workers.acked).toBeGreaterThan(0);
          expect(report.workers.kills.parent).toBeGreaterThan(0);
        }
        if (fullRun) expect(report.operations.total).toBeGreaterThanOrEqual(FULL_RUN_OPERATIONS);
      } finally {
        if (anomalies === 0) await rm(dataDir, { recursive: true, force: true });
      }
    },
    maxDurationMs + OVERHEAD_MS,
  );
});
