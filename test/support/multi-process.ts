/**
 * The multi-process history checker (issue 13): appends come from separate OS processes,
 * each with its own LogEngine and one request at a time, as Lambda environments send
 * them, while the parent records everything in a History (./history.ts), long-polls
 * every partition, runs the compact function's passes and kills workers.
 *
 *     parent                                           workers w0 … wN-1 (./append-worker.ts)
 *     create topic (small flush/segment bytes,         each: own engine, own SDK clients with
 *       compact,delete, retentionMs)                     latency, STRATA_CHAOS faults, crash points
 *     spawn N workers ───────────────────────────────▶ loop: send → append(s) → result
 *     readers: long-poll every partition ◀─ JSON lines ─┘ (send before the request, result after)
 *     maintenance.runAll() every ~500 ms (+ on flushDue)
 *     every killEveryMs: SIGKILL a random worker ──────▶ ✗ its in-flight send stays unknown
 *                        spawn a replacement (new name, new producer id, next fault profile)
 *     t = duration: retention off; close stdins ───────▶ finish the request, "bye", exit
 *     heal: maintenance without faults until every partition is flushed
 *     readers drain to the high watermarks; final read of every partition (fault-free engine)
 *     replay the sends (an ack below the log start, or of a key with a later record, may
 *       have been removed by retention or compaction: `info`), history.check()
 *     plus: acks contiguous per partition, conditional appends acked at expectedOffset,
 *       no refusal but OFFSET_MISMATCH, no two attempts acked at different offsets,
 *       every offset missing from the final read explained by compaction, every ack
 *       below the log start read by some reader unless retention passed them all
 *
 * Nothing here depends on how the engine sequences appends: the same run checks the
 * optimistic sequencer and reserve/fill/seal (docs/design.md, `engine.sequencing`). Every
 * process announces a seal before sending it, so the offsets that may hold voids are
 * known, and a gap anywhere else is still an anomaly.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { OffsetOutOfRangeError } from '../../lib/core/errors.js';
import { LogEngine } from '../../lib/engine.js';
import type { PartitionPass } from '../../lib/maintenance/maintenance.js';
import type { TopicConfigPatch } from '../../lib/topics/topic-config.js';
import { CHAOS_KINDS, type ChaosSpec } from '../../local/chaos.js';
import { localDynamoClient, localS3Client } from '../../local/emulators.js';
import { readFaultLog } from '../chaos/fault-log.js';
import { seededRandom } from './faults.js';
import { ANOMALY_TYPES, type CheckResult, History, type SendHandle } from './history.js';
import { CrashPoints, installWorkerMiddleware } from './worker-faults.js';
import { REPO_ROOT, type WorkerProcess as SpawnedWorker, spawnWorkerProcess } from './worker-process.js';
import {
  type AppendKind,
  announceSeals,
  type EngineChoice,
  isHotId,
  keyOfId,
  type SentRecord,
  type StallSpec,
  valueId,
  type WorkerConfig,
  type WorkerEvent,
} from './worker-protocol.js';

const KiB = 1024;

/** A worker incarnation's SDK faults (local/chaos.ts rates); `name` is for the report. */
export type FaultProfile = Partial<ChaosSpec> & { name: string };

/** The profiles worker incarnations rotate through: one in four is fault-free. */
export const DEFAULT_FAULT_PROFILES: FaultProfile[] = [
  { name: 'none' },
  {
    name: 'mixed',
    before: 0.01,
    after: 0.02,
    throttle: 0.02,
    latency: 0.03,
    lostThenThrottled: 0.01,
    attemptAfter: 0.01,
    attemptThrottle: 0.02,
    latencyMs: [20, 300],
    staleRead: 0.3,
  },
  { name: 'in-doubt', after: 0.06, attemptAfter: 0.03 },
  { name: 'sdk-retries', lostThenThrottled: 0.03, attemptAfter: 0.03, attemptThrottle: 0.04, attemptBefore: 0.02 },
  { name: 'none' },
  { name: 'throttle', throttle: 0.08, attemptThrottle: 0.05 },
  { name: 'slow', latency: 0.2, latencyMs: [50, 800], staleRead: 0.5, staleReadMs: [50, 800] },
  { name: 'none' },
];

/**
 * Where workers kill themselves (per passage). `sdk:UpdateItemCommand:after` is inert
 * with today's sequencer (appends write with TransactWriteItems only); under
 * reserve/fill/seal it is the death between reservation and fill.
 */
export const DEFAULT_CRASH_POINTS: Record<string, number> = {
  'worker:afterSend': 0.005,
  'worker:beforeResult': 0.005,
  'sdk:TransactWriteItemsCommand:before': 0.005,
  'sdk:TransactWriteItemsCommand:after': 0.01,
  'sdk:UpdateItemCommand:after': 0.01,
};

/** Where workers pause, as a GC pause or a frozen environment would. */
export const DEFAULT_STALL_POINTS: Record<string, StallSpec> = {
  'sdk:TransactWriteItemsCommand:before': { probability: 0.005, ms: [100, 1_500] },
  'sdk:UpdateItemCommand:after': { probability: 0.01, ms: [100, 1_500] },
};

/**
 * Small enough that flushes and compaction run within seconds: a flush every second or
 * so; records younger than minCompactionLagMs are left alone, so readers at the tail see
 * every record before compaction may remove it. Retention (retentionMs) is set from the
 * run's duration unless given: see retentionFor.
 */
export const DEFAULT_TOPIC_CONFIG: TopicConfigPatch = {
  cleanupPolicy: 'compact,delete',
  flushBytes: 64 * KiB,
  flushIntervalMs: 1_000,
  segmentBytes: 64 * KiB,
  minCompactionLagMs: 3_000,
  stageBytes: 2 * KiB,
};

/**
 * Retention by time while workers append: up to the first half of the run goes while
 * readers still read and flushes still run, whatever the machine's throughput (a size
 * would depend on it). At the stop retention is switched off (retentionMs -1), so the
 * final read still holds the rest; readers vouch for what retention removed.
 */
export function retentionFor(durationMs: number): number {
  return Math.max(5_000, Math.round(durationMs / 2));
}

/** The worker knobs the parent sets for every worker (the rest of WorkerConfig is per run or per worker). */
export type WorkloadShape = Pick<
  WorkerConfig,
  | 'maxPartitionsPerAppend'
  | 'maxRecordsPerAppend'
  | 'mix'
  | 'hotKeyShare'
  | 'hotKeys'
  | 'padBytes'
  | 'largeShare'
  | 'largePadBytes'
  | 'appendDeadlineMs'
  | 'resends'
  | 'thinkMs'
>;

export const DEFAULT_WORKLOAD: WorkloadShape = {
  maxPartitionsPerAppend: 3,
  maxRecordsPerAppend: 5,
  mix: { plain: 4, idempotent: 4, conditional: 2 },
  hotKeyShare: 0.2,
  hotKeys: 8,
  padBytes: 120,
  largeShare: 0.03,
  largePadBytes: 3 * KiB,
  appendDeadlineMs: 10_000,
  resends: 3,
  thinkMs: [0, 10],
};

export interface MultiProcessOptions {
  dynamoEndpoint: string;
  s3Endpoint: string;
  /** A table and a bucket that exist (e.g. freshTable(), freshBucket()). */
  tableName: string;
  bucket: string;
  /** How long workers append (startup, drain and checks come on top). */
  durationMs: number;
  /** Worker processes alive at any time (a killed one is replaced at once). */
  processes: number;
  partitions: number;
  seed: number;
  topic?: string;
  topicConfig?: TopicConfigPatch;
  workload?: Partial<WorkloadShape>;
  /** A random worker is SIGKILLed every [min, max] ms; undefined: never. */
  killEveryMs?: [number, number] | undefined;
  faultProfiles?: FaultProfile[];
  /** AWS round trip added to every SDK attempt of workers and of the parent's readers and maintenance. */
  latencyMs?: [number, number];
  crashPoints?: Record<string, number>;
  stallPoints?: Record<string, StallSpec>;
  /** See WorkerConfig.engineHookOption. */
  engineHookOption?: string;
  maintenanceIntervalMs?: number;
  readersPerPartition?: number;
  /** How every engine of the run sequences appends (default: the engine's default). */
  engine?: EngineChoice;
  /** A bucket standing in for the S3 Express staging tier: every engine of the run stages batches there. */
  stagingBucket?: string;
  /** Where the fault log and the workers' stderr go. */
  workDir: string;
  log?: (line: string) => void;
}

/** The run's checks beyond the History's, reported even at zero. */
export const EXTRA_CHECKS = [
  'noncontiguous-ack',
  'conditional-wrong-offset',
  'unexpected-refusal',
  'conflicting-acks',
  'internal-error',
  'lost-polled',
  'unseen-retained',
  'unexplained-gap',
  'worker-failed',
  'maintenance-stalled',
  'readers-behind',
] as const;
export type ExtraCheck = (typeof EXTRA_CHECKS)[number];

export interface MultiProcessReport {
  seed: number;
  sequencing: string;
  durationMs: number;
  processes: number;
  partitions: number;
  wallMs: number;
  /** From the start of the run until the first workers were all ready. */
  startupMs: number;
  /** The History's counts after replay (acks that retention or compaction may remove count as unknown). */
  history: CheckResult['counts'];
  /** What the workers were told, in records, before replay; and the requests a kill left in flight. */
  told: { ok: number; fail: number; unknown: number; inFlightAtKill: number };
  requests: {
    total: number;
    byKind: Record<AppendKind, number>;
    /** `<kind> <ok|fail|unknown> [code]` per partition of a request. */
    outcomes: Record<string, number>;
    resends: number;
    duplicateAnswers: number;
    latencyMs: { p50: number; p99: number; max: number };
    ackedRecordsPerSecond: number;
  };
  /** SIGKILLs by the parent, self-kills by crash point, stalls; worker incarnations, by fault profile. */
  kills: {
    parent: number;
    crashPoints: Record<string, number>;
    atStop: number;
    stalls: number;
    incarnations: number;
    byProfile: Record<string, number>;
  };
  faults: { byKind: Record<string, number>; total: number; sdkCalls: { dynamodb: number; s3: number } };
  maintenance: {
    runs: number;
    slowestRunMs: number;
    slowestPassMs: number;
    passes: number;
    flushedSegments: number;
    retainedSegments: number;
    compactedSegments: number;
    compactionRemoved: number;
    gcObjects: number;
    errors: number;
    lastErrors: string[];
    flushDue: number;
  };
  readers: { polls: number; resets: number; errors: number };
  /** Per partition: the final read's bounds, and its gaps by cause (compaction, voids, unknown). */
  final: {
    partition: number;
    logStartOffset: number;
    highWatermark: number;
    records: number;
    compactedGaps: number;
    voidGaps: number;
    unobservedGaps: number;
  }[];
  /** Seals announced by workers (each may have put voids). */
  seals: number;
  anomalies: Record<string, number>;
  anomalyCount: number;
  summary: string;
  details: string[];
}

/** How long the first workers may take to start (tsx and the AWS SDK, N at once on two cores). */
const START_TIMEOUT_MS = 120_000;
const PROGRESS_EVERY_MS = 10_000;
/** How long a worker may take to finish its request and exit once told to stop. */
const STOP_TIMEOUT_MS = 45_000;
const HEAL_TIMEOUT_MS = 90_000;
const DRAIN_TIMEOUT_MS = 90_000;
const READ_WAIT_MS = 1_000;
const READ_MAX_RECORDS = 200;
const FINAL_PAGE_RECORDS = 10_000;
const DETAIL_LIMIT = 40;

interface SendEntry {
  process: string;
  partition: number;
  value: string;
  status: 'pending' | 'ok' | 'fail' | 'info';
  offset?: number;
}

interface RequestEntry {
  kind: AppendKind;
  records: SentRecord[];
  entries: SendEntry[];
  expectedOffset?: number;
}

type WorkerProcess = SpawnedWorker<RequestEntry>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Runs the whole checker: setup, workload with faults, heal, drain, final reads, checks. */
export async function runMultiProcess(options: MultiProcessOptions): Promise<MultiProcessReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const topic = options.topic ?? 'mp-log';
  const workload: WorkloadShape = { ...DEFAULT_WORKLOAD, ...options.workload };
  const profiles = options.faultProfiles ?? DEFAULT_FAULT_PROFILES;
  const latencyMs = options.latencyMs ?? [2, 8];
  const readersPerPartition = options.readersPerPartition ?? 2;
  const maintenanceIntervalMs = options.maintenanceIntervalMs ?? 500;
  const random = seededRandom(options.seed);
  mkdirSync(options.workDir, { recursive: true });
  const faultLog = path.join(options.workDir, 'faults.log');

  // The parent's engines: readers and maintenance pay the latency model too; the
  // verifier (setup, final reads) runs on clean clients.
  const clean = { dynamo: localDynamoClient(options.dynamoEndpoint), s3: localS3Client(options.s3Endpoint) };
  const slow = { dynamo: localDynamoClient(options.dynamoEndpoint), s3: localS3Client(options.s3Endpoint) };
  installWorkerMiddleware(slow, latencyMs, new CrashPoints({}, {}, random, () => undefined), seededRandom(options.seed + 1));
  /** partition → every offset some process set out to seal: the only offsets that may hold voids. */
  const maySealed = Array.from({ length: options.partitions }, () => new Set<number>());
  const noteSeal = (partition: number, offsets: number[]) => {
    for (const o of offsets) maySealed[partition]?.add(o);
  };
  const engineOn = (clients: typeof clean, extra: { topicCacheTtlMs?: number } = {}) =>
    new LogEngine({
      store: announceSeals(new DynamoLogStore(clients.dynamo, options.tableName), noteSeal),
      objects: new S3ObjectStore(clients.s3, options.bucket),
      ...(options.stagingBucket ? { staging: { objects: new S3ObjectStore(clients.s3, options.stagingBucket) } } : {}),
      maintenance: { graceMs: 5_000 },
      ...options.engine,
      ...extra,
    });
  const verifier = engineOn(clean, { topicCacheTtlMs: 0 });
  const maintainer = engineOn(slow);
  await verifier.topics.create({
    name: topic,
    partitions: options.partitions,
    config: { ...DEFAULT_TOPIC_CONFIG, retentionMs: retentionFor(options.durationMs), ...options.topicConfig },
  });

  const history = new History();
  const sends: SendEntry[] = [];
  const extra = Object.fromEntries(EXTRA_CHECKS.map((k) => [k, 0])) as Record<ExtraCheck, number>;
  const details: string[] = [];
  const anomaly = (kind: ExtraCheck, detail: string) => {
    extra[kind] += 1;
    if (details.length < DETAIL_LIMIT) details.push(`${kind}: ${detail}`);
  };
  /** partition → offset → the value ids observed or acknowledged there (the gap check's evidence). */
  const observed = Array.from({ length: options.partitions }, () => new Map<number, string>());
  const observe = (partition: number, offset: number, id: string) => {
    if (!observed[partition]!.has(offset)) observed[partition]!.set(offset, id);
  };
  /** partition → offset → the value id a reader polled there (the first one; the History judges the rest). */
  const polled = Array.from({ length: options.partitions }, () => new Map<number, string>());

  const report: Omit<MultiProcessReport, 'wallMs' | 'history' | 'final' | 'anomalies' | 'anomalyCount' | 'summary' | 'details' | 'faults'> =
    {
      seed: options.seed,
      sequencing: options.engine?.sequencing ?? 'default',
      seals: 0,
      startupMs: 0,
      durationMs: options.durationMs,
      processes: options.processes,
      partitions: options.partitions,
      told: { ok: 0, fail: 0, unknown: 0, inFlightAtKill: 0 },
      requests: {
        total: 0,
        byKind: { plain: 0, idempotent: 0, conditional: 0 },
        outcomes: {},
        resends: 0,
        duplicateAnswers: 0,
        latencyMs: { p50: 0, p99: 0, max: 0 },
        ackedRecordsPerSecond: 0,
      },
      kills: { parent: 0, crashPoints: {}, atStop: 0, stalls: 0, incarnations: 0, byProfile: {} },
      maintenance: {
        runs: 0,
        slowestRunMs: 0,
        slowestPassMs: 0,
        passes: 0,
        flushedSegments: 0,
        retainedSegments: 0,
        compactedSegments: 0,
        compactionRemoved: 0,
        gcObjects: 0,
        errors: 0,
        lastErrors: [],
        flushDue: 0,
      },
      readers: { polls: 0, resets: 0, errors: 0 },
    };
  const bump = (map: Record<string, number>, key: string, by = 1) => (map[key] = (map[key] ?? 0) + by);
  const latencies: number[] = [];
  let ackedRecords = 0;

  // ---- workers -------------------------------------------------------------------------
  const workers = new Set<WorkerProcess>();
  let stopping = false;
  let incarnation = 0;
  const generations = new Map<number, number>();

  const onResult = (w: WorkerProcess, event: Extract<WorkerEvent, { t: 'result' }>) => {
    const request = w.pending.get(event.id);
    if (!request) return;
    w.pending.delete(event.id);
    latencies.push(event.ms);
    report.requests.resends += event.attempts - 1;
    for (const result of event.partitions) {
      bump(
        report.requests.outcomes,
        `${request.kind} ${result.status}${result.code && result.status !== 'ok' ? ` ${result.code}` : ''}${result.duplicate ? ' duplicate' : ''}`,
      );
      if (result.duplicate) report.requests.duplicateAnswers += 1;
      const mine = request.entries.filter((e) => e.partition === result.partition);
      if (result.message !== undefined) {
        anomaly(
          'internal-error',
          `${w.name} request ${event.id} (${request.kind}) partition ${result.partition}: ${result.code}: ${result.message}`,
        );
      }
      if (result.conflictingAcks) {
        anomaly(
          'conflicting-acks',
          `${w.name} request ${event.id} partition ${result.partition}: attempts acknowledged at ${result.conflictingAcks.join(', ')}`,
        );
      }
      if (result.status === 'ok') {
        const offsets = result.offsets ?? [];
        const contiguous = offsets.length === mine.length && offsets.every((o, k) => o === offsets[0]! + k);
        if (!contiguous)
          anomaly(
            'noncontiguous-ack',
            `${w.name} request ${event.id} partition ${result.partition}: ${mine.length} records acked at [${offsets.join(', ')}]`,
          );
        if (request.kind === 'conditional' && offsets[0] !== request.expectedOffset) {
          anomaly(
            'conditional-wrong-offset',
            `${w.name} request ${event.id}: expectedOffset ${request.expectedOffset} acked at ${offsets[0]}`,
          );
        }
        mine.forEach((e, k) => {
          const offset = offsets[k];
          if (offset === undefined) return;
          e.status = 'ok';
          e.offset = offset;
          observe(e.partition, offset, e.value);
          ackedRecords += 1;
        });
        report.told.ok += mine.length;
      } else if (result.status === 'fail') {
        for (const e of mine) e.status = 'fail';
        report.told.fail += mine.length;
        const expected = request.kind === 'conditional' && result.code === 'OFFSET_MISMATCH';
        if (!expected)
          anomaly(
            'unexpected-refusal',
            `${w.name} request ${event.id} (${request.kind}) partition ${result.partition} refused with ${result.code}`,
          );
      } else {
        for (const e of mine) e.status = 'info';
        report.told.unknown += mine.length;
      }
    }
  };

  const onEvent = (w: WorkerProcess, event: WorkerEvent) => {
    switch (event.t) {
      case 'ready':
        w.ready = true;
        return;
      case 'send': {
        const entries = event.records.map((r) => {
          const entry: SendEntry = { process: w.name, partition: r.partition, value: r.id, status: 'pending' };
          sends.push(entry);
          return entry;
        });
        w.pending.set(event.id, {
          kind: event.kind,
          records: event.records,
          entries,
          ...(event.expectedOffset !== undefined ? { expectedOffset: event.expectedOffset } : {}),
        });
        report.requests.total += 1;
        report.requests.byKind[event.kind] += 1;
        return;
      }
      case 'result':
        onResult(w, event);
        return;
      case 'seal':
        report.seals += 1;
        noteSeal(event.partition, event.offsets);
        return;
      case 'flushDue':
        report.maintenance.flushDue += 1;
        void maintainPartition(event.partition);
        return;
      case 'crash':
        w.crashPoint = event.point;
        bump(report.kills.crashPoints, event.point);
        return;
      case 'stall':
        report.kills.stalls += 1;
        return;
      case 'error':
        w.errors.push(event.message);
        return;
      case 'attempt':
      case 'bye':
        return;
    }
  };

  const spawnWorker = (slot: number): WorkerProcess => {
    const generation = generations.get(slot) ?? 0;
    generations.set(slot, generation + 1);
    const name = `w${slot}.${generation}`;
    const profile = profiles[incarnation % profiles.length] ?? { name: 'none' };
    const index = incarnation++;
    bump(report.kills.byProfile, profile.name);
    const config: WorkerConfig = {
      ...workload,
      name,
      seed: options.seed * 100_003 + index * 7_919,
      dynamoEndpoint: options.dynamoEndpoint,
      s3Endpoint: options.s3Endpoint,
      tableName: options.tableName,
      bucket: options.bucket,
      ...(options.stagingBucket ? { stagingBucket: options.stagingBucket } : {}),
      topic,
      partitions: options.partitions,
      latencyMs,
      crashPoints: options.crashPoints ?? DEFAULT_CRASH_POINTS,
      stallPoints: options.stallPoints ?? DEFAULT_STALL_POINTS,
      engineHookOption: options.engineHookOption ?? 'testHooks',
      engine: options.engine ?? {},
    };
    const { name: _profileName, ...rates } = profile;
    const w = spawnWorkerProcess<RequestEntry>(slot, {
      config,
      faults: rates,
      faultLog,
      onEvent,
      onExit: (exited, { expected, why }) => {
        workers.delete(exited);
        if (exited.killedBy !== undefined || exited.crashPoint !== undefined) report.told.inFlightAtKill += exited.pending.size;
        if (!expected) anomaly('worker-failed', why);
        if (!stopping) spawnWorker(slot);
      },
    });
    workers.add(w);
    return w;
  };

  // ---- maintenance -----------------------------------------------------------------------
  const tallyPass = (pass: PartitionPass | undefined) => {
    if (!pass) return;
    const m = report.maintenance;
    m.passes += 1;
    m.flushedSegments += pass.flush.segments;
    m.retainedSegments += pass.retention.segments;
    m.compactedSegments += pass.compaction.segmentsIn;
    m.compactionRemoved += pass.compaction.recordsRemoved;
    m.gcObjects += pass.gc.objects;
  };
  const maintenanceError = (err: unknown) => {
    const m = report.maintenance;
    m.errors += 1;
    const text = `${(err as Error)?.name}: ${(err as Error)?.message}`;
    if (m.lastErrors.length < 10) m.lastErrors.push(text);
  };
  const passing = new Set<number>();
  let maintenanceOn = true;
  const maintainPartition = async (partition: number) => {
    if (passing.has(partition) || !maintenanceOn) return;
    passing.add(partition);
    const t0 = Date.now();
    try {
      tallyPass(await maintainer.maintenance!.runPartition(topic, partition));
    } catch (err) {
      maintenanceError(err);
    } finally {
      passing.delete(partition);
      report.maintenance.slowestPassMs = Math.max(report.maintenance.slowestPassMs, Date.now() - t0);
    }
  };
  /**
   * One scheduled run. During the workload it fans out one pass per partition, as the
   * compact function invokes itself per partition on AWS (a partition whose pass is still
   * running is skipped); while healing it runs them inline.
   */
  const runAllOnce = async (inline: boolean) => {
    const t0 = Date.now();
    try {
      const dispatch = inline ? undefined : async (ref: { partition: number }) => void maintainPartition(ref.partition);
      for (const pass of (await maintainer.maintenance!.runAll(dispatch)).passes) tallyPass(pass);
    } catch (err) {
      maintenanceError(err);
    }
    report.maintenance.runs += 1;
    report.maintenance.slowestRunMs = Math.max(report.maintenance.slowestRunMs, Date.now() - t0);
  };
  const maintenanceLoop = (async () => {
    while (maintenanceOn) {
      await runAllOnce(false);
      await sleep(maintenanceIntervalMs);
    }
  })();

  // ---- readers ---------------------------------------------------------------------------
  let drainTargets: number[] | undefined;
  let readersOn = true;
  const reader = async (partition: number, index: number) => {
    const engine = engineOn(slow);
    const name = `reader-${partition}-${index}`;
    const pick = seededRandom(options.seed * 31 + partition * 7 + index);
    let offset = 0;
    while (readersOn) {
      const target = drainTargets?.[partition];
      if (target !== undefined && offset >= target) return;
      let page: Awaited<ReturnType<typeof engine.reader.read>>;
      try {
        page = await engine.reader.read(topic, partition, {
          offset,
          maxRecords: 1 + Math.floor(pick() * READ_MAX_RECORDS),
          waitMs: READ_WAIT_MS,
        });
      } catch (err) {
        if (err instanceof OffsetOutOfRangeError && offset < err.logStartOffset) {
          // Retention passed this reader: it starts again at the log start, as a consumer would.
          history.resetConsumer(name, partition);
          readerSkips[partition]!.get(name)!.push([offset, err.logStartOffset]);
          report.readers.resets += 1;
          offset = err.logStartOffset;
        } else {
          report.readers.errors += 1;
          await sleep(20);
        }
        continue;
      }
      const records = page.records.map((r) => ({
        offset: r.offset,
        value: valueId(new TextDecoder().decode(r.value ?? new Uint8Array())),
      }));
      for (const r of records) {
        observe(partition, r.offset, r.value);
        if (!polled[partition]!.has(r.offset)) polled[partition]!.set(r.offset, r.value);
      }
      history.poll({ process: name, partition, fromOffset: offset, records });
      report.readers.polls += 1;
      offset = page.nextOffset;
    }
  };
  const readers: Promise<void>[] = [];
  /** partition → reader → the offset ranges retention made it skip (it was reset past them). */
  const readerSkips = Array.from({ length: options.partitions }, () => new Map<string, [number, number][]>());
  for (let p = 0; p < options.partitions; p++) {
    for (let r = 0; r < readersPerPartition; r++) {
      readerSkips[p]!.set(`reader-${p}-${r}`, []);
      readers.push(reader(p, r));
    }
  }
  const skippedByEveryReader = (p: number, offset: number) =>
    [...readerSkips[p]!.values()].every((ranges) => ranges.some(([from, to]) => offset >= from && offset < to));

  // ---- the run ---------------------------------------------------------------------------
  try {
    for (let slot = 0; slot < options.processes; slot++) spawnWorker(slot);
    // The clock starts once the first workers serve: starting N processes on a busy machine takes seconds.
    const readyDeadline = Date.now() + START_TIMEOUT_MS;
    while ([...workers].some((w) => !w.ready) && Date.now() < readyDeadline) await sleep(50);
    report.startupMs = Date.now() - started;
    log(
      `multi-process: ${[...workers].filter((w) => w.ready).length} of ${options.processes} workers ready after ${report.startupMs} ms (seed ${options.seed}, ${options.durationMs} ms of appends, ${options.partitions} partitions)`,
    );
    const end = Date.now() + options.durationMs;
    const kill = options.killEveryMs;
    const drawKill = () => (kill ? Date.now() + kill[0] + random() * (kill[1] - kill[0]) : Infinity);
    let nextKill = drawKill();
    let nextProgress = Date.now() + PROGRESS_EVERY_MS;
    while (Date.now() < end) {
      await sleep(Math.min(nextKill, nextProgress, end) - Date.now());
      if (Date.now() >= end) break;
      if (Date.now() >= nextProgress) {
        nextProgress += PROGRESS_EVERY_MS;
        const crashes = Object.values(report.kills.crashPoints).reduce((a, b) => a + b, 0);
        log(
          `multi-process: ${Math.round((end - Date.now()) / 1000)} s left; ${report.requests.total} requests, ${report.told.ok} records acked, ${report.kills.parent} SIGKILLs, ${crashes} crash points, ${report.readers.polls} polls, ${report.maintenance.flushedSegments} segments flushed`,
        );
      }
      if (Date.now() < nextKill) continue;
      nextKill = drawKill();
      const alive = [...workers].filter((w) => w.ready && w.killedBy === undefined && w.crashPoint === undefined);
      const victim = alive[Math.floor(random() * alive.length)];
      if (!victim) continue;
      victim.killedBy = 'parent';
      report.kills.parent += 1;
      victim.child.kill('SIGKILL');
    }

    // Retention has raced the readers and flushes; the final read keeps what is left.
    if (options.topicConfig?.retentionMs === undefined) await verifier.topics.updateConfig(topic, { retentionMs: -1 });
    // Stop: every worker finishes its request; one that does not in time is killed.
    stopping = true;
    const remaining = [...workers];
    for (const w of remaining) {
      w.stopping = true;
      w.child.stdin!.end();
    }
    const allExited = Promise.all(remaining.map((w) => w.exited));
    if (!(await Promise.race([allExited.then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)]))) {
      for (const w of workers) {
        w.killedBy = 'stop';
        report.kills.atStop += 1;
        w.child.kill('SIGKILL');
      }
      await allExited;
    }
    report.kills.incarnations = incarnation;
    const appendMs = Date.now() - (end - options.durationMs);
    log(`multi-process: workers stopped after ${appendMs} ms; healing`);

    // Heal: maintenance without faults until every partition is flushed.
    maintenanceOn = false;
    await maintenanceLoop;
    while (passing.size > 0) await sleep(50);
    const healDeadline = Date.now() + HEAL_TIMEOUT_MS;
    for (;;) {
      await runAllOnce(true);
      const description = await verifier.topics.describe(topic);
      const behind = description.partitionStates.filter((s) => s.flushedOffset < s.nextOffset);
      if (behind.length === 0) break;
      if (Date.now() > healDeadline) {
        for (const s of behind) anomaly('maintenance-stalled', `partition ${s.partition} flushed to ${s.flushedOffset} of ${s.nextOffset}`);
        break;
      }
      await sleep(maintenanceIntervalMs);
    }

    // Drain: readers catch up with the high watermark every read reports now.
    const bounds = await Promise.all(
      Array.from({ length: options.partitions }, async (_, p) => {
        const page = await verifier.reader.read(topic, p, { maxRecords: 1 });
        return { logStartOffset: page.logStartOffset, highWatermark: page.highWatermark };
      }),
    );
    drainTargets = bounds.map((b) => b.highWatermark);
    const drained = await Promise.race([Promise.all(readers).then(() => true), sleep(DRAIN_TIMEOUT_MS).then(() => false)]);
    if (!drained) {
      anomaly('readers-behind', `readers did not reach the high watermarks ${drainTargets.join(', ')} in ${DRAIN_TIMEOUT_MS} ms`);
      readersOn = false;
      await Promise.all(readers);
    }

    // Final reads, fault-free, from the log start to the high watermark.
    const final: MultiProcessReport['final'] = [];
    const finals: { offset: number; value: string }[][] = [];
    for (let p = 0; p < options.partitions; p++) {
      const { logStartOffset, highWatermark } = bounds[p]!;
      const records: { offset: number; value: string }[] = [];
      for (let offset = logStartOffset; offset < highWatermark; ) {
        const page = await verifier.reader.read(topic, p, { offset, maxRecords: FINAL_PAGE_RECORDS });
        for (const r of page.records)
          records.push({ offset: r.offset, value: valueId(new TextDecoder().decode(r.value ?? new Uint8Array())) });
        if (page.nextOffset <= offset) break;
        offset = page.nextOffset;
      }
      history.finalRead(p, records);
      finals.push(records);
      final.push({
        partition: p,
        logStartOffset,
        highWatermark,
        records: records.length,
        compactedGaps: 0,
        voidGaps: 0,
        unobservedGaps: 0,
      });
    }

    // Retention removes whole segments below the log start; compaction removes a record
    // once a later record of its key exists (a hot key's; a unique key has one record,
    // unless the log wrote it twice). Those acks may legitimately be gone.
    const latestByKey = new Map<string, number>();
    const noteLatest = (p: number, id: string, offset: number) => {
      const k = `${p}/${keyOfId(id)}`;
      latestByKey.set(k, Math.max(latestByKey.get(k) ?? -1, offset));
    };
    for (const s of sends) if (s.status === 'ok') noteLatest(s.partition, s.value, s.offset!);
    for (const [p, records] of finals.entries()) for (const r of records) noteLatest(p, r.value, r.offset);
    const compactedAway = (p: number, id: string, offset: number) => (latestByKey.get(`${p}/${keyOfId(id)}`) ?? -1) > offset;
    for (const s of sends) {
      const handle: SendHandle = history.invokeSend(s);
      const removable =
        s.status === 'ok' && (s.offset! < bounds[s.partition]!.logStartOffset || compactedAway(s.partition, s.value, s.offset!));
      if (s.status === 'ok' && !removable) handle.ok(s.offset!);
      else if (s.status === 'fail') handle.fail();
      else if (s.status !== 'pending') handle.info();
    }

    // Below the log start only the readers vouch for acknowledged records: one whose key
    // nothing else has (compaction never removes it) was read unless retention had
    // already taken it from under every reader.
    for (const s of sends) {
      if (s.status !== 'ok' || isHotId(s.value) || s.offset! >= bounds[s.partition]!.logStartOffset) continue;
      if (polled[s.partition]!.get(s.offset!) === s.value || skippedByEveryReader(s.partition, s.offset!)) continue;
      anomaly(
        'unseen-retained',
        `partition ${s.partition}: ${JSON.stringify(s.value)} acked at ${s.offset}, below the log start ${bounds[s.partition]!.logStartOffset}, was never read there`,
      );
    }

    // Every offset in [log start, HWM) missing from the final read: compaction's gap or a
    // void (reserve/fill/seal: an offset someone set out to seal). A record seen there
    // that compaction cannot have removed is lost. Any other offset below the HWM held a
    // record; one nobody ever saw (no ack, no poll) came from a send of unknown outcome,
    // which compaction may have removed unseen only if it had a hot key: each such send
    // explains at most one gap.
    const seenIds = new Set<string>();
    for (const byOffset of observed) for (const id of byOffset.values()) seenIds.add(id);
    for (const records of finals) for (const r of records) seenIds.add(r.value);
    const unseenHotSends = new Array<number>(options.partitions).fill(0);
    for (const s of sends)
      if ((s.status === 'info' || s.status === 'pending') && isHotId(s.value) && !seenIds.has(s.value)) unseenHotSends[s.partition]! += 1;
    for (let p = 0; p < options.partitions; p++) {
      const present = new Set(finals[p]!.map((r) => r.offset));
      const { logStartOffset, highWatermark } = bounds[p]!;
      const unobserved: number[] = [];
      for (let o = logStartOffset; o < highWatermark; o++) {
        if (present.has(o)) continue;
        const id = observed[p]!.get(o);
        if (id === undefined) {
          if (maySealed[p]!.has(o)) final[p]!.voidGaps += 1;
          else unobserved.push(o);
        } else if (compactedAway(p, id, o)) final[p]!.compactedGaps += 1;
        else
          anomaly(
            'lost-polled',
            `partition ${p} offset ${o} held ${JSON.stringify(id)}, which no later record of its key replaces, but the final read lacks it`,
          );
      }
      final[p]!.unobservedGaps = unobserved.length;
      if (unobserved.length > unseenHotSends[p]!) {
        anomaly(
          'unexplained-gap',
          `partition ${p}: ${unobserved.length} offset(s) missing from the final read that nobody saw or sealed (${unobserved.slice(0, 10).join(', ')}${unobserved.length > 10 ? ', …' : ''}), and only ${unseenHotSends[p]} unseen hot-key send(s) of unknown outcome that compaction may have removed`,
        );
      }
    }

    const checked = history.check({ allowGaps: true, voids: new Map(maySealed.map((set, p) => [p, set])) });
    const faultTally = readFaultLog(faultLog);
    const byKind: Record<string, number> = {};
    for (const service of ['dynamodb', 's3'] as const)
      for (const k of CHAOS_KINDS) if (faultTally.injected[service][k] > 0) bump(byKind, k, faultTally.injected[service][k]);
    const anomalies: Record<string, number> = {};
    for (const t of ANOMALY_TYPES) anomalies[t] = checked.anomalyCounts[t];
    for (const k of EXTRA_CHECKS) anomalies[k] = extra[k];
    const sorted = [...latencies].sort((a, b) => a - b);
    const quantile = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    report.requests.latencyMs = { p50: quantile(0.5), p99: quantile(0.99), max: sorted.at(-1) ?? 0 };
    report.requests.ackedRecordsPerSecond = Math.round((ackedRecords / Math.max(1, appendMs)) * 1000);
    const full: MultiProcessReport = {
      ...report,
      wallMs: Date.now() - started,
      history: checked.counts,
      final,
      faults: { byKind, total: Object.values(byKind).reduce((a, b) => a + b, 0), sdkCalls: faultTally.calls },
      anomalies,
      anomalyCount: Object.values(anomalies).reduce((a, b) => a + b, 0),
      summary: checked.summary(),
      details,
    };
    return full;
  } finally {
    stopping = true;
    maintenanceOn = false;
    readersOn = false;
    for (const w of workers) w.child.kill('SIGKILL');
    await Promise.all([...workers].map((w) => w.exited));
    await maintenanceLoop.catch(() => undefined);
    await Promise.all(readers).catch(() => undefined);
  }
}

/** The report's figures as a few readable lines. */
export function formatReport(r: MultiProcessReport): string {
  const entries = (o: Record<string, number>) =>
    Object.entries(o)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ') || 'none';
  const anomalies = Object.entries(r.anomalies).filter(([, v]) => v > 0);
  return [
    `multi-process run: seed ${r.seed}, ${r.processes} processes, ${r.partitions} partitions, sequencing ${r.sequencing}, ${r.durationMs} ms of appends, wall ${r.wallMs} ms (startup ${r.startupMs} ms)`,
    `  requests ${r.requests.total} (plain ${r.requests.byKind.plain}, idempotent ${r.requests.byKind.idempotent}, conditional ${r.requests.byKind.conditional}); resends ${r.requests.resends}; duplicate answers ${r.requests.duplicateAnswers}; latency p50 ${r.requests.latencyMs.p50} ms, p99 ${r.requests.latencyMs.p99} ms, max ${r.requests.latencyMs.max} ms; ${r.requests.ackedRecordsPerSecond} acked records/s`,
    `  records told: ok ${r.told.ok}, failed ${r.told.fail}, unknown ${r.told.unknown}; requests in flight at a kill ${r.told.inFlightAtKill}`,
    `  history: sends ${r.history.sends} (acked ${r.history.acked}, failed ${r.history.failed}, unknown ${r.history.unknown}); polls ${r.history.polls} (${r.history.polledRecords} records); reader resets ${r.readers.resets}, read errors ${r.readers.errors}`,
    `  kills: parent SIGKILL ${r.kills.parent}; crash points ${entries(r.kills.crashPoints)}; killed at stop ${r.kills.atStop}; stalls ${r.kills.stalls}; incarnations ${r.kills.incarnations} (${entries(r.kills.byProfile)})`,
    `  SDK faults: ${r.faults.total} (${entries(r.faults.byKind)}) over ≥${r.faults.sdkCalls.dynamodb} DynamoDB and ≥${r.faults.sdkCalls.s3} S3 calls of faulty workers`,
    `  maintenance: ${r.maintenance.runs} scheduled runs, ${r.maintenance.passes} partition passes (slowest ${r.maintenance.slowestPassMs} ms), ${r.maintenance.flushedSegments} segments flushed, ${r.maintenance.retainedSegments} retained, ${r.maintenance.compactedSegments} compacted (${r.maintenance.compactionRemoved} records removed), ${r.maintenance.gcObjects} objects collected, ${r.maintenance.flushDue} flushDue, ${r.maintenance.errors} errors${r.maintenance.lastErrors.length > 0 ? ` (${r.maintenance.lastErrors.join('; ')})` : ''}`,
    `  final: ${r.final.map((f) => `p${f.partition} [${f.logStartOffset}, ${f.highWatermark}) ${f.records} records, ${f.compactedGaps} compacted gaps, ${f.voidGaps} voids, ${f.unobservedGaps} unobserved gaps`).join('; ')}; seals announced by workers ${r.seals}`,
    `  outcomes: ${entries(r.requests.outcomes)}`,
    `  anomalies: ${anomalies.length === 0 ? 'none' : anomalies.map(([k, v]) => `${k} ${v}`).join(', ')}`,
    ...r.details.map((d) => `    ${d}`),
  ].join('\n');
}

/** Writes the report as JSON under `.tmp/multi-process/` and returns the file. */
export function writeReport(r: MultiProcessReport): string {
  const dir = path.join(REPO_ROOT, '.tmp', 'multi-process');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `report-${r.sequencing}-seed${r.seed}-${r.processes}p-${Math.round(r.durationMs / 1000)}s.json`);
  writeFileSync(file, JSON.stringify(r, null, 2));
  return file;
}
