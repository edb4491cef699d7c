import { describe, expect, it } from 'vitest';
import { LogEngine } from '../../lib/engine.js';
import { FAST_RETRY } from '../../lib/retry.js';
import { createTestEngine } from '../support/engine.js';
import { runWorkload } from '../support/workload.js';

/**
 * Eight producers spread over three engines (three "processes" sharing one table, so
 * their conditional writes really race), readers polling every partition meanwhile,
 * then Jepsen's queue checks over the whole history.
 */
describe.each([1, 3])('concurrent appends to %i partition(s)', (partitions) => {
  it('loses, duplicates, reorders and skips nothing', async () => {
    const { engine, realStore, verifier } = await createTestEngine();
    const others = [0, 1].map(() => new LogEngine({ store: realStore, retry: FAST_RETRY }));
    await engine.topics.create({ name: 'jepsen', partitions });

    const { history } = await runWorkload({
      engines: [engine, ...others],
      verifier,
      topic: 'jepsen',
      partitions,
      producers: 8,
      batchesPerProducer: 40,
      maxRecordsPerBatch: 5,
      readersPerPartition: 2,
    });

    const result = history.check();
    expect(result.anomalies, result.summary()).toEqual([]);
    expect(result.counts.acked).toBe(result.counts.sends);
    expect(result.counts.sends).toBeGreaterThan(320);
    expect(result.counts.polls).toBeGreaterThan(0);
  });
});
