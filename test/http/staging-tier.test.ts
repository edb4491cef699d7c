/**
 * The staging tier through the HTTP API of the local stack (`staging: {...}`, a second
 * s3rver bucket standing in for the S3 Express One Zone directory bucket): new topics get
 * the tier's stageBytes, batches above it are staged there and read back, and the flush
 * moves them into a segment in the main bucket (the staged objects are collected a grace
 * period later).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { EXPRESS_STAGE_BYTES } from '../../lib/core/constants.js';
import type { LocalStack } from '../../local/stack.js';
import { freshBucket, testClients } from '../support/aws.js';
import { type ApiClient, apiClient, startTestStack } from '../support/local-stack.js';

let stack: LocalStack;
let api: ApiClient;
let staging: S3ObjectStore;
let main: S3ObjectStore;

beforeAll(async () => {
  const stagingBucket = await freshBucket('strata-staging');
  stack = await startTestStack({ staging: { bucketName: stagingBucket } });
  api = apiClient(stack.url);
  staging = new S3ObjectStore(testClients().s3, stagingBucket);
  main = new S3ObjectStore(testClients().s3, stack.bucketName);
});
afterAll(async () => stack?.stop());

const kib = (tag: string, i: number) => `${tag}-${i}-`.padEnd(1024, 'v');

describe('the staging tier through the HTTP API', () => {
  it('gives new topics the tier stageBytes, stages batches above it in the staging bucket, reads them back and flushes them to a segment', async () => {
    expect(stack.stagingBucketName).toBeDefined();
    const created = await api('POST', '/v1/topics', { name: 'tiered', partitions: 1 });
    expect(created.status).toBe(201);
    expect(created.body.config.stageBytes).toBe(EXPRESS_STAGE_BYTES);

    const small = await api('POST', '/v1/topics/tiered/partitions/0/records', { records: [{ value: 'inline' }] });
    expect(small.status).toBe(200);
    expect(await staging.list('topics/tiered/')).toEqual([]);

    const values = Array.from({ length: 16 }, (_, i) => kib('staged', i));
    const big = await api('POST', '/v1/topics/tiered/partitions/0/records', { records: values.map((value) => ({ value })) });
    expect(big.status).toBe(200);
    expect(big.body.partitions[0]).toMatchObject({ baseOffset: 1, lastOffset: 16 });
    expect((await staging.list('topics/tiered/')).map((o) => o.key)).toEqual([expect.stringMatching(/\/staged\/.*\.batch$/)]);
    expect(await main.list('topics/tiered/')).toEqual([]);

    const sent = ['inline', ...values];
    const read = await api('GET', '/v1/topics/tiered/partitions/0/records?offset=0&maxRecords=100');
    expect(read.status).toBe(200);
    expect(read.body.records.map((r: { offset: number; value: string }) => [r.offset, r.value])).toEqual(sent.map((v, i) => [i, v]));

    const meta = await stack.engine.topics.get('tiered');
    const stagedKeys = (await staging.list('topics/tiered/')).map((o) => o.key);
    await stack.engine.flusher!.flushPartition(meta, 0, { force: true });
    // The staged object stays for the grace period (a restored table may point at it), named by a garbage item.
    expect((await staging.list('topics/tiered/')).map((o) => o.key)).toEqual(stagedKeys);
    const garbage = await new DynamoLogStore(testClients().dynamo, stack.tableName).listGarbage({
      topic: 'tiered',
      topicId: meta.topicId,
      partition: 0,
    });
    expect(garbage.map((g) => [g.keys, g.store])).toEqual([[stagedKeys, 'staging']]);
    expect((await main.list('topics/tiered/')).map((o) => o.key)).toEqual([expect.stringMatching(/\.seg$/)]);
    const after = await api('GET', '/v1/topics/tiered/partitions/0/records?offset=0&maxRecords=100');
    expect(after.body.records.map((r: { value: string }) => r.value)).toEqual(sent);
  });

  it('keeps a topic own stageBytes: a topic created with stageBytes 350 KiB keeps the same batch inline', async () => {
    await api('POST', '/v1/topics', { name: 'inline', partitions: 1, config: { stageBytes: 350 * 1024 } });
    const values = Array.from({ length: 16 }, (_, i) => kib('inline', i));
    expect((await api('POST', '/v1/topics/inline/partitions/0/records', { records: values.map((value) => ({ value })) })).status).toBe(200);
    expect(await staging.list('topics/inline/')).toEqual([]);
    const read = await api('GET', '/v1/topics/inline/partitions/0/records?offset=0&maxRecords=100');
    expect(read.body.records.map((r: { value: string }) => r.value)).toEqual(values);
  });
});
