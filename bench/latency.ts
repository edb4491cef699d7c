/**
 * Append → long-poll latency: how soon a consumer parked in a long-poll at the high
 * watermark receives a record after a producer starts appending it. One producer
 * appends one small record at a time and waits until the consumer has it, so every
 * sample sees an idle partition and a consumer already waiting (no queueing).
 *
 * For comparison, the same records are also appended with no consumer: the append's
 * own latency (request → acknowledgement) is the floor of the end-to-end figure.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BenchHttpClient, expectStatus } from './http-client.js';
import type { ReportTable } from './report.js';
import { formatMs, summarize, type LatencySummary } from './stats.js';

export const LATENCY_TOPIC = 'bench-latency';
export const SMALL_VALUE_BYTES = 100;
export const LONG_POLL_WAIT_MS = 5_000;
/**
 * Pause between samples, long enough for the consumer's next long-poll to reach the
 * server and park (an HTTP round trip and one head read, a few ms locally), so each
 * sample measures a wake-up rather than a poll that happens to arrive late.
 */
const SETTLE_MS = 50;
/** Unmeasured appends first, so the first samples do not pay for cold code paths. */
const WARMUP_APPENDS = 20;

export interface LatencyBenchOptions {
  samples: number;
}

export interface LatencyBenchResult {
  config: LatencyBenchOptions & { valueBytes: number; waitMs: number; settleMs: number };
  /** Start of the append request → the consumer's long-poll returns the record. */
  appendToConsume: LatencySummary;
  /** Start of the append request → its acknowledgement, in the same runs. */
  appendAckWithConsumer: LatencySummary;
  /** Start of the append request → its acknowledgement, with no consumer polling. */
  appendOnly: LatencySummary;
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
        answer = expectStatus(
          await this.client.get<ReadAnswer>(`${recordsPath}?offset=${offset}&waitMs=${LONG_POLL_WAIT_MS}&encoding=base64`),
          200,
          'long-poll',
        );
      } catch (err) {
        if (this.stopped) return;
        throw err;
      }
      const at = performance.now();
      for (const record of answer.records) {
        this.arrivals.set(record.offset, at);
        this.waiting.get(record.offset)?.resolve(at);
        this.waiting.delete(record.offset);
      }
      offset = answer.nextOffset;
    }
  }
}

export async function runLatencyBench(url: string, options: LatencyBenchOptions, log: (line: string) => void): Promise<LatencyBenchResult> {
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

  const latest = expectStatus(
    await producer.get<{ offset: number }>(`/v1/topics/${LATENCY_TOPIC}/partitions/0/offsets?at=latest`),
    200,
    'offset lookup',
  );
  const consumer = new TimedConsumer(url);
  consumer.start(latest.offset);
  const endToEnd: number[] = [];
  const ackWithConsumer: number[] = [];
  try {
    for (let i = 0; i < WARMUP_APPENDS + options.samples; i++) {
      await sleep(SETTLE_MS);
      const sent = await append();
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

  return {
    config: { ...options, valueBytes: SMALL_VALUE_BYTES, waitMs: LONG_POLL_WAIT_MS, settleMs: SETTLE_MS },
    appendToConsume: summarize(endToEnd),
    appendAckWithConsumer: summarize(ackWithConsumer),
    appendOnly: summarize(appendOnly),
  };
}

export function latencyTables(result: LatencyBenchResult): ReportTable[] {
  const row = (label: string, s: LatencySummary) => [label, String(s.count), formatMs(s.p50), formatMs(s.p99), formatMs(s.max)];
  return [
    {
      title: `Append → long-poll latency: one ${result.config.valueBytes} B record at a time`,
      columns: ['measure', 'samples', 'p50 ms', 'p99 ms', 'max ms'],
      rows: [
        row('append → consumer has the record', result.appendToConsume),
        row('append acknowledged (same runs)', result.appendAckWithConsumer),
        row('append acknowledged (no consumer)', result.appendOnly),
      ],
      notes: [
        `The consumer long-polls at the high watermark (waitMs=${result.config.waitMs}); the clock starts just before the append request is sent.`,
        `Appends are sequential, ${result.config.settleMs} ms apart so the consumer's next long-poll is parked when the record arrives.`,
      ],
    },
  ];
}
