import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep } from '../../lib/core/retry.js';
import type { LocalStack } from '../../local/stack.js';
import { apiClient, startTestStack } from '../support/local-stack.js';

let stack: LocalStack;
let api: ReturnType<typeof apiClient>;

beforeAll(async () => {
  stack = await startTestStack({ compactIntervalMs: 250 });
  api = apiClient(stack.url);
});
afterAll(async () => stack?.stop());

async function waitFor<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await sleep(100);
  }
}

const state = async (topic: string) => (await api('GET', `/v1/topics/${topic}`)).body.partitionStates[0];

async function readEverything(topic: string): Promise<string[]> {
  const values: string[] = [];
  let offset = 0;
  for (;;) {
    const page = await api('GET', `/v1/topics/${topic}/partitions/0/records?offset=${offset}&maxRecords=10000`);
    values.push(...page.body.records.map((r: { value: string }) => r.value));
    offset = page.body.nextOffset;
    if (offset >= page.body.highWatermark) return values;
  }
}

describe('the local stack flushes on its own', () => {
  it('flushes a tail that passed flushBytes through the Lambda Invoke API, and reads everything back from offset 0', async () => {
    await api('POST', '/v1/topics', { name: 'big', partitions: 1, config: { flushBytes: 64 * 1024, flushIntervalMs: 3_600_000 } });
    const sent: string[] = [];
    for (let i = 0; i < 30; i++) {
      const values = Array.from({ length: 10 }, (_, k) => `${i}-${k}-${'p'.repeat(1000)}`);
      sent.push(...values);
      expect((await api('POST', '/v1/topics/big/records', { records: values.map((value) => ({ value })) })).status).toBe(200);
    }
    const after = await waitFor(
      () => state('big'),
      (s) => s.flushedOffset > 0,
    );
    expect(after.flushedOffset).toBeGreaterThan(0);
    expect(await readEverything('big')).toEqual(sent);
  });

  it('flushes an old tail on the schedule', async () => {
    await api('POST', '/v1/topics', { name: 'aged', partitions: 1, config: { flushIntervalMs: 1000 } });
    await api('POST', '/v1/topics/aged/records', { records: [{ value: 'old' }, { value: 'older' }] });
    const after = await waitFor(
      () => state('aged'),
      (s) => s.flushedOffset === 2,
    );
    expect(after).toMatchObject({ flushedOffset: 2, highWatermark: 2 });
    expect(await readEverything('aged')).toEqual(['old', 'older']);
  });
});

describe('the local stack compacts on its own', () => {
  it('a compacted topic shrinks to its live keys on the schedule (fan-out through the Lambda Invoke API)', async () => {
    await api('POST', '/v1/topics', {
      name: 'profiles',
      partitions: 2,
      config: { cleanupPolicy: 'compact', flushIntervalMs: 1000, deleteRetentionMs: 0 },
    });
    const latest = new Map<string, string | null>();
    for (let round = 0; round < 5; round++) {
      const records = Array.from({ length: 8 }, (_, i) => ({ key: `user-${i}`, value: i === 7 && round === 4 ? null : `v${round}` }));
      for (const r of records) latest.set(r.key, r.value);
      expect((await api('POST', '/v1/topics/profiles/records', { records })).status).toBe(200);
    }
    const live = [...latest.entries()].filter(([, v]) => v !== null);
    const readKeys = async () => {
      const all: { key: string; value: string }[] = [];
      for (const p of [0, 1]) {
        const page = await api('GET', `/v1/topics/profiles/partitions/${p}/records?offset=0&maxRecords=10000`);
        all.push(...page.body.records);
      }
      return all;
    };
    const compacted = await waitFor(readKeys, (records) => records.length === live.length, 30_000);
    expect(new Map(compacted.map((r) => [r.key, r.value]))).toEqual(new Map(live));
    // Every partition's pass records its compaction, the empty one's too; reads can show
    // the live keys before the schedule has visited the other partition.
    const described = await waitFor(
      async () => (await api('GET', '/v1/topics/profiles')).body.partitionStates as { lastCompactionAt: number | null }[],
      (states) => states.every((s) => s.lastCompactionAt !== null),
      10_000,
    );
    for (const p of described) expect(p).toMatchObject({ segments: expect.any(Number), lastCompactionAt: expect.any(Number) });
  }, 40_000);
});
