import { describe, expect, it } from 'vitest';
import { FAST_RETRY } from '../../../lib/core/retry.js';
import { LogEngine } from '../../../lib/engine.js';
import { createTestEngine } from '../../support/engine.js';
import { runWorkload } from '../../support/workload.js';

/**
 * Eight producers spread over three engines (three "processes" sharing one table, so
 * their conditional writes really race), readers polling every partition meanwhile,
 * then Jepsen's queue checks over the whole history.
 */
describe.each([
  { partitions: 1, sequencing: 'optimistic' as const },
  { partitions: 3, sequencing: 'optimistic' as const },
  { partitions: 1, sequencing: 'reserve' as const },
  { partitions: 3, sequencing: 'reserve' as const },
  { partitions: 1, sequencing: 'write-first' as const },
  { partitions: 3, sequencing: 'write-first' as const },
])('concurrent appends to $partitions partition(s), $sequencing', ({ partitions, sequencing }) => {
  it('loses, duplicates, reorders and skips nothing', async () => {
    // Every send must be acknowledged: a deadline far past what losing races on a loaded
    // two-core machine takes (the optimistic sequencer under three engines is exactly that).
    const deadline = { appendDeadlineMs: 45_000 };
    const { engine, recordingStore, verifier, voids } = await createTestEngine({ engine: { sequencing, ...deadline } });
    const others = [0, 1].map(() => new LogEngine({ store: recordingStore, retry: FAST_RETRY, sequencing, ...deadline }));
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

    const result = history.check({ voids: voids('jepsen') });
    expect(result.anomalies, result.summary()).toEqual([]);
    expect(result.counts.acked).toBe(result.counts.sends);
    expect(result.counts.sends).toBeGreaterThan(320);
    expect(result.counts.polls).toBeGreaterThan(0);
  }, 120_000);
});
