/**
 * Builds the engine from the function environment: AWS clients (endpoints overridable
 * for the local stack and LocalStack; traced by X-Ray in Lambda, tracing.ts) and the
 * DynamoDB/S3 adapters.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import { type EngineOptions, LogEngine } from '../../lib/engine.js';
import { objectGraceMs } from '../../lib/maintenance/maintenance.js';
import type { FunctionEnv } from './env.js';
import { traced } from './tracing.js';

export function lambdaClient(env: FunctionEnv): LambdaClient {
  return traced(new LambdaClient(env.lambdaEndpoint ? { endpoint: env.lambdaEndpoint } : {}));
}

/**
 * A hung request must not hold a partition's group-commit queue until the Lambda times
 * out: each request gives up well inside the append deadline and is retried.
 */
const REQUEST_HANDLER = { connectionTimeout: 1_000, requestTimeout: 5_000 };

/** A DynamoDB client for the function's table (the endpoint overridable). */
export function dynamoClient(env: FunctionEnv): DynamoDBClient {
  return traced(
    new DynamoDBClient({
      requestHandler: REQUEST_HANDLER,
      ...(env.dynamoEndpoint ? { endpoint: env.dynamoEndpoint } : {}),
    }),
  );
}

export function createEngine(env: FunctionEnv, extra: Partial<EngineOptions> = {}): LogEngine {
  const dynamo = dynamoClient(env);
  const s3 = traced(
    new S3Client({
      requestHandler: REQUEST_HANDLER,
      // An emulator has no CreateSession: S3 Express session auth only against AWS.
      ...(env.s3Endpoint ? { endpoint: env.s3Endpoint, forcePathStyle: true, disableS3ExpressSessionAuth: true } : {}),
    }),
  );
  // One client for both buckets: for a directory bucket's name it opens and renews the
  // S3 Express sessions (CreateSession) itself.
  const staging = env.stagingBucketName
    ? { objects: new S3ObjectStore(s3, env.stagingBucketName), ...(env.stagingWrites === false ? { writes: false } : {}) }
    : undefined;
  return new LogEngine({
    store: new DynamoLogStore(dynamo, env.tableName, env.tailTtlMs === undefined ? {} : { tailTtlMs: env.tailTtlMs }),
    objects: new S3ObjectStore(s3, env.bucketName),
    ...(staging ? { staging } : {}),
    ...(env.appendDeadlineMs ? { appendDeadlineMs: env.appendDeadlineMs } : {}),
    ...(env.topicDefaults ? { topicDefaults: env.topicDefaults } : {}),
    ...(env.sequencing ? { sequencing: env.sequencing } : {}),
    ...(env.recoveryWindowMs ? { maintenance: { graceMs: objectGraceMs(env.recoveryWindowMs) } } : {}),
    ...extra,
  });
}
