import { describe, expect, inject, it } from 'vitest';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import { FAST_RETRY } from '../../lib/core/retry.js';
import { LogEngine } from '../../lib/engine.js';
import { type ChaosSpec, chaosSpecSchema, installChaos } from '../../local/chaos.js';
import { localDynamoClient, localS3Client } from '../../local/emulators.js';
import { bytes, createTestEngine, readAll, text } from '../support/engine.js';
import { FaultInjector, type FaultMode, type FaultRule } from '../support/faults.js';
import { runWorkload } from '../support/workload.js';

type Sequencing = 'optimistic' | 'reserve' | 'write-first';
/** Every LogStore call that an append makes, per sequencing (docs/design.md). */
const APPEND_CALLS: Record<Sequencing, readonly string[]> = {
  optimistic: ['getTopic', 'getHead', 'getProducerState', 'commitAppend', 'getTailItem'],
  reserve: ['getTopic', 'reserve', 'fill', 'tailExtents', 'getProducerState', 'getHead'],
  'write-first': ['getTopic', 'writeData', 'getProducerState', 'putProducerState', 'numberData', 'findNumbering'],
};
const IDEMPOTENT = [false, true] as const;
/** Calls made only on a path of doubt (the in-doubt check of a commit, the lookup of a lost reservation). */
const IN_DOUBT_CALLS = new Set(['getTailItem', 'reserve:getHead', 'findNumbering']);
const MODES: FaultMode[] = ['before', 'after'];
const SEQUENCINGS: Sequencing[] = ['optimistic', 'reserve', 'write-first'];

describe.each(SEQUENCINGS)('append under a single injected fault (%s)', (sequencing) => {
  describe.each(APPEND_CALLS[sequencing].flatMap((method) => MODES.map((mode) => ({ method, mode }))))(
    '$mode $method',
    ({ method, mode }) => {
      it.each(IDEMPOTENT)('acknowledges each record once at the offset it reads back (idempotent: %s)', async (idempotent) => {
        // The fault hits the first call of `method` during the second append of a cold engine.
        const faults = new FaultInjector([{ method, mode, times: 1 }]);
        const { engine, realStore, verifier } = await createTestEngine({ engine: { sequencing } });
        await engine.topics.create({ name: 't', partitions: 1 });
        await engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('first') }] });
        const cold = new LogEngine({ store: faults.wrap(realStore), retry: FAST_RETRY, sequencing });
        const producer = idempotent ? { producer: { producerId: 'p', epoch: 0, sequence: 0 } } : {};
        const records = [
          { key: null, value: bytes('second') },
          { key: null, value: bytes('third') },
        ];
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
        const inDoubtOnly = IN_DOUBT_CALLS.has(method) || IN_DOUBT_CALLS.has(`${sequencing}:${method}`);
        const onPath = inDoubtOnly ? false : !['getProducerState', 'putProducerState'].includes(method) || idempotent;
        if (onPath) expect(faults.count(method, mode)).toBe(1);
      });
    },
  );
});

describe.each(SEQUENCINGS)('concurrent appends under random faults before and after every storage call (%s)', (sequencing) => {
  const commitCall = { optimistic: 'commitAppend', reserve: 'fill', 'write-first': 'numberData' }[sequencing];
  it('keeps every acknowledged record exactly once, in order, and readers skip nothing', async () => {
    const rules: FaultRule[] = [...new Set([...APPEND_CALLS[sequencing], 'queryTail', 'tailExtents', 'sealOffsets'])].flatMap((method) =>
      MODES.map((mode) => ({ method, mode, probability: [commitCall, 'reserve', 'writeData'].includes(method) ? 0.1 : 0.03 })),
    );
    const faults = new FaultInjector(rules);
    const { engine, recordingStore, verifier, voids } = await createTestEngine({ faults, engine: { appendDeadlineMs: 2_000, sequencing } });
    const other = new LogEngine({ store: faults.wrap(recordingStore), retry: FAST_RETRY, appendDeadlineMs: 2_000, sequencing });
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

    // Reservations whose answer a fault hid are sealed: those offsets, and only those, are gaps.
    const result = history.check({ voids: voids('faulty') });
    expect(result.anomalies, result.summary()).toEqual([]);
    expect(faults.count(commitCall, 'after')).toBeGreaterThan(5);
    expect(faults.count(commitCall, 'before')).toBeGreaterThan(5);
    expect(result.counts.acked).toBeGreaterThan(0.8 * result.counts.sends);
  });
});

/**
 * Faults inside the SDK's own retry loop (local/chaos.ts `lostThenThrottled`): the first
 * attempt of the append transaction is applied and its answer lost, every attempt the
 * SDK makes after it is throttled, and `send()` throws the last throttle.
 */
describe.each([
  { sequencing: 'optimistic' as const, commands: ['TransactWriteItemsCommand'] },
  { sequencing: 'reserve' as const, commands: ['PutItemCommand'] },
  { sequencing: 'reserve' as const, commands: ['UpdateItemCommand'] },
  { sequencing: 'write-first' as const, commands: ['PutItemCommand'] },
  { sequencing: 'write-first' as const, commands: ['UpdateItemCommand'] },
])('append whose applied SDK attempt is followed by throttled retries ($sequencing, $commands)', ({ sequencing, commands }) => {
  async function chaosEngine(spec: Partial<ChaosSpec>, options: { appendDeadlineMs?: number } = {}) {
    const { engine: setup, realStore, verifier, tableName } = await createTestEngine();
    await setup.topics.create({ name: 't', partitions: 1 });
    const dynamo = localDynamoClient(inject('dynamoEndpoint'));
    const chaos = installChaos(
      { dynamo, s3: localS3Client(inject('s3Endpoint')) },
      chaosSpecSchema.parse({ services: ['dynamodb'], commands, ...spec }),
    );
    const engine = new LogEngine({ store: new DynamoLogStore(dynamo, tableName), retry: FAST_RETRY, sequencing, ...options });
    return { engine, chaos, realStore, verifier };
  }

  it('a throttle after an applied SDK attempt does not write the append twice', async () => {
    // The SDK backs off up to seconds between throttled attempts: a deadline far past them.
    const { engine, chaos, verifier } = await chaosEngine({ lostThenThrottled: 1, limit: 1 }, { appendDeadlineMs: 25_000 });
    const result = await engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('once') }] });
    expect(chaos.counters.injected.dynamodb.lostThenThrottled).toBe(1);
    expect(result.offsets).toEqual([{ partition: 0, offset: 0 }]);
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(['once']);
  });

  it('a conditional append whose applied attempt was followed by throttles is acknowledged, not 409', async () => {
    const { engine, chaos, verifier } = await chaosEngine({ lostThenThrottled: 1, limit: 1 }, { appendDeadlineMs: 25_000 });
    const result = await engine.appender.appendToPartition('t', 0, { records: [{ key: null, value: bytes('once') }], expectedOffset: 0 });
    expect(chaos.counters.injected.dynamodb.lostThenThrottled).toBe(1);
    expect(result.offsets).toEqual([{ partition: 0, offset: 0 }]);
    expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(['once']);
  });

  // A reservation whose answer is lost is found through the head's lastReservation: it
  // never gets to the deadline. The fill and the optimistic commit do.
  it.skipIf(commands.includes('UpdateItemCommand'))(
    'an append throttled to its deadline after an applied attempt answers 503 outcome unknown, not 429',
    async () => {
      const { engine, verifier } = await chaosEngine({ lostThenThrottled: 1 }, { appendDeadlineMs: 1_500 });
      const err = await engine.appender
        .appendToPartition('t', 0, { records: [{ key: null, value: bytes('maybe') }] })
        .catch((e: unknown) => e);
      if (sequencing === 'write-first') {
        // Only the data item was written: nothing is numbered, so nothing is in the log, and 429 says so.
        expect(err).toMatchObject({ status: 429, code: 'THROTTLED' });
        expect(await readAll(verifier, 't', 0)).toEqual([]);
        return;
      }
      // The write happened: a 429 would tell the caller that nothing was written.
      expect(err).toMatchObject({ status: 503, code: 'RETRY' });
      expect((err as Error).message).toMatch(/may or may not have been written/);
      expect((await readAll(verifier, 't', 0)).map((r) => text(r.value))).toEqual(['maybe']);
    },
  );
});

describe('regression: a multi-partition append reported a retryable storage failure of one partition as INTERNAL', () => {
  it('reports the partition whose staged batch could not be uploaded as RETRY, and the other as committed', async () => {
    const faults = new FaultInjector([{ method: 'put', mode: 'before', times: 1 }]);
    const { engine, verifier } = await createTestEngine({ faults });
    faults.enabled = false;
    await engine.topics.create({ name: 't', partitions: 2, config: { stageBytes: 1024 } });
    faults.enabled = true;
    // Partition 0's records pass stageBytes (staged in S3 first); partition 1's do not.
    const err = await engine.appender
      .append('t', {
        records: [
          { key: null, value: bytes('x'.repeat(4096)), partition: 0 },
          { key: null, value: bytes('small'), partition: 1 },
        ],
      })
      .catch((e: unknown) => e);
    const partitions = (err as { details?: { partitions?: { partition: number; error?: { code: string }; baseOffset?: number }[] } })
      .details?.partitions;
    expect(partitions?.find((p) => p.partition === 0)?.error?.code).toBe('RETRY');
    expect(partitions?.find((p) => p.partition === 1)?.baseOffset).toBe(0);
    expect((await readAll(verifier, 't', 1)).map((r) => text(r.value))).toEqual(['small']);
  });
});
