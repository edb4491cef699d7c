/**
 * Starts one DynamoDB Local (in memory) and one s3rver for the whole test run; test
 * files reach them through `inject('dynamoEndpoint')` / `inject('s3Endpoint')` and
 * isolate themselves with fresh tables and buckets (see ./aws.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { checkJava, startDynamoDbLocal, startS3rver } from '../../local/emulators.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoEndpoint: string;
    s3Endpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  await checkJava();
  const s3Directory = await mkdtemp(path.join(os.tmpdir(), 'strata-test-s3-'));
  const [dynamo, s3] = await Promise.allSettled([startDynamoDbLocal({}), startS3rver({ directory: s3Directory })]);
  const teardown = async () => {
    await Promise.all([
      dynamo.status === 'fulfilled' ? dynamo.value.stop() : undefined,
      s3.status === 'fulfilled' ? s3.value.stop() : undefined,
    ]);
    await rm(s3Directory, { recursive: true, force: true });
  };
  if (dynamo.status === 'rejected' || s3.status === 'rejected') {
    // Don't leave the emulator that did start running when the other one failed.
    await teardown();
    throw dynamo.status === 'rejected' ? dynamo.reason : (s3 as PromiseRejectedResult).reason;
  }
  project.provide('dynamoEndpoint', dynamo.value.endpoint);
  project.provide('s3Endpoint', s3.value.endpoint);
  return teardown;
}
