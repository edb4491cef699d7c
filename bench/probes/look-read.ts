/**
 * How long DynamoDB Local takes to answer a writer's look (DynamoPartitionStore.tailExtents)
 * over N tail items of 100 KiB, with no latency model and nothing else running: the
 * emulator's own work, which the dilated contention suite does not dilate (issue 13,
 * docs/design.md, "Batches under heavy contention"). A probe, not a suite: its figures
 * are not ratios and say nothing of AWS.
 *
 *     npx tsx bench/probes/look-read.ts
 */
import { randomUUID } from 'node:crypto';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import type { PartitionRef } from '../../lib/ports/model.js';
import { ensureTable, localDynamoClient, startDynamoDbLocal } from '../../local/emulators.js';
import { summarize } from '../harness/stats.js';

const ITEM_BYTES = 100 * 1024;
const RECORDS_PER_ITEM = 100;
const LOOKS = [1, 8, 32, 64];
const REPEATS = 15;

const dynamo = await startDynamoDbLocal();
const client = localDynamoClient(dynamo.endpoint);
try {
  const table = `look-read-${randomUUID().slice(0, 8)}`;
  await ensureTable(client, table);
  const store = new DynamoLogStore(client, table);
  const ref: PartitionRef = { topic: 'probe', topicId: 'probe', partition: 0 };
  const items = Math.max(...LOOKS);
  for (let i = 0; i < items; i++) {
    const token = randomUUID();
    const baseOffset = i * RECORDS_PER_ITEM;
    const item = {
      baseOffset,
      lastOffset: baseOffset + RECORDS_PER_ITEM - 1,
      recordCount: RECORDS_PER_ITEM,
      data: new Uint8Array(ITEM_BYTES).fill(i),
      minTimestamp: 1,
      maxTimestamp: 1,
      appendedAt: 1,
      commitId: token,
    };
    await store.fill({ ref, items: [item], producers: [], requestToken: token });
  }
  for (const n of LOOKS) {
    const times: number[] = [];
    for (let r = 0; r < REPEATS; r++) {
      const started = performance.now();
      await store.tailExtents(ref, 0, n * RECORDS_PER_ITEM);
      times.push(performance.now() - started);
    }
    console.log(`look over ${n} items of 100 KiB: p50 ${summarize(times).p50.toFixed(1)} ms (${REPEATS} looks)`);
  }
  const started = performance.now();
  for (let r = 0; r < REPEATS; r++) await store.getHead(ref);
  console.log(`GetItem of the head: mean ${((performance.now() - started) / REPEATS).toFixed(1)} ms`);
} finally {
  client.destroy();
  await dynamo.stop();
}
