/**
 * DynamoDB Local's CPU per call, by the form of a head update: where a write-first append
 * spends the emulator's CPU beside the raw primitive's (the undilated contention suite is
 * CPU-bound from K=4, and DynamoDB Local takes about a third of the machine there). One
 * process, `concurrency` requests in flight on one head item, no latency model. A probe,
 * not a suite: it prints.
 *
 *     npx tsx bench/probes/numbering-cpu.ts [calls per form] [concurrency] [rounds]
 *
 * Forms (the low-level client for all, so that the writer's SDK work is alike):
 * - `add`: the raw primitive's reservation, `ADD nextOffset :n`, UPDATED_NEW;
 * - `number`: the engine's numbering as lib/aws/dynamo-partition-store.ts sends it (eight
 *   attributes set, the pending entry, its condition), ALL_NEW;
 * - `number-updated-new`: the same, UPDATED_NEW;
 * - `number-lean`: only what changes at each numbering (nextOffset, committedOffset,
 *   numbered, tailBytes, lastAppendAt, the entry) under the same condition, UPDATED_NEW;
 * - `put`: a 1 KiB data item under `attribute_not_exists(pk)` (every append makes one).
 * A numbering head starts over every INDEX_EVERY calls (a fresh item), as an index step
 * empties it, so its pending map holds 0 to INDEX_EVERY entries as in the engine.
 */
import { randomBytes } from 'node:crypto';
import { type AttributeValue, type DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { INDEX_EVERY } from '../../lib/sequencing/write-first-sequencer.js';
import { ensureTable, localDynamoClient, startDynamoDbLocal } from '../../local/emulators.js';
import { ResourceMeter } from '../harness/resources.js';
import { summarize } from '../harness/stats.js';

const calls = Number(process.argv[2] ?? 3000);
const concurrency = Number(process.argv[3] ?? 8);
const rounds = Number(process.argv[4] ?? 3);
const TABLE = 'numbering-cpu';
const n = (v: number): AttributeValue => ({ N: String(v) });
const s = (v: string): AttributeValue => ({ S: v });

type Form = (dynamo: DynamoDBClient, i: number) => Promise<unknown>;

const CONDITION =
  'attribute_not_exists(pending.#t0) AND (attribute_not_exists(committedOffset) OR committedOffset = nextOffset) AND attribute_not_exists(deletedAt) AND (attribute_not_exists(fence) OR fence <= :fence)';

function numbering(update: string, returnValues: 'ALL_NEW' | 'UPDATED_NEW', values: Record<string, AttributeValue>): Form {
  return (dynamo, i) =>
    dynamo.send(
      new UpdateItemCommand({
        TableName: TABLE,
        // A fresh head every INDEX_EVERY numberings: the index step's effect on its map.
        Key: { pk: s(`N#${returnValues}#${update.length}#${Math.floor(i / INDEX_EVERY)}`), sk: s('HEAD') },
        UpdateExpression: update,
        ConditionExpression: CONDITION,
        ExpressionAttributeNames: { '#t0': randomBytes(6).toString('base64url') },
        ExpressionAttributeValues: { ...values, ':fence': n(0) },
        ReturnValues: returnValues,
      }),
    );
}

const FULL =
  'SET nextOffset = if_not_exists(nextOffset, :zero) + :total, committedOffset = if_not_exists(nextOffset, :zero) + :total, ' +
  'numbered = if_not_exists(numbered, :zero) + :one, tailBytes = if_not_exists(tailBytes, :zero) + :bytes, lastAppendAt = :now, ' +
  'logStartOffset = if_not_exists(logStartOffset, :zero), flushedOffset = if_not_exists(flushedOffset, :zero), pending.#t0 = if_not_exists(nextOffset, :zero)';
const FULL_VALUES = { ':total': n(1), ':bytes': n(1270), ':now': n(Date.now()), ':zero': n(0), ':one': n(1) };
const LEAN =
  'SET nextOffset = nextOffset + :total, committedOffset = nextOffset + :total, numbered = numbered + :one, ' +
  'tailBytes = tailBytes + :bytes, lastAppendAt = :now, pending.#t0 = nextOffset';
const LEAN_VALUES = { ':total': n(1), ':bytes': n(1270), ':now': n(Date.now()), ':one': n(1) };
const DATA = randomBytes(1024);

const FORMS: Record<string, Form> = {
  add: (dynamo) =>
    dynamo.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: s('RAW'), sk: s('HEAD') },
        UpdateExpression: 'ADD nextOffset :n',
        ExpressionAttributeValues: { ':n': n(1) },
        ReturnValues: 'UPDATED_NEW',
      }),
    ),
  number: numbering(FULL, 'ALL_NEW', FULL_VALUES),
  'number-updated-new': numbering(FULL, 'UPDATED_NEW', FULL_VALUES),
  'number-lean': numbering(LEAN, 'UPDATED_NEW', LEAN_VALUES),
  put: (dynamo, i) =>
    dynamo.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: {
          pk: s('DATA'),
          sk: s(`D#${i}#${randomBytes(6).toString('base64url')}`),
          data: { B: DATA },
          recordCount: n(1),
          appendedAt: n(Date.now()),
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    ),
};

const dynamoLocal = await startDynamoDbLocal();
try {
  const dynamo = localDynamoClient(dynamoLocal.endpoint);
  await ensureTable(dynamo, TABLE);
  const meter = new ResourceMeter();
  // A lean head needs its counters before the first numbering (startNumbering's job in a design that used it).
  const leanSeed = async (i: number) => {
    if (i % INDEX_EVERY !== 0) return;
    await dynamo.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: s(`N#UPDATED_NEW#${LEAN.length}#${Math.floor(i / INDEX_EVERY)}`), sk: s('HEAD') },
        UpdateExpression: 'SET nextOffset = :zero, numbered = :zero, tailBytes = :zero, pending = :empty',
        ExpressionAttributeValues: { ':zero': n(0), ':empty': { M: {} } },
      }),
    );
  };
  const run = async (name: string, total: number, offset: number) => {
    const form = FORMS[name]!;
    let next = offset;
    const end = offset + total;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < end) {
          const i = next++;
          if (name === 'number-lean') await leanSeed(i);
          await form(dynamo, i);
        }
      }),
    );
  };
  // Warm-up; the lean form's seeds (one call in INDEX_EVERY) count in its figures.
  for (const name of Object.keys(FORMS)) await run(name, 500, 1_000_000);
  const samples = new Map(Object.keys(FORMS).map((name) => [name, { writer: [] as number[], dynamo: [] as number[] }]));
  const names = Object.keys(FORMS);
  for (let round = 0; round < rounds; round++) {
    for (let j = 0; j < names.length; j++) {
      const name = names[(round + j) % names.length]!;
      const cpu = process.cpuUsage();
      const stop = meter.start();
      const started = performance.now();
      await run(name, calls, round * calls * 10);
      const wall = performance.now() - started;
      const used = process.cpuUsage(cpu);
      samples.get(name)!.writer.push((used.user + used.system) / 1000 / calls);
      samples.get(name)!.dynamo.push((stop().dynamoCores * wall) / calls);
    }
  }
  console.log(`${calls} calls per form and round, ${concurrency} in flight, medians of ${rounds} rounds`);
  console.log('| form | DynamoDB Local CPU ms per call | writer CPU ms per call |');
  console.log('| --- | ---: | ---: |');
  for (const [name, s] of samples) {
    console.log(`| ${name} | ${summarize(s.dynamo).p50.toFixed(3)} | ${summarize(s.writer).p50.toFixed(3)} |`);
  }
} finally {
  await dynamoLocal.stop();
}
