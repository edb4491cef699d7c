import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Strata, OffsetMismatchError, TopicNotFoundError, ConnectionError, StrataError } from '../../client/index.js';
import type { LocalStack } from '../../local/stack.js';
import { History } from '../support/history.js';
import { lossyFetch } from '../support/lossy-fetch.js';
import { startTestStack } from '../support/local-stack.js';

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
      producer.send('batched', Array.from({ length: 40 }, (_, i) => ({ value: `v${s * 40 + i}`, partition: i % 2 }))),
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
    const [meta] = await producer.send('keyed', { key: 'customer-1', value: new Uint8Array([0, 1, 254, 255]), headers: { h: new Uint8Array([9]) } });
    await producer.close();
    const viaServer = await strata.append('keyed', [{ key: 'customer-1', value: 'x' }]);
    expect(meta!.partition).toBe(viaServer.offsets[0]!.partition);
    const read = await strata.read('keyed', meta!.partition, { offset: meta!.offset, maxRecords: 1 });
    expect([...read.records[0]!.value!]).toEqual([0, 1, 254, 255]);
    expect([...read.records[0]!.headers.h!]).toEqual([9]);
    expect(read.records[0]!.key!.toString()).toBe('customer-1');
  });

  it('loses no record and duplicates none when answers are lost or time out after the commit', async () => {
    const topic = 'lossy';
    await strata.createTopic(topic, { partitions: 3 });
    const faults = lossyFetch({ lossRate: 0.25, timeoutRate: 0.05, failBeforeRate: 0.05, seed: 11, eachKindFirst: true });
    const client = new Strata({ url: stack.url, fetch: faults.fetch, requestTimeoutMs: 200 });
    const producer = client.producer({ lingerMs: 2, batchRecords: 25, maxInFlightPerPartition: 5, retryBaseDelayMs: 1, retryMaxDelayMs: 20 });
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
          (err: unknown) => { handle.info(); errors.push(String((err as Error).message) + ' ' + String((err as Error).cause)); },
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
  });

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
