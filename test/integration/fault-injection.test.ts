import { describe, expect, it } from 'vitest';
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
