/**
 * The scheduled fan-out (lib/maintenance/maintenance.ts runAll, functions/compact/handler.ts) against
 * DynamoDB Local: partitions are dispatched in parallel batches, a run stops at its
 * budget with a cursor, and the chain of runs that follows covers every due partition
 * once, up to a pass over 5,000 partitions. How long a pass takes is a benchmark (npm run
 * bench -- --only fanout, docs/benchmarks.md), not asserted here.
 */
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { createCompactHandler, type FanOutEvent, runBudgetMs } from '../../../functions/compact/handler.js';
import { createObservability } from '../../../functions/shared/observability.js';
import { HEAD_SK, partitionPk } from '../../../lib/aws/table-keys.js';
import { FANOUT_RUN_BUDGET_MS, FANOUT_TIMEOUT_RESERVE_MS } from '../../../lib/core/constants.js';
import type { FanOutOptions } from '../../../lib/maintenance/maintenance.js';
import { type PartitionRef, partitionKey } from '../../../lib/ports/model.js';
import { testClients } from '../../support/aws.js';
import { bytes, createTestEngine } from '../../support/engine.js';

/** Three topics, 120 partitions, each with a record: every one is due. */
const TOPICS = { alpha: 40, bravo: 30, charlie: 50 } as const;
const TOTAL = 120;

async function setup() {
  const clock = { t: Date.now(), now: () => clock.t };
  const t = await createTestEngine({ clock });
  for (const [name, partitions] of Object.entries(TOPICS)) {
    await t.engine.topics.create({ name, partitions });
    const all = Array.from({ length: partitions }, (_, p) => p);
    for (let i = 0; i < all.length; i += 10) {
      await Promise.all(
        all
          .slice(i, i + 10)
          .map((p) => t.engine.appender.appendToPartition(name, p, { records: [{ key: null, value: bytes(`${name}-${p}`) }] })),
      );
    }
  }
  return { t, clock };
}

/** A dispatch that records what it was given and how many calls were in flight at once. */
function recordingDispatch(delay: () => Promise<void> = () => new Promise((r) => setTimeout(r, 2))) {
  const sent: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const dispatch = async (ref: PartitionRef) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await delay();
    inFlight--;
    sent.push(partitionKey(ref));
  };
  return { dispatch, sent, maxInFlight: () => maxInFlight };
}

/**
 * `topics` × `partitions` partitions whose heads say a record was appended (written
 * directly, 25 at a time: 5,000 real appends take DynamoDB Local most of a minute). The
 * fan-out reads only heads and stats; the passes it dispatches are not run here.
 */
async function seedActivePartitions(t: Awaited<ReturnType<typeof createTestEngine>>, topics: number, partitions: number) {
  const doc = DynamoDBDocumentClient.from(testClients().dynamo);
  const now = Date.now();
  const heads: Record<string, unknown>[] = [];
  for (let i = 0; i < topics; i++) {
    const meta = await t.engine.topics.create({ name: `t${i}`, partitions });
    for (let p = 0; p < partitions; p++) {
      const pk = partitionPk({ topic: meta.name, topicId: meta.topicId, partition: p });
      heads.push({
        pk,
        sk: HEAD_SK,
        nextOffset: 1,
        committedOffset: 1,
        logStartOffset: 0,
        flushedOffset: 0,
        tailBytes: 100,
        lastAppendAt: now,
      });
    }
  }
  for (let i = 0; i < heads.length; i += 25 * 8) {
    await Promise.all(
      Array.from({ length: 8 }, (_, j) => heads.slice(i + j * 25, i + (j + 1) * 25))
        .filter((chunk) => chunk.length > 0)
        .map((chunk) =>
          doc.send(new BatchWriteCommand({ RequestItems: { [t.tableName]: chunk.map((Item) => ({ PutRequest: { Item } })) } })),
        ),
    );
  }
}

describe('scheduled fan-out', () => {
  it('covers a scheduled pass over 5,000 partitions of 5 topics through the compact function, 32 invokes in flight', async () => {
    const t = await createTestEngine();
    await seedActivePartitions(t, 5, 1000);
    // Each asynchronous invoke modelled as 20 ms (docs/benchmarks.md, "Scheduled fan-out").
    const { dispatch, sent, maxInFlight } = recordingDispatch(() => new Promise((r) => setTimeout(r, 20)));
    const handedOn: FanOutEvent[] = [];
    const handler = createCompactHandler(t.engine, createObservability('compact'), {
      dispatch,
      continueFanOut: async (event) => {
        handedOn.push(event);
      },
    });
    // One run on this machine (docs/benchmarks.md); a slower one may hand some on.
    let result = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
    while (handedOn.length > 0) result = await handler(handedOn.shift()!);
    expect(result.cursor).toBeUndefined();
    expect(sent).toHaveLength(5000);
    expect(new Set(sent).size).toBe(5000);
    expect(maxInFlight()).toBe(32);
  });

  it('dispatches every due partition once across a chain of runs, each stopping at its budget with a cursor, in parallel batches', async () => {
    const { t } = await setup();
    const { dispatch, sent, maxInFlight } = recordingDispatch();
    const runs = [];
    let options: FanOutOptions = { concurrency: 8, maxDispatches: 25 };
    for (;;) {
      const run = await t.engine.maintenance!.runAll(dispatch, options);
      runs.push(run);
      if (!run.cursor) break;
      options = { ...options, cursor: run.cursor };
    }
    expect(runs.map((r) => r.dispatched.length)).toEqual([25, 25, 25, 25, 20]);
    expect(runs.slice(0, -1).every((r) => r.cursor !== undefined)).toBe(true);
    expect(sent).toHaveLength(TOTAL);
    expect(new Set(sent).size).toBe(TOTAL);
    expect(maxInFlight()).toBe(8);
  });

  it('fills its batches across topics: forty one-partition topics still go eight at a time', async () => {
    const clock = { t: Date.now(), now: () => clock.t };
    const t = await createTestEngine({ clock });
    for (let i = 0; i < 40; i++) {
      const name = `one-${String(i).padStart(2, '0')}`;
      await t.engine.topics.create({ name, partitions: 1 });
      await t.engine.appender.appendToPartition(name, 0, { records: [{ key: null, value: bytes(name) }] });
    }
    const { dispatch, sent, maxInFlight } = recordingDispatch();
    const first = await t.engine.maintenance!.runAll(dispatch, { concurrency: 8, maxDispatches: 20 });
    expect(first.cursor).toEqual({ topic: 'one-20', partition: 0 });
    await t.engine.maintenance!.runAll(dispatch, { concurrency: 8, maxDispatches: Infinity, cursor: first.cursor! });
    expect(maxInFlight()).toBe(8);
    expect(new Set(sent).size).toBe(40);
    expect(sent).toHaveLength(40);
  });

  it('stops at its time budget and hands on the rest', async () => {
    const { t, clock } = await setup();
    // Time passes on the injected clock as invokes are sent: 2 ms per call.
    const { dispatch, sent } = recordingDispatch(async () => {
      clock.t += 2;
    });
    const first = await t.engine.maintenance!.runAll(dispatch, { concurrency: 10, budgetMs: 100 });
    expect(first.cursor).toBeDefined();
    expect(first.dispatched.length).toBeLessThan(TOTAL);
    const rest = await t.engine.maintenance!.runAll(dispatch, { concurrency: 10, maxDispatches: Infinity, cursor: first.cursor! });
    expect(rest.cursor).toBeUndefined();
    expect(new Set(sent).size).toBe(TOTAL);
    expect(sent).toHaveLength(TOTAL);
  });

  it('a run whose invoke failed is retried from its own cursor, not from the first topic', async () => {
    const { t } = await setup();
    const first = await t.engine.maintenance!.runAll(recordingDispatch().dispatch, { concurrency: 8, maxDispatches: 60 });
    expect(first.cursor).toEqual({ topic: 'bravo', partition: 20 });
    let refused = false;
    const flaky = recordingDispatch(async () => {
      if (!refused) {
        refused = true;
        throw new Error('TooManyRequestsException');
      }
    });
    const resumed = { concurrency: 8, maxDispatches: Infinity, cursor: first.cursor! };
    await expect(t.engine.maintenance!.runAll(flaky.dispatch, resumed)).rejects.toThrow(/TooManyRequests/);
    const retried = await t.engine.maintenance!.runAll(flaky.dispatch, resumed);
    expect(retried.dispatched.length).toBe(TOTAL - 60);
    expect(retried.dispatched[0]).toMatchObject({ topic: 'bravo', partition: 20 });
    expect(retried.deletedTopics).toMatchObject({ topics: 0 });
  });

  it('the compact function hands the rest of a scheduled pass to its next run with {fanOut, chain}', async () => {
    const { t } = await setup();
    const { dispatch, sent } = recordingDispatch();
    const handedOn: FanOutEvent[] = [];
    const handler = createCompactHandler(t.engine, createObservability('compact'), {
      dispatch,
      continueFanOut: async (event) => {
        handedOn.push(event);
      },
      fanOut: { concurrency: 16, maxDispatches: 50 },
    });
    const root = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
    expect(root).toMatchObject({ dispatched: 50, cursor: handedOn[0]!.fanOut });
    expect(handedOn[0]).toMatchObject({ chain: 1 });
    while (handedOn.length > 0) await handler(handedOn.shift()!).then((r) => expect(r.dispatched).toBeGreaterThan(0));
    expect(new Set(sent).size).toBe(TOTAL);
    expect(sent).toHaveLength(TOTAL);
  });

  it('gives a run FANOUT_RUN_BUDGET_MS, and less when the invocation has less time left than that plus a reserve', () => {
    expect(runBudgetMs(undefined)).toBe(FANOUT_RUN_BUDGET_MS);
    expect(runBudgetMs(undefined, { getRemainingTimeInMillis: () => 300_000 })).toBe(FANOUT_RUN_BUDGET_MS);
    expect(runBudgetMs(undefined, { getRemainingTimeInMillis: () => 45_000 })).toBe(45_000 - FANOUT_TIMEOUT_RESERVE_MS);
    expect(runBudgetMs(undefined, { getRemainingTimeInMillis: () => 10_000 })).toBe(0);
  });
});
