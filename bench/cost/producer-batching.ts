/**
 * The producer's batching policy in the AWS cost model: the real client `Producer` runs
 * against an in-process append endpoint whose answers take as long as an append on AWS
 * would, in virtual time, and the simulation reports how large its batches were, how many
 * requests per second it sent (what API Gateway, Lambda and DynamoDB bill) and how long
 * each record waited from send() to its acknowledgement.
 *
 *     arrivals (Poisson, per partition) ─▶ producer.send() ─▶ Producer (batching policy)
 *       ─▶ fake transport: answers after requestMs(body) ─▶ acks; sizes and latencies noted
 *
 * Virtual time: the producer takes a `clock` (ProducerClock); VirtualClock runs its timers
 * in time order and lets every promise settle between two of them, so a 10 s run takes a
 * fraction of a second and gives the same numbers on a loaded machine. JavaScript work
 * itself takes no virtual time (the producer's CPU is not modelled).
 *
 * The request model (AWS_REQUEST_MODEL), one append from a producer in the same region:
 *
 * - NETWORK_MS 2: client ↔ API Gateway inside a region (TCP and TLS kept alive).
 * - API_GATEWAY_MS 8: an HTTP API's own overhead. AWS publishes no figure; observers put
 *   REST APIs at 10–30 ms and HTTP APIs somewhat less (smplogs.com, "API Gateway high
 *   latency"), so 8 is an assumption to replace by a measurement.
 * - LAMBDA_MS 3: a warm invocation and the append handler's parsing and validation.
 * - DynamoDB: PER_CALL_MS + TRANSACT_WRITE_EXTRA_MS from bench/harness/latency-model.ts, 12 ms:
 *   the optimistic path's one TransactWriteItems, or reserve + fill's two single calls
 *   (docs/design.md: both cost 12 ms in the model).
 * - BYTES_PER_MS 50 000 (50 MB/s): the body crosses client → API Gateway → Lambda →
 *   DynamoDB; a 256 KiB batch adds 5 ms, a 1 MiB one 21 ms. An assumption.
 * - JITTER_MEAN_MS 5: an exponential extra per request, DynamoDB's and the network's
 *   tail (its p99 is a multiple of its p50); mean 5 ms puts the p99 of a request ~23 ms
 *   above its floor.
 *
 * So a 10 KiB append takes ~25 ms + 0.2 ms + jitter, ~30 ms on average: the producer's
 * INITIAL_ROUND_TRIP_MS. Staging in S3 (batches above the topic's stageBytes, 350 KiB by
 * default) is not modelled: with the default 256 KiB target batches stay below it.
 *
 * `npx tsx bench/cost/producer-batching.ts` prints the table for the cost model's workload
 * (1 MiB/s of 1 KiB records on 4 partitions) under the old fixed linger and four budgets.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Producer, type ProducerClock, type ProducerOptions } from '../../client/producer.js';
import type { AppendResult } from '../../client/strata.js';
import { Strata } from '../../client/strata.js';
import type { RequestOptions } from '../../client/transport.js';
import { seededRandom } from '../../local/chaos.js';
import { PER_CALL_MS, TRANSACT_WRITE_EXTRA_MS } from '../harness/latency-model.js';
import { formatMs, formatNumber, percentile } from '../harness/stats.js';
import { type ReportTable, renderText } from '../report/report.js';

/** Client ↔ API Gateway in one region, ms. */
export const NETWORK_MS = 2;
/** An API Gateway HTTP API's own overhead, ms (an assumption; see the header). */
export const API_GATEWAY_MS = 8;
/** A warm Lambda invocation plus the append handler's parse and validation, ms. */
export const LAMBDA_MS = 3;
/** The append's DynamoDB work on the AWS latency model, ms. */
export const DYNAMODB_APPEND_MS = PER_CALL_MS + TRANSACT_WRITE_EXTRA_MS;
/** Body bytes per ms along client → API Gateway → Lambda → DynamoDB (50 MB/s). */
export const BYTES_PER_MS = 50_000;
/** Mean of the exponential extra delay per request, ms. */
export const JITTER_MEAN_MS = 5;

/** How long one append request takes: fixed ms, plus its body at a bandwidth, plus a random tail. */
export interface RequestModel {
  fixedMs: number;
  bytesPerMs: number;
  jitterMeanMs: number;
}

export const AWS_REQUEST_MODEL: RequestModel = Object.freeze({
  fixedMs: NETWORK_MS + API_GATEWAY_MS + LAMBDA_MS + DYNAMODB_APPEND_MS,
  bytesPerMs: BYTES_PER_MS,
  jitterMeanMs: JITTER_MEAN_MS,
});

/** The batching options a simulation may vary (the rest are the producer's defaults). */
export type BatchingOptions = Pick<
  ProducerOptions,
  'lingerMs' | 'latencyBudgetMs' | 'targetBatchBytes' | 'batchRecords' | 'batchBytes' | 'maxInFlightPerPartition'
>;

export interface BatchingSimulation {
  /** What the row is called in a table. */
  label: string;
  /** The producer's batching options; `{}` is its default policy. */
  producer: BatchingOptions;
  /** Offered load over all partitions, bytes of record values per second. Default 1 MiB/s. */
  bytesPerSecond?: number;
  /** Value bytes of every record. Default 1024. */
  recordBytes?: number;
  /** Default 4; the load is split evenly. */
  partitions?: number;
  /** Virtual time records arrive for, ms. Default 10 000. */
  durationMs?: number;
  /** Requests sent and records sent before this are left out of the figures, ms. Default 1000. */
  warmupMs?: number;
  model?: RequestModel;
  /** Seed of the arrival times and the jitter. Default 1. */
  seed?: number;
}

export interface BatchingResult {
  label: string;
  /** Requests sent in the measured window, and per second of it. */
  requests: number;
  requestsPerSecond: number;
  /** Record value bytes per request (the GiB the cost model counts). */
  meanBatchBytes: number;
  p50BatchBytes: number;
  /** Requests per GiB of record values. */
  requestsPerGiB: number;
  /** Mean modelled request time, ms. */
  meanRequestMs: number;
  /** send() to acknowledgement of every record sent in the window, ms. */
  ackP50Ms: number;
  ackP99Ms: number;
  ackMaxMs: number;
}

const GiB = 1024 ** 3;

/**
 * Runs `Producer` with `simulation.producer` against the modelled append in virtual time.
 *
 * @example
 * const r = await simulateProducerBatching({ label: 'budget 100', producer: { latencyBudgetMs: 100 } });
 * r.requestsPerSecond; // requests the workload costs; r.ackP99Ms what a record waits
 */
export async function simulateProducerBatching(simulation: BatchingSimulation): Promise<BatchingResult> {
  const bytesPerSecond = simulation.bytesPerSecond ?? 1024 * 1024;
  const recordBytes = simulation.recordBytes ?? 1024;
  const partitions = simulation.partitions ?? 4;
  const durationMs = simulation.durationMs ?? 10_000;
  const warmupMs = simulation.warmupMs ?? 1000;
  const model = simulation.model ?? AWS_REQUEST_MODEL;
  const random = seededRandom(simulation.seed ?? 1);
  const clock = new VirtualClock();

  const batches: { at: number; valueBytes: number; requestMs: number }[] = [];
  const strata = new Strata({ url: 'http://strata.invalid' });
  const nextOffset = new Map<number, number>();
  strata.transport.request = async <T>(_method: string, path: string, options?: RequestOptions): Promise<T> => {
    const partition = Number(/\/partitions\/(\d+)\/records$/.exec(path)![1]);
    const body = options!.body as { records: { value: string }[] };
    const requestMs = model.fixedMs + JSON.stringify(body).length / model.bytesPerMs - model.jitterMeanMs * Math.log(1 - random());
    batches.push({ at: clock.now(), valueBytes: body.records.reduce((n, r) => n + r.value.length, 0), requestMs });
    await clock.sleep(requestMs);
    const base = nextOffset.get(partition) ?? 0;
    nextOffset.set(partition, base + body.records.length);
    const result: AppendResult = {
      offsets: body.records.map((_, i) => ({ partition, offset: base + i })),
      partitions: [{ partition, baseOffset: base, lastOffset: base + body.records.length - 1, duplicate: false }],
    };
    return result as T;
  };
  const producer = new Producer(strata, { ...simulation.producer, clock });

  // Poisson arrivals per partition, each record's send() to ack noted.
  const value = 'x'.repeat(recordBytes);
  const meanGapMs = (1000 * recordBytes * partitions) / bytesPerSecond;
  const latencies: number[] = [];
  let failures = 0;
  const arrive = (partition: number) => {
    const sentAt = clock.now();
    producer.send('sim', { value, partition }).then(
      () => {
        if (sentAt >= warmupMs) latencies.push(clock.now() - sentAt);
      },
      () => (failures += 1),
    );
    const gap = -meanGapMs * Math.log(1 - random());
    if (sentAt + gap < durationMs) clock.setTimeout(() => arrive(partition), gap);
  };
  for (let p = 0; p < partitions; p++) clock.setTimeout(() => arrive(p), -meanGapMs * Math.log(1 - random()));
  await clock.runUntil(durationMs);
  let flushed = false;
  void producer.close().then(() => (flushed = true));
  await clock.runWhile(() => !flushed);
  if (failures > 0) throw new Error(`${failures} sends failed in the simulation`);

  const measured = batches.filter((b) => b.at >= warmupMs && b.at < durationMs);
  const windowSeconds = (durationMs - warmupMs) / 1000;
  const sizes = measured.map((b) => b.valueBytes).sort((a, b) => a - b);
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  latencies.sort((a, b) => a - b);
  return {
    label: simulation.label,
    requests: measured.length,
    requestsPerSecond: measured.length / windowSeconds,
    meanBatchBytes: totalBytes / measured.length,
    p50BatchBytes: percentile(sizes, 50),
    requestsPerGiB: (measured.length / totalBytes) * GiB,
    meanRequestMs: measured.reduce((n, b) => n + b.requestMs, 0) / measured.length,
    ackP50Ms: percentile(latencies, 50),
    ackP99Ms: percentile(latencies, 99),
    ackMaxMs: latencies.at(-1) ?? Number.NaN,
  };
}

/** The policies the cost model compares: the old fixed linger and four latency budgets (default target). */
export const COST_MODEL_POLICIES: readonly BatchingSimulation[] = Object.freeze([
  { label: 'lingerMs 5 (before)', producer: { lingerMs: 5 } },
  { label: 'budget 100 ms', producer: { latencyBudgetMs: 100 } },
  { label: 'budget 250 ms', producer: { latencyBudgetMs: 250 } },
  { label: 'budget 500 ms (default)', producer: {} },
  { label: 'budget 1000 ms', producer: { latencyBudgetMs: 1000 } },
]);

/** The simulations as a report table. */
export function batchingTable(results: readonly BatchingResult[], title: string): ReportTable {
  return {
    title,
    columns: ['policy', 'mean batch KiB', 'p50 batch KiB', 'requests/s', 'requests/GiB', 'request ms', 'ack p50 ms', 'ack p99 ms'],
    rows: results.map((r) => [
      r.label,
      formatNumber(r.meanBatchBytes / 1024, 1),
      formatNumber(r.p50BatchBytes / 1024, 0),
      formatNumber(r.requestsPerSecond, 1),
      formatNumber(r.requestsPerGiB, 0),
      formatMs(r.meanRequestMs),
      formatMs(r.ackP50Ms),
      formatMs(r.ackP99Ms),
    ]),
    notes: [
      `Request model: ${AWS_REQUEST_MODEL.fixedMs} ms fixed (network ${NETWORK_MS}, API Gateway ${API_GATEWAY_MS}, Lambda ${LAMBDA_MS}, DynamoDB ${DYNAMODB_APPEND_MS}) + body at ${BYTES_PER_MS / 1000} MB/s + exponential jitter, mean ${JITTER_MEAN_MS} ms.`,
    ],
  };
}

interface VirtualTimer {
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A ProducerClock in virtual time: timers fire in (time, creation) order, and between two
 * of them every pending promise settles (one macrotask turn drains the microtasks), as
 * nothing in the simulation waits on real I/O.
 */
export class VirtualClock implements ProducerClock {
  private nowMs = 0;
  private seq = 0;
  /** Pending timers, soonest first. */
  private readonly timers: VirtualTimer[] = [];

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer: VirtualTimer = { at: this.nowMs + Math.max(0, ms), seq: this.seq++, fn };
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.at > timer.at) i--;
    this.timers.splice(i, 0, timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    const i = this.timers.indexOf(handle as VirtualTimer);
    if (i >= 0) this.timers.splice(i, 1);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Fires every timer due by `ms`, then stands the clock at `ms`. */
  async runUntil(ms: number): Promise<void> {
    for (;;) {
      await settle();
      const next = this.timers[0];
      if (next === undefined || next.at > ms) break;
      this.fire();
    }
    this.nowMs = Math.max(this.nowMs, ms);
  }

  /** Fires timers in order while `condition()` holds; throws if it holds with none left. */
  async runWhile(condition: () => boolean): Promise<void> {
    for (;;) {
      await settle();
      if (!condition()) return;
      if (this.timers.length === 0) throw new Error('the simulation is stuck: nothing scheduled, and it has not finished');
      this.fire();
    }
  }

  private fire(): void {
    const timer = this.timers.shift()!;
    this.nowMs = timer.at;
    timer.fn();
  }
}

/** One turn of the event loop: every microtask queued before it has run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function main(): Promise<void> {
  const started = performance.now();
  const results: BatchingResult[] = [];
  for (const policy of COST_MODEL_POLICIES) results.push(await simulateProducerBatching(policy));
  console.log(
    renderText(batchingTable(results, 'Producer batching: 1 MiB/s of 1 KiB records on 4 partitions, 10 s simulated (first 1 s left out)')),
  );
  console.log(`  (${((performance.now() - started) / 1000).toFixed(1)} s of real time)`);
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
