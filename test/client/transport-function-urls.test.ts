/**
 * The client against two stand-ins for Lambda function URLs, over the real handlers and
 * engine (DynamoDB Local and s3rver): each server turns a request into a function URL's
 * event (payload 2.0, routeKey `$default`, no path parameters), the append one answers
 * buffered, the read one through the streaming entry (prelude, then the bytes). Proves
 * the client's routing, the handlers' routing by path, and a streamed binary read,
 * end to end; AWS itself is not involved (its SigV4 check is the e2e suite's).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Strata } from '../../client/index.js';
import { createAppendHandler } from '../../functions/append/handler.js';
import { createReadHandler } from '../../functions/read/handler.js';
import { createObservability } from '../../functions/shared/observability.js';
import { type LambdaStreamingRuntime, streamingEntry } from '../../functions/shared/streaming.js';
import type { LocalStack } from '../../local/stack.js';
import { startTestStack } from '../support/local-stack.js';

let stack: LocalStack;
const servers: Server[] = [];
const seen: Record<'append' | 'read', string[]> = { append: [], read: [] };
let appendUrl: string;
let readUrl: string;

/** A function URL's event for a request, as Lambda builds it (no route matching). */
async function functionUrlEvent(req: IncomingMessage, domainName: string): Promise<APIGatewayProxyEventV2> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  const url = new URL(req.url ?? '/', 'http://local');
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(body ? { body } : {}),
    isBase64Encoded: false,
    requestContext: { domainName, http: { method: req.method ?? 'GET', path: url.pathname } },
  } as unknown as APIGatewayProxyEventV2;
}

async function listen(handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>): Promise<string> {
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      res.writeHead(599);
      res.end(String(err.stack));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

beforeAll(async () => {
  stack = await startTestStack();
  const append = createAppendHandler(stack.engine, createObservability('append'));
  appendUrl = await listen(async (req, res) => {
    seen.append.push(`${req.method} ${req.url}`);
    const response = await append(await functionUrlEvent(req, 'append.lambda-url.eu-west-1.on.aws'));
    res.writeHead(response.statusCode, response.headers as Record<string, string>);
    res.end(Buffer.from(response.body, response.isBase64Encoded ? 'base64' : 'utf8'));
  });
  // The runtime's streaming API, as the read function sees it behind a RESPONSE_STREAM URL.
  const runtime: LambdaStreamingRuntime = {
    streamifyResponse: (h) => h,
    HttpResponseStream: {
      from: (stream: Writable, prelude) => {
        (stream as ServerResponse).writeHead(prelude.statusCode, prelude.headers);
        return stream;
      },
    },
  };
  const read = streamingEntry(() => createReadHandler(stack.engine, createObservability('read'), { streamed: true }), runtime);
  readUrl = await listen(async (req, res) => {
    seen.read.push(`${req.method} ${req.url}`);
    await read(await functionUrlEvent(req, 'read.lambda-url.eu-west-1.on.aws'), res);
  });
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  await stack?.stop();
});

describe('the client through function URLs', () => {
  it('creates, appends, reads (streamed batches and JSON), commits and fetches offsets, each at its function', async () => {
    const strata = new Strata({ url: { appendUrl, readUrl }, sign: false });
    await strata.createTopic('furl', { partitions: 2 });
    await strata.append(
      'furl',
      [
        { key: 'a', value: 'one' },
        { key: 'b', value: Buffer.from([0, 255, 7]) },
      ],
      { partition: 1 },
    );
    const batches = await strata.read('furl', 1, { offset: 0 });
    const json = await strata.read('furl', 1, { offset: 0, format: 'json' });
    expect(batches.records.map((r) => [r.offset, r.key?.toString(), [...(r.value ?? [])]])).toEqual([
      [0, 'a', [...Buffer.from('one')]],
      [1, 'b', [0, 255, 7]],
    ]);
    expect(json.records.map((r) => r.value?.toString('hex'))).toEqual(batches.records.map((r) => r.value?.toString('hex')));
    expect(await strata.lookupOffset('furl', 1, 'latest')).toMatchObject({ offset: 2 });
    await strata.commitOffsets('furl-group', [{ topic: 'furl', partition: 1, offset: 2, topicId: batches.topicId }]);
    expect((await strata.fetchOffsets('furl-group')).map((o) => o.offset)).toEqual([2]);
    await expect(strata.read('furl', 1, { offset: 9 })).rejects.toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', status: 416 });

    expect(seen.append.map((r) => r.split('?')[0])).toEqual([
      'POST /v1/topics',
      'POST /v1/topics/furl/partitions/1/records',
      'PUT /v1/groups/furl-group/offsets',
    ]);
    expect(seen.read.map((r) => r.split('?')[0])).toEqual([
      'GET /v1/topics/furl/partitions/1/records',
      'GET /v1/topics/furl/partitions/1/records',
      'GET /v1/topics/furl/partitions/1/offsets',
      'GET /v1/groups/furl-group/offsets',
      'GET /v1/topics/furl/partitions/1/records',
    ]);
  });

  it('streams one read of more than 6 MB through the read URL, which a buffered answer refuses', async () => {
    const strata = new Strata({ url: { appendUrl, readUrl }, sign: false });
    await strata.createTopic('furl-large', { partitions: 1 });
    const value = Buffer.alloc(64 * 1024, 7);
    // 8 MiB of records, in appends of 1 MiB.
    for (let i = 0; i < 8; i++)
      await strata.append(
        'furl-large',
        Array.from({ length: 16 }, () => ({ value })),
        { partition: 0 },
      );
    const large = await strata.read('furl-large', 0, { offset: 0, maxBytes: 16 * 1024 * 1024, maxRecords: 1000 });
    expect(large.records).toHaveLength(128);
    expect(large.records.reduce((n, r) => n + (r.value?.byteLength ?? 0), 0)).toBe(8 * 1024 * 1024);
    expect(large.nextOffset).toBe(128);
    // The same read answered buffered (API Gateway, the local server) keeps the 5 MiB bound, and says where the larger one is.
    const buffered = new Strata({ url: stack.url });
    await expect(buffered.read('furl-large', 0, { offset: 0, maxBytes: 16 * 1024 * 1024 })).rejects.toMatchObject({
      code: 'VALIDATION',
      message: expect.stringContaining('streamed URL'),
    });
  });

  it("answers a request sent to the other function's URL with 421 WRONG_FUNCTION, naming the right one", async () => {
    const res = await fetch(`${readUrl}v1/topics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"name":"x"}',
    });
    expect(res.status).toBe(421);
    expect(((await res.json()) as { error: unknown }).error).toMatchObject({ code: 'WRONG_FUNCTION', function: 'append' });
    const wrong = new Strata({ url: { appendUrl: readUrl, readUrl: appendUrl }, sign: false });
    await expect(wrong.listTopics()).rejects.toMatchObject({ code: 'WRONG_FUNCTION', status: 421 });
  });
});
