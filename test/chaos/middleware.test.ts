/**
 * The chaos middleware (local/chaos.ts) against the real emulators: each fault kind does
 * what the chaos suite counts on, and the engine's retry rules read the errors, as the
 * AWS adapter translates them (lib/aws/errors.ts), as the service's own.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import { translate } from '../../lib/aws/errors.js';
import { isStorageError } from '../../lib/core/errors.js';
import * as retry from '../../lib/core/retry.js';
import type { PartitionRef, TailItem } from '../../lib/ports/model.js';
import { type ChaosSpec, chaosSpecFromEnv, chaosSpecSchema, installChaos } from '../../local/chaos.js';
import { localDynamoClient, localS3Client } from '../../local/emulators.js';
import { freshBucket, freshTable } from '../support/aws.js';
import { readFaultLog } from './fault-log.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Fresh clients with the middleware installed (it stays on a client for good). */
async function chaosClients(spec: Partial<ChaosSpec>) {
  const dynamo = localDynamoClient(inject('dynamoEndpoint'));
  const s3 = localS3Client(inject('s3Endpoint'));
  const dir = await mkdtemp(join(tmpdir(), 'strata-chaos-mw-'));
  dirs.push(dir);
  const logFile = join(dir, 'faults.log');
  const chaos = installChaos({ dynamo, s3 }, chaosSpecSchema.parse({ ...spec, logFile }));
  return { dynamo, s3, chaos, logFile, table: await freshTable(), bucket: await freshBucket() };
}

// The engine's rules, on what the adapters throw for an SDK error.
const isRetryable = (err: unknown) => retry.isRetryable(translate(err));
const isThrottle = (err: unknown) => retry.isThrottle(translate(err));
const mayHaveApplied = (err: unknown) => retry.mayHaveApplied(translate(err));
const sdkAttempts = (err: unknown) => {
  const translated = translate(err);
  return isStorageError(translated) ? translated.attempts : 1;
};

const item = (table: string, pk: string) => new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, sk: { S: 'x' } } });
const get = (table: string, pk: string) => new GetItemCommand({ TableName: table, Key: { pk: { S: pk }, sk: { S: 'x' } } });

describe('chaos middleware', () => {
  it('fails a call before it is made: nothing is written, and the error is retryable', async () => {
    const c = await chaosClients({ before: 1, services: ['dynamodb'] });
    const err = await c.dynamo.send(item(c.table, 'a')).catch((e: unknown) => e);
    expect(isRetryable(err)).toBe(true);
    expect(isThrottle(err)).toBe(false);
    c.chaos.enabled = false;
    expect((await c.dynamo.send(get(c.table, 'a'))).Item).toBeUndefined();
  });

  it('fails a call after it was made: the write happened, the caller sees a retryable error', async () => {
    const c = await chaosClients({ after: 1 });
    const err = await c.dynamo.send(item(c.table, 'b')).catch((e: unknown) => e);
    expect(isRetryable(err)).toBe(true);
    const s3err = await c.s3.send(new PutObjectCommand({ Bucket: c.bucket, Key: 'k', Body: 'v' })).catch((e: unknown) => e);
    expect(isRetryable(s3err)).toBe(true);
    c.chaos.enabled = false;
    expect((await c.dynamo.send(get(c.table, 'b'))).Item).toBeDefined();
    const body = await (await c.s3.send(new GetObjectCommand({ Bucket: c.bucket, Key: 'k' }))).Body!.transformToString();
    expect(body).toBe('v');
  });

  it('throttles as DynamoDB and S3 do, before the call', async () => {
    const c = await chaosClients({ throttle: 1 });
    const err = await c.dynamo.send(item(c.table, 'c')).catch((e: unknown) => e);
    expect(isThrottle(err)).toBe(true);
    const s3err = await c.s3.send(new PutObjectCommand({ Bucket: c.bucket, Key: 'k', Body: 'v' })).catch((e: unknown) => e);
    expect(isThrottle(s3err)).toBe(true);
    c.chaos.enabled = false;
    expect((await c.dynamo.send(get(c.table, 'c'))).Item).toBeUndefined();
  });

  it('adds latency and still makes the call', async () => {
    const c = await chaosClients({ latency: 1, latencyMs: [150, 150] });
    const started = Date.now();
    await c.dynamo.send(item(c.table, 'd'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    c.chaos.enabled = false;
    expect((await c.dynamo.send(get(c.table, 'd'))).Item).toBeDefined();
  });

  it("lostThenThrottled: the first attempt is applied and its answer lost, the SDK's retries are throttled", async () => {
    const c = await chaosClients({ lostThenThrottled: 1, services: ['dynamodb'] });
    const err = await c.dynamo.send(item(c.table, 'f')).catch((e: unknown) => e);
    // What the caller sees is a throttle, but not the refusal of a throttle on a single attempt.
    expect(isThrottle(err)).toBe(true);
    expect(sdkAttempts(err)).toBeGreaterThan(1);
    expect(mayHaveApplied(err)).toBe(true);
    c.chaos.enabled = false;
    expect((await c.dynamo.send(get(c.table, 'f'))).Item).toBeDefined();
    expect(c.chaos.counters.injected.dynamodb.lostThenThrottled).toBe(1);
  });

  it("injects inside the SDK's retry loop: a throttled attempt is retried by the SDK itself", async () => {
    const c = await chaosClients({ attemptThrottle: 1, limit: 1, services: ['dynamodb'] });
    await c.dynamo.send(item(c.table, 'g'));
    expect(c.chaos.counters.injected.dynamodb.attemptThrottle).toBe(1);
    expect((await c.dynamo.send(get(c.table, 'g'))).Item).toBeDefined();
  });

  it('attemptAfter: every attempt applied and its answer lost; the caller sees the last one', async () => {
    const c = await chaosClients({ attemptAfter: 1, services: ['dynamodb'], commands: ['PutItemCommand'] });
    const err = await c.dynamo.send(item(c.table, 'h')).catch((e: unknown) => e);
    expect(isRetryable(err)).toBe(true);
    // Every attempt the SDK made was applied and lost (this SDK makes 4 by default).
    expect(sdkAttempts(err)).toBeGreaterThan(1);
    expect(c.chaos.counters.injected.dynamodb.attemptAfter).toBe(sdkAttempts(err));
    // GetItem is not among the chaos commands: it goes through untouched.
    expect((await c.dynamo.send(get(c.table, 'h'))).Item).toBeDefined();
  });

  it('staleRead: an eventually consistent read leaves out the items appended within the lag; a consistent one is untouched', async () => {
    const c = await chaosClients({ staleRead: 1, staleReadMs: [5_000, 5_000] });
    const store = new DynamoLogStore(c.dynamo, c.table);
    const ref: PartitionRef = { topic: 't', topicId: 'stale', partition: 0 };
    c.chaos.enabled = false;
    for (const [offset, appendedAt] of [
      [0, Date.now() - 60_000],
      [1, Date.now()],
    ] as const) {
      const token = `token-${offset}`;
      const tail: TailItem = {
        baseOffset: offset,
        lastOffset: offset,
        recordCount: 1,
        data: new Uint8Array(8),
        minTimestamp: appendedAt,
        maxTimestamp: appendedAt,
        appendedAt,
        commitId: token,
      };
      expect((await store.fill({ ref, items: [tail], producers: [], requestToken: token })).ok).toBe(true);
    }
    c.chaos.enabled = true;
    expect((await store.tailExtents(ref, 0, 2)).map((e) => e.baseOffset)).toEqual([0, 1]);
    expect(c.chaos.counters.injected.dynamodb.staleRead).toBe(0);
    // A replica 5 s behind has not applied the item appended just now.
    expect((await store.tailExtents(ref, 0, 2, { consistent: false })).map((e) => e.baseOffset)).toEqual([0]);
    expect(c.chaos.counters.injected.dynamodb.staleRead).toBe(1);
    expect(() => chaosSpecFromEnv('{"staleReadMs":[300,20]}')).toThrow(/staleReadMs/);
  });

  it('logs every injected fault at once, so the counts survive a SIGKILL', async () => {
    const c = await chaosClients({ before: 0.5, throttle: 0.5, services: ['dynamodb'] });
    for (let i = 0; i < 20; i++) await c.dynamo.send(get(c.table, `e${i}`)).catch(() => undefined);
    await c.s3.send(new PutObjectCommand({ Bucket: c.bucket, Key: 'k', Body: 'v' }));
    const tally = readFaultLog(c.logFile);
    expect(tally.injected.dynamodb.before + tally.injected.dynamodb.throttle).toBe(20);
    expect(Object.values(tally.injected.s3).every((n) => n === 0)).toBe(true);
    expect(tally.byCommand['dynamodb before GetItemCommand']).toBe(tally.injected.dynamodb.before);
    c.chaos.close();
    // freshTable and freshBucket use other clients: only these 21 calls went through it.
    expect(readFaultLog(c.logFile).calls).toEqual({ dynamodb: 20, s3: 1 });
    const lines = (await readFile(c.logFile, 'utf8')).split('\n').filter((l) => l !== '' && !l.includes(' calls '));
    expect(lines).toHaveLength(20);
  });

  it('refuses a malformed STRATA_CHAOS with the field at fault', () => {
    expect(chaosSpecFromEnv(undefined)).toBeUndefined();
    expect(chaosSpecFromEnv('')).toBeUndefined();
    expect(() => chaosSpecFromEnv('{')).toThrow(/STRATA_CHAOS must be a JSON object/);
    expect(() => chaosSpecFromEnv('{"before":2}')).toThrow(/before/);
    expect(() => chaosSpecFromEnv('{"before":0.6,"after":0.6}')).toThrow(/at most 1/);
    expect(() => chaosSpecFromEnv('{"attemptAfter":0.6,"attemptThrottle":0.6}')).toThrow(/attemptAfter.*at most 1/);
    expect(() => chaosSpecFromEnv('{"bogus":1}')).toThrow(/bogus|Unrecognized/);
    expect(chaosSpecFromEnv('{"seed":3,"after":0.1}')).toMatchObject({ seed: 3, after: 0.1, before: 0, services: ['dynamodb', 's3'] });
  });
});
