/**
 * DynamoDB Local's CPU per PutItem by the order of the sort keys written under one
 * partition key: ascending keys (the raw primitive's offset-keyed tail items) against
 * random ones (write-first's data items, `D#{48 random bits}`) and time-prefixed ones. Asks
 * whether write-first's data items cost the emulator more for their random keys (they
 * did not: docs/benchmarks.md). A probe, not a suite: it prints.
 *
 *     npx tsx bench/probes/key-order-cpu.ts [puts per form and round] [rounds] [single|batch]
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ensureTable, localDynamoClient, startDynamoDbLocal } from '../../local/emulators.js';
import { cpuRounds, medianOf } from '../harness/cpu-rounds.js';
import { ResourceMeter } from '../harness/resources.js';

const puts = Number(process.argv[2] ?? 2000);
const rounds = Number(process.argv[3] ?? 5);
const bytes = process.argv[4] === 'batch' ? 100 * 1024 : 1024;
const TABLE = 'key-order-cpu';
const IN_FLIGHT = 8;
const WARM_UP = 500;

const dynamoLocal = await startDynamoDbLocal();
try {
  const dynamo = localDynamoClient(dynamoLocal.endpoint);
  await ensureTable(dynamo, TABLE);
  const meter = new ResourceMeter();
  const data = randomBytes(bytes);
  let serial = 0;
  const keys: Record<string, () => string> = {
    ascending: () => `T#${String(serial++).padStart(20, '0')}`,
    random: () => `D#${randomBytes(6).toString('base64url')}`,
    'time-prefixed': () => `D#${Date.now().toString(36)}${randomBytes(3).toString('base64url')}`,
  };
  const forms = Object.keys(keys);
  /** `n` puts of the form's keys under a partition key of its own, IN_FLIGHT at a time. */
  const run = async (form: string, n: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (next++ < n) {
          await dynamo.send(
            new PutItemCommand({
              TableName: TABLE,
              Item: { pk: { S: `P#${form}` }, sk: { S: keys[form]!() }, data: { B: data }, commitId: { S: randomUUID() } },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          );
        }
      }),
    );
  };
  for (const form of forms) await run(form, WARM_UP);
  const samples = await cpuRounds({ names: forms, rounds, units: puts, meter, run: (form) => run(form, puts) });
  console.log(`${bytes} B values, ${rounds} rounds of ${puts} puts per form, ${IN_FLIGHT} in flight`);
  console.log('| keys | DynamoDB Local CPU ms per put, median | lowest–highest round |');
  console.log('| --- | ---: | ---: |');
  for (const [form, s] of samples) {
    const dynamo = s.map((sample) => sample.dynamo);
    console.log(`| ${form} | ${medianOf(s, 'dynamo').toFixed(3)} | ${Math.min(...dynamo).toFixed(3)}–${Math.max(...dynamo).toFixed(3)} |`);
  }
} finally {
  await dynamoLocal.stop();
}
