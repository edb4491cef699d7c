/**
 * The local stack's stand-ins for the append and read functions' Lambda function URLs
 * (local/server.ts, LOCAL_FUNCTION_URL_PATHS): the client's function-URL transport
 * against them, a streamed read past the buffered bound, a request at the other
 * function's URL, and the read function's push discovery there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Strata } from '../../client/index.js';
import type { LocalStack } from '../../local/stack.js';
import { startTestStack } from '../support/local-stack.js';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack?.stop());

describe('the local function URLs', () => {
  it('serve the client through its function-URL transport, each request at its function', async () => {
    const strata = new Strata({ url: stack.functionUrls });
    await strata.createTopic('local-furl', { partitions: 2 });
    await strata.append(
      'local-furl',
      [
        { key: 'a', value: 'one' },
        { key: 'b', value: Buffer.from([0, 255, 7]) },
      ],
      { partition: 1 },
    );
    const batches = await strata.read('local-furl', 1, { offset: 0 });
    const json = await strata.read('local-furl', 1, { offset: 0, format: 'json' });
    expect(batches.records.map((r) => [r.offset, r.key?.toString(), [...(r.value ?? [])]])).toEqual([
      [0, 'a', [...Buffer.from('one')]],
      [1, 'b', [0, 255, 7]],
    ]);
    expect(json.records.map((r) => r.value?.toString('hex'))).toEqual(batches.records.map((r) => r.value?.toString('hex')));
    await expect(strata.read('local-furl', 1, { offset: 9 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', status: 416 });
    const records = [];
    for await (const r of strata.subscribe('local-furl', { follow: false, push: false })) records.push(r.offset);
    expect(records).toEqual([0, 1]);
  });

  it('stream one read of more than the buffered 5 MiB through the read URL, which the API refuses', async () => {
    const strata = new Strata({ url: stack.functionUrls });
    await strata.createTopic('local-furl-large', { partitions: 1 });
    const value = Buffer.alloc(64 * 1024, 7);
    for (let i = 0; i < 8; i++)
      await strata.append(
        'local-furl-large',
        Array.from({ length: 16 }, () => ({ value })),
        { partition: 0 },
      );
    await stack.engine.flusher!.flushPartition(await stack.engine.topics.get('local-furl-large'), 0, { force: true });
    const large = await strata.read('local-furl-large', 0, { offset: 0, maxBytes: 16 * 1024 * 1024, maxRecords: 1000 });
    expect(large.records).toHaveLength(128);
    expect(large.records.reduce((n, r) => n + (r.value?.byteLength ?? 0), 0)).toBe(8 * 1024 * 1024);
    expect(large.nextOffset).toBe(128);
    await expect(
      new Strata({ url: stack.url }).read('local-furl-large', 0, { offset: 0, maxBytes: 16 * 1024 * 1024 }),
    ).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringContaining('streamed URL'),
    });
  });

  it("answer a request at the other function's URL with 421 WRONG_FUNCTION, and push discovery at the read URL", async () => {
    const res = await fetch(`${stack.functionUrls.readUrl}/v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(res.status).toBe(421);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ code: 'WRONG_FUNCTION', function: 'append' });
    const push = await fetch(`${stack.functionUrls.readUrl}/v1/push`);
    expect(push.status).toBe(200);
    expect(((await push.json()) as { url: string }).url).toBe(`${stack.url.replace(/^http/, 'ws')}/v1/push`);
  });
});
