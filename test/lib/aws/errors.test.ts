/**
 * The AWS adapter's translation of SDK and network errors into Strata errors
 * (lib/aws/errors.ts): the table itself, then the adapters' calls against the emulators,
 * where the faults come from the chaos middleware (local/chaos.ts) in the SDK's own shape.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, inject, it } from 'vitest';
import { DynamoLogStore } from '../../../lib/aws/dynamo-log-store.js';
import { CONDITION_FAILURE, DynamoTable } from '../../../lib/aws/dynamo-table.js';
import { translate } from '../../../lib/aws/errors.js';
import { S3ObjectStore } from '../../../lib/aws/s3-object-store.js';
import {
  InternalError,
  ObjectMissingError,
  OffsetMismatchError,
  StorageUnavailableError,
  StrataError,
  ThrottledError,
  ValidationError,
} from '../../../lib/core/errors.js';
import { isRetryable, isThrottle, mayHaveApplied } from '../../../lib/core/retry.js';
import { chaosSpecSchema, installChaos } from '../../../local/chaos.js';
import { localDynamoClient, localS3Client } from '../../../local/emulators.js';
import { freshBucket, freshTable, testClients } from '../../support/aws.js';

/** An error in the SDK's shape: a name, its metadata, whatever else it carries. */
const sdkError = (fields: Record<string, unknown>) => Object.assign(new Error('from the SDK'), fields);

describe('translate', () => {
  const throttles: [string, unknown][] = [
    ['ProvisionedThroughputExceededException', { name: 'ProvisionedThroughputExceededException' }],
    ['ThrottlingException', { name: 'ThrottlingException' }],
    ['RequestLimitExceeded', { name: 'RequestLimitExceeded' }],
    ['Throttling', { name: 'Throttling' }],
    ['SlowDown (S3)', { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }],
    ['TooManyRequestsException', { name: 'TooManyRequestsException' }],
    ['HTTP 429', { name: 'Unknown', $metadata: { httpStatusCode: 429 } }],
  ];

  it.each(throttles)('makes %s a retryable ThrottledError', (_name, err) => {
    const translated = translate(err);
    expect(translated).toBeInstanceOf(ThrottledError);
    expect(translated).toMatchObject({ code: 'THROTTLED', status: 429, retryable: true });
    expect(isThrottle(translated)).toBe(true);
    expect(isRetryable(translated)).toBe(true);
  });

  const transient: [string, unknown][] = [
    ['HTTP 503', { $metadata: { httpStatusCode: 503 } }],
    ['HTTP 500', { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }],
    ['HTTP 599 without a known name', { name: 'Whatever', $metadata: { httpStatusCode: 599 } }],
    ['$retryable set by the SDK', { $retryable: {} }],
    ['TimeoutError', { name: 'TimeoutError' }],
    ['RequestTimeout', { name: 'RequestTimeout' }],
    ['TransactionInProgressException', { name: 'TransactionInProgressException' }],
    ['ECONNRESET as a plain object', { code: 'ECONNRESET' }],
    ['ECONNRESET as a Node system error', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ['ECONNREFUSED', Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })],
    ['EPIPE', { code: 'EPIPE' }],
    ['ETIMEDOUT', { code: 'ETIMEDOUT' }],
    ['EAI_AGAIN', { code: 'EAI_AGAIN' }],
    // Network errors the SDK retries itself: after an SDK-internal attempt that was
    // applied, one of these can be the last error (classed as permanent, an applied
    // append came back as a 500).
    ['EHOSTUNREACH', Object.assign(new Error('connect EHOSTUNREACH'), { code: 'EHOSTUNREACH' })],
    ['ENETUNREACH', Object.assign(new Error('connect ENETUNREACH'), { code: 'ENETUNREACH' })],
    ['ENOTFOUND', Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })],
  ];

  it.each(transient)('makes %s a retryable StorageUnavailableError that may have applied', (_name, err) => {
    const translated = translate(err);
    expect(translated).toBeInstanceOf(StorageUnavailableError);
    expect(translated).toMatchObject({ code: 'STORAGE_UNAVAILABLE', retryable: true, mayHaveApplied: true });
    expect(isThrottle(translated)).toBe(false);
    expect(mayHaveApplied(translated)).toBe(true);
  });

  it.each([
    ['NoSuchKey', { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }],
    ['HTTP 404 without a name (a ranged GET)', { name: 'NotFound', $metadata: { httpStatusCode: 404 } }],
  ])('makes %s an ObjectMissingError, not retryable', (_name, err) => {
    const translated = translate(err);
    expect(translated).toBeInstanceOf(ObjectMissingError);
    expect(translated).toMatchObject({ code: 'OBJECT_MISSING', retryable: false });
  });

  const permanent: [string, unknown][] = [
    ['ValidationException (400)', { name: 'ValidationException', $metadata: { httpStatusCode: 400 } }],
    ['ConditionalCheckFailedException', { name: 'ConditionalCheckFailedException', $metadata: { httpStatusCode: 400 } }],
    ['ResourceNotFoundException', { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } }],
    ['AccessDenied (403)', { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }],
    ['HTTP 499', { $metadata: { httpStatusCode: 499 } }],
    ['$retryable explicitly undefined', { name: 'X', $retryable: undefined }],
    ['a plain Error', new Error('boom')],
    ['a TypeError', new TypeError('x is undefined')],
    ['an Error with an unknown code', Object.assign(new Error('nope'), { code: 'ENOENT' })],
    ['null', null],
    ['undefined', undefined],
    ['a string', 'ThrottlingException'],
    ['a number', 503],
    ['an empty object', {}],
  ];

  it.each(permanent)('makes %s an InternalError, not retryable, that keeps it as its cause', (_name, err) => {
    const translated = translate(err);
    expect(translated).toBeInstanceOf(InternalError);
    expect(translated).toMatchObject({ code: 'INTERNAL', retryable: false });
    expect(translated.cause).toBe(err);
    expect(isThrottle(translated)).toBe(false);
  });

  it('keeps the SDK error as the cause of every translation', () => {
    for (const [, err] of [...throttles, ...transient]) expect(translate(err).cause).toBe(err);
  });

  it('does not make a condition failure retryable', () => {
    const err = new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: { httpStatusCode: 400 } });
    expect(isRetryable(translate(err))).toBe(false);
    const cancelled = new TransactionCanceledException({ message: 'cancelled', $metadata: { httpStatusCode: 400 } });
    expect(isRetryable(translate(cancelled))).toBe(false);
  });

  it('returns a Strata error as it is, whatever its cause or name looks like', () => {
    const validation = new ValidationError('bad', { cause: { name: 'ThrottlingException' } });
    const mismatch = new OffsetMismatchError(3, 5);
    mismatch.name = 'ThrottlingException';
    expect(translate(validation)).toBe(validation);
    expect(translate(mismatch)).toBe(mismatch);
  });

  it('names the call and the error in its message, not the AWS message', () => {
    const err = sdkError({ name: 'AccessDeniedException', message: 'User: arn:aws:sts::123456789012:assumed-role/x is not authorized' });
    const translated = translate(err, 'DynamoDB PutCommand');
    expect(translated.message).toMatch(/DynamoDB PutCommand.*AccessDeniedException/);
    expect(translated.message).not.toMatch(/123456789012/);
    expect(translate(Object.assign(new Error('hang up'), { code: 'ECONNRESET' }), 'S3 GetObject k').message).toMatch(
      /S3 GetObject k failed \(Error ECONNRESET\)/,
    );
  });
});

describe('mayHaveApplied of a translated throttle', () => {
  const throttle = (attempts?: number) =>
    sdkError({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400, ...(attempts ? { attempts } : {}) } });

  it('is false for a throttle on the only attempt: a refusal, nothing was applied', () => {
    expect(translate(throttle())).toMatchObject({ attempts: 1, mayHaveApplied: false });
    expect(mayHaveApplied(translate(throttle(1)))).toBe(false);
  });

  it('is true for a throttle after several SDK attempts: an earlier attempt may have been applied', () => {
    expect(translate(throttle(3))).toMatchObject({ attempts: 3, mayHaveApplied: true });
    expect(mayHaveApplied(translate(throttle(3)))).toBe(true);
  });

  it("reads the attempts through the error's causes", () => {
    const wrapped = sdkError({ name: 'ThrottlingException', cause: sdkError({ $metadata: { attempts: 2 } }) });
    expect(translate(wrapped)).toMatchObject({ attempts: 2, mayHaveApplied: true });
  });

  it('is true for a timeout or a 500, with the attempts the SDK made', () => {
    expect(translate(sdkError({ name: 'TimeoutError', $metadata: { attempts: 4 } }))).toMatchObject({ attempts: 4, mayHaveApplied: true });
    expect(mayHaveApplied(translate(sdkError({ name: 'InternalServerError', $metadata: { httpStatusCode: 500 } })))).toBe(true);
  });
});

describe('the adapters against the emulators', () => {
  /** Fresh clients with the chaos middleware (it stays on a client for good). */
  function chaosClients(spec: Record<string, unknown>) {
    const dynamo = localDynamoClient(inject('dynamoEndpoint'));
    const s3 = localS3Client(inject('s3Endpoint'));
    const chaos = installChaos({ dynamo, s3 }, chaosSpecSchema.parse(spec));
    return { dynamo, s3, chaos };
  }

  it('throw a throttle of the only attempt as ThrottledError that applied nothing', async () => {
    const { dynamo } = chaosClients({ throttle: 1, limit: 1, services: ['dynamodb'] });
    const err = await new DynamoLogStore(dynamo, await freshTable()).getTopic('t').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThrottledError);
    expect(err).toMatchObject({ attempts: 1, mayHaveApplied: false, cause: { name: 'ThrottlingException' } });
  });

  it('throw a throttle after an applied SDK attempt as ThrottledError that may have applied', async () => {
    const { dynamo } = chaosClients({ lostThenThrottled: 1, limit: 1, services: ['dynamodb'], commands: ['PutItemCommand'] });
    const table = new DynamoTable(DynamoDBDocumentClient.from(dynamo), await freshTable());
    const err = await table.send(new PutCommand({ TableName: table.name, Item: { pk: 'a', sk: 'b' } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ThrottledError);
    expect((err as ThrottledError).attempts).toBeGreaterThan(1);
    expect(mayHaveApplied(err)).toBe(true);
  });

  it('throw a failure after the call as StorageUnavailableError, DynamoDB and S3 alike', async () => {
    const { dynamo, s3 } = chaosClients({ after: 1 });
    const tableName = await freshTable();
    const table = new DynamoTable(DynamoDBDocumentClient.from(dynamo), tableName);
    const put = await table.send(new PutCommand({ TableName: tableName, Item: { pk: 'a', sk: 'b' } })).catch((e: unknown) => e);
    expect(put).toBeInstanceOf(StorageUnavailableError);
    const objects = new S3ObjectStore(s3, await freshBucket());
    expect(await objects.put('k', new Uint8Array([1])).catch((e: unknown) => e)).toBeInstanceOf(StorageUnavailableError);
  });

  it('throw a missing object as ObjectMissingError with NoSuchKey as its cause', async () => {
    const objects = new S3ObjectStore(testClients().s3, await freshBucket());
    const err = await objects.get('nothing/here').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectMissingError);
    expect(err).toMatchObject({ retryable: false, cause: { name: 'NoSuchKey' } });
    expect((err as Error).message).toMatch(/nothing\/here/);
    const ranged = await objects.get('nothing/here', { start: 0, end: 9 }).catch((e: unknown) => e);
    expect(ranged).toBeInstanceOf(ObjectMissingError);
  });

  it("leave a condition failure to the caller that keeps it, and make it a bug's InternalError for any other", async () => {
    const tableName = await freshTable();
    const table = new DynamoTable(DynamoDBDocumentClient.from(testClients().dynamo), tableName);
    const put = () => new PutCommand({ TableName: tableName, Item: { pk: 'a', sk: 'b' }, ConditionExpression: 'attribute_not_exists(pk)' });
    await table.send(put());
    const kept = await table.send(put(), CONDITION_FAILURE).catch((e: unknown) => e);
    expect(kept).toBeInstanceOf(ConditionalCheckFailedException);
    const translated = await table.send(put()).catch((e: unknown) => e);
    expect(translated).toBeInstanceOf(InternalError);
    expect(translated).toMatchObject({ retryable: false, cause: { name: 'ConditionalCheckFailedException' } });
  });

  it('throw only Strata errors from the log store, so the engine reads no AWS name', async () => {
    const { dynamo } = chaosClients({ before: 1, limit: 3, services: ['dynamodb'] });
    const store = new DynamoLogStore(dynamo, await freshTable());
    const ref = { topic: 't', topicId: 'id', partition: 0 };
    for (const call of [() => store.getHead(ref), () => store.listTopics(), () => store.getHeads([ref])]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StrataError);
      expect(err).toBeInstanceOf(StorageUnavailableError);
    }
  });
});
