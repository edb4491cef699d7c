/**
 * The write-first trial mode (bench/suites/contention-modes.ts, `head-index-raw`; docs/design.md,
 * "Write first, number after") against DynamoDB Local: concurrent appenders number their
 * data items on the head, every 16th indexes the pending entries, and afterwards the head's
 * pending entries and the index items together give each data item one range, the ranges
 * covering [0, nextOffset) exactly once. This holds only if DynamoDB evaluates
 * `pending.#t = nextOffset` with the value before `nextOffset = nextOffset + :n`.
 */
import { QueryCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { BATCH_SHAPE, contentionMode, type ModeScope, rawPk, SINGLE_RECORD_SHAPE } from '../../bench/suites/contention-modes.js';
import { freshTable, testClients } from '../support/aws.js';

const APPENDERS = 4;
const APPENDS_EACH = 15;

async function partitionItems(scope: ModeScope) {
  const { dynamo } = testClients();
  const items = [];
  let start: Record<string, never> | undefined;
  do {
    const page = await dynamo.send(
      new QueryCommand({
        TableName: scope.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: rawPk(scope) } },
        ConsistentRead: true,
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey as typeof start;
  } while (start);
  return items;
}

describe('head-index-raw (the write-first trial)', () => {
  for (const shape of [SINGLE_RECORD_SHAPE, BATCH_SHAPE]) {
    it(`numbers every data item once, contiguously, with ${shape.recordsPerRequest}-record requests from ${APPENDERS} appenders`, async () => {
      const { dynamo } = testClients();
      const scope: ModeScope = { tableName: await freshTable(), scope: `trial-${shape.name}`, shape, deadlineMs: 10_000 };
      const mode = contentionMode('head-index-raw');
      await mode.prepare?.(dynamo, scope);
      const appenders = await Promise.all(Array.from({ length: APPENDERS }, () => mode.open(dynamo, scope)));
      await Promise.all(
        appenders.map(async (a) => {
          for (let i = 0; i < APPENDS_EACH; i++) await a.append();
        }),
      );

      const items = await partitionItems(scope);
      const head = items.find((i) => i.sk?.S === 'HEAD')!;
      const total = APPENDERS * APPENDS_EACH * shape.recordsPerRequest;
      expect(Number(head.nextOffset?.N)).toBe(total);
      expect(await mode.storedRecords(dynamo, scope)).toBe(total);

      const counts = new Map(items.filter((i) => i.sk?.S?.startsWith('D#')).map((i) => [i.sk!.S!.slice(2), Number(i.recordCount?.N)]));
      expect(counts.size).toBe(APPENDERS * APPENDS_EACH);
      const bases = new Map<string, number>();
      const indexItems = items.filter((i) => i.sk?.S?.startsWith('I#'));
      expect(indexItems.length).toBeGreaterThan(0);
      for (const source of [head.pending?.M ?? {}, ...indexItems.map((i) => i.ranges?.M ?? {})])
        for (const [token, base] of Object.entries(source)) {
          const b = Number(base.N);
          // An entry two index items both took (two index steps overlapped) says the same.
          if (bases.has(token)) expect(bases.get(token)).toBe(b);
          bases.set(token, b);
        }
      expect([...bases.keys()].sort()).toEqual([...counts.keys()].sort());
      const ranges = [...bases].map(([token, base]) => ({ base, count: counts.get(token)! })).sort((x, y) => x.base - y.base);
      let next = 0;
      for (const r of ranges) {
        expect(r.base).toBe(next);
        next = r.base + r.count;
      }
      expect(next).toBe(total);
    });
  }
});
