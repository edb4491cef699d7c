/**
 * A stand-in for DynamoDB point-in-time recovery on DynamoDB Local, which has none: the
 * table's items copied into a fresh table, as a restore creates a new table with the
 * items the source held at the restore point.
 *
 * Sound only when nothing writes to the source while it is copied: a Scan is not a
 * snapshot, it reads pages one after another. Tests call it between steps, with every
 * engine idle, so the copy is exactly the table at that moment. (A copy of DynamoDB
 * Local's data directory would also do, but the shared emulator keeps every test's tables
 * in one in-memory or file database; a per-table copy keeps tests apart.)
 */
import { type AttributeValue, BatchWriteItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { freshTable, testClients } from './aws.js';

/** BatchWriteItem takes at most 25 puts. */
const BATCH_WRITE_LIMIT = 25;

/** Copies every item of `source` into a new table; returns its name. */
export async function snapshotTable(source: string): Promise<string> {
  const dynamo = testClients().dynamo;
  const target = await freshTable('strata-restored');
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamo.send(new ScanCommand({ TableName: source, ConsistentRead: true, ExclusiveStartKey: startKey }));
    const items = page.Items ?? [];
    for (let i = 0; i < items.length; i += BATCH_WRITE_LIMIT) {
      let requests = items.slice(i, i + BATCH_WRITE_LIMIT).map((Item) => ({ PutRequest: { Item } }));
      while (requests.length > 0) {
        const out = await dynamo.send(new BatchWriteItemCommand({ RequestItems: { [target]: requests } }));
        requests = (out.UnprocessedItems?.[target] ?? []).map((r) => ({ PutRequest: { Item: r.PutRequest!.Item! } }));
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return target;
}

/** The number of items in a table (a Scan's count), to check a copy. */
export async function countItems(table: string): Promise<number> {
  let count = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await testClients().dynamo.send(new ScanCommand({ TableName: table, Select: 'COUNT', ExclusiveStartKey: startKey }));
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}
