/**
 * The look's read of the tail (DynamoPartitionStore.tailExtents) against DynamoDB Local:
 * a range of items larger than one Query page (1 MB read) is read in two round trips, the
 * first page and then the rest at once, and answers every item once, in order.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DynamoLogStore } from '../../../lib/aws/dynamo-log-store.js';
import { splitRange } from '../../../lib/aws/dynamo-partition-store.js';
import type { PartitionRef, TailItem } from '../../../lib/ports/model.js';
import { localDynamoClient } from '../../../local/emulators.js';
import { freshTable } from '../../support/aws.js';

const ITEM_BYTES = 100 * 1024;

/** A client that counts its Query calls, the most it had in flight at once, and each one's ConsistentRead. */
function countingClient(): { client: DynamoDBClient; queries: () => number; mostInFlight: () => number; consistentReads: unknown[] } {
  const client = localDynamoClient(inject('dynamoEndpoint'));
  let queries = 0;
  let inFlight = 0;
  let most = 0;
  const consistentReads: unknown[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'QueryCommand') return next(args);
      queries++;
      consistentReads.push((args.input as { ConsistentRead?: unknown }).ConsistentRead);
      most = Math.max(most, ++inFlight);
      try {
        return await next(args);
      } finally {
        inFlight--;
      }
    },
    { step: 'initialize', name: 'countQueries' },
  );
  return { client, queries: () => queries, mostInFlight: () => most, consistentReads };
}

/** Items over [0, …) of `counts[i]` offsets each, ITEM_BYTES of data apiece; `skip`: indexes left unwritten (gaps). */
async function writeItems(store: DynamoLogStore, ref: PartitionRef, counts: number[], skip: number[] = []): Promise<TailItem[]> {
  const items: TailItem[] = [];
  let base = 0;
  for (const [i, count] of counts.entries()) {
    const item: TailItem = {
      baseOffset: base,
      lastOffset: base + count - 1,
      recordCount: count,
      data: new Uint8Array(ITEM_BYTES).fill(i),
      minTimestamp: 1,
      maxTimestamp: 1,
      appendedAt: 1_000 + i,
      commitId: randomUUID(),
    };
    base += count;
    if (skip.includes(i)) continue;
    const token = randomUUID();
    const outcome = await store.fill({ ref, items: [{ ...item, commitId: token }], producers: [], requestToken: token });
    if (!outcome.ok) throw new Error(`fill of item ${i} refused`);
    items.push(item);
  }
  return items;
}

const clients: DynamoDBClient[] = [];
afterAll(() => {
  for (const c of clients) c.destroy();
});

describe('tailExtents', () => {
  it('splits a range into about equal parts, in order, never more than asked or than offsets', () => {
    expect(splitRange(10, 20, 3, 8)).toEqual([
      [10, 13],
      [13, 16],
      [16, 20],
    ]);
    expect(splitRange(0, 100, 20, 8)).toHaveLength(8);
    expect(splitRange(5, 7, 4, 8)).toEqual([
      [5, 6],
      [6, 7],
    ]);
    expect(splitRange(0, 10, 0, 8)).toEqual([[0, 10]]);
  });

  it('reads a range of many pages in two round trips: the first page, then the rest at once', async () => {
    const counting = countingClient();
    clients.push(counting.client);
    const store = new DynamoLogStore(counting.client, await freshTable());
    const ref: PartitionRef = { topic: 't', topicId: 'x', partition: 0 };
    // 40 items of 100 KiB (about 4 pages), of 1 to 7 offsets: the split points fall inside items.
    const counts = Array.from({ length: 40 }, (_, i) => 1 + ((i * 5) % 7));
    const written = await writeItems(store, ref, counts);
    const end = written.at(-1)!.lastOffset + 1;
    const before = counting.queries();
    const extents = await store.tailExtents(ref, 0, end);
    expect(extents.map((e) => [e.baseOffset, e.lastOffset])).toEqual(written.map((i) => [i.baseOffset, i.lastOffset]));
    expect(counting.queries() - before).toBeGreaterThanOrEqual(4);
    expect(counting.mostInFlight()).toBeGreaterThan(1);
  });

  it('reads strongly consistent unless told otherwise, then every page of the range eventually consistent', async () => {
    const counting = countingClient();
    clients.push(counting.client);
    const store = new DynamoLogStore(counting.client, await freshTable());
    const ref: PartitionRef = { topic: 't', topicId: 'z', partition: 0 };
    const written = await writeItems(
      store,
      ref,
      Array.from({ length: 24 }, () => 2),
    );
    const end = written.at(-1)!.lastOffset + 1;
    const before = counting.consistentReads.length;
    const consistent = await store.tailExtents(ref, 0, end);
    const strong = counting.consistentReads.splice(before);
    const eventual = await store.tailExtents(ref, 0, end, { consistent: false });
    const weak = counting.consistentReads.splice(before);
    // DynamoDB Local answers both from the same copy; AWS answers the second at half the read units.
    expect(eventual).toEqual(consistent);
    expect(strong.length).toBeGreaterThanOrEqual(3);
    expect(strong.every((c) => c === true)).toBe(true);
    expect(weak).toHaveLength(strong.length);
    expect(weak.every((c) => c === false)).toBe(true);
  });

  it('answers the items on both sides of a gap, and one Query for a range within a page', async () => {
    const counting = countingClient();
    clients.push(counting.client);
    const store = new DynamoLogStore(counting.client, await freshTable());
    const ref: PartitionRef = { topic: 't', topicId: 'y', partition: 0 };
    const counts = Array.from({ length: 30 }, () => 3);
    const written = await writeItems(store, ref, counts, [17]);
    const extents = await store.tailExtents(ref, 0, 90);
    expect(extents.map((e) => e.baseOffset)).toEqual(written.map((i) => i.baseOffset));
    expect(extents.map((e) => e.baseOffset)).not.toContain(51);

    const before = counting.queries();
    const few = await store.tailExtents(ref, 60, 66);
    expect(few.map((e) => e.baseOffset)).toEqual([60, 63]);
    expect(counting.queries() - before).toBe(1);
  });
});
