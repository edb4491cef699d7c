/**
 * DynamoDB Local and s3rver started for one suite, apart from the shared stack: for the
 * suites that build engines of their own on emulators nothing else touches (compaction,
 * staging). `stop` destroys the clients it handed out, stops both emulators and removes
 * s3rver's directory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { checkJava, localDynamoClient, localS3Client, startDynamoDbLocal, startS3rver } from '../../local/emulators.js';

export interface OwnEmulators {
  dynamo: DynamoDBClient;
  /** A new client on s3rver (one per latency model, say); stopped with the emulators. */
  s3Client(): S3Client;
  stop(): Promise<void>;
}

/** Starts both emulators; `name` tells s3rver's temporary directory apart. */
export async function startOwnEmulators(name: string): Promise<OwnEmulators> {
  await checkJava();
  const dir = await mkdtemp(join(tmpdir(), `strata-bench-${name}-`));
  const [dynamoLocal, s3rver] = await Promise.all([startDynamoDbLocal(), startS3rver({ directory: dir })]);
  const dynamo = localDynamoClient(dynamoLocal.endpoint);
  const s3Clients: S3Client[] = [];
  return {
    dynamo,
    s3Client() {
      const client = localS3Client(s3rver.endpoint);
      s3Clients.push(client);
      return client;
    },
    async stop() {
      dynamo.destroy();
      for (const client of s3Clients) client.destroy();
      await s3rver.stop();
      await dynamoLocal.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
