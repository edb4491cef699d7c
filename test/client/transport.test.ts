import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from '../../client/index.js';
import { ERROR_CODES, errorFromResponse, Strata, StrataError } from '../../client/index.js';

let url: string;
const seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"topics":[]}');
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('transport', () => {
  it('signs requests with SigV4 for execute-api when credentials are given', async () => {
    const strata = new Strata({
      url,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token' },
    });
    await strata.listTopics();
    await strata.commitOffsets('g', [{ topic: 't', partition: 0, offset: 1 }]);
    const [get, put] = seen.slice(-2);
    expect(get!.headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
    );
    expect(get!.headers['x-amz-security-token']).toBe('token');
    expect(get!.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(put!.headers['x-amz-content-sha256'] ?? put!.headers.authorization).toBeTruthy();
    expect(JSON.parse(put!.body)).toEqual({ offsets: [{ topic: 't', partition: 0, offset: 1 }] });
  });

  it('sends plain requests to the local stack', async () => {
    await new Strata({ url }).listTopics();
    expect(seen.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('reads the region of an API Gateway URL', () => {
    expect(
      () =>
        new Strata({ url: 'https://abc123.execute-api.ap-south-1.amazonaws.com', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }),
    ).not.toThrow();
  });
});

describe('errors from responses', () => {
  /** Every code the server can answer: the error table. */
  const codes = new Map(Object.entries(ERROR_CODES).map(([code, row]) => [code, row.status]));
  /** code → the engine class that raises it, by the table. */
  const classByCode = new Map(Object.entries(ERROR_CODES).map(([code, row]) => [code, row.class.name]));

  it.each([...codes])('turns %s into the engine class with that code', (code, status) => {
    const err = errorFromResponse(status, { error: { code, message: 'm', extra: 7 } });
    expect(err).toBeInstanceOf(StrataError);
    expect(err).toMatchObject({ code, status, message: 'm', extra: 7, retryable: status === 429 || status === 503 });
    const className = classByCode.get(code);
    if (className) expect(err).toBeInstanceOf((client as unknown as Record<string, typeof StrataError>)[className]);
    if (className) expect(err.name).toBe(className);
  });

  it('keeps unknown codes as a plain StrataError', () => {
    const err = errorFromResponse(418, { error: { code: 'TEAPOT', message: 'short and stout' } });
    expect(err.constructor).toBe(StrataError);
    expect(err).toMatchObject({ code: 'TEAPOT', status: 418 });
  });
});
