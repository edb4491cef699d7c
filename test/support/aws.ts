/**
 * Clients and isolated resources for tests that talk to the emulators started by the
 * global setup. Every test file shares one DynamoDB Local and one s3rver, so tests
 * isolate themselves with uniquely named tables and buckets instead of cleaning up.
 */
import { randomBytes } from 'node:crypto';
import { type AttributeValue, type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { partitionPk } from '../../lib/aws/table-keys.js';
import type { PartitionRef } from '../../lib/ports/model.js';
import { ensureBucket, ensureTable, localDynamoClient, localS3Client } from '../../local/emulators.js';

const DEFAULT_TABLE_PREFIX = 'strata-test';
const DEFAULT_BUCKET_PREFIX = 'strata-test';
/** 8 random bytes: collisions between tests are out of the question. */
const RANDOM_SUFFIX_BYTES = 8;
/** S3 bucket names are 3–63 characters. */
const MAX_BUCKET_NAME_LENGTH = 63;

export interface TestClients {
  dynamo: DynamoDBClient;
  s3: S3Client;
}

let clients: TestClients | undefined;

/** Clients for the emulators; one pair per test file, since files run in separate workers. */
export function testClients(): TestClients {
  clients ??= {
    dynamo: localDynamoClient(inject('dynamoEndpoint')),
    s3: localS3Client(inject('s3Endpoint')),
  };
  return clients;
}

function randomSuffix(): string {
  return randomBytes(RANDOM_SUFFIX_BYTES).toString('hex');
}

/** Creates a table shaped like Strata's (with TTL enabled) under a fresh name. */
export async function freshTable(prefix: string = DEFAULT_TABLE_PREFIX): Promise<string> {
  const tableName = `${prefix}-${randomSuffix()}`;
  await ensureTable(testClients().dynamo, tableName);
  return tableName;
}

/** Creates an empty bucket under a fresh name (lowercase, at most 63 characters). */
export async function freshBucket(prefix: string = DEFAULT_BUCKET_PREFIX): Promise<string> {
  const bucket = `${prefix.toLowerCase()}-${randomSuffix()}`;
  if (bucket.length > MAX_BUCKET_NAME_LENGTH) throw new Error(`Bucket name too long: ${bucket}`);
  await ensureBucket(testClients().s3, bucket);
  return bucket;
}

/** Every item of a partition as stored (one Query page: a test partition's few items), read consistently. */
export async function partitionRawItems(tableName: string, ref: PartitionRef): Promise<Record<string, AttributeValue>[]> {
  const out = await testClients().dynamo.send(
    new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: partitionPk(ref) } },
      ConsistentRead: true,
    }),
  );
  return out.Items ?? [];
}
