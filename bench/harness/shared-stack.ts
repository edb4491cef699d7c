/**
 * The local stack that the append, latency, shapes and segments suites share: DynamoDB
 * Local, s3rver and the HTTP API in this process, with metered stores. s3rver is started
 * here rather than by the stack so that the engine's object store can be wrapped: the S3
 * suites time the engine's storage calls and replay its GETs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { checkJava, localDynamoClient, localS3Client, startS3rver } from '../../local/emulators.js';
import { DEFAULT_BUCKET_NAME, startLocalStack } from '../../local/stack.js';
import { CommitRecorder } from '../suites/append.js';
import { CallMeter, MeteredObjectStore, meteredLogStore } from './metered-stores.js';
import type { ResourceMeter } from './resources.js';
import { resetTable } from './table.js';

type LocalStack = Awaited<ReturnType<typeof startLocalStack>>;

/** What a suite on the shared stack measures through (the append, shapes and segments suites). */
export interface StackBenchContext {
  url: string;
  dynamo: DynamoDBClient;
  tableName: string;
  meter: ResourceMeter;
  /** Drops and re-creates the table: every measurement starts empty. */
  resetTable: () => Promise<void>;
  log: (line: string) => void;
}

export interface SharedStack {
  stack: LocalStack;
  dynamo: DynamoDBClient;
  /** A client of s3rver apart from the engine's, for the raw primitives. */
  rawS3: S3Client;
  /** The engine's storage calls, timed. */
  calls: CallMeter;
  /** The engine's commits, counted. */
  commits: CommitRecorder;
  /** Drops and re-creates Strata's table. */
  emptyTable: () => Promise<void>;
  stop: () => Promise<void>;
}

export async function startSharedStack(): Promise<SharedStack> {
  await checkJava();
  const commits = new CommitRecorder();
  const s3Dir = await mkdtemp(join(tmpdir(), 'strata-bench-s3-'));
  const s3rver = await startS3rver({ directory: s3Dir });
  const calls = new CallMeter();
  const s3 = localS3Client(s3rver.endpoint);
  const rawS3 = localS3Client(s3rver.endpoint);
  const stack = await startLocalStack({
    port: 0,
    s3Endpoint: s3rver.endpoint,
    engine: { onCommit: commits.onCommit, objects: new MeteredObjectStore(new S3ObjectStore(s3, DEFAULT_BUCKET_NAME), calls) },
    wrapStore: (store) => meteredLogStore(store, calls),
  });
  const dynamo = localDynamoClient(stack.dynamoEndpoint);
  return {
    stack,
    dynamo,
    rawS3,
    calls,
    commits,
    emptyTable: () => resetTable(dynamo, stack.tableName),
    stop: async () => {
      dynamo.destroy();
      s3.destroy();
      rawS3.destroy();
      await stack.stop();
      await s3rver.stop();
      await rm(s3Dir, { recursive: true, force: true });
    },
  };
}
