/**
 * The HTTP API v1 contract: what any Strata endpoint answers, whatever runs it. The
 * HTTP tests run it against the in-process local stack (test/http/api.test.ts) and the
 * e2e suite against any URL (test/e2e/api.e2e.test.ts: `npm start`, LocalStack, AWS).
 *
 * Every name the contract creates starts with `prefix`, so that runs against a shared,
 * long-lived deployment do not collide with each other or with real topics.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ApiClient, ApiResponse } from './local-stack.js';

export interface ContractOptions {
  /** Prepended to every topic and group name the contract creates. */
  prefix: string;
}

export function expectError(res: ApiResponse, status: number, code: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
  expect(res.body.error.message.length).toBeGreaterThan(10);
}

/**
 * Registers the contract's tests. `api` is read when the tests run (after the caller's
 * own `beforeAll` has started a stack or read the target).
 */
export function describeHttpContract(api: () => ApiClient, { prefix }: ContractOptions): void {
  const n = (name: string) => `${prefix}${name}`;
  const orders = n('orders');
  const small = n('small');
  const compacted = n('compacted');

  /** The high watermark of a partition, to prove a rejected request wrote nothing. */
  async function hwm(topic: string, partition: number): Promise<number> {
    return (await api()('GET', `/v1/topics/${topic}/partitions/${partition}/offsets?at=latest`)).body.offset;
  }

  beforeAll(async () => {
    for (const body of [
      { name: orders, partitions: 3 },
      { name: small, partitions: 1, config: { maxRecordBytes: 64 } },
      { name: compacted, partitions: 1, config: { cleanupPolicy: 'compact' } },
    ]) {
      const res = await api()('POST', '/v1/topics', body);
      expect(res.status, `creating ${body.name}: ${JSON.stringify(res.body)}`).toBe(201);
    }
  });

  describe('HTTP API v1 happy paths', () => {
    it('creates (201), lists, describes, patches and deletes (204) topics', async () => {
      const tmp = n('tmp');
      const created = await api()('POST', '/v1/topics', { name: tmp, partitions: 2 });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ name: tmp, partitions: 2, config: { cleanupPolicy: 'delete' } });
      expect((await api()('GET', '/v1/topics')).body.topics.map((t: { name: string }) => t.name)).toContain(tmp);
      const described = await api()('GET', `/v1/topics/${tmp}`);
      expect(described.body.partitionStates).toEqual([
        expect.objectContaining({ partition: 0, highWatermark: 0, logStartOffset: 0 }),
        expect.objectContaining({ partition: 1, highWatermark: 0, logStartOffset: 0 }),
      ]);
      const patched = await api()('PATCH', `/v1/topics/${tmp}`, { config: { retentionMs: 60_000 } });
      expect(patched.body.config.retentionMs).toBe(60_000);
      expect((await api()('DELETE', `/v1/topics/${tmp}`)).status).toBe(204);
      expectError(await api()('GET', `/v1/topics/${tmp}`), 404, 'TOPIC_NOT_FOUND');
    });

    it('appends in utf8 and base64 and reads back in either encoding', async () => {
      const res = await api()('POST', `/v1/topics/${orders}/partitions/1/records`, {
        records: [{ key: 'k1', value: 'héllo', headers: { trace: 'abc' }, timestamp: 1000 }, { value: null }],
      });
      expect(res.status).toBe(200);
      expect(res.body.offsets).toEqual([
        { partition: 1, offset: 0 },
        { partition: 1, offset: 1 },
      ]);
      const b64 = await api()('POST', `/v1/topics/${orders}/records`, {
        encoding: 'base64',
        records: [{ value: Buffer.from([0, 1, 2, 255]).toString('base64'), partition: 1 }],
      });
      expect(b64.body.offsets).toEqual([{ partition: 1, offset: 2 }]);

      const read = await api()('GET', `/v1/topics/${orders}/partitions/1/records?offset=0&maxRecords=2`);
      expect(read.body).toMatchObject({ nextOffset: 2, highWatermark: 3, logStartOffset: 0 });
      expect(read.body.records).toEqual([
        { offset: 0, timestamp: 1000, key: 'k1', value: 'héllo', headers: { trace: 'abc' } },
        expect.objectContaining({ offset: 1, key: null, value: null, headers: {} }),
      ]);
      const asBase64 = await api()('GET', `/v1/topics/${orders}/partitions/1/records?offset=2&encoding=base64`);
      expect(asBase64.body.records[0].value).toBe('AAEC/w==');
      expectError(await api()('GET', `/v1/topics/${orders}/partitions/1/records?offset=2`), 400, 'NOT_UTF8');
    });

    it('long-polls: a read at the high watermark returns the record appended while it waits', async () => {
      const at = await hwm(orders, 2);
      const pending = api()('GET', `/v1/topics/${orders}/partitions/2/records?offset=${at}&waitMs=10000`);
      await new Promise((r) => setTimeout(r, 100));
      await api()('POST', `/v1/topics/${orders}/partitions/2/records`, { records: [{ value: 'wake up' }] });
      const res = await pending;
      expect(res.body.records.map((r: { value: string }) => r.value)).toEqual(['wake up']);
    });

    it('commits and fetches consumer group offsets', async () => {
      const group = n('billing');
      const put = await api()('PUT', `/v1/groups/${group}/offsets`, { offsets: [{ topic: orders, partition: 0, offset: 7 }] });
      expect(put.status).toBe(200);
      const got = await api()('GET', `/v1/groups/${group}/offsets?topic=${orders}`);
      expect(got.body).toMatchObject({ group, offsets: [{ topic: orders, partition: 0, offset: 7, metadata: null }] });
    });

    it('looks up offsets by timestamp', async () => {
      const timed = n('timed');
      await api()('POST', '/v1/topics', { name: timed, partitions: 1 });
      await api()('POST', `/v1/topics/${timed}/records`, { records: [10, 20, 30].map((timestamp) => ({ value: 'v', timestamp })) });
      expect((await api()('GET', `/v1/topics/${timed}/partitions/0/offsets?at=15`)).body).toEqual({ offset: 1, timestamp: 20 });
      expect((await api()('GET', `/v1/topics/${timed}/partitions/0/offsets?at=earliest`)).body).toEqual({ offset: 0, timestamp: 10 });
    });
  });

  describe('HTTP API v1 rejects bad requests with a 4xx, a stable code, and writes nothing', () => {
    const cases: { name: string; method: string; path: string; body?: unknown; raw?: string; status: number; code: string }[] = [
      {
        name: 'malformed JSON',
        method: 'POST',
        path: `/v1/topics/${orders}/records`,
        raw: '{"records": [',
        status: 400,
        code: 'INVALID_JSON',
      },
      { name: 'an empty body', method: 'POST', path: `/v1/topics/${orders}/records`, raw: '', status: 400, code: 'INVALID_JSON' },
      { name: 'no records', method: 'POST', path: `/v1/topics/${orders}/records`, body: { records: [] }, status: 400, code: 'VALIDATION' },
      {
        name: 'records not an array',
        method: 'POST',
        path: `/v1/topics/${orders}/records`,
        body: { records: 'x' },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'a value that is a number',
        method: 'POST',
        path: `/v1/topics/${orders}/records`,
        body: { records: [{ value: 5 }] },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'an unknown field',
        method: 'POST',
        path: `/v1/topics/${orders}/records`,
        body: { records: [{ value: 'a', vaule: 'b' }] },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'bad base64',
        method: 'POST',
        path: `/v1/topics/${orders}/records`,
        body: { encoding: 'base64', records: [{ value: 'not base64!' }] },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'an unknown encoding',
        method: 'POST',
        path: `/v1/topics/${orders}/records`,
        body: { encoding: 'hex', records: [{ value: 'a' }] },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'a negative timestamp',
        method: 'POST',
        path: `/v1/topics/${orders}/records`,
        body: { records: [{ value: 'a', timestamp: -1 }] },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'a record partition out of range',
        method: 'POST',
        path: `/v1/topics/${orders}/records`,
        body: { records: [{ value: 'a', partition: 9 }] },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'a keyless record on a compacted topic',
        method: 'POST',
        path: `/v1/topics/${compacted}/records`,
        body: { records: [{ value: 'a' }] },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'a bad topic name',
        method: 'POST',
        path: '/v1/topics',
        body: { name: '../etc', partitions: 1 },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'too many partitions',
        method: 'POST',
        path: '/v1/topics',
        body: { name: n('big'), partitions: 5000 },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'an unknown config key',
        method: 'POST',
        path: '/v1/topics',
        body: { name: n('cfg'), config: { retention: 1 } },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'a bad config value',
        method: 'PATCH',
        path: `/v1/topics/${orders}`,
        body: { config: { cleanupPolicy: 'sometimes' } },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'a non-numeric partition',
        method: 'POST',
        path: `/v1/topics/${orders}/partitions/x/records`,
        body: { records: [{ value: 'a' }] },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'a non-numeric offset',
        method: 'GET',
        path: `/v1/topics/${orders}/partitions/0/records?offset=abc`,
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'maxRecords over 10000',
        method: 'GET',
        path: `/v1/topics/${orders}/partitions/0/records?maxRecords=10001`,
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'maxBytes over 5 MiB',
        method: 'GET',
        path: `/v1/topics/${orders}/partitions/0/records?maxBytes=6000000`,
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'waitMs over 20000',
        method: 'GET',
        path: `/v1/topics/${orders}/partitions/0/records?waitMs=20001`,
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'an unknown query parameter',
        method: 'GET',
        path: `/v1/topics/${orders}/partitions/0/records?ofset=1`,
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'a bad offsets lookup',
        method: 'GET',
        path: `/v1/topics/${orders}/partitions/0/offsets?at=yesterday`,
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'a bad group name',
        method: 'PUT',
        path: '/v1/groups/bad%20group/offsets',
        body: { offsets: [{ topic: orders, partition: 0, offset: 1 }] },
        status: 400,
        code: 'VALIDATION',
      },
      {
        name: 'an unknown topic',
        method: 'POST',
        path: `/v1/topics/${n('nope')}/records`,
        body: { records: [{ value: 'a' }] },
        status: 404,
        code: 'TOPIC_NOT_FOUND',
      },
      {
        name: 'an unknown partition',
        method: 'POST',
        path: `/v1/topics/${orders}/partitions/3/records`,
        body: { records: [{ value: 'a' }] },
        status: 404,
        code: 'PARTITION_NOT_FOUND',
      },
      {
        name: 'a read of an unknown partition',
        method: 'GET',
        path: `/v1/topics/${orders}/partitions/42/records`,
        status: 404,
        code: 'PARTITION_NOT_FOUND',
      },
      { name: 'an unknown route', method: 'GET', path: '/v2/everything', status: 404, code: 'ROUTE_NOT_FOUND' },
      { name: 'a wrong method', method: 'PUT', path: `/v1/topics/${orders}/records`, body: {}, status: 405, code: 'METHOD_NOT_ALLOWED' },
      {
        name: 'an existing topic',
        method: 'POST',
        path: '/v1/topics',
        body: { name: orders, partitions: 3 },
        status: 409,
        code: 'TOPIC_EXISTS',
      },
      {
        name: 'a record over maxRecordBytes',
        method: 'POST',
        path: `/v1/topics/${small}/records`,
        body: { records: [{ value: 'x'.repeat(100) }] },
        status: 413,
        code: 'RECORD_TOO_LARGE',
      },
      {
        name: 'an offset above the high watermark',
        method: 'GET',
        path: `/v1/topics/${small}/partitions/0/records?offset=99`,
        status: 416,
        code: 'OFFSET_OUT_OF_RANGE',
      },
    ];

    it.each(cases)('$name → $status $code', async ({ method, path, body, raw, status, code }) => {
      const before = await Promise.all([0, 1, 2].map((p) => hwm(orders, p)));
      const res = await api()(method, path, body, raw === undefined ? {} : { raw });
      expectError(res, status, code);
      expect(await Promise.all([0, 1, 2].map((p) => hwm(orders, p)))).toEqual(before);
    });

    it('416 carries logStartOffset and highWatermark', async () => {
      const res = await api()('GET', `/v1/topics/${small}/partitions/0/records?offset=99`);
      expect(res.body.error).toMatchObject({ logStartOffset: 0, highWatermark: 0, offset: 99 });
    });

    it('409 OFFSET_MISMATCH with the expected and actual offsets', async () => {
      const cas = n('cas');
      await api()('POST', '/v1/topics', { name: cas, partitions: 1 });
      await api()('POST', `/v1/topics/${cas}/partitions/0/records`, { records: [{ value: 'a' }], expectedOffset: 0 });
      const res = await api()('POST', `/v1/topics/${cas}/partitions/0/records`, { records: [{ value: 'b' }], expectedOffset: 0 });
      expectError(res, 409, 'OFFSET_MISMATCH');
      expect(res.body.error).toMatchObject({ expectedOffset: 0, highWatermark: 1 });
      expect(await hwm(cas, 0)).toBe(1);
    });

    it('409 PRODUCER_FENCED, OUT_OF_ORDER_SEQUENCE and DUPLICATE_SEQUENCE for idempotent producers', async () => {
      const idem = n('idem');
      await api()('POST', '/v1/topics', { name: idem, partitions: 1 });
      const send = (epoch: number, sequence: number, values: string[]) =>
        api()('POST', `/v1/topics/${idem}/partitions/0/records`, {
          records: values.map((value) => ({ value })),
          producer: { producerId: 'prod-1', epoch, sequence },
        });
      expect((await send(1, 0, ['a', 'b'])).status).toBe(200);
      const retry = await send(1, 0, ['a', 'b']);
      expect(retry.body.offsets).toEqual([
        { partition: 0, offset: 0 },
        { partition: 0, offset: 1 },
      ]);
      expect(retry.body.partitions[0].duplicate).toBe(true);
      expectError(await send(1, 5, ['c']), 409, 'OUT_OF_ORDER_SEQUENCE');
      expectError(await send(1, 1, ['c']), 409, 'DUPLICATE_SEQUENCE');
      expectError(await send(0, 2, ['c']), 409, 'PRODUCER_FENCED');
      expect(await hwm(idem, 0)).toBe(2);
    });
  });
}
