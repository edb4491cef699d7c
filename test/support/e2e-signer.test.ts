/**
 * The e2e suite's SigV4 signer (test/e2e/sigv4.ts), checked the way API Gateway checks
 * it: a server recomputes the signature from the request as it arrived (method, path,
 * query, the signed headers, the body) and compares. Catches anything `fetch` changes
 * after signing, which would make every request to a deployed stack fail with 403.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../e2e/sigv4.js';
import { readTarget } from '../e2e/target.js';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  sessionToken: 'session-token',
};
const region = 'eu-west-1';
const verifier = new SignatureV4({ service: 'execute-api', region, credentials, sha256: Sha256 });

let server: Server;
let base: string;

/** 200 when the Authorization header is what the received request signs to, else 403. */
async function verify(req: IncomingMessage, body: string): Promise<{ ok: boolean; detail: string }> {
  const auth = String(req.headers.authorization ?? '');
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(auth)?.[1]?.split(';') ?? [];
  const amzDate = String(req.headers['x-amz-date'] ?? '');
  const date = new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
  const url = new URL(req.url ?? '/', 'http://placeholder');
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : [query[k]!, v].flat();
  const headers = Object.fromEntries(signedHeaders.map((h) => [h, String(req.headers[h] ?? '')]));
  const expected = await verifier.sign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: 'placeholder',
      path: url.pathname,
      query,
      headers,
      ...(body ? { body } : {}),
    },
    { signingDate: date },
  );
  return { ok: expected.headers.authorization === auth, detail: `${req.method} ${req.url} signed ${signedHeaders.join(';')}` };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      void verify(req, body).then(({ ok, detail }) => {
        res.writeHead(ok ? 200 : 403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok, detail }));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('the e2e SigV4 signer', () => {
  const send = signedFetch(async () => credentials, region);

  it.each([
    ['GET', '/v1/topics', undefined],
    ['GET', '/v1/topics/orders/partitions/0/records?offset=2&waitMs=100&encoding=base64', undefined],
    ['POST', '/v1/topics/orders/records', '{"records":[{"value":"héllo"}]}'],
    ['PUT', '/v1/groups/bad%20group/offsets', '{"offsets":[]}'],
    ['DELETE', '/v1/topics/a.b_c-d', undefined],
  ])('signs %s %s so that the server computes the same signature', async (method, path, body) => {
    const res = await send(`${base}${path}`, {
      method,
      ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
    });
    const answer = (await res.json()) as { ok: boolean; detail: string };
    expect(answer.ok, answer.detail).toBe(true);
  });

  it('is a real check: a request changed after signing is refused', async () => {
    const signed = await verifier.sign({
      method: 'GET',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: '/v1/topics',
      query: {},
      headers: { host: new URL(base).host },
    });
    const res = await fetch(`${base}/v1/topics/other`, { headers: signed.headers as Record<string, string> });
    expect(res.status).toBe(403);
  });

  it('refuses bodies it cannot sign', async () => {
    await expect(send(`${base}/v1/topics`, { method: 'POST', body: new Uint8Array([1]) })).rejects.toThrow(/string bodies/);
  });
});

describe('the e2e target', () => {
  it('skips without a URL, signs https by default, takes the region from an execute-api host', () => {
    expect(readTarget({})).toBeUndefined();
    expect(readTarget({ STRATA_E2E_URL: 'https://abc123.execute-api.ap-south-1.amazonaws.com/' })).toMatchObject({
      url: 'https://abc123.execute-api.ap-south-1.amazonaws.com',
      auth: 'sigv4',
      region: 'ap-south-1',
      enforcesIam: true,
    });
    expect(readTarget({ STRATA_E2E_URL: 'http://127.0.0.1:4510' })).toMatchObject({ auth: 'none', enforcesIam: false });
  });

  it('explains a malformed URL or auth mode', () => {
    expect(() => readTarget({ STRATA_E2E_URL: 'localhost:4510' })).toThrow(/http\(s\)|not a URL/);
    expect(() => readTarget({ STRATA_E2E_URL: 'http://x', STRATA_E2E_AUTH: 'basic' })).toThrow(/'sigv4' or 'none'/);
  });
});
