/**
 * HTTP API v1 through the local server: the contract every endpoint keeps
 * (test/support/http-contract.ts, which the e2e suite runs against deployed stacks too),
 * and what only the local stack can show (body limit, injected storage faults).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { FaultInjector, throttleError } from '../support/faults.js';
import { describeHttpContract, expectError } from '../support/http-contract.js';
import { type ApiClient, apiClient, startTestStack } from '../support/local-stack.js';

let stack: LocalStack;
let api: ApiClient;

beforeAll(async () => {
  stack = await startTestStack();
  api = apiClient(stack.url);
});
afterAll(async () => stack?.stop());

describeHttpContract(() => api, { prefix: '' });

describe('HTTP API v1 on the local server', () => {
  it('413 for a body over 6 MB, before parsing it', async () => {
    const res = await api('POST', '/v1/topics/orders/records', undefined, {
      raw: `{"records":[{"value":"${'x'.repeat(6 * 1024 * 1024)}"}]}`,
    });
    expectError(res, 413, 'PAYLOAD_TOO_LARGE');
  });
});

describe('regression: a 5 MiB read as base64 exceeded the 6 MB Lambda response limit', () => {
  it('stops the response before 6 MB and continues from nextOffset, skipping nothing', async () => {
    await api('POST', '/v1/topics', { name: 'wide', partitions: 1, config: { maxRecordBytes: 2 * 1024 * 1024 } });
    const values: string[] = [];
    for (let i = 0; i < 4; i++) {
      const batch = Array.from({ length: 2 }, (_, j) => Buffer.alloc(900 * 1024, i * 2 + j + 1).toString('base64'));
      values.push(...batch);
      const res = await api('POST', '/v1/topics/wide/partitions/0/records', {
        encoding: 'base64',
        records: batch.map((value) => ({ value })),
      });
      expect(res.status).toBe(200);
    }
    const seen: string[] = [];
    let offset = 0;
    let pages = 0;
    while (offset < values.length) {
      const res = await fetch(`${stack.url}/v1/topics/wide/partitions/0/records?offset=${offset}&encoding=base64&maxBytes=5242880`);
      const text = await res.text();
      expect(res.status).toBe(200);
      expect(Buffer.byteLength(JSON.stringify(text))).toBeLessThan(6 * 1024 * 1024);
      const page = JSON.parse(text);
      seen.push(...page.records.map((r: { value: string }) => r.value));
      expect(page.nextOffset).toBe(offset + page.records.length);
      offset = page.nextOffset;
      pages++;
    }
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual(values);
  });
});

describe('regression: the same idempotent keyless topic-level append, sent three times, was written once per partition', () => {
  it('writes it once, whichever engine each retry reaches', async () => {
    // Two engines taking requests in turn, as separate Lambda environments would.
    const two = await startTestStack({ engines: 2 });
    try {
      const api2 = apiClient(two.url);
      await api2('POST', '/v1/topics', { name: 'keyless', partitions: 3 });
      const body = { records: [{ value: 'once' }], producer: { producerId: 'p-1', epoch: 0, sequences: { '0': 0, '1': 0, '2': 0 } } };
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await api2('POST', '/v1/topics/keyless/records', body));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(new Set(answers.map((a) => JSON.stringify(a.body.offsets))).size).toBe(1);
      expect(answers.slice(1).every((a) => a.body.partitions[0].duplicate)).toBe(true);
      const described = await api2('GET', '/v1/topics/keyless');
      const total = described.body.partitionStates.reduce((n: number, p: { highWatermark: number }) => n + p.highWatermark, 0);
      expect(total).toBe(1);
    } finally {
      await two.stop();
    }
  });
});

describe('HTTP API v1 when storage fails', () => {
  it('answers 503 RETRY with Retry-After when appends cannot commit before the deadline', async () => {
    const faults = new FaultInjector([{ method: 'commitAppend', mode: 'before' }]);
    const failing = await startTestStack({ wrapStore: (s) => faults.wrap(s), engine: { appendDeadlineMs: 200 } });
    try {
      const client = apiClient(failing.url);
      faults.enabled = false;
      await client('POST', '/v1/topics', { name: 't', partitions: 1 });
      faults.enabled = true;
      const res = await client('POST', '/v1/topics/t/records', { records: [{ value: 'a' }] });
      expectError(res, 503, 'RETRY');
      expect(res.headers.get('retry-after')).toBe('1');
      faults.enabled = false;
      expect((await client('GET', '/v1/topics/t/partitions/0/offsets?at=latest')).body.offset).toBe(0);
    } finally {
      await failing.stop();
    }
  });

  it('answers 429 THROTTLED when DynamoDB keeps throttling', async () => {
    const faults = new FaultInjector([{ method: 'commitAppend', mode: 'before', error: throttleError }]);
    const throttled = await startTestStack({ wrapStore: (s) => faults.wrap(s), engine: { appendDeadlineMs: 200 } });
    try {
      const client = apiClient(throttled.url);
      faults.enabled = false;
      await client('POST', '/v1/topics', { name: 't', partitions: 1 });
      faults.enabled = true;
      const res = await client('POST', '/v1/topics/t/records', { records: [{ value: 'a' }] });
      expectError(res, 429, 'THROTTLED');
      expect(res.headers.get('retry-after')).toBeTruthy();
    } finally {
      await throttled.stop();
    }
  });
});
