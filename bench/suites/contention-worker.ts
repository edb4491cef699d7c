/**
 * One contention worker: a process that stands for one Lambda environment of the append
 * function. It holds one DynamoDB client (with the AWS latency model and the call meter
 * installed) and, for each measurement the harness sends over IPC, opens the named mode
 * (bench/suites/contention-modes.ts) and sends ONE request at a time through it, so nothing can
 * be grouped with another worker's request: every request races the other processes for
 * the partition's head, as concurrent Lambda invocations do.
 *
 * Started by bench/suites/contention.ts (bundled with esbuild, `node contention-worker.mjs`);
 * the messages are below. All workers of a measurement share one clock (this machine's)
 * and start at the same epoch time, warm up, then measure a window:
 *
 *     startAt ── warm-up ──▶ windowStart ── measured ──▶ windowEnd ── drain ──▶ report
 *                            acks: requests ending here   the request in flight finishes
 *                            latency, 503s: requests      (bounded by the append deadline)
 *                            starting here, wherever
 *                            they end
 *                            calls, units: sent here
 */
import { performance } from 'node:perf_hooks';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { translate } from '../../lib/aws/errors.js';
import { StrataError } from '../../lib/core/errors.js';
import { isThrottle } from '../../lib/core/retry.js';
import { type ChaosSpec, installChaos } from '../../local/chaos.js';
import { CallMeterMiddleware, hottestItems } from '../harness/contention-meter.js';
import { installLatencyModel, type LatencyModel } from '../harness/latency-model.js';
import { type ContentionShape, contentionMode } from './contention-modes.js';
import { emptyWorkerReport, type WorkerReport } from './contention-report.js';

/** One measurement, as the harness asks it of each of its K workers. */
export interface WorkerPoint {
  mode: string;
  shape: ContentionShape;
  endpoint: string;
  tableName: string;
  scope: string;
  deadlineMs: number;
  /** The partition this worker appends to (default 0: all workers on one). */
  partition?: number;
  latencyModel: LatencyModel;
  /** SDK faults in this worker's DynamoDB client, the seed offset by the worker's pid. */
  faults?: ChaosSpec;
  /** Epoch ms at which every worker starts its first request. */
  startAt: number;
  warmupMs: number;
  durationMs: number;
}

export type ToWorker = { type: 'run'; point: WorkerPoint } | { type: 'thawed' } | { type: 'exit' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'report'; report: WorkerReport }
  | { type: 'failed'; message: string }
  /** Stop me now and go on (SIGCONT, then `thawed`) after `ms`: a frozen pause. */
  | { type: 'freeze'; ms: number };

const LOCAL_REGION = 'us-east-1';
/** DynamoDB Local runs with -sharedDb: any credentials reach the same tables. */
const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** As the functions' clients (functions/shared/runtime.ts): a hung call is retried, not waited on. */
const REQUEST_HANDLER = { connectionTimeout: 1_000, requestTimeout: 5_000 };
/** Item keys per worker reported for the hottest-item rate: the head is always among them. */
const HOT_ITEMS_REPORTED = 5;
/** Pause after an error other than a 503, so that a persistent failure does not spin. */
const ERROR_PAUSE_MS = 10;

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** Resolves the frozen pause in progress once the harness has let this process go on. */
let thaw: (() => void) | undefined;

/** A pause of `ms` with the process stopped by the harness throughout (ContentionShape.frozenPauses). */
function frozen(ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    thaw = resolve;
    send({ type: 'freeze', ms: Math.max(0, ms) });
  });
}

type Outcome = 'ok' | 'unavailable' | 'throttled' | 'errors';

/** A raw mode's SDK error is read as the AWS adapter translates it (lib/aws/errors.ts). */
function classify(err: unknown): Outcome {
  if (err instanceof StrataError) return err.status === 503 ? 'unavailable' : err.status === 429 ? 'throttled' : 'errors';
  return isThrottle(translate(err)) ? 'throttled' : 'errors';
}

async function runPoint(point: WorkerPoint): Promise<WorkerReport> {
  const client = new DynamoDBClient({
    endpoint: point.endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    requestHandler: REQUEST_HANDLER,
  });
  const meter = new CallMeterMiddleware(now);
  meter.install(client);
  const modelStats = installLatencyModel(client, point.latencyModel);
  const chaos = point.faults ? installChaos({ dynamo: client }, { ...point.faults, seed: point.faults.seed + process.pid }) : undefined;
  try {
    const appender = await contentionMode(point.mode).open(client, {
      tableName: point.tableName,
      scope: point.scope,
      shape: point.shape,
      deadlineMs: point.deadlineMs,
      ...(point.partition !== undefined ? { partition: point.partition } : {}),
    });
    const windowStart = point.startAt + point.warmupMs;
    const windowEnd = windowStart + point.durationMs;
    meter.setWindow(windowStart, windowEnd);
    const report: WorkerReport = emptyWorkerReport(modelStats);
    let cpuAtStart: NodeJS.CpuUsage | undefined;
    const cpuTimers = [
      setTimeout(() => (cpuAtStart = process.cpuUsage()), windowStart - now()),
      setTimeout(() => {
        const used = process.cpuUsage(cpuAtStart);
        report.cpuMs = (used.user + used.system) / 1000;
      }, windowEnd - now()),
    ];
    await sleep(point.startAt - now());
    const pauseMs = point.shape.pauseMs ?? 0;
    if (pauseMs > 0) await sleep(Math.random() * pauseMs);
    while (now() < windowEnd) {
      const begin = now();
      let outcome: Outcome = 'ok';
      try {
        await appender.append();
      } catch (err) {
        outcome = classify(err);
        if (outcome !== 'unavailable') report.firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
      const end = now();
      const startedInside = begin >= windowStart && begin < windowEnd;
      if (outcome === 'ok') {
        report.totalRecords += point.shape.recordsPerRequest;
        if (end >= windowStart && end < windowEnd) {
          report.acks++;
          report.records += point.shape.recordsPerRequest;
        }
        if (startedInside) report.latenciesMs.push(end - begin);
      } else {
        report.failedRecords += point.shape.recordsPerRequest;
        if (startedInside) report[outcome]++;
      }
      if (outcome === 'errors' || outcome === 'throttled') await sleep(ERROR_PAUSE_MS);
      if (pauseMs > 0) await (point.shape.frozenPauses ? frozen : sleep)(Math.min(pauseMs, windowEnd - now()));
    }
    for (const timer of cpuTimers) clearTimeout(timer);
    if (cpuAtStart && report.cpuMs === 0) {
      const used = process.cpuUsage(cpuAtStart);
      report.cpuMs = (used.user + used.system) / 1000;
    }
    report.usage = { ...meter.usage(), items: hottestItems(meter.usage().items, HOT_ITEMS_REPORTED) };
    return report;
  } finally {
    chaos?.close();
    client.destroy();
  }
}

function send(message: FromWorker): void {
  process.send?.(message);
}

process.on('message', (message: ToWorker) => {
  if (message.type === 'exit') process.exit(0);
  if (message.type === 'thawed') {
    thaw?.();
    thaw = undefined;
  }
  if (message.type === 'run') {
    runPoint(message.point).then(
      (report) => send({ type: 'report', report }),
      (err: unknown) => send({ type: 'failed', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  }
});
// The harness went away: so does its worker.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
