/**
 * Binary reads (`Accept: application/vnd.strata.batches`) through the local stack: the
 * same answer as the JSON read of the same range, from the tail, staged items, segments
 * and compacted segments, from inside a batch, compressed, bounded, empty; errors stay
 * JSON; JSON stays the default.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binary, rawBody } from '../../functions/shared/http.js';
import type { StoredRecord } from '../../lib/core/record.js';
import { BATCHES_MEDIA_TYPE, decodeFrame, readFrame } from '../../lib/format/batch-frame.js';
import { iterateBatches } from '../../lib/format/record-batch.js';
import type { LocalStack } from '../../local/stack.js';
import { startTestStack } from '../support/local-stack.js';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

const b64 = (b: Uint8Array | null) => (b === null ? null : Buffer.from(b).toString('base64'));

/** A record as the JSON read answers it with encoding=base64. */
function asJson(r: StoredRecord) {
  return {
    offset: r.offset,
    timestamp: r.timestamp,
    key: b64(r.key),
    value: b64(r.value),
    headers: Object.fromEntries(r.headers.map((h) => [h.key, b64(h.value)])),
  };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function post(path: string, body: unknown): Promise<Json> {
  const res = await fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  expect(res.status, JSON.stringify(json)).toBeLessThan(300);
  return json;
}

async function createTopic(name: string, config: Record<string, unknown> = {}) {
  return post('/v1/topics', { name, partitions: 1, config: { flushBytes: 1024 ** 3, ...config } });
}

/** Appends one batch of `n` records to partition 0; returns its offsets. */
async function append(
  topic: string,
  n: number,
  make: (i: number) => Record<string, unknown> = (i) => ({ key: `k${i}`, value: `v${i}`, headers: { h: `${i}` } }),
) {
  const answer = await post(`/v1/topics/${topic}/partitions/0/records`, { records: Array.from({ length: n }, (_, i) => make(i)) });
  return (answer.offsets as { offset: number }[]).map((o) => o.offset);
}

async function flush(topic: string) {
  await stack.engine.flusher!.flushPartition(await stack.engine.topics.get(topic), 0, { force: true });
}

function query(params: Record<string, number | undefined>) {
  const q = new URLSearchParams({ encoding: 'base64' });
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  return q.toString();
}

async function jsonRead(topic: string, params: Record<string, number | undefined> = {}) {
  const res = await fetch(`${stack.url}/v1/topics/${topic}/partitions/0/records?${query(params)}`);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: res.status, body: (await res.json()) as Json };
}

async function binaryRead(topic: string, params: Record<string, number | undefined> = {}, accept = BATCHES_MEDIA_TYPE) {
  const res = await fetch(`${stack.url}/v1/topics/${topic}/partitions/0/records?${query(params)}`, { headers: { accept } });
  const bytes = new Uint8Array(await res.arrayBuffer());
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', vary: res.headers.get('vary'), bytes };
}

/** The binary read's answer in the JSON read's shape. */
async function binaryAsJson(topic: string, params: Record<string, number | undefined> = {}) {
  const res = await binaryRead(topic, params);
  expect(res.status).toBe(200);
  expect(res.contentType).toBe(BATCHES_MEDIA_TYPE);
  const frame = decodeFrame(res.bytes);
  return {
    topicId: frame.topicId,
    records: frame.records.map(asJson),
    nextOffset: frame.nextOffset,
    highWatermark: frame.highWatermark,
    logStartOffset: frame.logStartOffset,
  };
}

/** Reads to the high watermark both ways and checks every page's records and positions agree. */
async function expectSameAsJson(topic: string, params: Record<string, number | undefined> = {}) {
  const binary = await binaryAsJson(topic, params);
  const json = (await jsonRead(topic, params)).body;
  expect(binary).toEqual(json);
  return binary;
}

/** Every record from `from` to the high watermark, following nextOffset, in one format. */
async function readAll(topic: string, format: 'json' | 'binary', params: Record<string, number | undefined> = {}) {
  const records: unknown[] = [];
  let offset = params.offset ?? 0;
  for (let pages = 0; pages < 1000; pages++) {
    const page: Json =
      format === 'json' ? (await jsonRead(topic, { ...params, offset })).body : await binaryAsJson(topic, { ...params, offset });
    records.push(...page.records);
    if (page.nextOffset <= offset && page.nextOffset < page.highWatermark) throw new Error(`no progress at ${offset}`);
    offset = page.nextOffset;
    if (offset >= page.highWatermark) return { records, nextOffset: offset };
  }
  throw new Error('too many pages');
}

describe('binary read', () => {
  it('answers the tail as the JSON read does, from any offset, including inside a batch', async () => {
    await createTopic('bin-tail');
    await append('bin-tail', 10);
    await append('bin-tail', 1, () => ({ key: null, value: null }));
    await append('bin-tail', 5, (i) => ({ value: Buffer.from([0, 255, i]).toString('base64') }));
    for (const offset of [0, 3, 9, 10, 11, 15]) await expectSameAsJson('bin-tail', { offset });
    const page = await binaryRead('bin-tail', { offset: 3 });
    const frame = readFrame(page.bytes);
    // The batch that straddles offset 3 is sent whole; the answer says where its records start.
    expect(frame.startOffset).toBe(3);
    expect([...iterateBatches(frame.batches)].map((b) => b.baseOffset)).toEqual([0, 10, 11]);
    expect(page.vary).toBe('accept');
  });

  it('answers an empty read at the high watermark', async () => {
    await createTopic('bin-empty');
    expect(await expectSameAsJson('bin-empty', { offset: 0 })).toMatchObject({ records: [], nextOffset: 0, highWatermark: 0 });
    await append('bin-empty', 3);
    const frame = readFrame((await binaryRead('bin-empty', { offset: 3 })).bytes);
    expect(frame).toMatchObject({ startOffset: 3, nextOffset: 3, highWatermark: 3, batchCount: 0 });
    expect(frame.batches.byteLength).toBe(0);
  });

  it('answers staged items, segments and the tail after them as the JSON read does', async () => {
    const meta = await createTopic('bin-flushed', { stageBytes: 1024, segmentBytes: 64 * 1024 });
    const big = (i: number) => ({ key: `s${i}`, value: 'x'.repeat(700) });
    for (let i = 0; i < 6; i++) await append('bin-flushed', 20, i % 2 === 0 ? big : undefined);
    await expectSameAsJson('bin-flushed', { offset: 25 }); // staged items, re-stamped on the way out
    await flush(meta.name);
    await append('bin-flushed', 7);
    const head = (await jsonRead('bin-flushed')).body;
    expect(head.highWatermark).toBe(127);
    for (const offset of [0, 5, 20, 61, 119, 120, 126])
      await expectSameAsJson('bin-flushed', { offset, maxRecords: 10_000, maxBytes: 5 * 1024 * 1024 });
    expect(await readAll('bin-flushed', 'binary', { maxBytes: 4096 })).toEqual(
      await readAll('bin-flushed', 'json', { maxRecords: 10_000, maxBytes: 5 * 1024 * 1024 }),
    );
  });

  it('skips compacted gaps as the JSON read does', async () => {
    const meta = await createTopic('bin-compacted', { cleanupPolicy: 'compact', minCompactionLagMs: 0, segmentBytes: 64 * 1024 });
    for (let round = 0; round < 4; round++) {
      await append('bin-compacted', 20, (i) => ({ key: `k${(i * 7 + round) % 9}`, value: `r${round}i${i}` }));
      await flush(meta.name);
    }
    await new Promise((r) => setTimeout(r, 5));
    const pass = await stack.engine.maintenance!.runPartition('bin-compacted', 0);
    expect(pass?.compaction.recordsRemoved).toBeGreaterThan(0);
    for (const offset of [0, 1, 30, 79]) await expectSameAsJson('bin-compacted', { offset });
    const all = await readAll('bin-compacted', 'binary');
    expect(all.records).toHaveLength(9);
    expect(all).toEqual(await readAll('bin-compacted', 'json'));
  });

  it('sends gzip batches compressed and the client inflates them', async () => {
    const meta = await createTopic('bin-gzip', { compression: 'gzip' });
    await append('bin-gzip', 50, (i) => ({ key: `k${i}`, value: 'compressible '.repeat(40) }));
    const page = await binaryRead('bin-gzip', { offset: 7 });
    const frame = readFrame(page.bytes);
    expect([...iterateBatches(frame.batches)][0]!.compression).toBe('gzip');
    expect(page.bytes.byteLength).toBeLessThan((50 * 520) / 4);
    await expectSameAsJson('bin-gzip', { offset: 7 });
    await flush(meta.name);
    await expectSameAsJson('bin-gzip', { offset: 7 });
  });

  it('bounds a read by whole batches: the first always, then only batches that fit maxBytes and maxRecords', async () => {
    await createTopic('bin-limits');
    for (let i = 0; i < 5; i++) await append('bin-limits', 10, (j) => ({ value: `${i}-${j}-${'y'.repeat(100)}` }));
    // maxRecords below one batch: the whole first batch goes, the next read continues after it.
    let frame = decodeFrame((await binaryRead('bin-limits', { offset: 2, maxRecords: 3 })).bytes);
    expect(frame.records.map((r) => r.offset)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(frame.nextOffset).toBe(10);
    // Two batches' records, not three.
    frame = decodeFrame((await binaryRead('bin-limits', { offset: 0, maxRecords: 25 })).bytes);
    expect(frame.nextOffset).toBe(20);
    // maxBytes counts stored batch bytes: one batch is ~1.2 KB, so 3000 bytes hold two.
    const one = readFrame((await binaryRead('bin-limits', { offset: 10, maxRecords: 10 })).bytes).batches.byteLength;
    frame = decodeFrame((await binaryRead('bin-limits', { offset: 10, maxBytes: 2 * one + 1 })).bytes);
    expect(frame.nextOffset).toBe(30);
    frame = decodeFrame((await binaryRead('bin-limits', { offset: 10, maxBytes: 1 })).bytes);
    expect(frame.nextOffset).toBe(20);
  });

  it('answers errors as JSON with the same codes', async () => {
    await createTopic('bin-errors');
    await append('bin-errors', 2);
    for (const [path, status, code] of [
      ['/v1/topics/bin-errors/partitions/0/records?offset=9', 416, 'OFFSET_OUT_OF_RANGE'],
      ['/v1/topics/nope/partitions/0/records', 404, 'TOPIC_NOT_FOUND'],
      ['/v1/topics/bin-errors/partitions/0/records?maxRecords=x', 400, 'VALIDATION'],
    ] as const) {
      const res = await fetch(`${stack.url}${path}`, { headers: { accept: BATCHES_MEDIA_TYPE } });
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(((await res.json()) as Json).error.code).toBe(code);
    }
  });

  it('answers JSON unless the request names the batches type at least as high as JSON', async () => {
    await createTopic('bin-accept');
    await append('bin-accept', 1);
    const type = async (accept: string | undefined) =>
      (
        await fetch(`${stack.url}/v1/topics/bin-accept/partitions/0/records`, accept === undefined ? {} : { headers: { accept } })
      ).headers.get('content-type');
    expect(await type(undefined)).toMatch(/^application\/json/);
    expect(await type('*/*')).toMatch(/^application\/json/);
    expect(await type('application/json, application/vnd.strata.batches;q=0.5')).toMatch(/^application\/json/);
    expect(await type('application/vnd.strata.batches;q=0')).toMatch(/^application\/json/);
    expect(await type('application/vnd.strata.batches, application/json;q=0.5')).toBe(BATCHES_MEDIA_TYPE);
    expect(await type('application/vnd.strata.batches')).toBe(BATCHES_MEDIA_TYPE);
  });

  it('carries the frame base64-encoded in the Lambda response, and as bytes to the local server', () => {
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const response = binary(200, BATCHES_MEDIA_TYPE, bytes);
    const lambda = JSON.parse(JSON.stringify(response)) as Json;
    expect(lambda).toMatchObject({ statusCode: 200, isBase64Encoded: true, headers: { 'content-type': BATCHES_MEDIA_TYPE } });
    expect(Buffer.from(lambda.body, 'base64')).toEqual(Buffer.from(bytes));
    expect(rawBody(response)).toEqual(Buffer.from(bytes));
  });

  it('answers any offset, bounds and Accept header with the records of the log in [startOffset, nextOffset), or a JSON error', async () => {
    await createTopic('bin-fuzz', { compression: 'gzip', segmentBytes: 64 * 1024 });
    for (let i = 0; i < 12; i++) {
      await append('bin-fuzz', 1 + ((i * 7) % 13), (j) => ({
        key: `k${i}-${j}`,
        value: `${i}:${j}:${'z'.repeat((i * 37 + j * 11) % 300)}`,
      }));
      if (i === 7) await flush('bin-fuzz');
    }
    const log = (await readAll('bin-fuzz', 'json', { maxRecords: 10_000 })).records as { offset: number }[];
    const hwm = log.length;
    const accepts = [
      BATCHES_MEDIA_TYPE,
      `${BATCHES_MEDIA_TYPE};q=0.9, application/json;q=0.5`,
      'application/json',
      '*/*',
      `application/json, ${BATCHES_MEDIA_TYPE};q=0.1`,
      'text/html',
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: hwm + 2 }),
        fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 30_000 }), { nil: undefined }),
        fc.constantFrom(...accepts),
        async (offset, maxRecords, maxBytes, accept) => {
          const res = await binaryRead('bin-fuzz', { offset, maxRecords, maxBytes }, accept);
          if (offset > hwm) {
            expect(res.status).toBe(416);
            expect(res.contentType).toMatch(/^application\/json/);
            return;
          }
          expect(res.status).toBe(200);
          const binary = res.contentType === BATCHES_MEDIA_TYPE;
          expect(binary).toBe(accept.startsWith(BATCHES_MEDIA_TYPE));
          const page: Json = binary ? decodeFrame(res.bytes) : JSON.parse(Buffer.from(res.bytes).toString('utf8'));
          const records = binary ? (page.records as StoredRecord[]).map(asJson) : page.records;
          expect(page.highWatermark).toBe(hwm);
          expect(page.nextOffset === hwm || page.nextOffset > offset || offset === hwm).toBe(true);
          expect(records).toEqual(log.filter((r) => r.offset >= offset && r.offset < page.nextOffset));
        },
      ),
      { numRuns: 150, seed: 14 },
    );
  });
});
