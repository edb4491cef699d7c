/**
 * Proves the emulators behave as the engine's design needs: DynamoDB Local's
 * transaction semantics (old item on condition failure, idempotency tokens) and the
 * S3 calls the segment store makes against s3rver.
 */
import {
  DescribeTimeToLiveCommand,
  GetItemCommand,
  TransactionCanceledException,
  type TransactWriteItem,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_DEFINITION } from '../../infra/table-definition.js';
import { freshBucket, freshTable, testClients } from '../support/aws.js';

describe('DynamoDB Local', () => {
  const { dynamo } = testClients();
  let table: string;

  beforeAll(async () => {
    table = await freshTable();
  });

  const key = (pk: string, sk: string) => ({ pk: { S: pk }, sk: { S: sk } });
  const getItem = async (pk: string, sk: string) =>
    (await dynamo.send(new GetItemCommand({ TableName: table, Key: key(pk, sk), ConsistentRead: true }))).Item;

  it('creates the table with TTL on the ttl attribute', async () => {
    const { TimeToLiveDescription } = await dynamo.send(new DescribeTimeToLiveCommand({ TableName: table }));
    expect(TimeToLiveDescription).toEqual({
      TimeToLiveStatus: 'ENABLED',
      AttributeName: TABLE_DEFINITION.timeToLiveAttribute,
    });
  });

  it('returns the old item in CancellationReasons when a condition fails with ALL_OLD', async () => {
    const oldItem = { ...key('head', 'p0'), nextOffset: { N: '42' }, epoch: { S: 'e1' } };
    await dynamo.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: table, Item: oldItem } }] }));

    const transaction = new TransactWriteItemsCommand({
      TransactItems: [
        {
          Put: {
            TableName: table,
            Item: { ...key('batch', '00000000000000000042'), data: { S: 'payload' } },
          },
        },
        {
          Update: {
            TableName: table,
            Key: key('head', 'p0'),
            UpdateExpression: 'SET nextOffset = :next',
            ConditionExpression: 'nextOffset = :expected',
            ExpressionAttributeValues: { ':next': { N: '43' }, ':expected': { N: '41' } },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ],
    });
    const error = await dynamo.send(transaction).then(
      () => undefined,
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(TransactionCanceledException);
    const reasons = (error as TransactionCanceledException).CancellationReasons;
    expect(reasons).toHaveLength(2);
    expect(reasons?.[0]?.Code).toBe('None');
    expect(reasons?.[1]?.Code).toBe('ConditionalCheckFailed');
    expect(reasons?.[1]?.Item).toEqual(oldItem);
    expect(await getItem('batch', '00000000000000000042')).toBeUndefined();
    expect(await getItem('head', 'p0')).toEqual(oldItem);
  });

  it('applies a transaction retried with the same ClientRequestToken only once', async () => {
    const increment = (amount: string): TransactWriteItem[] => [
      {
        Update: {
          TableName: table,
          Key: key('counter', 'c0'),
          UpdateExpression: 'ADD #counter :amount',
          ExpressionAttributeNames: { '#counter': 'counter' },
          ExpressionAttributeValues: { ':amount': { N: amount } },
        },
      },
    ];
    const token = `token-${Date.now()}`;

    await dynamo.send(new TransactWriteItemsCommand({ ClientRequestToken: token, TransactItems: increment('1') }));
    await dynamo.send(new TransactWriteItemsCommand({ ClientRequestToken: token, TransactItems: increment('1') }));
    expect((await getItem('counter', 'c0'))?.counter).toEqual({ N: '1' });

    // The same token with different parameters is rejected rather than silently ignored.
    await expect(
      dynamo.send(new TransactWriteItemsCommand({ ClientRequestToken: token, TransactItems: increment('5') })),
    ).rejects.toMatchObject({ name: 'IdempotentParameterMismatchException' });

    // A new token applies again: the ADD above was deduplicated, not a no-op.
    await dynamo.send(new TransactWriteItemsCommand({ ClientRequestToken: `${token}-2`, TransactItems: increment('1') }));
    expect((await getItem('counter', 'c0'))?.counter).toEqual({ N: '2' });

    // A late retry of the first transaction, after another write, still succeeds without applying.
    await dynamo.send(new TransactWriteItemsCommand({ ClientRequestToken: token, TransactItems: increment('1') }));
    expect((await getItem('counter', 'c0'))?.counter).toEqual({ N: '2' });
  });
});

describe('s3rver', () => {
  const { s3 } = testClients();
  let bucket: string;

  beforeAll(async () => {
    bucket = await freshBucket();
  });

  it('puts, reads a byte range, lists and deletes objects', async () => {
    const body = Buffer.from('0123456789');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'segments/p0/a', Body: body }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'segments/p0/b', Body: new Uint8Array([1, 2, 3]) }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'other/c', Body: 'x' }));

    const ranged = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'segments/p0/a', Range: 'bytes=2-5' }));
    expect(ranged.ContentRange).toBe('bytes 2-5/10');
    expect(Buffer.from(await ranged.Body!.transformToByteArray()).toString()).toBe('2345');

    const whole = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'segments/p0/b' }));
    expect([...(await whole.Body!.transformToByteArray())]).toEqual([1, 2, 3]);

    const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'segments/' }));
    expect(listed.Contents?.map((object) => [object.Key, object.Size])).toEqual([
      ['segments/p0/a', 10],
      ['segments/p0/b', 3],
    ]);

    const deleted = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: { Objects: [{ Key: 'segments/p0/a' }, { Key: 'segments/p0/b' }] },
      }),
    );
    expect(deleted.Errors ?? []).toEqual([]);
    expect(deleted.Deleted?.map((object) => object.Key).sort()).toEqual(['segments/p0/a', 'segments/p0/b']);

    const remaining = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(remaining.Contents?.map((object) => object.Key)).toEqual(['other/c']);
  });

  it('reports a missing key as NoSuchKey', async () => {
    await expect(s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'missing' }))).rejects.toMatchObject({
      name: 'NoSuchKey',
    });
  });
});
