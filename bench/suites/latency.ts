/**
 * Append → long-poll latency: how soon a consumer parked in a long-poll at the high
 * watermark receives a record after a producer starts appending it. One producer
 * appends one small record at a time and waits until the consumer has it, so every
 * sample sees an idle partition and a consumer already waiting (no queueing).
 *
 * For comparison, the same records are also appended with no consumer: the append's
 * own latency (request → acknowledgement) is the floor of the end-to-end figure. And the
 * raw primitive under it, paced the same way: one TransactWriteItems of the head update
 * and a tail item holding the same record's encoded batch, straight through the SDK.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { encodeBatch } from '../../lib/format/record-batch-encoder.js';
import { BenchHttpClient, expectStatus } from '../harness/http-client.js';
import { RawCommitter } from '../harness/raw-commit.js';
import { formatMs, type LatencySummary, MIN_SAMPLES_FOR_P999, percentile, summarize } from '../harness/stats.js';
import { defineSuite } from '../harness/suite.js';
import { percentileChart } from '../report/charts.js';
import type { ReportTable } from '../report/report.js';

export const LATENCY_TOPIC = 'bench-latency';
export const SMALL_VALUE_BYTES = 100;
export const LONG_POLL_WAIT_MS = 5_000;
/**
 * Pause after the consumer has sent its next long-poll, long enough for the request to
 * reach the server and park (an HTTP hop and one head read, a few ms locally), so each
 * sample measures a wake-up rather than a poll that happens to arrive late. Waiting for
 * the poll to be sent first keeps the pause short without racing a slow consumer.
 */
const SETTLE_MS = 15;
/** Unmeasured appends first, so the first samples do not pay for cold code paths. */
const WARMUP_APPENDS = 20;

export interface LatencyBenchOptions {
  samples: number;
}

/** Where the raw TransactWriteItems of the same record go: Strata's table, its own key. */
export interface RawLatencyTarget {
  dynamo: DynamoDBClient;
  tableName: string;
}

const RAW_PK = 'BENCH#latency-raw';

/** Percentiles drawn in the latency chart (those the sample count can support). */
const CURVE_PERCENTILES = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100];

/** One measure's latency percentile curve: [percentile, ms] points, 0 = min, 100 = max. */
export interface LatencyCurve {
  measure: 'appendToConsume' | 'appendAckWithConsumer' | 'appendOnly' | 'rawTransaction';
  points: [number, number][];
}

export interface LatencyBenchResult {
  config: LatencyBenchOptions & { valueBytes: number; waitMs: number; settleMs: number };
  /** Start of the append request → the consumer's long-poll returns the record. */
  appendToConsume: LatencySummary;
  /** Start of the append request → its acknowledgement, in the same runs. */
  appendAckWithConsumer: LatencySummary;
  /** Start of the append request → its acknowledgement, with no consumer polling. */
  appendOnly: LatencySummary;
  /** One raw TransactWriteItems of the same record, paced the same way. */
  rawTransaction: LatencySummary;
  curves: LatencyCurve[];
  /** Every record appended with the consumer polling reached it, in offset order. */
  verified: boolean;
}

interface AppendAnswer {
  offsets: { partition: number; offset: number }[];
}

interface ReadAnswer {
  records: { offset: number }[];
  nextOffset: number;
}

const recordsPath = `/v1/topics/${LATENCY_TOPIC}/partitions/0/records`;

function smallAppendBody(): Buffer {
  const value = randomBytes(SMALL_VALUE_BYTES).toString('base64');
  return Buffer.from(JSON.stringify({ records: [{ value }], encoding: 'base64' }));
}

/** A long-polling consumer that notes when each offset reached it. */
class TimedConsumer {
  private readonly client: BenchHttpClient;
  private readonly arrivals = new Map<number, number>();
  private readonly waiting = new Map<number, { resolve: (at: number) => void; reject: (err: unknown) => void }>();
  /** Offset of the long-poll most recently sent, and who waits for one at a given offset. */
  private polledOffset = -1;
  private pollWaiter: { offset: number; resolve: () => void } | undefined;
  /** Offsets in the order they arrived, to check that none was skipped or repeated. */
  readonly seen: number[] = [];
  private stopped = false;
  private failure: unknown;
  private loop: Promise<void> | undefined;

  constructor(url: string) {
    this.client = new BenchHttpClient(url, 1);
  }

  start(fromOffset: number): void {
    this.loop = this.consume(fromOffset).catch((err: unknown) => {
      this.failure = err;
      for (const waiter of this.waiting.values()) waiter.reject(err);
      this.waiting.clear();
    });
  }

  /**
   * Resolves with the time (performance.now) at which `offset` reached the consumer;
   * rejects if the consumer failed, so a broken read fails the run instead of hanging it.
   */
  arrival(offset: number): Promise<number> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const at = this.arrivals.get(offset);
    if (at !== undefined) return Promise.resolve(at);
    return new Promise((resolve, reject) => this.waiting.set(offset, { resolve, reject }));
  }

  /** Resolves once a long-poll for `offset` (or later) has been sent. */
  polling(offset: number): Promise<void> {
    if (this.polledOffset >= offset) return Promise.resolve();
    return new Promise((resolve) => (this.pollWaiter = { offset, resolve }));
  }

  /** Ends the loop by closing its socket, which fails the long-poll in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.client.close();
    await this.loop;
  }

  private async consume(fromOffset: number): Promise<void> {
    let offset = fromOffset;
    while (!this.stopped) {
      let answer: ReadAnswer;
      try {
        const poll = this.client.get<ReadAnswer>(`${recordsPath}?offset=${offset}&waitMs=${LONG_POLL_WAIT_MS}&encoding=base64`);
        this.polledOffset = offset;
        if (this.pollWaiter && this.pollWaiter.offset <= offset) {
          this.pollWaiter.resolve();
          this.pollWaiter = undefined;
        }
        answer = expectStatus(await poll, 200, 'long-poll');
      } catch (err) {
        if (this.stopped) return;
        throw err;
      }
      const at = performance.now();
      for (const record of answer.records) {
        this.seen.push(record.offset);
        this.arrivals.set(record.offset, at);
        this.waiting.get(record.offset)?.resolve(at);
        this.waiting.delete(record.offset);
      }
      offset = answer.nextOffset;
    }
  }
}

export async function runLatencyBench(
  url: string,
  rawTarget: RawLatencyTarget,
  options: LatencyBenchOptions,
  log: (line: string) => void,
): Promise<LatencyBenchResult> {
  const producer = new BenchHttpClient(url, 1);
  expectStatus(await producer.post('/v1/topics', Buffer.from(JSON.stringify({ name: LATENCY_TOPIC, partitions: 1 }))), 201, 'create topic');

  const append = async (): Promise<{ offset: number; startedAt: number; ackMs: number }> => {
    const body = smallAppendBody();
    const startedAt = performance.now();
    const answer = expectStatus(await producer.post<AppendAnswer>(recordsPath, body), 200, 'append');
    return { offset: answer.offsets[0]!.offset, startedAt, ackMs: performance.now() - startedAt };
  };

  for (let i = 0; i < WARMUP_APPENDS; i++) await append();

  const appendOnly: number[] = [];
  for (let i = 0; i < options.samples; i++) {
    appendOnly.push((await append()).ackMs);
    await sleep(SETTLE_MS);
  }
  log(`  append only: ${options.samples} sequential appends of ${SMALL_VALUE_BYTES} B`);

  const record = { key: null, value: randomBytes(SMALL_VALUE_BYTES), headers: [], timestamp: Date.now() };
  const raw = new RawCommitter(DynamoDBDocumentClient.from(rawTarget.dynamo), {
    tableName: rawTarget.tableName,
    pkPrefix: `${RAW_PK}#${Date.now()}`,
    batch: encodeBatch([record], { baseOffset: 0 }),
    recordsPerBatch: 1,
    batchesPerCommit: 1,
    contended: false,
  });
  const rawTransaction: number[] = [];
  for (let i = 0; i < WARMUP_APPENDS + options.samples; i++) {
    const startedAt = performance.now();
    await raw.commit(0);
    if (i >= WARMUP_APPENDS) rawTransaction.push(performance.now() - startedAt);
    await sleep(SETTLE_MS);
  }
  const rawVerified = await raw.headsMatch();
  log(`  raw TransactWriteItems: ${options.samples} sequential transactions`);

  const latest = expectStatus(
    await producer.get<{ offset: number }>(`/v1/topics/${LATENCY_TOPIC}/partitions/0/offsets?at=latest`),
    200,
    'offset lookup',
  );
  const consumer = new TimedConsumer(url);
  consumer.start(latest.offset);
  const endToEnd: number[] = [];
  const ackWithConsumer: number[] = [];
  let expected = latest.offset;
  try {
    for (let i = 0; i < WARMUP_APPENDS + options.samples; i++) {
      await consumer.polling(expected);
      await sleep(SETTLE_MS);
      const sent = await append();
      expected = sent.offset + 1;
      const arrivedAt = await consumer.arrival(sent.offset);
      if (i < WARMUP_APPENDS) continue;
      endToEnd.push(arrivedAt - sent.startedAt);
      ackWithConsumer.push(sent.ackMs);
    }
  } finally {
    await consumer.stop();
    producer.close();
  }
  log(`  append → long-poll: ${options.samples} samples`);
  const verified =
    rawVerified && consumer.seen.length === WARMUP_APPENDS + options.samples && consumer.seen.every((o, i) => o === latest.offset + i);

  const samples = { appendToConsume: endToEnd, appendAckWithConsumer: ackWithConsumer, appendOnly, rawTransaction };
  return {
    config: { ...options, valueBytes: SMALL_VALUE_BYTES, waitMs: LONG_POLL_WAIT_MS, settleMs: SETTLE_MS },
    appendToConsume: summarize(endToEnd),
    appendAckWithConsumer: summarize(ackWithConsumer),
    appendOnly: summarize(appendOnly),
    rawTransaction: summarize(rawTransaction),
    curves: (Object.keys(samples) as LatencyCurve['measure'][]).map((measure) => ({ measure, points: curve(samples[measure]) })),
    verified,
  };
}

/** Percentile points a sample of this size can tell apart from its maximum. */
function curve(samples: number[]): [number, number][] {
  const sorted = [...samples].sort((a, b) => a - b);
  return CURVE_PERCENTILES.filter((p) => p === 100 || Math.ceil((p / 100) * sorted.length) < sorted.length).map((p) => [
    p,
    p === 0 ? sorted[0]! : percentile(sorted, p),
  ]);
}

export const LATENCY_LABELS: Record<LatencyCurve['measure'], string> = {
  appendToConsume: 'append → consumer has the record',
  appendAckWithConsumer: 'append acknowledged (same runs)',
  appendOnly: 'append acknowledged (no consumer)',
  rawTransaction: 'raw TransactWriteItems, same record',
};

export function latencyTables(result: LatencyBenchResult): ReportTable[] {
  const row = (label: string, s: LatencySummary) => [
    label,
    String(s.count),
    formatMs(s.p50),
    formatMs(s.p99),
    formatMs(s.p999),
    formatMs(s.max),
  ];
  const few = result.config.samples < MIN_SAMPLES_FOR_P999;
  return [
    {
      title: `Append → long-poll latency: one ${result.config.valueBytes} B record at a time`,
      columns: ['measure', 'samples', 'p50 ms', 'p99 ms', 'p999 ms', 'max ms'],
      rows: [
        row(LATENCY_LABELS.appendToConsume, result.appendToConsume),
        row(LATENCY_LABELS.appendAckWithConsumer, result.appendAckWithConsumer),
        row(LATENCY_LABELS.appendOnly, result.appendOnly),
        row(LATENCY_LABELS.rawTransaction, result.rawTransaction),
      ],
      notes: [
        `Long-poll waitMs=${result.config.waitMs}; each append waits ${result.config.settleMs} ms after the consumer's next long-poll is sent.`,
        ...(few
          ? [
              `p999 needs at least ${MIN_SAMPLES_FOR_P999} samples (this run took ${result.config.samples}, the quick setting); the full run takes enough.`,
            ]
          : []),
        `Append acknowledged (no consumer) / raw, p50: ${(result.appendOnly.p50 / result.rawTransaction.p50).toFixed(2)}×.`,
        result.verified
          ? 'Checked: every offset reached the consumer once, in order; the raw head matches the raw commits.'
          : 'CHECK FAILED: the consumer did not receive every appended offset once, in order (see latency.json).',
      ],
    },
  ];
}

export const latencySuite = defineSuite({
  name: 'latency',
  title: 'Latency',
  measures: 'append and append → long-poll latency percentiles, one record at a time',
  sharedStack: true,
  /** p999 needs at least 1,000 samples (MIN_SAMPLES_FOR_P999). */
  full: { samples: 1000 },
  quick: { samples: 50 },
  start: 'append → long-poll latency',
  async measure(options, ctx) {
    const { stack, dynamo, emptyTable } = await ctx.stack();
    await emptyTable();
    return runLatencyBench(stack.url, { dynamo, tableName: stack.tableName }, options, ctx.log);
  },
  render: (result) => ({
    tables: latencyTables(result),
    charts: [
      {
        file: 'latency.svg',
        alt: 'Append and append-to-consume latency percentiles',
        svg: percentileChart({
          title: `Latency, one ${result.config.valueBytes} B record at a time (${result.config.samples} samples each)`,
          series: result.curves.map((c) => ({ name: LATENCY_LABELS[c.measure], points: c.points })),
        }),
      },
    ],
  }),
});
