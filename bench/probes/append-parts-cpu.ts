/**
 * The writer's CPU per append, taken apart: the raw primitive's two calls (ADD, then the
 * records' Put), each call alone, the write-first store calls alone (the data Put through
 * the engine's store, the numbering with its index step every INDEX_EVERY numberings),
 * and the whole engine. What the engine spends beyond its store calls is its own work
 * (validation, encoding, the sequencer); what the store calls spend beyond the
 * primitive's is the protocol's. One process, one request at a time, no latency model
 * (bench/probes/append-cpu.ts measures the same modes with DynamoDB Local's side). A
 * probe, not a suite: it prints.
 *
 *     npx tsx bench/probes/append-parts-cpu.ts [appends per form and round] [rounds] [single|batch]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type AttributeValue, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import { LogEngine } from '../../lib/engine.js';
import { encodeBatch } from '../../lib/format/record-batch-encoder.js';
import type { TailItem } from '../../lib/ports/model.js';
import { INDEX_EVERY } from '../../lib/sequencing/write-first-sequencer.js';
import { ensureTable, localDynamoClient, startDynamoDbLocal } from '../../local/emulators.js';
import { cpuRounds, medianOf } from '../harness/cpu-rounds.js';
import { ResourceMeter } from '../harness/resources.js';
import { BATCH_SHAPE, SINGLE_RECORD_SHAPE, tailItem } from '../suites/contention-modes.js';

const appends = Number(process.argv[2] ?? 1500);
const rounds = Number(process.argv[3] ?? 3);
const shape = process.argv[4] === 'batch' ? BATCH_SHAPE : SINGLE_RECORD_SHAPE;
const TABLE = 'append-parts-cpu';
const WARM_UP = 300;
const n = (v: number): AttributeValue => ({ N: String(v) });
const s = (v: string): AttributeValue => ({ S: v });

const dynamoLocal = await startDynamoDbLocal();
try {
  const dynamo = localDynamoClient(dynamoLocal.endpoint);
  await ensureTable(dynamo, TABLE);
  const store = new DynamoLogStore(dynamo, TABLE);
  const engine = new LogEngine({ store, sequencing: 'write-first' });
  const meta = await engine.topics.create({ name: 'parts', partitions: 2, config: { flushBytes: 1024 ** 3 } });
  const ref = { topic: 'parts', topicId: meta.topicId, partition: 0 };
  const count = shape.recordsPerRequest;
  const inputs = Array.from({ length: count }, () => ({ key: null, value: randomBytes(shape.valueBytes) }));
  const now = Date.now();
  // The records encoded once, as the raw primitive sends them.
  const data = encodeBatch(
    inputs.map((r) => ({ ...r, headers: [], timestamp: now })),
    { baseOffset: 0 },
  );
  const storeItem = (): TailItem => ({
    baseOffset: 0,
    lastOffset: count - 1,
    recordCount: count,
    data,
    minTimestamp: now,
    maxTimestamp: now,
    appendedAt: now,
    commitId: randomUUID(),
  });
  let put = 0;
  const rawPut = (pk: string, base: number) =>
    dynamo.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: tailItem(pk, base, count, data, now),
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  const add = async (pk: string) => {
    const out = await dynamo.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: s(pk), sk: s('HEAD') },
        UpdateExpression: 'ADD nextOffset :n',
        ExpressionAttributeValues: { ':n': n(count) },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Number(out.Attributes!.nextOffset!.N) - count;
  };
  const forms: Record<string, () => Promise<unknown>> = {
    'raw (ADD + Put)': async () => rawPut('RAW', await add('RAW')),
    'raw ADD alone': () => add('ADD'),
    'raw Put alone': () => rawPut('PUT', put++),
    'store: data Put': () =>
      store.writeData({ ref: { ...ref, partition: 1 }, items: [{ token: randomBytes(6).toString('base64url'), item: storeItem() }] }),
    'store: numbering (+ index step)': async () => {
      const outcome = await store.numberData({
        ref,
        ranges: [{ token: randomBytes(6).toString('base64url'), count }],
        bytes: data.byteLength,
        now: Date.now(),
        fence: 0,
      });
      if (outcome.ok && outcome.numbered % INDEX_EVERY === 0) {
        await store.indexPending(ref, outcome.base, outcome.base + count - 1, Date.now(), outcome.pending);
      }
    },
    'engine (write-first)': () => engine.appender.appendToPartition('parts', 0, { records: inputs }),
  };
  const names = Object.keys(forms);
  for (const name of names) for (let i = 0; i < WARM_UP; i++) await forms[name]!();
  const samples = await cpuRounds({
    names,
    rounds,
    units: appends,
    meter: new ResourceMeter(),
    async run(name) {
      for (let i = 0; i < appends; i++) await forms[name]!();
    },
  });
  console.log(`${shape.name} records, ${rounds} rounds of ${appends} appends per form, medians (the forms in another order each round)`);
  console.log('| form | writer CPU ms per append |');
  console.log('| --- | ---: |');
  for (const [name, s] of samples) console.log(`| ${name} | ${medianOf(s, 'writer').toFixed(3)} |`);
} finally {
  await dynamoLocal.stop();
}
