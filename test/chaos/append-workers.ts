/**
 * Append workers in the chaos run (issue 13): separate OS processes, each with its own
 * LogEngine serving one request at a time, as Lambda environments on AWS do, appending to
 * `chaos-log` straight through DynamoDB Local and s3rver beside the server process. They
 * are the multi-process checker's workers (test/support/append-worker.ts, its protocol in
 * test/support/worker-protocol.ts); this is the chaos run's side of that protocol: it
 * spawns them, records their sends and outcomes in the run's History, collects the
 * offsets they seal, SIGKILLs them at random and replaces each at once.
 *
 *     chaos run (parent)                     worker pN.g (own engine, own SDK clients)
 *     spawn(STRATA_MP_WORKER, STRATA_CHAOS = the server's current fault profile, own seed)
 *                 ◀──────────────────────── {"t":"send"}    history.invokeSend, per record
 *                                           reserve ─✗ crash point sdk:UpdateItemCommand:after
 *                 ◀──────────────────────── {"t":"seal"}    before it is sent: may be a void
 *                 ◀──────────────────────── {"t":"result"}  ok(offset) / fail() / info()
 *     every killEveryMs: SIGKILL one ─────▶ ✗  its in-flight send stays unknown (pending)
 *     on exit: spawn pN.g+1 (new producer id) unless stopping
 *     stop(): close stdins ───────────────▶ finish the request, "bye", exit 0
 *
 * DynamoDB Local is the run's (run-chaos.ts starts it; the server connects to it), so it
 * runs through the server's SIGKILLs as DynamoDB outlives a crashed Lambda; s3rver dies
 * with the server, which starts it again on a fixed port (ServerProcess's s3Port), so the
 * endpoints the workers were given stay valid.
 *
 * Values are `<id>#<padding>` as the worker writes them; the worker pads every record with
 * `padBytes` (largeShare 0: no record is staged in S3), so the value a reader polls is
 * known from the announced id.
 */
import { appendFileSync } from 'node:fs';
import type { ChaosSpec } from '../../local/chaos.js';
import { seededRandom } from '../support/faults.js';
import type { History, SendHandle } from '../support/history.js';
import { DEFAULT_CRASH_POINTS, DEFAULT_STALL_POINTS, DEFAULT_WORKLOAD } from '../support/multi-process.js';
import { spawnWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import type { AppendKind, StallSpec, WorkerConfig, WorkerEvent } from '../support/worker-protocol.js';
import { bump, type OutcomeCounts, type TopicSpec } from './actors.js';

/** How long the first workers may take to start (tsx and the SDK, beside a busy server). */
const START_TIMEOUT_MS = 60_000;
/** How long a worker may take to finish its request once told to stop (append deadline, resends). */
const STOP_TIMEOUT_MS = 45_000;
const DETAIL_LIMIT = 20;

/**
 * The multi-process checker's crash points, at this share of their rates: its workers
 * send as fast as they can and die every second or two, which on two cores would spend
 * the run starting processes; here about one request in 100 meets one. All but the death
 * between reserve and fill, kept at its rate: the run's own SIGKILLs seldom land there.
 */
const CRASH_POINT_SHARE = 0.3;
const BETWEEN_RESERVE_AND_FILL = 'sdk:UpdateItemCommand:after';
const CRASH_POINTS: Record<string, number> = Object.fromEntries(
  Object.entries(DEFAULT_CRASH_POINTS).map(([point, rate]) => [
    point,
    point === BETWEEN_RESERVE_AND_FILL ? rate : rate * CRASH_POINT_SHARE,
  ]),
);

/** A fault profile of local/chaos.ts (the chaos run's FAULT_PROFILES). */
export type WorkerFaultProfile = Partial<ChaosSpec> & { name: string };

/** This run's checks of worker answers, beside the History's (reported even at zero). */
export const WORKER_CHECKS = [
  'worker-noncontiguous-ack',
  'worker-conflicting-acks',
  'worker-unexpected-refusal',
  'worker-internal-error',
  'worker-failed',
] as const;

export interface AppendWorkersOptions {
  /** Worker processes alive at any time (a killed one is replaced at once). */
  processes: number;
  seed: number;
  dynamoEndpoint: string;
  s3Endpoint: string;
  tableName: string;
  bucket: string;
  topic: TopicSpec;
  /** Where every send and outcome goes: the run's History of `topic`. */
  history: History;
  /** Extra anomalies (WORKER_CHECKS, conditional-wrong-offset) are counted here. */
  anomalies: OutcomeCounts;
  /** The same as the server's (the engine's default when absent). */
  sequencing?: 'optimistic' | 'reserve' | 'write-first';
  /** The fault profile a new worker takes: the server incarnation's; undefined: none. */
  profile: () => WorkerFaultProfile | undefined;
  /** A random worker is SIGKILLed every [min, max] ms. */
  killEveryMs: [number, number];
  /** Where the workers' local/chaos.ts middleware logs (read with readFaultLog). */
  faultLog: string;
  /** Where the offsets workers set out to seal are appended (`<topic> <partition> <offset>…`, as STRATA_VOID_LOG). */
  voidLog: string;
  /** The workers' stderr and unexpected exits. */
  logFile: string;
  /** Where the workers trace their DynamoDB calls (test/support/worker-trace.ts). */
  traceFile?: string;
  crashPoints?: Record<string, number>;
  stallPoints?: Record<string, StallSpec>;
  thinkMs?: [number, number];
  log: (line: string) => void;
}

/** What the workers did, for the report. */
export interface WorkerFigures {
  processes: number;
  killEveryMs: [number, number];
  incarnations: number;
  /** From spawn to the worker's "ready" (tsx, the SDK, the engine), over every incarnation. */
  startupMs: { mean: number; max: number };
  byProfile: Record<string, number>;
  requests: number;
  byKind: Record<AppendKind, number>;
  /** Records announced, and what the workers were told of them. */
  sends: number;
  acked: number;
  refused: number;
  unknown: number;
  /** Records whose request was in flight when its worker died (left unknown). */
  inFlightAtKill: number;
  kills: { parent: number; crashPoints: Record<string, number>; atStop: number };
  stalls: number;
  seals: number;
  /** `<kind> <ok|fail|unknown> [code]` per partition of a request. */
  outcomes: Record<string, number>;
  details: string[];
}

interface Pending {
  kind: AppendKind;
  expectedOffset?: number;
  records: { partition: number; handle: SendHandle }[];
}

type Worker = WorkerProcess<Pending>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

export class AppendWorkers {
  private readonly workers = new Set<Worker>();
  private readonly generations = new Map<number, number>();
  private readonly random: () => number;
  private readyCount = 0;
  private stopping = false;
  private killer: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  readonly figures: WorkerFigures;

  constructor(private readonly options: AppendWorkersOptions) {
    this.random = seededRandom(options.seed * 4_391 + 17);
    this.figures = {
      processes: options.processes,
      killEveryMs: options.killEveryMs,
      incarnations: 0,
      startupMs: { mean: 0, max: 0 },
      byProfile: {},
      requests: 0,
      byKind: { plain: 0, idempotent: 0, conditional: 0 },
      sends: 0,
      acked: 0,
      refused: 0,
      unknown: 0,
      inFlightAtKill: 0,
      kills: { parent: 0, crashPoints: {}, atStop: 0 },
      stalls: 0,
      seals: 0,
      outcomes: {},
      details: [],
    };
  }

  /** Spawns the workers, waits until they serve, then starts the kill schedule. */
  async start(): Promise<void> {
    for (let slot = 0; slot < this.options.processes; slot++) this.spawn(slot);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while ([...this.workers].some((w) => !w.ready) && Date.now() < deadline) await sleep(50);
    this.options.log(
      `chaos: ${[...this.workers].filter((w) => w.ready).length} of ${this.options.processes} append worker processes ready`,
    );
    this.killer = this.killSchedule();
  }

  /** Stops the kills and the replacements; every worker finishes its request and exits (SIGKILL after a timeout). */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.wake?.();
    await this.killer;
    const remaining = [...this.workers];
    for (const w of remaining) {
      w.stopping = true;
      w.child.stdin!.end();
    }
    const allExited = Promise.all(remaining.map((w) => w.exited));
    if (!(await Promise.race([allExited.then(() => true), sleep(STOP_TIMEOUT_MS).then(() => false)]))) {
      for (const w of this.workers) {
        w.killedBy = 'stop';
        this.figures.kills.atStop += 1;
        w.child.kill('SIGKILL');
      }
      await allExited;
    }
  }

  /** SIGKILLs whatever is left (a failed run's cleanup). */
  async kill(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    for (const w of this.workers) {
      w.killedBy ??= 'stop';
      w.child.kill('SIGKILL');
    }
    await Promise.all([...this.workers].map((w) => w.exited));
    await this.killer;
  }

  private async killSchedule(): Promise<void> {
    const [min, max] = this.options.killEveryMs;
    while (!this.stopping) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, min + this.random() * (max - min));
      });
      if (this.stopping) return;
      const alive = [...this.workers].filter((w) => w.ready && w.killedBy === undefined && w.crashPoint === undefined);
      const victim = alive[Math.floor(this.random() * alive.length)];
      if (!victim) continue;
      victim.killedBy = 'parent';
      this.figures.kills.parent += 1;
      victim.child.kill('SIGKILL');
    }
  }

  private anomaly(kind: string, detail: string): void {
    bump(this.options.anomalies, kind);
    if (this.figures.details.length < DETAIL_LIMIT) this.figures.details.push(`${kind}: ${detail}`);
  }

  private value(id: string): string {
    return `${id}#${'x'.repeat(this.options.topic.padBytes)}`;
  }

  private onEvent(w: Worker, event: WorkerEvent): void {
    const f = this.figures;
    switch (event.t) {
      case 'ready': {
        w.ready = true;
        const ms = Date.now() - w.spawnedAt;
        this.readyCount += 1;
        f.startupMs.mean = Math.round(f.startupMs.mean + (ms - f.startupMs.mean) / this.readyCount);
        f.startupMs.max = Math.max(f.startupMs.max, ms);
        return;
      }
      case 'send': {
        const records = event.records.map((r) => ({
          partition: r.partition,
          handle: this.options.history.invokeSend({ process: w.name, partition: r.partition, value: this.value(r.id) }),
        }));
        w.pending.set(event.id, {
          kind: event.kind,
          records,
          ...(event.expectedOffset !== undefined ? { expectedOffset: event.expectedOffset } : {}),
        });
        f.requests += 1;
        f.byKind[event.kind] += 1;
        f.sends += records.length;
        return;
      }
      case 'result':
        this.onResult(w, event);
        return;
      case 'seal':
        f.seals += 1;
        appendFileSync(this.options.voidLog, `${this.options.topic.name} ${event.partition} ${event.offsets.join(' ')}\n`);
        return;
      case 'crash':
        w.crashPoint = event.point;
        bump(f.kills.crashPoints, event.point);
        return;
      case 'stall':
        f.stalls += 1;
        return;
      case 'error':
        w.errors.push(event.message);
        return;
      case 'flushDue': // the server's compact schedule flushes every second
      case 'attempt':
      case 'bye':
        return;
    }
  }

  private onResult(w: Worker, event: Extract<WorkerEvent, { t: 'result' }>): void {
    const request = w.pending.get(event.id);
    if (!request) return;
    w.pending.delete(event.id);
    const f = this.figures;
    for (const result of event.partitions) {
      bump(
        f.outcomes,
        `${request.kind} ${result.status}${result.code && result.status !== 'ok' ? ` ${result.code}` : ''}${result.duplicate ? ' duplicate' : ''}`,
      );
      const mine = request.records.filter((r) => r.partition === result.partition);
      const where = `${w.name} request ${event.id} (${request.kind}) partition ${result.partition}`;
      if (result.message !== undefined) this.anomaly('worker-internal-error', `${where}: ${result.code}: ${result.message}`);
      if (result.conflictingAcks)
        this.anomaly('worker-conflicting-acks', `${where}: attempts acknowledged at ${result.conflictingAcks.join(', ')}`);
      if (result.status === 'ok') {
        const offsets = result.offsets ?? [];
        const contiguous = offsets.length === mine.length && offsets.every((o, k) => o === offsets[0]! + k);
        if (!contiguous) this.anomaly('worker-noncontiguous-ack', `${where}: ${mine.length} records acked at [${offsets.join(', ')}]`);
        if (request.kind === 'conditional' && offsets[0] !== request.expectedOffset) {
          this.anomaly('conditional-wrong-offset', `${where}: expectedOffset ${request.expectedOffset} acked at ${offsets[0]}`);
        }
        for (const [k, r] of mine.entries()) {
          if (offsets[k] === undefined) r.handle.info();
          else r.handle.ok(offsets[k]);
        }
        f.acked += mine.length;
      } else if (result.status === 'fail') {
        for (const r of mine) r.handle.fail();
        f.refused += mine.length;
        // Another writer moved the partition on: the only refusal a correct log gives these appends.
        if (!(request.kind === 'conditional' && result.code === 'OFFSET_MISMATCH'))
          this.anomaly('worker-unexpected-refusal', `${where} refused with ${result.code}`);
      } else {
        for (const r of mine) r.handle.info();
        f.unknown += mine.length;
      }
    }
  }

  private spawn(slot: number): void {
    const o = this.options;
    const generation = this.generations.get(slot) ?? 0;
    this.generations.set(slot, generation + 1);
    const name = `proc-${slot}.${generation}`;
    const index = this.figures.incarnations++;
    const profile = o.profile();
    bump(this.figures.byProfile, profile?.name ?? 'none');
    const config: WorkerConfig = {
      ...DEFAULT_WORKLOAD,
      padBytes: o.topic.padBytes,
      largeShare: 0,
      thinkMs: o.thinkMs ?? DEFAULT_WORKLOAD.thinkMs,
      name,
      seed: o.seed * 100_003 + index * 7_919,
      dynamoEndpoint: o.dynamoEndpoint,
      s3Endpoint: o.s3Endpoint,
      tableName: o.tableName,
      bucket: o.bucket,
      topic: o.topic.name,
      partitions: o.topic.partitions,
      latencyMs: [2, 8],
      crashPoints: o.crashPoints ?? CRASH_POINTS,
      stallPoints: o.stallPoints ?? DEFAULT_STALL_POINTS,
      engineHookOption: 'testHooks',
      engine: o.sequencing ? { sequencing: o.sequencing } : {},
      ...(o.traceFile ? { traceFile: o.traceFile } : {}),
    };
    const { name: _profileName, ...rates } = profile ?? { name: 'none' };
    const w = spawnWorkerProcess<Pending>(slot, {
      config,
      faults: rates,
      faultLog: o.faultLog,
      env: { POWERTOOLS_LOG_LEVEL: 'ERROR' },
      onEvent: (worker, event) => this.onEvent(worker, event),
      onStderr: (chunk) => appendFileSync(o.logFile, chunk),
      onExit: (exited, { expected, why }) => {
        this.workers.delete(exited);
        const killed = exited.killedBy !== undefined || exited.crashPoint !== undefined;
        if (killed) for (const p of exited.pending.values()) this.figures.inFlightAtKill += p.records.length;
        if (!expected) {
          appendFileSync(o.logFile, `${why}\n`);
          this.anomaly('worker-failed', why);
        }
        if (!this.stopping) this.spawn(slot);
      },
    });
    this.workers.add(w);
    appendFileSync(o.logFile, `--- ${name} pid ${w.child.pid} ${new Date().toISOString()} profile ${profile?.name ?? 'none'}\n`);
  }
}
