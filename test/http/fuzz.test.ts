/**
 * HTTP fuzzing (fast-check): over 10,000 malformed or hostile requests against the local
 * stack. Every answer must come in time, never be a 5xx, and every error must be JSON
 * `{"error":{"code","message"}}`. The write requests are invalid by construction (each
 * breaks at least one rule), so none may be accepted, and a full read afterwards must
 * show that the log holds exactly what the valid seed requests wrote.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { startTestStack } from '../support/local-stack.js';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

/** One request as the fuzzer sends it; `write` when acceptance would change the log. */
interface FuzzRequest {
  method: string;
  path: string;
  body?: string;
  contentType?: string;
  write: boolean;
  label: string;
}

interface Answer {
  status: number;
  text: string;
}

const TIMEOUT_MS = 15_000;

async function send(req: FuzzRequest): Promise<Answer> {
  const res = await fetch(`${stack.url}${req.path}`, {
    method: req.method,
    headers: req.body === undefined ? {} : { 'content-type': req.contentType ?? 'application/json' },
    ...(req.body === undefined ? {} : { body: req.body }),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  return { status: res.status, text: await res.text() };
}

// ---- generators --------------------------------------------------------------------

const TOPIC = 'fuzz';
const COMPACTED = 'fuzzc';

/** Strings no topic name may be: wrong characters, too long, empty, dots, traversal. */
const badName = fc.oneof(
  fc.constantFrom(
    '..',
    '.',
    '../fuzz',
    '..%2Ffuzz',
    '%2e%2e',
    'fu zz',
    'fuzz/',
    'a'.repeat(250),
    'ünïcødé',
    'tab\tname',
    'nul\u0000',
    '%00',
    '💥',
    '\u202e',
    'a;b',
    '$(id)',
  ),
  fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/^[a-zA-Z0-9._-]{1,249}$/.test(s) || s === '.' || s === '..'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }).filter((s) => !/^[a-zA-Z0-9._-]{1,249}$/.test(s)),
);

const enc = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return s.replace(/[^\x21-\x7e]/g, '%FF');
  }
};

/** Values that are not a valid offset/count: negative, fractional, non-numeric, huge. */
const badNumberText = fc.constantFrom(
  '-1',
  '-0.5',
  '1.5',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e309',
  '9007199254740993',
  '',
  'abc',
  ' 1',
  '0x10',
  '1,2',
  '١',
  '+-1',
);

/** JSON values of the wrong type for a field that wants a string or null. */
const wrongTypeForBytes = fc.oneof(
  fc.integer(),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 2 }),
);

const validRecord = fc.record({ key: fc.string({ maxLength: 20 }), value: fc.string({ maxLength: 50 }) });

/** A record with exactly one broken field. */
const brokenRecord = fc.oneof(
  wrongTypeForBytes.map((value) => ({ key: 'k', value })),
  wrongTypeForBytes.map((key) => ({ key, value: 'v' })),
  fc
    .oneof(fc.constant(-1), fc.constant(1.5), fc.constant('now'), fc.constant(1e20), fc.constant(null))
    .map((timestamp) => ({ key: 'k', value: 'v', timestamp })),
  fc
    .oneof(fc.constant(-1), fc.constant(3), fc.constant(1e9), fc.constant('0'), fc.constant(0.5))
    .map((partition) => ({ key: 'k', value: 'v', partition })),
  fc
    .oneof(fc.constant(42), fc.constant('a:b'), fc.constant([['only-one']]), fc.constant([[1, 'x']]), fc.constant({ h: 5 }))
    .map((headers) => ({ key: 'k', value: 'v', headers })),
  fc.string({ minLength: 1, maxLength: 8 }).map((extra) => ({ key: 'k', value: 'v', [`x${extra}`]: 1 })),
);

/** base64 that is not canonical base64. */
const badBase64 = fc.constantFrom('@@@', 'YQ', 'YQ=', 'Y Q==', 'YQ==\n', '====', 'YWJj=', '-_-_', 'ü', 'YQ==YQ==');

function appendPath(partitioned: boolean, partition = 0): string {
  return partitioned ? `/v1/topics/${TOPIC}/partitions/${partition}/records` : `/v1/topics/${TOPIC}/records`;
}

const invalidAppend: fc.Arbitrary<FuzzRequest> = fc
  .oneof(
    // Not JSON, or JSON of the wrong shape.
    fc
      .string({ maxLength: 200 })
      .filter((s) => !isJson(s))
      .map((body) => ({ body, label: 'not json' })),
    fc
      .jsonValue({ maxDepth: 3 })
      .filter((v) => !(typeof v === 'object' && v !== null && 'records' in v))
      .map((v) => ({ body: JSON.stringify(v), label: 'json, wrong shape' })),
    fc
      .constantFrom('', '{}', '{"records":[]}', '{"records":null}', '{"records":{}}', '[]', 'null', '{"records":[{}], "records":[]}')
      .map((body) => ({ body, label: 'empty or degenerate' })),
    // One broken record among valid ones.
    fc.tuple(fc.array(validRecord, { maxLength: 3 }), brokenRecord, fc.array(validRecord, { maxLength: 3 })).map(([a, bad, b]) => ({
      body: JSON.stringify({ records: [...a, bad, ...b] }),
      label: 'one broken record',
    })),
    fc.tuple(badBase64, fc.boolean()).map(([b64, inKey]) => ({
      body: JSON.stringify({ encoding: 'base64', records: [inKey ? { key: b64, value: 'YQ==' } : { key: 'YQ==', value: b64 }] }),
      label: 'bad base64',
    })),
    fc
      .constantFrom('latin1', 'UTF8', 'hex', '', 7)
      .map((encoding) => ({ body: JSON.stringify({ encoding, records: [{ value: 'x' }] }), label: 'bad encoding' })),
    fc
      .string({ minLength: 1, maxLength: 10 })
      .map((f) => ({ body: JSON.stringify({ records: [{ value: 'x' }], [`z${f}`]: true }), label: 'unknown field' })),
    // Producer fields that can never be valid.
    fc
      .constantFrom(
        { producerId: '', epoch: 0, sequences: { 0: 0 } },
        { producerId: 'p', epoch: -1, sequences: { 0: 0 } },
        { producerId: 'p', epoch: 0, sequences: { 0: -1 } },
        { producerId: 'p', epoch: 0, sequences: { 7: 0 } },
        { producerId: 'p', epoch: 0.5, sequences: { 0: 0 } },
        { producerId: 'p'.repeat(500), epoch: 0, sequences: { 0: 0 } },
        { producerId: 'p', epoch: 0 },
      )
      .map((producer) => ({
        body: JSON.stringify({ records: [{ key: 'k', value: 'v', partition: 0 }], producer }),
        label: 'bad producer',
      })),
  )
  .map((r) => ({ method: 'POST', path: appendPath(false), write: true, ...r }));

const invalidPartitionAppend: fc.Arbitrary<FuzzRequest> = fc
  .oneof(
    fc.constantFrom(-1, 1.5, 1e15, 'x', null).map((expectedOffset) => ({
      path: appendPath(true),
      body: JSON.stringify({ records: [{ value: 'v' }], expectedOffset }),
      label: 'bad expectedOffset',
    })),
    fc.integer({ min: 100, max: 1_000_000 }).map((expectedOffset) => ({
      path: appendPath(true),
      body: JSON.stringify({ records: [{ value: 'v' }], expectedOffset }),
      label: 'expectedOffset past the high watermark',
    })),
    badNumberText.map((p) => ({
      path: `/v1/topics/${TOPIC}/partitions/${enc(p)}/records`,
      body: JSON.stringify({ records: [{ value: 'v' }] }),
      label: 'bad partition in path',
    })),
    fc
      .constantFrom(3, 4, 1023, 1024, 99999)
      .map((p) => ({ path: appendPath(true, p), body: JSON.stringify({ records: [{ value: 'v' }] }), label: 'partition out of range' })),
    fc.constant({
      path: appendPath(true, 1),
      body: JSON.stringify({ records: [{ value: 'v', partition: 2 }] }),
      label: 'conflicting partitions',
    }),
    fc.constant({
      path: appendPath(true),
      body: JSON.stringify({ records: [{ value: 'v' }], producer: { producerId: 'p', epoch: 0, sequences: { 0: 0 } } }),
      label: 'topic-level producer on a partition route',
    }),
  )
  .map((r) => ({ method: 'POST', write: true, ...r }));

const invalidTopicAppend: fc.Arbitrary<FuzzRequest> = fc
  .oneof(
    badName.map((name) => ({ path: `/v1/topics/${enc(name)}/records`, label: 'bad topic name' })),
    fc.constant({ path: `/v1/topics/${COMPACTED}/records`, label: 'keyless record in a compacted topic' }),
    fc.constant({ path: '/v1/topics/no-such-topic/records', label: 'unknown topic' }),
  )
  .map((r) => ({ method: 'POST', body: JSON.stringify({ records: [{ value: 'v' }] }), write: true, ...r }));

const invalidTopicAdmin: fc.Arbitrary<FuzzRequest> = fc
  .oneof(
    badName.map((name) => ({ method: 'POST', path: '/v1/topics', body: JSON.stringify({ name }), label: 'create: bad name' })),
    fc.oneof(fc.constantFrom(0, -1, 1025, 2.5, '3', null), fc.integer({ min: 1025, max: 1e9 })).map((partitions) => ({
      method: 'POST',
      path: '/v1/topics',
      body: JSON.stringify({ name: 'new-topic', partitions }),
      label: 'create: bad partitions',
    })),
    fc
      .constantFrom(
        { retentionMs: -2 },
        { retentionBytes: 1.5 },
        { cleanupPolicy: 'compact,delete,' },
        { cleanupPolicy: 'COMPACT' },
        { maxRecordBytes: 0 },
        { maxRecordBytes: 1e12 },
        { segmentBytes: 1 },
        { flushBytes: '4MiB' },
        { flushIntervalMs: 10 },
        { stageBytes: 1e9 },
        { compression: 'zstd' },
        { deleteRetentionMs: -5 },
        { unknown: 1 },
      )
      .map((config) => ({
        method: 'POST',
        path: '/v1/topics',
        body: JSON.stringify({ name: 'new-topic', config }),
        label: 'create: bad config',
      })),
    fc.constantFrom({ retentionMs: -2 }, { cleanupPolicy: 'nope' }, { partitions: 4 }, { segmentBytes: null }).map((config) => ({
      method: 'PATCH',
      path: `/v1/topics/${TOPIC}`,
      body: JSON.stringify({ config }),
      label: 'patch: bad config',
    })),
    badName.map((name) => ({ method: 'DELETE', path: `/v1/topics/${enc(name)}`, label: 'delete: bad name' })),
    fc
      .constantFrom('PUT', 'DELETE', 'PATCH')
      .map((method) => ({ method, path: appendPath(true), body: '{}', label: 'method not allowed' })),
  )
  .map((r) => ({ write: true, ...r }));

const invalidGroupCommit: fc.Arbitrary<FuzzRequest> = fc
  .oneof(
    fc.constantFrom(-1, 1.5, 1e300, '5', null).map((offset) => ({ offsets: [{ topic: TOPIC, partition: 0, offset }] })),
    fc.constantFrom(-1, 3, 'a').map((partition) => ({ offsets: [{ topic: TOPIC, partition, offset: 0 }] })),
    badName.map((topic) => ({ offsets: [{ topic, partition: 0, offset: 0 }] })),
    fc.constant({ offsets: [] }),
    fc.constant({ offsets: [{ topic: TOPIC, partition: 0, offset: 0, metadata: 'x'.repeat(5000) }] }),
  )
  .map((body) => ({ method: 'PUT', path: '/v1/groups/fuzzers/offsets', body: JSON.stringify(body), write: true, label: 'group commit' }));

/** Reads: may be valid (an empty partition read at 0 is), but never a 5xx, and never a write. */
const hostileRead: fc.Arbitrary<FuzzRequest> = fc
  .oneof(
    fc
      .tuple(fc.constantFrom('offset', 'maxRecords', 'maxBytes', 'waitMs'), badNumberText)
      .map(([k, v]) => `/v1/topics/${TOPIC}/partitions/0/records?${k}=${enc(v)}`),
    fc
      .constantFrom(
        'maxRecords=0',
        'maxRecords=10001',
        'maxBytes=0',
        'maxBytes=5242881',
        'waitMs=20001',
        'offset=1',
        'encoding=hex',
        'offset=0&offset=1',
        'bogus=1',
        'offset=0&waitMs=0',
      )
      .map((q) => `/v1/topics/${TOPIC}/partitions/0/records?${q}`),
    badNumberText.map((v) => `/v1/topics/${TOPIC}/partitions/${enc(v)}/records`),
    fc
      .constantFrom('x', '-1', 'NaN', '1e309', '', 'earliest,latest', '12abc')
      .map((at) => `/v1/topics/${TOPIC}/partitions/0/offsets?at=${enc(at)}`),
    badName.map((name) => `/v1/topics/${enc(name)}`),
    badName.map((name) => `/v1/topics/${enc(name)}/partitions/0/records`),
    fc.constantFrom(
      '/v1/groups/%00/offsets',
      `/v1/groups/${'g'.repeat(300)}/offsets`,
      '/v1/groups/g/offsets?topic=..',
      '/v1',
      '/v2/topics',
      '/v1/topics/',
      '//v1/topics',
      '/v1/topics/fuzz/partitions',
      '/%',
    ),
    fc.webPath().map((p) => `/v1/topics/${TOPIC}${p}`),
  )
  .map((path) => ({ method: 'GET', path, write: false, label: 'hostile read' }));

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

// ---- the test ----------------------------------------------------------------------

describe('HTTP fuzzing', () => {
  it('answers over 10,000 malformed or hostile requests with a 4xx and an error code, and writes nothing', async () => {
    const seed = await send({
      method: 'POST',
      path: '/v1/topics',
      body: JSON.stringify({ name: TOPIC, partitions: 3 }),
      write: true,
      label: 'seed',
    });
    expect(seed.status).toBe(201);
    const compacted = await send({
      method: 'POST',
      path: '/v1/topics',
      body: JSON.stringify({ name: COMPACTED, config: { cleanupPolicy: 'compact' } }),
      write: true,
      label: 'seed',
    });
    expect(compacted.status).toBe(201);
    const valid = await send({
      method: 'POST',
      path: appendPath(true, 0),
      body: JSON.stringify({ records: [{ key: 'seed', value: 'kept' }] }),
      write: true,
      label: 'seed',
    });
    expect(valid.status).toBe(200);

    const problems: string[] = [];
    const statuses = new Map<number, number>();
    let sent = 0;
    const request = fc.oneof(
      { weight: 4, arbitrary: invalidAppend },
      { weight: 2, arbitrary: invalidPartitionAppend },
      { weight: 1, arbitrary: invalidTopicAppend },
      { weight: 2, arbitrary: invalidTopicAdmin },
      { weight: 1, arbitrary: invalidGroupCommit },
      { weight: 2, arbitrary: hostileRead },
    );
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        sent++;
        let answer: Answer;
        try {
          answer = await send(req);
        } catch (err) {
          problems.push(`${req.label}: ${req.method} ${req.path} → no answer (${(err as Error).message})`);
          return;
        }
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        const where = `${req.label}: ${req.method} ${req.path.slice(0, 120)} ${req.body?.slice(0, 120) ?? ''} → ${answer.status} ${answer.text.slice(0, 200)}`;
        if (answer.status >= 500) problems.push(where);
        else if (answer.status >= 400) {
          const body = isJson(answer.text) ? JSON.parse(answer.text) : undefined;
          if (typeof body?.error?.code !== 'string' || typeof body?.error?.message !== 'string') problems.push(`no error code: ${where}`);
        } else if (req.write) problems.push(`accepted: ${where}`);
      }),
      { numRuns: 10_500, seed: 42, endOnFailure: true },
    );
    // Huge and odd bodies, a few of each: over the 6 MB limit, and a deep nesting bomb.
    for (const body of [
      `{"records":[{"value":"${'x'.repeat(6 * 1024 * 1024 + 1)}"}]}`,
      '['.repeat(100_000),
      `{"records":[${'{"value":"a"},'.repeat(10_001)}{"value":"a"}]}`,
    ]) {
      const answer = await send({ method: 'POST', path: appendPath(false), body, write: true, label: 'huge' });
      sent++;
      if (answer.status < 400 || answer.status >= 500)
        problems.push(`huge body (${body.length} B) → ${answer.status} ${answer.text.slice(0, 200)}`);
    }

    const kinds = new Map<string, string>();
    for (const p of problems) kinds.set(p.split(':').slice(0, 2).join(':'), p);
    expect([...kinds.values()], `${problems.length} problems`).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(10_000);
    // Nothing was written: the log holds the seed record only, and no topic appeared.
    const topics = JSON.parse((await send({ method: 'GET', path: '/v1/topics', write: false, label: 'check' })).text);
    expect(topics.topics.map((t: { name: string }) => t.name).sort()).toEqual([TOPIC, COMPACTED].sort());
    for (const [topic, partitions] of [
      [TOPIC, 3],
      [COMPACTED, 1],
    ] as const) {
      for (let p = 0; p < partitions; p++) {
        const page = JSON.parse(
          (await send({ method: 'GET', path: `/v1/topics/${topic}/partitions/${p}/records?offset=0`, write: false, label: 'check' })).text,
        );
        expect(page.highWatermark, `${topic}/${p}`).toBe(topic === TOPIC && p === 0 ? 1 : 0);
      }
    }
    const groups = JSON.parse((await send({ method: 'GET', path: '/v1/groups/fuzzers/offsets', write: false, label: 'check' })).text);
    expect(groups.offsets ?? []).toEqual([]);
    const described = JSON.parse((await send({ method: 'GET', path: `/v1/topics/${TOPIC}`, write: false, label: 'check' })).text);
    expect(described.config).toEqual(JSON.parse(seed.text).config);
    console.log(`fuzz: ${sent} requests, statuses ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  }, 300_000);
});
