/**
 * The error table (ERROR_CODES in lib/core/errors.ts) against what uses it: every code has a
 * class whose instances carry the code's status and retryable flag, docs/openapi.yaml
 * documents it, the client turns the wire answer back into that class, and nothing in
 * the engine or the functions raises a code outside the table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_ERROR_CODES,
  ClientClosedError,
  ConnectionError,
  errorFromResponse,
  PreviousBatchFailedError,
  RequestTimeoutError,
} from '../../../client/errors.js';
import * as errors from '../../../lib/core/errors.js';
import { answered, ERROR_CODES, type ErrorCode, type ErrorRow, errorRow, StrataError } from '../../../lib/core/errors.js';
import { loadOpenApi } from '../../support/openapi.js';

/** One instance of each code's class, made the way the engine makes it. */
const RAISED: Record<ErrorCode, () => StrataError> = {
  VALIDATION: () => new errors.ValidationError('bad'),
  INVALID_JSON: () => new errors.InvalidJsonError('not json'),
  NOT_UTF8: () => new errors.NotUtf8Error(3, 'value'),
  UNKNOWN_ACTION: () => new errors.UnknownActionError('dance', ['subscribe', 'ping']),
  ROUTE_NOT_FOUND: () => new errors.RouteNotFoundError('GET', '/nowhere'),
  PUSH_NOT_CONFIGURED: () => new errors.PushNotConfiguredError(),
  TOPIC_NOT_FOUND: () => new errors.TopicNotFoundError('t'),
  PARTITION_NOT_FOUND: () => new errors.PartitionNotFoundError('t', 5, 2),
  METHOD_NOT_ALLOWED: () => new errors.MethodNotAllowedError('PUT', '/v1/topics', ['GET', 'POST']),
  TOPIC_EXISTS: () => new errors.TopicExistsError('t'),
  OFFSET_MISMATCH: () => new errors.OffsetMismatchError(1, 2),
  PRODUCER_FENCED: () => new errors.ProducerFencedError('p', 0, 1),
  OUT_OF_ORDER_SEQUENCE: () => new errors.SequenceGapError('p', 5, 3),
  DUPLICATE_SEQUENCE: () => new errors.DuplicateSequenceError('p', 1, 9),
  UNKNOWN_MEMBER: () => new errors.UnknownMemberError('g', 'm'),
  STALE_GENERATION: () => new errors.StaleGenerationError('g', 1, 2),
  PARTITION_NOT_ASSIGNED: () => new errors.PartitionNotAssignedError('g', 'm', 't', 0, 1),
  TOPIC_INCARNATION_MISMATCH: () => new errors.TopicIncarnationMismatchError('t', 'a', 'b'),
  GROUP_TOO_LARGE: () => new errors.GroupTooLargeError('g', 500_000, 350_000, 900),
  PAYLOAD_TOO_LARGE: () => new errors.PayloadTooLargeError('too big'),
  RECORD_TOO_LARGE: () => new errors.RecordTooLargeError(0, 2_000_000, 1_000_000),
  RESPONSE_TOO_LARGE: () => new errors.ResponseTooLargeError(0, 7_000_000, 6_000_000),
  OFFSET_OUT_OF_RANGE: () => new errors.OffsetOutOfRangeError(9, 0, 4),
  WRONG_FUNCTION: () => new errors.WrongFunctionError('GET /v1/topics', 'read'),
  THROTTLED: () => new errors.ThrottledError('slow down'),
  CORRUPT_DATA: () => new errors.CorruptDataError('bad crc'),
  INTERNAL: () => new errors.InternalError('bug'),
  OBJECT_MISSING: () => new errors.ObjectMissingError('S3 GetObject k found no such object (NoSuchKey)'),
  RETRY: () => new errors.RetryableError('later', 1),
  STORAGE_UNAVAILABLE: () => new errors.StorageUnavailableError('DynamoDB PutCommand failed (TimeoutError); retry'),
};

const rows = Object.entries(ERROR_CODES) as [ErrorCode, (typeof ERROR_CODES)[ErrorCode]][];

describe('the error table', () => {
  it.each(rows)('gives %s a class, an HTTP error status and a meaning', (code, row) => {
    const err = RAISED[code]();
    expect(err).toBeInstanceOf(row.class);
    expect(err).toBeInstanceOf(StrataError);
    expect(err).toMatchObject({ code, status: row.status, retryable: row.retryable, name: row.class.name });
    expect(row.status).toBeGreaterThanOrEqual(400);
    expect(row.status).toBeLessThan(600);
    expect(row.meaning).toMatch(/\w/);
  });

  it('has one class per code, and every error class of the engine is in it', () => {
    const classes = rows.map(([, row]) => row.class);
    expect(new Set(classes).size).toBe(classes.length);
    const engineClasses = Object.values(errors as Record<string, unknown>).filter(
      (v): v is errors.ErrorClass => typeof v === 'function' && v.prototype instanceof StrataError,
    );
    expect(engineClasses.filter((c) => !(classes as errors.ErrorClass[]).includes(c)).map((c) => c.name)).toEqual([]);
  });

  it('marks exactly the codes answered with 429 or 503 retryable, as the API adds Retry-After to those', () => {
    for (const [code, row] of rows) expect(row.retryable, code).toBe(row.status === 429 || row.status === 503);
  });

  it.each(rows)("answers %s as itself, or as the code its row names when it is the engine's own, with the same status", (code, row) => {
    const err = RAISED[code]();
    const answer = answered(err);
    const answeredAs = (row as ErrorRow).answeredAs;
    expect(answer.code).toBe(answeredAs ?? code);
    expect(answer.status).toBe(row.status);
    expect(answer.retryable).toBe(row.retryable);
    if (answeredAs === undefined) expect(answer).toBe(err);
    else {
      expect(answer).toBeInstanceOf(ERROR_CODES[answeredAs as ErrorCode].class);
      expect(answer.cause).toBe(err);
      expect((errorRow(answeredAs) as ErrorRow | undefined)?.answeredAs).toBeUndefined();
    }
  });

  it('finds no row for a code it does not have, nor for the names of Object.prototype', () => {
    expect(errorRow('TEAPOT')).toBeUndefined();
    expect(errorRow('toString')).toBeUndefined();
    expect(errorRow('constructor')).toBeUndefined();
    expect(errorRow('RETRY')).toBe(ERROR_CODES.RETRY);
  });
});

describe('docs/openapi.yaml', () => {
  const doc = loadOpenApi();
  const statuses = doc['x-strata-error-codes'] as Record<string, number>;
  const enumCodes = doc.components.schemas.ErrorCode.enum as string[];

  it.each(rows)('documents %s with its status', (code, row) => {
    expect(statuses[code]).toBe(row.status);
    expect(enumCodes).toContain(code);
  });

  it('documents no code the table does not have', () => {
    expect(Object.keys(statuses).filter((c) => !errorRow(c))).toEqual([]);
    expect(enumCodes.filter((c) => !errorRow(c))).toEqual([]);
  });
});

describe('the client', () => {
  it.each(rows)("turns a %s answer into its class, with the answer's status, message and details", (code, row) => {
    const err = errorFromResponse(row.status, { error: { code, message: 'from the server', highWatermark: 7 } }, 2);
    expect(err).toBeInstanceOf(row.class);
    expect(err.constructor).toBe(row.class);
    expect(err).toMatchObject({
      name: row.class.name,
      code,
      status: row.status,
      retryable: row.retryable,
      message: 'from the server',
      highWatermark: 7,
      retryAfterSeconds: 2,
    });
    expect(err.details).toEqual({ highWatermark: 7 });
  });

  it('keeps a code the table does not have as a plain StrataError, retryable when its status says so', () => {
    const err = errorFromResponse(503, { error: { code: 'NEWER_SERVER_CODE', message: 'm' } });
    expect(err.constructor).toBe(StrataError);
    expect(err).toMatchObject({ code: 'NEWER_SERVER_CODE', status: 503, retryable: true });
    expect(errorFromResponse(403, { message: 'Forbidden' })).toMatchObject({ code: 'HTTP_ERROR', status: 403, retryable: false });
  });

  it('raises its own codes through the classes of its table, with status 0 (no answer)', () => {
    const raised: Record<keyof typeof CLIENT_ERROR_CODES, StrataError> = {
      CONNECTION: new ConnectionError('http://x', new Error('refused')),
      REQUEST_TIMEOUT: new RequestTimeoutError('http://x', 10),
      CLOSED: new ClientClosedError('producer'),
      PREVIOUS_BATCH_FAILED: new PreviousBatchFailedError('t', 0, new Error('first')),
    };
    for (const [code, row] of Object.entries(CLIENT_ERROR_CODES)) {
      const err = raised[code as keyof typeof CLIENT_ERROR_CODES];
      expect(err).toBeInstanceOf(row.class);
      expect(err, code).toMatchObject({ code, status: 0, retryable: row.retryable });
      expect(errorRow(code), `${code} is also a server code`).toBeUndefined();
    }
  });
});

/** The TypeScript files under `dir`, at any depth. */
function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? tsFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('the engine and the functions', () => {
  it('raise errors only through the classes of the table, never with a code written in place', () => {
    const offenders = ['lib', 'functions', 'client', 'local']
      .flatMap(tsFiles)
      .filter((path) => /new StrataError\(\s*['"`]/.test(readFileSync(path, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('import the error classes only through lib/core/errors.ts, which loads them before it builds the table', () => {
    // lib/core/errors/strata-error.ts reads the table, the table holds the classes: a
    // module that imported a class's own module first would build the table before it.
    const offenders = ['lib', 'functions', 'client', 'local', 'cli', 'infra', 'bench', 'test']
      .flatMap(tsFiles)
      .filter((path) => !path.startsWith(join('lib', 'core', 'errors')))
      .filter((path) => /from '[^']*core\/errors\/[^']*'/.test(readFileSync(path, 'utf8')));
    expect(offenders).toEqual([]);
  });
});

describe("README's table of error codes", () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('| status | codes |'), readme.indexOf('## Limits and defaults'));
  const listed = new Map<string, number>();
  for (const [, status, cells] of section.matchAll(/^\| (\d{3}) \| (.*) \|$/gm)) {
    for (const [, code] of cells!.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) listed.set(code!, Number(status));
  }

  it.each(rows)('lists %s under its status', (code, row) => {
    expect(listed.get(code)).toBe(row.status);
  });

  it('lists no code the table does not have', () => {
    expect([...listed.keys()].filter((c) => !errorRow(c))).toEqual([]);
  });
});
