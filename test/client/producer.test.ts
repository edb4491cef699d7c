import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { simulateProducerBatching } from '../../bench/cost/producer-batching.js';
import { ConnectionError, OffsetMismatchError, Strata, StrataError, TopicNotFoundError } from '../../client/index.js';
import type { ProducerOptions } from '../../client/producer.js';
import type { AppendResult } from '../../client/strata.js';
import type { RequestOptions } from '../../client/transport.js';
import type { LocalStack } from '../../local/stack.js';
import { History } from '../support/history.js';
import { startTestStack } from '../support/local-stack.js';
import { lossyFetch } from '../support/lossy-fetch.js';

let stack: LocalStack;
let strata: Strata;

beforeAll(async () => {
  stack = await startTestStack();
  strata = new Strata({ url: stack.url });
});
afterAll(async () => stack?.stop());

/** Every record of a partition, read page by page from the log start. */
async function readPartition(client: Strata, topic: string, partition: number) {
  const out: { offset: number; value: string }[] = [];
  let offset = 0;
  for (;;) {
    const page = await client.read(topic, partition, { offset, maxRecords: 1000 });
    out.push(...page.records.map((r) => ({ offset: r.offset, value: r.value!.toString() })));
    if (page.nextOffset >= page.highWatermark) return out;
    offset = page.nextOffset;
  }
}

describe('producer', () => {
  it('batches records, keeps send order per partition and answers offsets in input order', async () => {
    await strata.createTopic('batched', { partitions: 2 });
    const producer = strata.producer({ lingerMs: 20, batchRecords: 50 });
    const sends = Array.from({ length: 5 }, (_, s) =>
      producer.send(
        'batched',
        Array.from({ length: 40 }, (_, i) => ({ value: `v${s * 40 + i}`, partition: i % 2 })),
      ),
    );
    const results = await Promise.all(sends);
    await producer.close();
    const flat = results.flat();
    expect(flat).toHaveLength(200);
    for (const p of [0, 1]) {
      const offsets = flat.filter((m) => m.partition === p).map((m) => m.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
      const values = (await readPartition(strata, 'batched', p)).map((r) => r.value);
      expect(values).toEqual(Array.from({ length: 200 }, (_, i) => `v${i}`).filter((_, i) => i % 2 === p));
    }
  });

  it('applies backpressure when the buffer is full and still keeps call order', async () => {
    await strata.createTopic('pressure', { partitions: 1 });
    const producer = strata.producer({ lingerMs: 1, batchRecords: 10, maxBufferedBytes: 4096 });
    const value = 'y'.repeat(300);
    const sends = Array.from({ length: 300 }, (_, i) => producer.send('pressure', { value: `${i}:${value}` }));
    const offsets = (await Promise.all(sends)).map(([m]) => m!.offset);
    await producer.close();
    expect(offsets).toEqual(offsets.map((_, i) => i));
    const read = await strata.read('pressure', 0, { offset: 0, maxRecords: 1000 });
    expect(read.records.map((r) => Number(r.value!.toString().split(':')[0]))).toEqual(offsets);
  });

  it('sends keyed records to the partition Kafka would choose, and bytes as bytes', async () => {
    await strata.createTopic('keyed', { partitions: 4 });
    const producer = strata.producer({ lingerMs: 0 });
    const [meta] = await producer.send('keyed', {
      key: 'customer-1',
      value: new Uint8Array([0, 1, 254, 255]),
      headers: { h: new Uint8Array([9]) },
    });
    await producer.close();
    const viaServer = await strata.append('keyed', [{ key: 'customer-1', value: 'x' }]);
    expect(meta!.partition).toBe(viaServer.offsets[0]!.partition);
    const read = await strata.read('keyed', meta!.partition, { offset: meta!.offset, maxRecords: 1 });
    expect([...read.records[0]!.value!]).toEqual([0, 1, 254, 255]);
    expect([...read.records[0]!.headers.h!]).toEqual([9]);
    expect(read.records[0]!.key!.toString()).toBe('customer-1');
  });

  it('loses no record and duplicates none when answers are lost or time out after the commit', async () => {
    await lossyRun('lossy', { lingerMs: 2, batchRecords: 25 });
  });

  it('loses no record and duplicates none with the latency budget, batches in flight and lost answers', async () => {
    await lossyRun('lossy-budget', { latencyBudgetMs: 20, targetBatchBytes: 1024, batchRecords: 25 });
  });

  /**
   * 1500 sends over 3 partitions through a fetch that loses, times out and fails requests;
   * then the history checker and a full read: every value once, in send order.
   */
  async function lossyRun(topic: string, batching: ProducerOptions) {
    await strata.createTopic(topic, { partitions: 3 });
    const faults = lossyFetch({ lossRate: 0.25, timeoutRate: 0.05, failBeforeRate: 0.05, seed: 11, eachKindFirst: true });
    const client = new Strata({ url: stack.url, fetch: faults.fetch, requestTimeoutMs: 200 });
    const producer = client.producer({ ...batching, maxInFlightPerPartition: 5, retryBaseDelayMs: 1, retryMaxDelayMs: 20 });
    const history = new History();
    const sends: Promise<void>[] = [];
    const errors: string[] = [];
    for (let i = 0; i < 1500; i++) {
      const partition = i % 3;
      const value = `r-${i}`;
      const handle = history.invokeSend({ process: 'producer', partition, value });
      sends.push(
        producer.send(topic, { value, partition }).then(
          ([m]) => handle.ok(m!.offset),
          (err: unknown) => {
            handle.info();
            errors.push(`${String((err as Error).message)} ${String((err as Error).cause)}`);
          },
        ),
      );
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    await Promise.all(sends);
    await producer.close();
    faults.enabled = false;
    for (const p of [0, 1, 2]) history.finalRead(p, await readPartition(strata, topic, p));
    const result = history.check();
    expect(result.valid, result.summary()).toBe(true);
    expect(errors.slice(0, 3)).toEqual([]);
    expect(result.counts.acked).toBe(1500);
    expect(faults.lost).toBeGreaterThan(10);
    expect(faults.failedBefore).toBeGreaterThan(0);
    expect(faults.timedOut).toBeGreaterThan(0);
    // Exactly the 1500 values, each once, in send order per partition.
    for (const p of [0, 1, 2]) {
      const values = (await readPartition(strata, topic, p)).map((r) => Number(r.value.slice(2)));
      expect(values).toEqual(Array.from({ length: 1500 }, (_, i) => i).filter((i) => i % 3 === p));
    }
  }

  it('rejects the sends of a failed batch with the typed error and keeps sending afterwards', async () => {
    await strata.createTopic('tiny', { partitions: 1, config: { maxRecordBytes: 100 } });
    const producer = strata.producer({ lingerMs: 0 });
    const big = producer.send('tiny', { value: 'x'.repeat(500) });
    await expect(big).rejects.toMatchObject({ code: 'RECORD_TOO_LARGE', status: 413, retryable: false });
    const [ok] = await producer.send('tiny', { value: 'small' });
    expect(ok!.offset).toBe(0);
    await producer.close();
    await expect(producer.send('tiny', { value: 'late' })).rejects.toMatchObject({ code: 'CLOSED' });
  });
});

describe('producer without idempotence', () => {
  it('sends without producer stamps and does not retry an append whose outcome is unknown', async () => {
    await strata.createTopic('plain-producer', { partitions: 1 });
    const faults = lossyFetch({ lossRate: 1, seed: 3 });
    const client = new Strata({ url: stack.url, fetch: faults.fetch });
    const producer = client.producer({ idempotent: false, lingerMs: 0 });
    await expect(producer.send('plain-producer', { value: 'once' })).rejects.toMatchObject({ code: 'CONNECTION', retryable: true });
    faults.enabled = false;
    await producer.close();
    // The lost answer was for a committed append: a retry would have written it twice.
    const read = await strata.read('plain-producer', 0, { offset: 0 });
    expect(read.records.map((r) => r.value!.toString())).toEqual(['once']);
    expect(faults.lost).toBe(1);
  });
});

describe('client errors', () => {
  it('surfaces the engine error classes with their details', async () => {
    const err = await strata.describeTopic('missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TopicNotFoundError);
    expect(err).toMatchObject({ code: 'TOPIC_NOT_FOUND', status: 404, retryable: false });
    await strata.createTopic('cond', { partitions: 1 });
    const mismatch = await strata.append('cond', [{ value: 'a' }], { partition: 0, expectedOffset: 5 }).catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(OffsetMismatchError);
    expect(mismatch).toMatchObject({ expectedOffset: 5, highWatermark: 0 });
  });

  it('says the server is unreachable, retryable', async () => {
    const dead = new Strata({ url: 'http://127.0.0.1:9' });
    const err = await dead.listTopics().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toBeInstanceOf(StrataError);
    expect((err as StrataError).retryable).toBe(true);
    expect((err as Error).message).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});

interface FakeRequest {
  partition: number;
  /** Fake-clock ms when the producer sent it. */
  at: number;
  records: number;
  producer: { producerId: string; epoch: number; sequence: number } | undefined;
  /** Answers it now (when the server holds its answers). */
  answer: () => void;
}

/**
 * A Strata whose appends never leave the process: each answers `roundTripMs` after it
 * was sent (fake timers), or when the test calls `answer()` if `hold` is set.
 */
function fakeServer(options: { roundTripMs?: number; hold?: boolean } = {}) {
  const strata = new Strata({ url: 'http://strata.invalid' });
  const requests: FakeRequest[] = [];
  const nextOffset = new Map<number, number>();
  vi.spyOn(strata.transport, 'request').mockImplementation(async (_method: string, path: string, opts?: RequestOptions) => {
    const partition = Number(/\/partitions\/(\d+)\/records$/.exec(path)![1]);
    const body = opts!.body as { records: unknown[]; producer?: FakeRequest['producer'] };
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    requests.push({ partition, at: performance.now(), records: body.records.length, producer: body.producer, answer });
    if (!options.hold) setTimeout(answer, options.roundTripMs ?? 20);
    await answered;
    const base = nextOffset.get(partition) ?? 0;
    nextOffset.set(partition, base + body.records.length);
    return {
      offsets: body.records.map((_, i) => ({ partition, offset: base + i })),
      partitions: [{ partition, baseOffset: base, lastOffset: base + body.records.length - 1, duplicate: false }],
    } satisfies AppendResult as never;
  });
  return { strata, requests };
}

/** A record of exactly 1000 bytes as the producer counts them (64 bytes of overhead). */
const record1000 = (i: number) => ({ value: `${i}`.padEnd(936, '.'), partition: 0 });

describe('producer latency budget', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('grows a batch to targetBatchBytes and sends it long before the budget at a high rate', async () => {
    const { strata, requests } = fakeServer({ roundTripMs: 20 });
    const producer = strata.producer({ latencyBudgetMs: 1000, targetBatchBytes: 10_000 });
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      sends.push(producer.send('t', record1000(i)));
      await vi.advanceTimersByTimeAsync(1);
    }
    await Promise.all([producer.close(), vi.advanceTimersByTimeAsync(100)]);
    await Promise.all(sends);
    // The first batch goes when its tenth record arrives, not when the 1000 ms budget ends.
    expect(requests[0]).toMatchObject({ records: 10, at: 9 });
    // Later batches grew while the one before was in flight (20 ms, a record a ms).
    expect(requests.slice(1, -1).every((r) => r.records >= 10 && r.at < 100)).toBe(true);
    expect(requests.reduce((n, r) => n + r.records, 0)).toBe(60);
  });

  it('sends a partial batch when the budget less the expected round trip runs out', async () => {
    const { strata, requests } = fakeServer({ roundTripMs: 20 });
    const producer = strata.producer({ latencyBudgetMs: 100 });
    // Before any answer the expected round trip is INITIAL_ROUND_TRIP_MS (30): due at 70.
    const acks: number[] = [];
    const first = producer.send('t', record1000(0)).then(() => acks.push(performance.now()));
    await vi.advanceTimersByTimeAsync(30);
    const second = producer.send('t', record1000(1)).then(() => acks.push(performance.now()));
    await vi.advanceTimersByTimeAsync(39);
    expect(requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(requests).toMatchObject([{ records: 2, at: 70 }]);
    await Promise.all([first, second, vi.advanceTimersByTimeAsync(20)]);
    expect(acks).toEqual([90, 90]);

    // After a run of 20 ms answers the estimate nears 20: a lone record waits ~80 ms.
    for (let i = 0; i < 30; i++) {
      const sent = producer.send('t', record1000(2 + i));
      await vi.advanceTimersByTimeAsync(100);
      await sent;
    }
    const last = requests.at(-1)!;
    const sentAt = performance.now();
    const acked = producer.send('t', record1000(99)).then(() => performance.now());
    await vi.advanceTimersByTimeAsync(100);
    expect(requests.at(-1)).not.toBe(last);
    expect(requests.at(-1)!.at - sentAt).toBeGreaterThanOrEqual(79);
    expect(requests.at(-1)!.at - sentAt).toBeLessThanOrEqual(80);
    expect((await acked) - sentAt).toBeLessThanOrEqual(100);
    await producer.close();
  });

  it('keeps queueing while the in-flight limit is reached and sends the grown batch when a slot frees', async () => {
    const { strata, requests } = fakeServer({ hold: true });
    const producer = strata.producer({ latencyBudgetMs: 50, maxInFlightPerPartition: 1 });
    const sends = [producer.send('t', record1000(0))];
    await vi.advanceTimersByTimeAsync(20);
    expect(requests).toHaveLength(1);
    for (let i = 1; i <= 100; i++) {
      sends.push(producer.send('t', record1000(i)));
      await vi.advanceTimersByTimeAsync(2);
    }
    // 200 ms past the first batch, four budgets: still one request, the rest queued.
    expect(requests).toHaveLength(1);
    requests[0]!.answer();
    await vi.advanceTimersByTimeAsync(0);
    expect(requests.map((r) => r.records)).toEqual([1, 100]);
    requests[1]!.answer();
    const offsets = (await Promise.all(sends)).map(([m]) => m!.offset);
    expect(offsets).toEqual(offsets.map((_, i) => i));
    await producer.close();
  });

  it('never sends more than batchRecords or batchBytes, however much queued', async () => {
    const { strata, requests } = fakeServer({ hold: true });
    const producer = strata.producer({ latencyBudgetMs: 10, batchRecords: 30, batchBytes: 20_000, targetBatchBytes: 20_000 });
    const sends = [producer.send('t', record1000(0))];
    await vi.advanceTimersByTimeAsync(0);
    for (let i = 1; i <= 100; i++) sends.push(producer.send('t', record1000(i)));
    requests[0]!.answer();
    for (let i = 1; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(0);
      requests[i]?.answer();
    }
    await Promise.all(sends);
    expect(requests.map((r) => r.records)).toEqual([1, 20, 20, 20, 20, 20]);
    await producer.close();
  });

  it('keeps sequence numbers contiguous and acknowledgements in order with batches in flight', async () => {
    const { strata, requests } = fakeServer({ roundTripMs: 15 });
    const producer = strata.producer({ latencyBudgetMs: 40, targetBatchBytes: 5_000, maxInFlightPerPartition: 5 });
    const sends: Promise<{ offset: number }[]>[] = [];
    for (let i = 0; i < 200; i++) {
      sends.push(producer.send('t', { ...record1000(i), partition: i % 2 }));
      if (i % 3 === 0) await vi.advanceTimersByTimeAsync(1);
    }
    await Promise.all([producer.flush(), vi.advanceTimersByTimeAsync(1000)]);
    for (const p of [0, 1]) {
      const mine = requests.filter((r) => r.partition === p);
      let sequence = 0;
      for (const r of mine) {
        expect(r.producer).toMatchObject({ epoch: 0, sequence });
        sequence += r.records;
      }
      expect(sequence).toBe(100);
      const offsets = (await Promise.all(sends.filter((_, i) => i % 2 === p))).map(([m]) => m!.offset);
      expect(offsets).toEqual(offsets.map((_, i) => i));
    }
    expect(Math.max(...requests.map((r) => r.records))).toBeGreaterThan(1);
    await producer.close();
  });

  it('sends at once on flush()', async () => {
    const { strata, requests } = fakeServer({ roundTripMs: 20 });
    const producer = strata.producer({ latencyBudgetMs: 10_000 });
    const sends = [producer.send('t', record1000(0)), producer.send('t', record1000(1))];
    const flushed = producer.flush();
    expect(requests).toMatchObject([{ records: 2, at: 0 }]);
    await vi.advanceTimersByTimeAsync(20);
    await flushed;
    expect((await Promise.all(sends)).flat().map((m) => m.offset)).toEqual([0, 1]);
    await producer.close();
  });

  it('keeps the fixed linger when lingerMs is given, whatever the round trip', async () => {
    const { strata, requests } = fakeServer({ roundTripMs: 50 });
    const producer = strata.producer({ lingerMs: 5 });
    const first = producer.send('t', record1000(0));
    await vi.advanceTimersByTimeAsync(4);
    expect(requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(requests).toMatchObject([{ records: 1, at: 5 }]);
    // A second record while the first is in flight waits for it, then goes at once.
    const second = producer.send('t', record1000(1));
    await vi.advanceTimersByTimeAsync(50);
    expect(requests.map((r) => r.at)).toEqual([5, 55]);
    await vi.advanceTimersByTimeAsync(50);
    await Promise.all([first, second]);
    await producer.close();
  });

  it('refuses options that contradict or break the limits, naming the option', () => {
    const { strata } = fakeServer();
    expect(() => strata.producer({ lingerMs: 5, latencyBudgetMs: 100 })).toThrow(/give one or the other/);
    expect(() => strata.producer({ lingerMs: 5, targetBatchBytes: 1024 })).toThrow(/give one or the other/);
    expect(() => strata.producer({ lingerMs: -1 })).toThrow(/lingerMs must be a number of ms from 0 to 60000; got -1/);
    expect(() => strata.producer({ lingerMs: Number.NaN })).toThrow(/lingerMs must be/);
    expect(() => strata.producer({ latencyBudgetMs: -1 })).toThrow(/latencyBudgetMs must be a whole number from 0 to 60000; got -1/);
    expect(() => strata.producer({ latencyBudgetMs: 2.5 })).toThrow(/latencyBudgetMs must be a whole number/);
    expect(() => strata.producer({ latencyBudgetMs: 60_001 })).toThrow(/latencyBudgetMs/);
    expect(() => strata.producer({ targetBatchBytes: 0 })).toThrow(
      /targetBatchBytes must be a whole number from 1 to batchBytes \(1048576\); got 0/,
    );
    expect(() => strata.producer({ batchBytes: 65_536, targetBatchBytes: 65_537 })).toThrow(
      /targetBatchBytes .* batchBytes \(65536\); got 65537/,
    );
    // The default target shrinks to a smaller batchBytes instead of refusing it.
    expect(() => strata.producer({ batchBytes: 65_536 })).not.toThrow();
    expect(() => strata.producer({ latencyBudgetMs: 0 })).not.toThrow();
  });
});

describe('producer batching in the AWS cost model (virtual time)', () => {
  it('sends far fewer requests under a long budget than under the 5 ms linger and keeps acks within it', async () => {
    const workload = { durationMs: 5000, warmupMs: 500 };
    const linger = await simulateProducerBatching({ label: 'linger', producer: { lingerMs: 5 }, ...workload });
    const budget100 = await simulateProducerBatching({ label: '100', producer: { latencyBudgetMs: 100 }, ...workload });
    const budget1000 = await simulateProducerBatching({ label: '1000', producer: { latencyBudgetMs: 1000 }, ...workload });
    expect(budget100.requestsPerSecond).toBeLessThan(linger.requestsPerSecond / 2);
    expect(budget1000.requestsPerSecond).toBeLessThan(linger.requestsPerSecond / 20);
    expect(budget100.ackP50Ms).toBeLessThan(100);
    expect(budget1000.ackP50Ms).toBeLessThan(1000);
    // The oldest record of a batch is acked about the budget after its send: the estimate
    // is a mean plus one deviation, so a request in the model's tail may overshoot a little.
    expect(budget1000.ackP99Ms).toBeLessThan(1000 * 1.05);
    expect(budget1000.meanBatchBytes).toBeGreaterThan(200 * 1024);
  });
});
