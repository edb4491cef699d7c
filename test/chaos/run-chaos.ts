/**
 * The chaos run: the local stack in its own process under a mixed workload while a fault
 * schedule SIGKILLs and restarts it and, inside it, makes DynamoDB and S3 calls fail,
 * hang and throttle (local/chaos.ts); then Jepsen's queue checks over the whole history.
 *
 *     t=0        start (profile 1) ─ create topics ─ start every actor
 *     t≈up₁      SIGKILL ─ down 0–2 s ─ start on the same data and port (profile 2)
 *     …          (profiles rotate: mixed, errors, throttle, latency, in-doubt)
 *     t=duration SIGKILL ─ start without faults ─ stop sending (producers flush)
 *                ─ readers and the group catch up to the high watermarks ─ final reads
 *                ─ check: chaos-log strictly; chaos-compact and chaos-retention with the
 *                  records compaction and retention may remove marked `info`
 *
 * Topics: `chaos-log` (4 partitions, delete policy, small flushBytes/segmentBytes so
 * flushes run all the time), `chaos-compact` (compacted, 30 keys), `chaos-retention`
 * (retentionMs 30 s) and `chaos-conditional` (idempotent conditional appends racing).
 * `chaos-recreate` is deleted and re-created every 12 s under a live consumer group.
 * On chaos-log, beside raw appenders and the client's producers: keyless idempotent
 * topic-level appends retried unchanged, and timestamp lookups racing the flushes. The
 * schedule runs the compact function every second, and the server spreads requests over
 * two engines (as separate Lambda environments), so retries meet stale caches.
 *
 * DynamoDB Local is the run's, started before the server and kept through its SIGKILLs
 * (the server connects to it: STRATA_DYNAMODB_ENDPOINT); s3rver is the server's.
 *
 * Beside the server, append worker processes (./append-workers.ts) write to `chaos-log`
 * through the same DynamoDB Local and s3rver, each with its own engine and one request
 * at a time, as Lambda environments do; they are SIGKILLed at random (and kill themselves
 * at crash points, between reserve and fill among them), and their sends and outcomes go
 * into the same History as the HTTP actors'.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChaosSpec } from '../../local/chaos.js';
import { findFreePort, startDynamoDbLocal } from '../../local/emulators.js';
import { DEFAULT_BUCKET_NAME, DEFAULT_TABLE_NAME } from '../../local/stack.js';
import { seededRandom } from '../support/faults.js';
import { ANOMALY_TYPES, type CheckResult, History, type SendHandle } from '../support/history.js';
import { traceLinesFor } from '../support/worker-trace.js';
import {
  bump,
  conditionalWriter,
  GroupMember,
  idempotentProducer,
  keylessIdempotentAppender,
  keyOfValue,
  mustRequest,
  type OutcomeCounts,
  RecreatedTopic,
  type RunFlags,
  rawAppender,
  rawReader,
  sleep,
  type TopicSpec,
  timestampLooker,
} from './actors.js';
import { AppendWorkers, WORKER_CHECKS, type WorkerFaultProfile, type WorkerFigures } from './append-workers.js';
import { type FaultTally, readFaultLog } from './fault-log.js';
import { ServerProcess } from './server-process.js';

export interface ChaosOptions {
  /** How long faults are injected (the drain and the checks come after). */
  durationMs: number;
  /**
   * Operations (sends and polls) the run must have recorded before its faults stop: the
   * fault window goes on past durationMs until it has, up to maxDurationMs, so that a
   * slow machine checks as much as a fast one instead of less (default 0: no extension).
   */
  minOperations?: number;
  /** The longest fault window when minOperations is not reached yet (default durationMs). */
  maxDurationMs?: number;
  seed: number;
  dataDir: string;
  port: number;
  /** How long each server incarnation lives before its SIGKILL: uniform in [min, max]. */
  upMs: [number, number];
  /** Workload size: 1 for the full run; the slice in `npm test` uses less. */
  scale: number;
  /** The server's and the append workers' sequencing (docs/design.md); the engine's default when absent. */
  sequencing?: 'optimistic' | 'reserve' | 'write-first';
  /** Append worker processes alive at any time beside the server (0: none). */
  appendProcesses: number;
  /** How often the run SIGKILLs one of them, uniform in [min, max] ms (default WORKER_KILL_EVERY_MS). */
  workerKillEveryMs?: [number, number];
  log: (line: string) => void;
}

/**
 * Where the fault window ends, asked at `now`: `end` while inside it; past it, while the
 * run has recorded fewer than minOperations and lastEnd is ahead, one incarnation more
 * (never past lastEnd); undefined once the faults stop.
 */
export function faultWindowEnd(at: {
  now: number;
  end: number;
  lastEnd: number;
  recorded: number;
  minOperations: number;
  incarnationMs: number;
}): number | undefined {
  if (at.now < at.end) return at.end;
  if (at.recorded >= at.minOperations || at.now >= at.lastEnd) return undefined;
  return Math.min(at.lastEnd, at.now + at.incarnationMs);
}

/** The fault profiles the incarnations rotate through (per-call probabilities). */
export const FAULT_PROFILES: (Partial<ChaosSpec> & { name: string })[] = [
  {
    name: 'mixed',
    before: 0.02,
    after: 0.02,
    throttle: 0.02,
    latency: 0.05,
    lostThenThrottled: 0.01,
    attemptAfter: 0.01,
    attemptThrottle: 0.02,
    latencyMs: [20, 800],
    // A writer's first look reads eventually consistent: a lagging replica hides what it has not applied.
    staleRead: 0.3,
  },
  { name: 'errors', before: 0.05, after: 0.05 },
  { name: 'throttle', throttle: 0.15 },
  { name: 'latency', latency: 0.3, latencyMs: [50, 1500], staleRead: 0.5, staleReadMs: [50, 1500] },
  { name: 'in-doubt', after: 0.12 },
  // Inside the SDK's own retries: an attempt applied and lost, then throttles (finding 2 of issue 12).
  { name: 'sdk-retries', lostThenThrottled: 0.04, attemptAfter: 0.04, attemptThrottle: 0.06, attemptBefore: 0.02 },
];

const KiB = 1024;
const SMALL = { flushBytes: 64 * KiB, flushIntervalMs: 1_000, segmentBytes: 64 * KiB };
const LOG: TopicSpec = { name: 'chaos-log', partitions: 4, keys: 64, padBytes: 60 };
const COMPACT: TopicSpec = { name: 'chaos-compact', partitions: 2, keys: 30, padBytes: 200 };
const RETENTION: TopicSpec = { name: 'chaos-retention', partitions: 2, keys: 1, padBytes: 200 };
/** Event-sourcing writers race idempotent conditional appends on it. */
const CONDITIONAL: TopicSpec = { name: 'chaos-conditional', partitions: 1, keys: 1, padBytes: 100 };
/** Deleted and re-created every RECREATE_EVERY_MS under a live consumer group. */
const RECREATE: TopicSpec = { name: 'chaos-recreate', partitions: 2, keys: 1, padBytes: 50 };
const RECREATE_EVERY_MS = 12_000;
/** The server serves requests from this many engines, as separate Lambda environments (STRATA_LOCAL_ENGINES). */
const SERVER_ENGINES = 2;
/** Long enough that the last segments outlive the drain, short enough that older ones go during the run. */
const RETENTION_MS = 30_000;
const GROUP = 'chaos-group';
const COMPACT_INTERVAL_MS = 1_000;
const DRAIN_TIMEOUT_MS = 180_000;
/**
 * One of the append worker processes is SIGKILLed this often (uniform in [min, max] ms),
 * unless the run says otherwise. Each replacement costs about 3 s of CPU to start (tsx,
 * the SDK), taken from the server and DynamoDB Local on two cores; crash points kill some
 * more. A full run uses a longer interval: at this one, 49 incarnations of 4 workers cut
 * the operations of 5 minutes from about 100,000 to 70,374.
 */
const WORKER_KILL_EVERY_MS: [number, number] = [6_000, 14_000];
/** The workers' pause between two requests: about as busy as one HTTP appender each. */
const WORKER_THINK_MS: [number, number] = [0, 20];
/** This suite's checks beyond Jepsen's queue properties (counted in `extra`, reported even at 0). */
export const EXTRA_CHECKS = [
  'wrong-partition',
  'retention-gap',
  'group-gap',
  'group-commit-beyond-high-watermark',
  'group-delivery-unassigned',
  'group-stalled',
  'maintenance-stalled',
  'conditional-wrong-offset',
  'conditional-refused',
  'timestamp-lookup-skip',
  'timestamp-lookup-wrong',
  'recreate-undelivered',
  'recreate-bad-commit',
  ...WORKER_CHECKS,
] as const;

export interface ChaosReport {
  startedAt: string;
  options: {
    durationMs: number;
    seed: number;
    upMs: [number, number];
    scale: number;
    sequencing?: 'optimistic' | 'reserve' | 'write-first';
  };
  wallMs: number;
  /** How long faults were injected: about durationMs, or longer when the run went on to reach minOperations (extended). */
  faultWindow: { ms: number; extended: boolean };
  operations: {
    total: number;
    sends: number;
    acked: number;
    failed: number;
    unknown: number;
    polls: number;
    polledRecords: number;
    byTopic: Record<string, CheckResult['counts']>;
  };
  schedule: { incarnations: { profile: string; upMs: number; downMs: number }[]; kills: number; downtimeMs: number };
  faults: FaultTally;
  /** The append worker processes: what they sent and were told, their kills, and the faults injected in them. */
  workers: WorkerFigures & { faults: FaultTally };
  outcomes: OutcomeCounts;
  group: { committed: Record<number, number>; highWatermarks: Record<number, number>; delivered: number; consumerFailures: string[] };
  /** What the producers were told, before compaction and retention marked removable records `info`. */
  sendOutcomes: Record<string, { ok: number; fail: number; info: number }>;
  /** The partitions after the run: flushes, segments, compaction and retention at work. */
  partitionStates: Record<string, unknown[]>;
  anomalies: Record<string, number>;
  anomalyCount: number;
  summaries: string[];
}

/**
 * A send recorder whose outcomes are replayed into a History after the final read, for
 * topics where compaction or retention may legitimately remove acknowledged records.
 */
class SendLog {
  readonly sends: { process: string; partition: number; value: string; status: 'ok' | 'fail' | 'info' | 'pending'; offset?: number }[] = [];
  invokeSend = (op: { process: string; partition: number; value: string }): SendHandle => {
    const s: SendLog['sends'][number] = { ...op, status: 'pending' };
    this.sends.push(s);
    return {
      ok: (offset) => Object.assign(s, { status: 'ok', offset }),
      fail: () => (s.status = 'fail'),
      info: () => (s.status = 'info'),
    };
  };
  outcomes(): { ok: number; fail: number; info: number } {
    const o = { ok: 0, fail: 0, info: 0 };
    for (const s of this.sends) o[s.status === 'pending' ? 'info' : s.status] += 1;
    return o;
  }
  /** Replays into `history`, in send order; `removable` sends acknowledged at an offset are `info`. */
  replay(history: History, removable: (s: SendLog['sends'][number]) => boolean): void {
    for (const s of this.sends) {
      const h = history.invokeSend(s);
      if (s.status === 'ok' && !removable(s)) h.ok(s.offset!);
      else if (s.status === 'fail') h.fail();
      else if (s.status !== 'pending') h.info();
    }
  }
}

/**
 * Offsets that may hold voids, topic → partition → offsets: every seal the server
 * (STRATA_VOID_LOG) and the append workers sent, each logged before it was sent.
 */
function readVoidLog(...files: string[]): Map<string, Map<number, Set<number>>> {
  const voids = new Map<string, Map<number, Set<number>>>();
  const lines = files.flatMap((file) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n') : []));
  for (const line of lines) {
    const [topic, partition, ...offsets] = line.trim().split(' ');
    if (!topic || partition === undefined) continue;
    let byPartition = voids.get(topic);
    if (!byPartition) voids.set(topic, (byPartition = new Map()));
    let set = byPartition.get(Number(partition));
    if (!set) byPartition.set(Number(partition), (set = new Set()));
    for (const o of offsets) set.add(Number(o));
  }
  return voids;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const random = seededRandom(options.seed);
  const faultLog = join(options.dataDir, 'chaos-faults.log');
  const voidLog = join(options.dataDir, 'chaos-voids.log');
  const workerFaultLog = join(options.dataDir, 'chaos-worker-faults.log');
  const workerTrace = join(options.dataDir, 'workers-trace.log');
  const workerVoidLog = join(options.dataDir, 'chaos-worker-voids.log');
  const sealedOffsets = () => readVoidLog(voidLog, workerVoidLog);
  // DynamoDB Local is the run's, not the server's: it runs through every SIGKILL of the
  // server, as DynamoDB outlives a crashed Lambda. Restarting it under the workers' writes
  // lost acknowledged ones (docs/reliability.md, "DynamoDB Local answers before it commits").
  const dynamo = await startDynamoDbLocal({ dataDir: join(options.dataDir, 'dynamodb') });
  // A fixed s3rver port: the append workers' endpoint stays valid across the server's restarts.
  const s3Port = await findFreePort();
  const server = new ServerProcess({
    dynamoEndpoint: dynamo.endpoint,
    s3Port,
    dataDir: options.dataDir,
    port: options.port,
    compactIntervalMs: COMPACT_INTERVAL_MS,
    engines: SERVER_ENGINES,
    voidLog,
    ...(options.sequencing ? { sequencing: options.sequencing } : {}),
  });
  const url = server.url;
  const incarnations: ChaosReport['schedule']['incarnations'] = [];
  let downtimeMs = 0;
  let profileIndex = 0;
  const nextProfile = (): Partial<ChaosSpec> & { name: string } => FAULT_PROFILES[profileIndex++ % FAULT_PROFILES.length]!;
  /** The running incarnation's profile (the last one while the server is down; none once healed): new workers take it. */
  let currentProfile: WorkerFaultProfile | undefined;
  const spec = (p: Partial<ChaosSpec> & { name: string }): Partial<ChaosSpec> => {
    const { name: _name, ...rates } = p;
    return { ...rates, seed: options.seed * 1000 + incarnations.length, logFile: faultLog };
  };

  const flags: RunFlags = { stopSending: false, readTargets: undefined, stopReading: false };
  const outcomes: OutcomeCounts = {};
  const extra: OutcomeCounts = {};
  const logHistory = new History();
  const compactHistory = new History();
  const retentionHistory = new History();
  const conditionalHistory = new History();
  const compactSends = new SendLog();
  const retentionSends = new SendLog();
  const viaLog = (sends: SendLog, h: History) => ({
    invokeSend: sends.invokeSend,
    poll: h.poll.bind(h),
    resetConsumer: h.resetConsumer.bind(h),
  });
  const members: GroupMember[] = [];
  let recreated: RecreatedTopic | undefined;
  const workers = new AppendWorkers({
    processes: options.appendProcesses,
    seed: options.seed,
    dynamoEndpoint: dynamo.endpoint,
    s3Endpoint: server.s3Endpoint,
    tableName: DEFAULT_TABLE_NAME,
    bucket: DEFAULT_BUCKET_NAME,
    topic: LOG,
    history: logHistory,
    anomalies: extra,
    ...(options.sequencing ? { sequencing: options.sequencing } : {}),
    profile: () => currentProfile,
    killEveryMs: options.workerKillEveryMs ?? WORKER_KILL_EVERY_MS,
    thinkMs: WORKER_THINK_MS,
    faultLog: workerFaultLog,
    voidLog: workerVoidLog,
    logFile: join(options.dataDir, 'workers.log'),
    traceFile: workerTrace,
    log: options.log,
  });

  try {
    let profile = nextProfile();
    currentProfile = profile;
    await server.start(spec(profile));
    let upSince = Date.now();
    options.log(`chaos: server up at ${url} (profile ${profile.name})`);
    for (const [topic, config] of [
      [LOG, SMALL],
      [COMPACT, { ...SMALL, cleanupPolicy: 'compact', minCompactionLagMs: 0 }],
      [RETENTION, { ...SMALL, retentionMs: RETENTION_MS }],
      [CONDITIONAL, SMALL],
    ] as const) {
      await mustRequest(url, 'POST', '/v1/topics', { name: topic.name, partitions: topic.partitions, config }, [409]);
    }

    const rnd = (i: number) => seededRandom(options.seed * 7919 + i);
    const n = (count: number) => Math.max(1, Math.round(count * options.scale));
    const common = { url, flags, outcomes, anomalies: extra };
    const senders: Promise<void>[] = [];
    const readers: Promise<void>[] = [];
    for (let i = 0; i < n(3); i++) {
      senders.push(
        rawAppender({ ...common, name: `raw-${i}`, topic: LOG, history: logHistory, random: rnd(i), keyedShare: 0.3, maxBatch: 8 }),
      );
    }
    for (let i = 0; i < n(2); i++) {
      senders.push(
        idempotentProducer({ ...common, name: `idem-${i}`, topic: LOG, history: logHistory, random: rnd(100 + i), window: 100 }),
      );
    }
    senders.push(
      idempotentProducer({
        ...common,
        name: 'idem-compact',
        topic: COMPACT,
        history: viaLog(compactSends, compactHistory) as unknown as History,
        random: rnd(200),
        window: 40,
      }),
    );
    senders.push(
      rawAppender({
        ...common,
        name: 'raw-compact',
        topic: COMPACT,
        history: viaLog(compactSends, compactHistory) as unknown as History,
        random: rnd(201),
        keyedShare: 1,
        maxBatch: 6,
      }),
    );
    senders.push(
      rawAppender({
        ...common,
        name: 'raw-retention',
        topic: RETENTION,
        history: viaLog(retentionSends, retentionHistory) as unknown as History,
        random: rnd(300),
        keyedShare: 0,
        maxBatch: 8,
      }),
    );
    for (let i = 0; i < n(2); i++) {
      senders.push(
        keylessIdempotentAppender({
          ...common,
          name: `keyless-idem-${i}`,
          topic: LOG,
          history: logHistory,
          random: rnd(500 + i),
          maxBatch: 5,
        }),
      );
    }
    for (let i = 0; i < 2; i++) {
      senders.push(
        conditionalWriter({
          ...common,
          name: `conditional-${i}`,
          topic: CONDITIONAL,
          partition: 0,
          history: conditionalHistory,
          random: rnd(600 + i),
          maxBatch: 3,
        }),
      );
    }
    senders.push(timestampLooker({ ...common, name: 'lookup', topic: LOG, random: rnd(700) }));
    if (options.appendProcesses > 0) await workers.start();
    recreated = new RecreatedTopic({
      url,
      topic: RECREATE,
      config: SMALL,
      group: `${GROUP}-recreate`,
      flags,
      outcomes,
      random: rnd(800),
      everyMs: RECREATE_EVERY_MS,
    });
    senders.push(recreated.writing);
    for (const [topic, history] of [
      [LOG, logHistory],
      [COMPACT, compactHistory],
      [RETENTION, retentionHistory],
      [CONDITIONAL, conditionalHistory],
    ] as const) {
      for (let p = 0; p < topic.partitions; p++) {
        readers.push(
          rawReader({
            url,
            flags,
            outcomes,
            name: `reader-${topic.name}-${p}`,
            topic: topic.name,
            partition: p,
            history,
            random: rnd(400 + p),
            waitMs: 1_000,
          }),
        );
      }
    }
    for (let i = 0; i < 2; i++) {
      members.push(
        new GroupMember({ url, name: `member-${i}`, group: GROUP, topic: LOG.name, history: logHistory, outcomes, anomalies: extra }),
      );
    }

    // The fault schedule: durationMs, and on until the run has recorded minOperations
    // (polls and sends; the drain only adds to them), never past maxDurationMs.
    const recorded = () =>
      logHistory.operations +
      compactHistory.operations +
      retentionHistory.operations +
      conditionalHistory.operations +
      compactSends.sends.length +
      retentionSends.sends.length;
    const minOperations = options.minOperations ?? 0;
    const lastEnd = started + Math.max(options.durationMs, options.maxDurationMs ?? 0);
    let end = started + options.durationMs;
    let extended = false;
    const goOn = () => {
      const count = recorded();
      const next = faultWindowEnd({ now: Date.now(), end, lastEnd, recorded: count, minOperations, incarnationMs: options.upMs[1] });
      if (next === undefined) return false;
      if (next !== end) {
        extended = true;
        options.log(
          `chaos: ${count} operations after ${Math.round((Date.now() - started) / 1000)} s, under ${minOperations}: faults go on`,
        );
      }
      end = next;
      return true;
    };
    while (goOn()) {
      const upMs = options.upMs[0] + Math.floor(random() * (options.upMs[1] - options.upMs[0]));
      await sleep(Math.max(0, Math.min(upMs, end - Date.now())));
      const downMs = Math.floor(random() * 2_000);
      await server.kill();
      incarnations.push({ profile: profile.name, upMs: Date.now() - upSince, downMs });
      const downAt = Date.now();
      await sleep(downMs);
      if (!goOn()) break;
      profile = nextProfile();
      currentProfile = profile;
      await server.start(spec(profile));
      upSince = Date.now();
      downtimeMs += upSince - downAt;
      options.log(`chaos: SIGKILL #${server.kills}, up again after ${upSince - downAt} ms (profile ${profile.name})`);
    }

    const faultWindow = { ms: Date.now() - started, extended };
    // Heal: one last start without faults, then drain. A restart that finished after the
    // end of the fault window left a faulty incarnation running: it goes first.
    if (server.pid !== undefined) {
      await server.kill();
      incarnations.push({ profile: profile.name, upMs: Date.now() - upSince, downMs: 0 });
    }
    const healAt = Date.now();
    currentProfile = undefined;
    await server.start(undefined);
    downtimeMs += Date.now() - healAt;
    options.log('chaos: healed (no faults); draining');
    flags.stopSending = true;
    await Promise.all([...senders, workers.stop()]);

    const highWatermarks = new Map<string, number>();
    const logStarts = new Map<string, number>();
    const partitionStates: Record<string, unknown[]> = {};
    for (const topic of [LOG, COMPACT, RETENTION, CONDITIONAL]) {
      const d = await mustRequest(url, 'GET', `/v1/topics/${topic.name}`);
      partitionStates[topic.name] = d.body.partitionStates;
      for (const s of d.body.partitionStates as { partition: number; highWatermark: number; logStartOffset: number }[]) {
        highWatermarks.set(`${topic.name}/${s.partition}`, s.highWatermark);
        logStarts.set(`${topic.name}/${s.partition}`, s.logStartOffset);
      }
    }
    flags.readTargets = highWatermarks;
    const drained = await Promise.race([Promise.all(readers).then(() => true), sleep(DRAIN_TIMEOUT_MS).then(() => false)]);
    if (!drained) {
      bump(outcomes, 'readers still behind at drain timeout');
      flags.stopReading = true;
      await Promise.all(readers);
    }
    const groupDeadline = Date.now() + DRAIN_TIMEOUT_MS;
    // Caught up: the last record below the high watermark was delivered. Voids at the end
    // of a partition (sealed, no record) are never delivered: the last record is below them.
    const groupCaughtUp = () => {
      const sealed = sealedOffsets().get(LOG.name);
      return Array.from({ length: LOG.partitions }, (_, p) => p).every((p) => {
        let last = highWatermarks.get(`${LOG.name}/${p}`)! - 1;
        while (last >= 0 && sealed?.get(p)?.has(last)) last -= 1;
        return last < 0 || members.some((m) => m.delivered.get(p)?.has(last));
      });
    };
    while (!groupCaughtUp() && Date.now() < groupDeadline) await sleep(200);
    // Liveness: the healed group commits up to every high watermark. Commit while both
    // are still members (a leave rebalances and fences the other's commit); a commit
    // refused by a rebalance still in progress is made again by the partition's owner.
    for (;;) {
      await Promise.all(members.map((m) => m.commit()));
      const offsets = (await mustRequest(url, 'GET', `/v1/groups/${GROUP}/offsets?topic=${LOG.name}`)).body.offsets as {
        partition: number;
        offset: number;
      }[];
      // A consumer commits one past the last record it processed: offsets above it that
      // are all voids (sealed, no records) have nothing to process, and count as reached.
      const sealed = sealedOffsets().get(LOG.name);
      const behind = Array.from({ length: LOG.partitions }, (_, p) => p).filter((p) => {
        const committedAt = offsets.find((o) => o.partition === p)?.offset ?? 0;
        const end = highWatermarks.get(`${LOG.name}/${p}`)!;
        for (let o = committedAt; o < end; o++) if (!sealed?.get(p)?.has(o)) return true;
        return false;
      });
      if (behind.length === 0) break;
      if (Date.now() > groupDeadline) {
        bump(extra, 'group-stalled', behind.length);
        options.log(`chaos: the group did not commit up to the high watermark of partitions ${behind.join(', ')}`);
        break;
      }
      await sleep(500);
    }
    for (const m of members) await m.close();

    // The re-created topic: its group delivers the whole last incarnation, and commits
    // nothing carried over from an earlier one.
    const recreateDeadline = Date.now() + DRAIN_TIMEOUT_MS;
    while (recreated!.undelivered() > 0 && Date.now() < recreateDeadline) await sleep(200);
    if (recreated!.undelivered() > 0) bump(extra, 'recreate-undelivered', recreated!.undelivered());
    const badCommits = await recreated!.badCommits();
    if (badCommits > 0) bump(extra, 'recreate-bad-commit', badCommits);
    options.log(`chaos: ${recreated!.incarnation + 1} incarnations of ${RECREATE.name}`);
    await recreated!.close();

    // Final reads, on the healed server.
    const finalRecords = new Map<string, { offset: number; value: string }[]>();
    const histories = new Map<TopicSpec, History>([
      [LOG, logHistory],
      [COMPACT, compactHistory],
      [RETENTION, retentionHistory],
      [CONDITIONAL, conditionalHistory],
    ]);
    for (const [topic, history] of histories) {
      // Nothing removes records of the delete-policy topics without retention: read from 0.
      const strict = topic === LOG || topic === CONDITIONAL;
      for (let p = 0; p < topic.partitions; p++) {
        const key = `${topic.name}/${p}`;
        const hw = highWatermarks.get(key)!;
        let offset = strict ? 0 : logStarts.get(key)!;
        const records: { offset: number; value: string }[] = [];
        while (offset < hw) {
          const page = await mustRequest(
            url,
            'GET',
            `/v1/topics/${topic.name}/partitions/${p}/records?offset=${offset}&maxRecords=10000`,
            undefined,
            [416],
          );
          if (page.kind === 'error') {
            // Retention moved the log start since the describe: start there.
            offset = page.body.error.logStartOffset;
            logStarts.set(key, offset);
            records.length = 0;
            continue;
          }
          for (const r of page.body.records) records.push({ offset: r.offset, value: r.value });
          if (page.body.nextOffset <= offset) break;
          offset = page.body.nextOffset;
        }
        history.finalRead(p, records);
        finalRecords.set(key, records);
      }
    }

    // Liveness: once healed, maintenance catches up however the faults interrupted its
    // passes: every tail flushed, and every compacted partition compacted (with
    // minCompactionLagMs 0 and everything flushed, no key appears twice). The state is
    // checked, not lastCompactionAt: a swap committed by a pass that then failed (an
    // error after the call) compacted the partition without that pass recording it.
    const repeatedKeys = async (partition: number, highWatermark: number): Promise<number> => {
      const seen = new Set<string>();
      let repeated = 0;
      for (let offset = 0; offset < highWatermark; ) {
        const page = await mustRequest(
          url,
          'GET',
          `/v1/topics/${COMPACT.name}/partitions/${partition}/records?offset=${offset}&maxRecords=10000`,
        );
        for (const r of page.body.records as { value: string }[]) {
          const key = keyOfValue(r.value);
          if (seen.has(key)) repeated += 1;
          seen.add(key);
        }
        if (page.body.nextOffset <= offset) break;
        offset = page.body.nextOffset;
      }
      return repeated;
    };
    const maintenanceDeadline = Date.now() + 60_000;
    for (;;) {
      const stalled: string[] = [];
      for (const topic of [LOG, COMPACT, RETENTION, CONDITIONAL]) {
        const d = await mustRequest(url, 'GET', `/v1/topics/${topic.name}`);
        partitionStates[topic.name] = d.body.partitionStates;
        for (const s of d.body.partitionStates as { partition: number; highWatermark: number; flushedOffset: number }[]) {
          if (s.flushedOffset < s.highWatermark)
            stalled.push(`${topic.name}/${s.partition} flushed to ${s.flushedOffset} of ${s.highWatermark}`);
          const repeated = topic === COMPACT && s.flushedOffset === s.highWatermark ? await repeatedKeys(s.partition, s.highWatermark) : 0;
          if (repeated > 0)
            stalled.push(`${topic.name}/${s.partition} not compacted (${repeated} records of keys that have a later record)`);
        }
      }
      if (stalled.length === 0) break;
      if (Date.now() > maintenanceDeadline) {
        bump(extra, 'maintenance-stalled', stalled.length);
        options.log(`chaos: maintenance stalled: ${stalled.join('; ')}`);
        break;
      }
      await sleep(1_000);
    }

    // Offsets sealed with voids (reserved, never filled): the only gaps a delete-policy
    // topic may have; a group or a retention check must not count them as missing.
    const voids = sealedOffsets();
    const isVoid = (topic: string, partition: number, offset: number) => voids.get(topic)?.get(partition)?.has(offset) ?? false;

    // Compaction may remove an acknowledged record once a later record of its key exists.
    const latestByKey = new Map<string, number>();
    const noteLatest = (partition: number, value: string, offset: number) => {
      const k = `${partition}/${keyOfValue(value)}`;
      latestByKey.set(k, Math.max(latestByKey.get(k) ?? -1, offset));
    };
    for (const s of compactSends.sends) if (s.status === 'ok') noteLatest(s.partition, s.value, s.offset!);
    for (let p = 0; p < COMPACT.partitions; p++)
      for (const r of finalRecords.get(`${COMPACT.name}/${p}`)!) noteLatest(p, r.value, r.offset);
    compactSends.replay(compactHistory, (s) => s.offset! < latestByKey.get(`${s.partition}/${keyOfValue(s.value)}`)!);
    // Retention removes whole segments below the log start; above it nothing may be missing.
    retentionSends.replay(retentionHistory, (s) => s.offset! < logStarts.get(`${RETENTION.name}/${s.partition}`)!);
    for (let p = 0; p < RETENTION.partitions; p++) {
      const key = `${RETENTION.name}/${p}`;
      const records = finalRecords.get(key)!;
      const present = new Set(records.map((r) => r.offset));
      for (let o = logStarts.get(key)!; o < highWatermarks.get(key)!; o++) {
        if (!present.has(o) && !isVoid(RETENTION.name, p, o)) {
          bump(extra, 'retention-gap');
          break;
        }
      }
    }

    // The group: every offset below its committed position was delivered to some member.
    const committed: Record<number, number> = {};
    const groupOffsets = await mustRequest(url, 'GET', `/v1/groups/${GROUP}/offsets?topic=${LOG.name}`);
    for (const o of groupOffsets.body.offsets as { partition: number; offset: number }[]) committed[o.partition] = o.offset;
    let delivered = 0;
    for (let p = 0; p < LOG.partitions; p++) {
      const seen = new Set<number>();
      for (const m of members) for (const o of m.delivered.get(p) ?? []) seen.add(o);
      delivered += seen.size;
      const c = committed[p] ?? 0;
      if (c > highWatermarks.get(`${LOG.name}/${p}`)!) bump(extra, 'group-commit-beyond-high-watermark');
      for (let o = 0; o < c; o++) if (!seen.has(o) && !isVoid(LOG.name, p, o)) bump(extra, 'group-gap');
    }

    const results = {
      [LOG.name]: logHistory.check({ voids: voids.get(LOG.name) ?? new Map() }),
      [COMPACT.name]: compactHistory.check({ allowGaps: true }),
      [RETENTION.name]: retentionHistory.check({ allowGaps: true }),
      [CONDITIONAL.name]: conditionalHistory.check({ voids: voids.get(CONDITIONAL.name) ?? new Map() }),
    };
    const anomalies: Record<string, number> = Object.fromEntries(ANOMALY_TYPES.map((t) => [t, 0]));
    for (const r of Object.values(results)) for (const t of ANOMALY_TYPES) anomalies[t]! += r.anomalyCounts[t];
    for (const k of EXTRA_CHECKS) anomalies[k] = 0;
    for (const [k, v] of Object.entries(extra)) anomalies[k] = v;
    const counts = Object.values(results).map((r) => r.counts);
    const sum = (f: (c: CheckResult['counts']) => number) => counts.reduce((a, c) => a + f(c), 0);
    const report: ChaosReport = {
      startedAt: new Date(started).toISOString(),
      options: {
        durationMs: options.durationMs,
        seed: options.seed,
        upMs: options.upMs,
        scale: options.scale,
        ...(options.sequencing ? { sequencing: options.sequencing } : {}),
      },
      wallMs: Date.now() - started,
      faultWindow,
      operations: {
        total: sum((c) => c.sends + c.polls),
        sends: sum((c) => c.sends),
        acked: sum((c) => c.acked),
        failed: sum((c) => c.failed),
        unknown: sum((c) => c.unknown),
        polls: sum((c) => c.polls),
        polledRecords: sum((c) => c.polledRecords),
        byTopic: Object.fromEntries(Object.entries(results).map(([t, r]) => [t, r.counts])),
      },
      schedule: { incarnations, kills: server.kills, downtimeMs },
      faults: readFaultLog(faultLog),
      workers: { ...workers.figures, faults: readFaultLog(workerFaultLog) },
      outcomes,
      group: {
        committed,
        highWatermarks: Object.fromEntries(Array.from({ length: LOG.partitions }, (_, p) => [p, highWatermarks.get(`${LOG.name}/${p}`)!])),
        delivered,
        consumerFailures: members.flatMap((m) => m.failures),
      },
      sendOutcomes: {
        [LOG.name]: {
          ok: results[LOG.name]!.counts.acked,
          fail: results[LOG.name]!.counts.failed,
          info: results[LOG.name]!.counts.unknown,
        },
        [COMPACT.name]: compactSends.outcomes(),
        [RETENTION.name]: retentionSends.outcomes(),
        [CONDITIONAL.name]: {
          ok: results[CONDITIONAL.name]!.counts.acked,
          fail: results[CONDITIONAL.name]!.counts.failed,
          info: results[CONDITIONAL.name]!.counts.unknown,
        },
      },
      partitionStates,
      anomalies,
      anomalyCount: Object.values(anomalies).reduce((a, b) => a + b, 0),
      summaries: [
        ...Object.entries(results).map(([t, r]) => `${t}: ${r.summary(5)}`),
        ...workers.figures.details,
        ...anomalyTraces(results[LOG.name]!, workerTrace, join(options.dataDir, 'server.log')),
      ],
    };
    mkdirSync('.tmp/chaos', { recursive: true });
    writeFileSync(join('.tmp/chaos', `report-${options.durationMs / 1000}s.json`), JSON.stringify(report, null, 2));
    return report;
  } finally {
    flags.stopSending = true;
    flags.stopReading = true;
    await Promise.all(members.map((m) => m.close().catch(() => undefined)));
    await recreated?.close();
    await workers.kill();
    await server.stop().catch(() => undefined);
    await dynamo.stop();
    // The server's output and the fault log outlive the data directory, for a failed run.
    mkdirSync('.tmp/chaos', { recursive: true });
    for (const file of [
      'server.log',
      'chaos-faults.log',
      'chaos-voids.log',
      'workers.log',
      'chaos-worker-faults.log',
      'chaos-worker-voids.log',
      'workers-trace.log',
    ]) {
      if (existsSync(join(options.dataDir, file))) copyFileSync(join(options.dataDir, file), join('.tmp/chaos', file));
    }
  }
}

/** Requests whose trace an anomaly report prints, at most. */
const TRACED_REQUESTS = 6;
/** Lines of the server's start and kill timeline an anomaly report prints, at most. */
const TIMELINE_LINES = 40;

/**
 * What a report of anomalies on the workers' topic needs to be read without the data
 * directory (a CI run keeps only its output): each involved worker request's DynamoDB
 * calls (test/support/worker-trace.ts) and the server's starts and kills. Empty when
 * there is no anomaly.
 */
function anomalyTraces(result: CheckResult, traceFile: string, serverLog: string): string[] {
  if (result.anomalies.length === 0) return [];
  const requests = new Set<string>();
  for (const a of result.anomalies) {
    for (const value of [a.value, ...(a.values ?? [])]) {
      const m = value?.match(/^(proc-\d+\.\d+)\/(\d+)\//);
      if (m) requests.add(`${m[1]} ${m[2]}`);
    }
  }
  const lines: string[] = [];
  for (const key of [...requests].slice(0, TRACED_REQUESTS)) {
    const [worker, request] = key.split(' ') as [string, string];
    lines.push(`trace of ${worker} request ${request}:`, ...traceLinesFor(traceFile, worker, Number(request)).map((l) => `  ${l}`));
  }
  if (existsSync(serverLog)) {
    const timeline = readFileSync(serverLog, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('--- '));
    lines.push('server timeline:', ...timeline.slice(-TIMELINE_LINES).map((l) => `  ${l.slice(0, 160)}`));
  }
  return lines;
}
