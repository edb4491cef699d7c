/**
 * Does DynamoDB Local keep every write it acknowledged when it is stopped under writes?
 * (docs/reliability.md, "DynamoDB Local answers before it commits".) Each round starts
 * DynamoDB Local on one data directory, lets `writers` clients advance one counter item
 * each by conditional TransactWriteItems (the shape of an append's commit), stops the
 * Java process with `signal` while they write, starts it again on the same data and
 * counts the acknowledged writes that are not there. `load` busy processes make the
 * machine as loaded as a test run makes it. With `--read-back` a write counts only once a
 * consistent read has returned it: DynamoDB Local serves reads on the same queue as its
 * commits, so such a write is on disk.
 *
 *     writer w:  TWI { head w: n = k+1 IF n = k ; put B#k+1 } ── answered ──▶ acked[w] = k+1
 *     round:     start ─ writers ─ 1–2.5 s ─ signal ─ exit ─ start again ─ stored n < acked[w]? lost
 *
 * It is a measurement, not a test: a loss shows once in tens of rounds.
 *
 * @example
 * npx tsx test/support/dynamodb-local-durability.ts --signal SIGTERM --rounds 20 --load 2
 * npx tsx test/support/dynamodb-local-durability.ts --signal SIGKILL --rounds 20 --read-back
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { GetItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import { ensureTable, isProcessAlive, localDynamoClient, startDynamoDbLocal } from '../../local/emulators.js';

const TABLE = 'durability';
const CLIENTS = 3;

const { values } = parseArgs({
  options: {
    signal: { type: 'string', default: 'SIGTERM' },
    rounds: { type: 'string', default: '20' },
    writers: { type: 'string', default: '24' },
    load: { type: 'string', default: '0' },
    'read-back': { type: 'boolean', default: false },
  },
});
const signal = values.signal as NodeJS.Signals;
if (signal !== 'SIGTERM' && signal !== 'SIGKILL') throw new Error(`--signal must be SIGTERM or SIGKILL; got ${signal}`);
const rounds = Number(values.rounds);
const writers = Number(values.writers);
const load = Number(values.load);
/** Counts a write as acknowledged only once a consistent read has returned it (after its commit, if reads queue behind it). */
const readBack = values['read-back'];

const headKey = (w: number) => ({ pk: { S: `w${w}` }, sk: { S: 'HEAD' } });
const advance = (w: number, next: number) =>
  new TransactWriteItemsCommand({
    TransactItems: [
      {
        Update: {
          TableName: TABLE,
          Key: headKey(w),
          UpdateExpression: 'SET n = :next',
          ConditionExpression: 'attribute_not_exists(n) OR n = :expected',
          ExpressionAttributeValues: { ':expected': { N: String(next - 1) }, ':next': { N: String(next) } },
        },
      },
      {
        Put: {
          TableName: TABLE,
          Item: { pk: { S: `w${w}` }, sk: { S: `B#${String(next).padStart(20, '0')}` }, data: { S: 'x'.repeat(300) } },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
    ],
  });

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'strata-ddb-durability-'));
const busy: ChildProcess[] = Array.from({ length: load }, () => spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' }));
const acked = new Array<number>(writers).fill(0);
let lost = 0;
let roundsWithLoss = 0;
try {
  for (let round = 0; round < rounds; round++) {
    const dynamo = await startDynamoDbLocal({ dataDir });
    const clients = Array.from({ length: CLIENTS }, () => localDynamoClient(dynamo.endpoint));
    await ensureTable(clients[0]!, TABLE);
    let stopping = false;
    const writing = Array.from({ length: writers }, async (_, w) => {
      while (!stopping) {
        try {
          const client = clients[w % CLIENTS]!;
          await client.send(advance(w, acked[w]! + 1));
          if (readBack) await client.send(new GetItemCommand({ TableName: TABLE, Key: headKey(w), ConsistentRead: true }));
          acked[w]! += 1;
        } catch {
          return; // the process is going: this writer's last answer is in acked[w]
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000 + Math.random() * 1_500));
    const signalled = Date.now();
    process.kill(dynamo.pid, signal);
    while (isProcessAlive(dynamo.pid)) await new Promise((resolve) => setTimeout(resolve, 5));
    const exitMs = Date.now() - signalled;
    stopping = true;
    await Promise.allSettled(writing);
    await dynamo.stop();
    for (const c of clients) c.destroy();

    const again = await startDynamoDbLocal({ dataDir });
    const reader = localDynamoClient(again.endpoint);
    let lostNow = 0;
    for (let w = 0; w < writers; w++) {
      const out = await reader.send(new GetItemCommand({ TableName: TABLE, Key: headKey(w), ConsistentRead: true }));
      const stored = Number(out.Item?.n?.N ?? 0);
      if (stored < acked[w]!) lostNow += acked[w]! - stored;
      acked[w] = stored;
    }
    reader.destroy();
    await again.stop();
    lost += lostNow;
    if (lostNow > 0) roundsWithLoss += 1;
    console.log(`round ${round + 1}: exited ${exitMs} ms after ${signal}; acknowledged writes lost: ${lostNow}`);
  }
} finally {
  for (const b of busy) b.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
}
console.log(
  `${signal}, ${writers} writers, ${load} busy processes${readBack ? ', each write read back' : ''}: ${lost} acknowledged writes lost in ${roundsWithLoss} of ${rounds} rounds`,
);
process.exit(0);
