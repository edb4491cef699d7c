/**
 * Contention on one partition as it happens on AWS (issue 13): a Lambda environment
 * serves one request at a time, so K concurrent appends to a partition come from K
 * processes, each with its own engine, racing each other on the partition's head. No
 * process can group another's request into its commit.
 *
 * The harness starts DynamoDB Local in memory and a pool of worker processes
 * (bench/suites/contention-worker.ts, bundled once with esbuild as a Lambda bundle is), then for
 * each shape, each K and each mode: empties the table, lets the mode prepare (create its
 * topic), and has K workers append to partition 0 for the window, each through a DynamoDB
 * client whose calls take AWS's time (bench/harness/latency-model.ts). The workers report their
 * acks, latencies, DynamoDB calls and write units (bench/harness/contention-meter.ts) over IPC;
 * bench/suites/contention-report.ts merges them and checks the aims.
 *
 * The modes run one after another at each K, so a drift of this shared machine hits
 * them alike rather than the one that happened to run during it; with `rounds`, they run
 * that many times in rotated orders and each point pools its windows, since a mode's
 * figures move with the mode run just before it.
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { BUNDLE_OPTIONS } from '../../infra/function-bundling.js';
import { DEFAULT_APPEND_DEADLINE_MS } from '../../lib/core/constants.js';
import type { ChaosSpec } from '../../local/chaos.js';
import { checkJava, ensureTable, localDynamoClient, startDynamoDbLocal } from '../../local/emulators.js';
import { DEFAULT_LATENCY_MODEL, describeLatencyModel, dilateLatencyModel, type LatencyModel } from '../harness/latency-model.js';
import { ResourceMeter } from '../harness/resources.js';
import { formatMs, formatNumber, formatRatio } from '../harness/stats.js';
import { defineSuite, SECOND } from '../harness/suite.js';
import { resetTable } from '../harness/table.js';
import { writeJson } from '../report/report.js';
import { BATCH_SHAPE, CONTENTION_MODES, type ContentionShape, contentionMode, SINGLE_RECORD_SHAPE } from './contention-modes.js';
import {
  type AimCheck,
  aggregateRounds,
  baselineOf,
  type ContentionBaseline,
  type ContentionPoint,
  checkAims,
  contentionCharts,
  contentionTables,
  type LatencyReference,
  latencyReference,
  type MeasuredWindow,
  type PointMeta,
  roundPlan,
  type WorkerReport,
} from './contention-report.js';
import type { FromWorker, ToWorker, WorkerPoint } from './contention-worker.js';

export interface ContentionOptions {
  /** K: worker processes appending at once. */
  levels: number[];
  shapes: ContentionShape[];
  /** Names in CONTENTION_MODES, run in this order at each K. */
  modes: string[];
  warmupMs: number;
  /** The window of one round: a point pools `rounds` windows. */
  durationMs: number;
  /**
   * Windows per mode, shape and K (absent: 1). Each round runs every mode once, in an
   * order rotated by one from the round before (modesOfRound), so no mode always follows
   * the same one; the point pools the rounds' windows.
   */
  rounds?: number;
  /**
   * Before the first measurement, every worker runs every mode of `modes` in every shape
   * this long, not measured, each worker on a partition of its own: a fresh process runs
   * the SDK and the engine unoptimised (measured: a cold worker made 3 requests a second
   * where a warm one made 35), and the first points measured (K=1) would otherwise be
   * measured cold, the engine's code most of all: when only raw was warmed, the engine's
   * K=1 single-record p50 was 26.9 ms against 20.3 ms for 100-record batches measured
   * later. Uncontended, so no lost race and no wait for another writer: no starved request
   * holds the warm-up until its deadline, and every path of a mode's code is compiled.
   */
  poolWarmupMs: number;
  latencyModel: LatencyModel;
  /**
   * Time dilation by K (bench/suites/dilated.ts): at K, every delay of the latency model
   * is this many times as long, and the warm-up and window WINDOW_PER_DILATION times that
   * beyond 8. Absent: 1 at every K.
   */
  dilation?: (k: number) => number;
  /**
   * SDK faults in every worker's DynamoDB client (local/chaos.ts, DynamoDB only), each
   * worker drawing from its own seed: what a mode pays for its in-doubt paths.
   */
  faults?: ChaosSpec;
}

export interface ContentionBenchResult {
  config: Omit<ContentionOptions, 'latencyModel'> & { deadlineMs: number; latencyModel: LatencyModel & { description: string } };
  modeLabels: Record<string, string>;
  points: ContentionPoint[];
  consumedCapacity: {
    /** Whether every answered write of the run carried ConsumedCapacity (DynamoDB Local's answer). */
    reportedByDynamoDbLocal: boolean;
    answeredWrites: number;
    unreportedWrites: number;
    /** Reported units over units counted from item sizes, for the answered writes of every point. */
    reportedOverCounted: number;
  };
}

const TABLE_NAME = 'strata-contention';
const WORKER_ENTRY = fileURLToPath(new URL('./contention-worker.ts', import.meta.url));
const WORKER_BUNDLE = 'contention-worker.mjs';
/** Time between sending a measurement and its start: every worker gets the message and opens its mode. */
const START_LEAD_MS = 300;
const START_LEAD_PER_WORKER_MS = 10;
/** A request in flight at the window's end runs to its deadline at most; then the worker reports. */
const REPORT_GRACE_MS = 15_000;
const READY_TIMEOUT_MS = 120_000;
const EXIT_GRACE_MS = 5_000;

/** Bundles the worker as the construct bundles a function, for this Node version: a fresh process starts in ~0.1 s instead of ~1 s under tsx. */
async function bundleWorker(dir: string): Promise<string> {
  const outfile = join(dir, WORKER_BUNDLE);
  await esbuild.build({
    entryPoints: [WORKER_ENTRY],
    outfile,
    bundle: true,
    platform: BUNDLE_OPTIONS.platform,
    format: BUNDLE_OPTIONS.format,
    target: `node${process.versions.node.split('.')[0]}`,
    minify: false,
    sourcemap: 'inline',
    mainFields: [...BUNDLE_OPTIONS.mainFields],
    banner: { js: BUNDLE_OPTIONS.banner },
    logLevel: 'silent',
  });
  // esbuild keeps a service process for further builds; this run makes no more.
  await esbuild.stop();
  return outfile;
}

/**
 * Stops the worker for `ms`, as Lambda freezes an environment between requests, then lets
 * it go on and tells it so. Whatever the worker runs between asking and the stop (a few
 * ms) stands for what an environment runs between its answer and the freeze.
 */
function freeze(child: ChildProcess, ms: number): void {
  if (!child.kill('SIGSTOP')) return;
  setTimeout(() => {
    if (!child.kill('SIGCONT') || !child.connected) return;
    child.send({ type: 'thawed' } satisfies ToWorker);
  }, ms);
}

/** Worker processes, started once and reused by every measurement. */
class WorkerPool {
  private readonly workers: ChildProcess[] = [];

  private constructor() {}

  static async start(bundle: string, size: number): Promise<WorkerPool> {
    const pool = new WorkerPool();
    const ready: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const child = fork(bundle, [], {
        execArgv: ['--enable-source-maps'],
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        // A process group of its own: a worker stopped for a frozen pause in the harness's
        // group would get SIGHUP from the kernel whenever that group is orphaned (a harness
        // started in the background) and one of its processes exits.
        detached: true,
      });
      pool.workers.push(child);
      child.on('message', (message: FromWorker) => {
        if (message.type === 'freeze') freeze(child, message.ms);
      });
      ready.push(
        pool.next(child, READY_TIMEOUT_MS).then((m) => {
          if (m.type !== 'ready') throw new Error(`worker ${i} sent ${m.type} before ready`);
        }),
      );
    }
    try {
      await Promise.all(ready);
    } catch (err) {
      await pool.stop();
      throw err;
    }
    return pool;
  }

  /** Runs one measurement on the first `points.length` workers; resolves with their reports. */
  async run(points: WorkerPoint[], timeoutMs: number): Promise<WorkerReport[]> {
    if (points.length > this.workers.length) throw new Error(`${points.length} workers asked of a pool of ${this.workers.length}`);
    return Promise.all(
      points.map(async (point, i) => {
        const child = this.workers[i]!;
        const answer = this.next(child, timeoutMs);
        child.send({ type: 'run', point } satisfies ToWorker);
        const message = await answer;
        if (message.type === 'report') return message.report;
        throw new Error(`worker ${i} failed: ${message.type === 'failed' ? message.message : message.type}`);
      }),
    );
  }

  /** Sends every worker away; kills those that have not left after a grace period. */
  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        if (child.connected) child.send({ type: 'exit' } satisfies ToWorker);
        const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_GRACE_MS);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /** The worker's next message, or an error if it exits or stays silent for `timeoutMs`. */
  private next(child: ChildProcess, timeoutMs: number): Promise<FromWorker> {
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (message: FromWorker) => {
        if (message.type === 'freeze') return;
        done();
        resolve(message);
      };
      const onExit = (code: number | null, signal: string | null) => {
        done();
        reject(new Error(`worker ${child.pid} exited (${signal ?? `code ${code}`})`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`worker ${child.pid} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  }
}

export async function runContentionBench(options: ContentionOptions, log: (line: string) => void): Promise<ContentionBenchResult> {
  for (const mode of options.modes) contentionMode(mode);
  await checkJava();
  const size = Math.max(...options.levels);
  const dir = await mkdtemp(join(tmpdir(), 'strata-contention-'));
  const dynamoLocal = await startDynamoDbLocal();
  const dynamo = localDynamoClient(dynamoLocal.endpoint);
  let pool: WorkerPool | undefined;
  try {
    await ensureTable(dynamo, TABLE_NAME);
    const resources = new ResourceMeter();
    log(`  latency model: ${describeLatencyModel(options.latencyModel)}; starting ${size} worker processes`);
    const workers = await WorkerPool.start(await bundleWorker(dir), size);
    pool = workers;
    let serial = 0;
    /** One measurement: K workers on an emptied table; the reports, DynamoDB Local's CPU and the head's count. */
    /** `spread`: each worker on a partition of its own (the pool's warm-up). */
    const measure = async (
      shape: ContentionShape,
      k: number,
      modeName: string,
      warmupMs: number,
      durationMs: number,
      spread = false,
      latencyModel = options.latencyModel,
    ) => {
      const mode = contentionMode(modeName);
      const scope = {
        tableName: TABLE_NAME,
        scope: `${++serial}-${modeName}-${shape.name}-k${k}`,
        shape,
        deadlineMs: DEFAULT_APPEND_DEADLINE_MS,
        ...(spread ? { partitions: k } : {}),
      };
      await resetTable(dynamo, TABLE_NAME);
      await mode.prepare?.(dynamo, scope);
      const startAt = Date.now() + START_LEAD_MS + k * START_LEAD_PER_WORKER_MS;
      const point: WorkerPoint = {
        mode: modeName,
        shape,
        endpoint: dynamoLocal.endpoint,
        tableName: TABLE_NAME,
        scope: scope.scope,
        deadlineMs: scope.deadlineMs,
        latencyModel,
        ...(options.faults ? { faults: options.faults } : {}),
        startAt,
        warmupMs,
        durationMs,
      };
      // DynamoDB Local's CPU over the same window as the workers'.
      const windowStart = startAt + warmupMs;
      let stopMeter: (() => { dynamoCores: number }) | undefined;
      let dynamoCores = Number.NaN;
      const meterTimers = [
        setTimeout(() => (stopMeter = resources.start()), windowStart - Date.now()),
        setTimeout(() => (dynamoCores = stopMeter?.().dynamoCores ?? Number.NaN), windowStart + durationMs - Date.now()),
      ];
      try {
        const timeoutMs = startAt - Date.now() + warmupMs + durationMs + scope.deadlineMs + REPORT_GRACE_MS;
        const reports = await workers.run(
          Array.from({ length: k }, (_, i) => (spread ? { ...point, partition: i } : point)),
          timeoutMs,
        );
        return { reports, dynamoCores, storedRecords: await mode.storedRecords(dynamo, scope) };
      } finally {
        for (const timer of meterTimers) clearTimeout(timer);
      }
    };
    if (options.poolWarmupMs > 0) {
      log(`  warming ${size} workers: every mode in every shape for ${options.poolWarmupMs / 1000} s, each worker on its own partition`);
      for (const shape of options.shapes) {
        for (const modeName of options.modes) await measure(shape, size, modeName, 0, options.poolWarmupMs, true);
      }
    }
    const points: ContentionPoint[] = [];
    let answeredWrites = 0;
    let unreportedWrites = 0;
    let answeredReported = 0;
    let answeredCounted = 0;
    for (const shape of options.shapes) {
      for (const k of options.levels) {
        const dilation = options.dilation?.(k) ?? 1;
        const stretch = windowStretch(dilation);
        const model = dilateLatencyModel(options.latencyModel, dilation);
        const windowMs = options.durationMs * stretch;
        const rounds = options.rounds ?? 1;
        // By place in `modes`, not by name: a mode named twice is measured as two points.
        const windows: MeasuredWindow[][] = options.modes.map(() => []);
        for (const { round, place, mode: modeName } of roundPlan(options.modes, rounds)) {
          const measured = await measure(shape, k, modeName, options.warmupMs * stretch, windowMs, false, model);
          windows[place]!.push(measured);
          for (const { usage } of measured.reports) {
            answeredWrites += usage.writes - usage.failedWrites;
            unreportedWrites += usage.unreportedWrites;
            answeredReported += usage.writeUnits - usage.failedWriteUnits;
            answeredCounted += usage.countedWriteUnits - usage.failedWriteUnits;
          }
          const meta = pointMeta(modeName, shape, k, windowMs, dilation);
          log(`  ${rounds > 1 ? `round ${round + 1}/${rounds} ` : ''}${pointLine(aggregateRounds(meta, [measured]))}`);
        }
        for (const [place, modeName] of options.modes.entries()) {
          const point = aggregateRounds(pointMeta(modeName, shape, k, windowMs, dilation), windows[place]!);
          points.push(point);
          if (rounds > 1) log(`  pooled ${pointLine(point)}`);
        }
      }
    }
    return {
      config: {
        levels: options.levels,
        shapes: options.shapes,
        modes: options.modes,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        rounds: options.rounds ?? 1,
        poolWarmupMs: options.poolWarmupMs,
        deadlineMs: DEFAULT_APPEND_DEADLINE_MS,
        latencyModel: { ...options.latencyModel, description: describeLatencyModel(options.latencyModel) },
      },
      modeLabels: Object.fromEntries(options.modes.map((m) => [m, CONTENTION_MODES[m]!.label])),
      points,
      consumedCapacity: {
        reportedByDynamoDbLocal: answeredWrites > 0 && unreportedWrites === 0,
        answeredWrites,
        unreportedWrites,
        reportedOverCounted: answeredReported / answeredCounted,
      },
    };
  } finally {
    await pool?.stop();
    dynamo.destroy();
    await dynamoLocal.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function pointMeta(mode: string, shape: ContentionShape, k: number, windowMs: number, dilation: number): PointMeta {
  return {
    mode,
    shape: shape.name,
    recordsPerRequest: shape.recordsPerRequest,
    concurrency: k,
    windowMs,
    ...(dilation === 1 ? {} : { dilation }),
  };
}

/** One line of the run's log for a point. */
function pointLine(p: ContentionPoint): string {
  return (
    `${p.shape.padEnd(6)} K=${String(p.concurrency).padStart(2)} ${p.mode.padEnd(14)} ${formatNumber(p.acksPerSec, 0).padStart(6)} acks/s ` +
    `p50 ${formatMs(p.latencyMs.p50)} p99 ${formatMs(p.latencyMs.p99)} ms, ${formatNumber(p.writeUnitsPerAck, 1)} WCU/ack, ` +
    `${p.unavailable} × 503${p.errors > 0 ? `, ${p.errors} errors (${p.firstError})` : ''}${p.verified ? '' : ', HEAD ≠ ACKS'}`
  );
}

function roundsText(rounds: number | undefined): string {
  return (rounds ?? 1) > 1
    ? `${rounds} rounds: at each K every mode ran once per round, in a different order each round (modesOfRound in bench/suites/contention-report.ts), and each point pools its ${rounds} windows. `
    : '';
}

/** Dilations up to this leave the warm-up and window as configured; beyond, they grow with it. */
const WINDOW_PER_DILATION = 8;

/** How many times the configured warm-up and window a point dilated `dilation` times gets: enough round trips in the window. */
export function windowStretch(dilation: number): number {
  return Math.max(1, dilation / WINDOW_PER_DILATION);
}

/** Today's path and the reserving sequencer (issue 13), beside the raw primitives they are built on. */
const CONTENTION_MODES_RUN = ['engine-optimistic', 'engine-reserve', 'engine-write-first', 'raw', 'optimistic-raw'];
const CONTENTION_SHAPES = [SINGLE_RECORD_SHAPE, BATCH_SHAPE];
/** The engine's K=1 latencies saved by `--contention-baseline`: "today's path" for later runs' aims. */
export const CONTENTION_BASELINE_PATH = fileURLToPath(new URL('../results/contention-baseline.json', import.meta.url));

export type ContentionSuiteResult = ContentionBenchResult & { aims: AimCheck[]; reference: LatencyReference | undefined };

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export const contentionSuite = defineSuite({
  name: 'contention',
  title: 'Contention: K processes on one partition (issue 13)',
  measures: 'K processes appending to one partition through the AWS latency model, by sequencer and raw primitive',
  /**
   * K worker processes, one request at a time each, on one partition; per K, mode and
   * round `durationMs` after `warmupMs`. The pool's warm-up is 6 s per mode and shape:
   * DynamoDB Local's JVM (C1 only) keeps warming long after 2 s. Measured 2026-12-03, one
   * process at K=1 through the latency model, 5-s windows alternating write-first and
   * optimistic: write-first's p50 was 30.2, 24.1, 31.9, 22.8 ms in the first four windows
   * and 20.0-20.8 ms in the next four (optimistic 23.7, 22.6, 27.0, 20.2, then 19.0-19.7
   * ms); with 2 s the suite measured K=1 in that early stretch.
   */
  full: { levels: [1, 2, 4, 8, 16, 32, 64], warmupMs: 1 * SECOND, durationMs: 5 * SECOND, rounds: 3, poolWarmupMs: 6 * SECOND },
  quick: { levels: [1, 8, 32], warmupMs: SECOND / 2, durationMs: 2 * SECOND, poolWarmupMs: 1 * SECOND },
  start: 'contention: K processes on one partition',
  async measure(options, ctx): Promise<ContentionSuiteResult> {
    const contention = await runContentionBench(
      {
        ...options,
        shapes: CONTENTION_SHAPES,
        modes: CONTENTION_MODES_RUN,
        latencyModel: DEFAULT_LATENCY_MODEL,
      },
      ctx.log,
    );
    const baseline = existsSync(CONTENTION_BASELINE_PATH)
      ? (JSON.parse(readFileSync(CONTENTION_BASELINE_PATH, 'utf8')) as ContentionBaseline)
      : undefined;
    const reference = latencyReference(contention.points, baseline);
    const aims = checkAims(contention.points, reference);
    if (ctx.saveContentionBaseline) {
      const saved = baselineOf(contention.points, { savedAt: new Date().toISOString(), commit: gitCommit(), command: ctx.command });
      if (saved) {
        await writeJson(CONTENTION_BASELINE_PATH, saved);
        ctx.log(`Saved the engine's K=1 latencies as the contention baseline: ${CONTENTION_BASELINE_PATH}`);
      }
    }
    return { ...contention, aims, reference };
  },
  render(result) {
    const { consumedCapacity: cc, config } = result;
    return {
      intro: [
        `AWS latency model (bench/harness/latency-model.ts), in every worker's DynamoDB client: ${describeLatencyModel(DEFAULT_LATENCY_MODEL)}.`,
        `Consumed capacity: DynamoDB Local ${cc.reportedByDynamoDbLocal ? 'returned' : '**did not always return**'} ConsumedCapacity on answered writes (${formatNumber(cc.answeredWrites)} writes, ${formatNumber(cc.unreportedWrites)} without); reported over counted-from-item-sizes: ${formatRatio(cc.reportedOverCounted)}.`,
        `${roundsText(config.rounds)}Windows of ${config.durationMs / SECOND} s after ${config.warmupMs / SECOND} s of warm-up per mode and K${(config.rounds ?? 1) > 1 ? ' and round' : ''}; every worker warmed every mode for ${config.poolWarmupMs / SECOND} s per shape first. Today's path for the latency aim: ${result.reference?.label ?? 'none measured'}.`,
      ],
      tables: contentionTables({
        points: result.points,
        shapes: CONTENTION_SHAPES,
        aims: result.aims,
      }),
      charts: contentionCharts(result.points, CONTENTION_SHAPES),
    };
  },
});
