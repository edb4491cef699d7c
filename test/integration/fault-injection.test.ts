import { describe, expect, inject, it } from 'vitest';
import { chaosSpecSchema, installChaos, type ChaosSpec } from '../../local/chaos.js';
import { localDynamoClient, localS3Client } from '../../local/emulators.js';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import { LogEngine } from '../../lib/engine.js';
import { FAST_RETRY } from '../../lib/retry.js';
import { bytes, createTestEngine, readAll, text } from '../support/engine.js';
import { FaultInjector, type FaultMode, type FaultRule } from '../support/faults.js';
import { runWorkload } from '../support/workload.js';

/** Every LogStore call that an append makes. */
const APPEND_CALLS = ['getTopic', 'getHead', 'getProducerState', 'commitAppend', 'getTailItem'] as const;
const MODES: FaultMode[] = ['before', 'after'];

describe('append under a single injected fault', () => {
  describe.each(APPEND_CALLS.flatMap((method) => MODES.map((mode) => ({ method, mode }))))(
    '$mode $method',
    ({ method, mode }) => {
      it.each([false, true])('acknowledges each record once at the offset it reads back (idempotent: %s)', async (idempotent) => {
        // The fault hits the first call of `method` during the second append of a cold engine.
        const faults = new FaultInjector([{ method, mode, times: 1 }]);
        const { engine, realStore, verifier } = await createTestEngine();
        await engine.topics.create({ name: 't', partitions: 1 });
        await engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('first') }] });
        const cold = new LogEngine({ store: faults.wrap(realStore), retry: FAST_RETRY });
        const producer = idempotent ? { producer: { producerId: 'p', epoch: 0, sequence: 0 } } : {};
        const records = [{ key: null, value: bytes('second') }, { key: null, value: bytes('third') }];
        let result = await cold.appender.appendToPartition('t', 0, { records, ...producer }).catch((e: unknown) => e);
        if (result instanceof Error && idempotent) {
          // The caller saw an error; an idempotent producer retries the same batch.
          result = await cold.appender.appendToPartition('t', 0, { records, ...producer });
        }
        const all = await readAll(verifier, 't', 0);
        const values = all.map((r) => text(r.value));
        if (result instanceof Error) {
          // Non-idempotent caller got an error: the batch is either absent or present once.
          expect([['first'], ['first', 'second', 'third']]).toContainEqual(values);
        } else {
          expect(values).toEqual(['first', 'second', 'third']);
          expect((result as { offsets: { offset: number }[] }).offsets.map((o) => o.offset)).toEqual([1, 2]);
        }
        // Every call on the append path was hit (the producer state is read only by idempotent
        // appends; a tail item only after a commit whose outcome was unknown).
        const onPath = method === 'getTailItem' ? false : method !== 'getProducerState' || idempotent;
        if (onPath) expect(faults.count(method, mode)).toBe(1);
      });
    },
  );
});

describe('concurrent appends under random faults before and after every storage call', () => {
  it('keeps every acknowledged record exactly once, in order, and readers skip nothing', async () => {
    const rules: FaultRule[] = [...APPEND_CALLS, 'queryTail'].flatMap((method) =>
      MODES.map((mode) => ({ method, mode, probability: method === 'commitAppend' ? 0.1 : 0.03 })),
    );
    const faults = new FaultInjector(rules);
    const { engine, realStore, verifier } = await createTestEngine({ faults, engine: { appendDeadlineMs: 2_000 } });
    const other = new LogEngine({ store: faults.wrap(realStore), retry: FAST_RETRY, appendDeadlineMs: 2_000 });
    faults.enabled = false;
    await engine.topics.create({ name: 'faulty', partitions: 3 });
    faults.enabled = true;

    const { history } = await runWorkload({
      engines: [engine, other],
      verifier,
      topic: 'faulty',
      partitions: 3,
      producers: 8,
      batchesPerProducer: 30,
      maxRecordsPerBatch: 4,
      readersPerPartition: 1,
      seed: 11,
    });

    const result = history.check();
    expect(result.anomalies, result.summary()).toEqual([]);
    expect(faults.count('commitAppend', 'after')).toBeGreaterThan(5);
    expect(faults.count('commitAppend', 'before')).toBeGreaterThan(5);
    expect(result.counts.acked).toBeGreaterThan(0.8 * result.counts.sends);
  });
});

/**
 * Faults inside the SDK's own retry loop (local/chaos.ts `lostThenThrottled`): the first
 * attempt of the append transaction is applied and its answer lost, every attempt the
 * SDK makes after it is throttled, and `send()` throws the last throttle.
 */
describe('append whose applied SDK attempt is followed by throttled retries', () => {
  async function chaosEngine(spec: Partial<ChaosSpec>, options: { appendDeadlineMs?: number } = {}) {
    const { engine: setup, realStore, verifier, tableName } = await createTestEngine();
    await setup.topics.create({ name: 't', partitions: 1 });
    const dynamo = localDynamoClient(inject('dynamoEndpoint'));
    const chaos = installChaos(
      { dynamo, s3: localS3Client(inject('s3Endpoint')) },
      chaosSpecSchema.parse({ services: ['dynamodb'], commands: ['TransactWriteItemsCommand'], ...spec }),
    );
    const engine = new LogEngine({ store: new DynamoLogStore(dynamo, tableName), retry: FAST_RETRY, ...options });
    return { engine, chaos, realStore, verifier };
  }

  it('a throttle after an applied SDK attempt does not write the append twice', async () => {
    const { engine, chaos, verifier } = await chaosEngine({ lostThenThrottled: 1, limit: 1 });
    const result = await engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('once') }] });
    expect(chaos.counters.injected.dynamodb.lostThenThrottled).toBe(1);
    expect(result.offsets).toEqual([{ partition: 0, offset: 0 }]);
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(['once']);
  });

  it('a conditional append whose applied attempt was followed by throttles is acknowledged, not 409', async () => {
    const { engine, chaos, verifier } = await chaosEngine({ lostThenThrottled: 1, limit: 1 });
    const result = await engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('once') }], expectedOffset: 0 });
    expect(chaos.counters.injected.dynamodb.lostThenThrottled).toBe(1);
    expect(result.offsets).toEqual([{ partition: 0, offset: 0 }]);
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(['once']);
  });

  it('an append throttled to its deadline after an applied attempt answers 503 outcome unknown, not 429', async () => {
    const { engine, verifier } = await chaosEngine({ lostThenThrottled: 1 }, { appendDeadlineMs: 1_500 });
    const err = await engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('maybe') }] }).catch((e: unknown) => e);
    // The write happened: a 429 would tell the caller that nothing was written.
    expect(err).toMatchObject({ status: 503, code: 'RETRY' });
    expect((err as Error).message).toMatch(/may or may not have been written/);
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(['maybe']);
  });
});
