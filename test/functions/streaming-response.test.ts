/**
 * The read function's streaming entry (functions/shared/streaming.ts): behind a function
 * URL with RESPONSE_STREAM it writes the status and headers as the prelude and the body's
 * bytes as they are; invoked by API Gateway (buffered) it writes the proxy result as JSON.
 */
import { PassThrough, type Writable } from 'node:stream';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { binary, type HttpResponse, json } from '../../functions/shared/http.js';
import { type LambdaStreamingRuntime, type StreamPrelude, streamingEntry } from '../../functions/shared/streaming.js';

/** A stand-in for the runtime's `awslambda` global that records the prelude. */
function fakeRuntime() {
  const preludes: StreamPrelude[] = [];
  let wrapped = 0;
  const runtime: LambdaStreamingRuntime = {
    streamifyResponse: (h) => {
      wrapped++;
      return h;
    },
    HttpResponseStream: {
      from: (stream: Writable, prelude: StreamPrelude) => {
        preludes.push(prelude);
        return stream;
      },
    },
  };
  return { runtime, preludes, wrapped: () => wrapped };
}

async function run(response: HttpResponse, domainName: string, runtime: LambdaStreamingRuntime): Promise<Buffer> {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  const entry = streamingEntry(() => async () => response, runtime);
  await entry(
    {
      routeKey: '$default',
      rawPath: '/v1/topics',
      requestContext: { domainName, http: { method: 'GET' } },
    } as unknown as APIGatewayProxyEventV2,
    stream,
  );
  return Buffer.concat(chunks);
}

describe('the streaming read entry', () => {
  it("is wrapped by the runtime's streamifyResponse", () => {
    const fake = fakeRuntime();
    streamingEntry(() => async () => json(200, {}), fake.runtime);
    expect(fake.wrapped()).toBe(1);
  });

  it('streams a binary answer to a function URL as its bytes, after a prelude with status and headers', async () => {
    const fake = fakeRuntime();
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const out = await run(
      binary(200, 'application/vnd.strata.batches', bytes, { vary: 'accept' }),
      'abc.lambda-url.eu-west-1.on.aws',
      fake.runtime,
    );
    expect([...out]).toEqual([...bytes]);
    expect(fake.preludes).toEqual([{ statusCode: 200, headers: { 'content-type': 'application/vnd.strata.batches', vary: 'accept' } }]);
  });

  it('streams a JSON error answer to a function URL with its status', async () => {
    const fake = fakeRuntime();
    const out = await run(json(416, { error: { code: 'OFFSET_OUT_OF_RANGE' } }), 'abc.lambda-url.eu-west-1.on.aws', fake.runtime);
    expect(JSON.parse(out.toString())).toEqual({ error: { code: 'OFFSET_OUT_OF_RANGE' } });
    expect(fake.preludes[0]!.statusCode).toBe(416);
  });

  it('writes the proxy result as JSON for API Gateway, which invokes it buffered', async () => {
    const fake = fakeRuntime();
    const out = await run(
      binary(200, 'application/octet-stream', new Uint8Array([9, 8, 7])),
      'abc.execute-api.eu-west-1.amazonaws.com',
      fake.runtime,
    );
    const result = JSON.parse(out.toString());
    expect(result).toMatchObject({ statusCode: 200, isBase64Encoded: true, headers: { 'content-type': 'application/octet-stream' } });
    expect([...Buffer.from(result.body, 'base64')]).toEqual([9, 8, 7]);
    expect(fake.preludes).toEqual([]);
  });
});

describe('the awslambda global', () => {
  it('counts only with streamifyResponse on it (the invoke store defines one without)', async () => {
    const { lambdaStreamingRuntime } = await import('../../functions/shared/streaming.js');
    const g = globalThis as unknown as { awslambda?: unknown };
    const before = g.awslambda;
    try {
      g.awslambda = { InvokeStore: {} };
      expect(lambdaStreamingRuntime()).toBeUndefined();
      const runtime = fakeRuntime().runtime;
      g.awslambda = runtime;
      expect(lambdaStreamingRuntime()).toBe(runtime);
    } finally {
      g.awslambda = before;
    }
  });
});
