/**
 * The client against Lambda function URLs: each request goes to the URL of the function
 * that serves its route (functions/shared/routes.ts), signed with SigV4 for service
 * `lambda`; against API Gateway, one URL and service `execute-api`.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Strata } from '../../client/index.js';
import { Transport } from '../../client/transport.js';
import { ROUTES } from '../../functions/shared/routes.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** A stand-in for one function's URL: records what reaches it. */
function fakeFunctionUrl(): { server: Server; seen: Seen[] } {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"topics":[],"offsets":[]}');
    });
  });
  return { server, seen };
}

const append = fakeFunctionUrl();
const read = fakeFunctionUrl();
let appendUrl: string;
let readUrl: string;
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

beforeAll(async () => {
  const listen = (s: Server) =>
    new Promise<string>((resolve) => s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}/`)));
  [appendUrl, readUrl] = await Promise.all([listen(append.server), listen(read.server)]);
});
afterAll(async () => {
  await Promise.all([append.server, read.server].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

describe('function URLs', () => {
  it('route every route of the API to the URL of the function that serves it', () => {
    const transport = new Transport({
      url: { appendUrl: 'https://a1.lambda-url.eu-west-1.on.aws/', readUrl: 'https://r1.lambda-url.eu-west-1.on.aws/' },
      sign: false,
    });
    for (const route of ROUTES) {
      const path = route.path.replace(/\{[^}]+\}/g, 'x%2Fy');
      const expected = route.fn === 'append' ? 'https://a1.lambda-url.eu-west-1.on.aws' : 'https://r1.lambda-url.eu-west-1.on.aws';
      expect(transport.urlFor(route.method, path), `${route.method} ${route.path}`).toBe(expected);
    }
  });

  it("send a path no route has to the read function, as API Gateway's $default route does", () => {
    const transport = new Transport({
      url: { appendUrl: 'https://a1.lambda-url.eu-west-1.on.aws', readUrl: 'https://r1.lambda-url.eu-west-1.on.aws' },
      sign: false,
    });
    expect(transport.urlFor('GET', '/v2/nothing')).toBe('https://r1.lambda-url.eu-west-1.on.aws');
  });

  it('send appends and reads to their functions, signed for service lambda', async () => {
    const strata = new Strata({ url: { appendUrl, readUrl }, region: 'eu-west-1', credentials, readFormat: 'json' });
    await strata.listTopics();
    await strata.commitOffsets('g', [{ topic: 't', partition: 0, offset: 1 }]);
    await strata.fetchOffsets('g');
    expect(read.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /v1/topics', 'GET /v1/groups/g/offsets']);
    expect(append.seen.map((s) => `${s.method} ${s.url}`)).toEqual(['PUT /v1/groups/g/offsets']);
    for (const s of [...read.seen, ...append.seen]) {
      expect(s.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/lambda\/aws4_request, /);
    }
  });

  it('are signed for lambda, in the region of the URL, without being told either', () => {
    const transport = new Transport({
      url: { appendUrl: 'https://a1.lambda-url.ap-south-1.on.aws/', readUrl: 'https://r1.lambda-url.ap-south-1.on.aws/' },
      credentials,
    });
    expect(transport.service).toBe('lambda');
  });

  it('sign a single function URL host for lambda too', () => {
    expect(new Transport({ url: 'https://r1.lambda-url.eu-west-1.on.aws/', credentials }).service).toBe('lambda');
  });
});

describe('API Gateway', () => {
  it('is signed for execute-api, every route to the one URL', () => {
    const transport = new Transport({ url: 'https://abc123.execute-api.eu-west-1.amazonaws.com/', credentials });
    expect(transport.service).toBe('execute-api');
    for (const route of ROUTES)
      expect(transport.urlFor(route.method, route.path.replace(/\{[^}]+\}/g, 'x'))).toBe(
        'https://abc123.execute-api.eu-west-1.amazonaws.com',
      );
  });

  it('can be signed for another service when named (a custom domain in front of function URLs)', () => {
    expect(new Transport({ url: 'https://log.example.com', region: 'eu-west-1', credentials, service: 'lambda' }).service).toBe('lambda');
  });

  it('leaves the local stack unsigned', () => {
    expect(new Transport({ url: 'http://127.0.0.1:4510' }).service).toBeUndefined();
  });
});

describe("the e2e suite's target and routing (test/e2e)", () => {
  it('reads function URLs from STRATA_E2E_APPEND_URL and STRATA_E2E_READ_URL, signing for lambda in their region', async () => {
    const { readTarget } = await import('../e2e/target.js');
    const target = readTarget({
      STRATA_E2E_APPEND_URL: 'https://a1.lambda-url.ap-south-1.on.aws/',
      STRATA_E2E_READ_URL: 'https://r1.lambda-url.ap-south-1.on.aws/',
    });
    expect(target).toMatchObject({
      url: 'https://r1.lambda-url.ap-south-1.on.aws',
      functionUrls: { appendUrl: 'https://a1.lambda-url.ap-south-1.on.aws', readUrl: 'https://r1.lambda-url.ap-south-1.on.aws' },
      service: 'lambda',
      region: 'ap-south-1',
      auth: 'sigv4',
      enforcesIam: true,
    });
    expect(readTarget({ STRATA_E2E_URL: 'https://abc.execute-api.eu-west-1.amazonaws.com' })).toMatchObject({
      service: 'execute-api',
      functionUrls: undefined,
    });
    expect(() => readTarget({ STRATA_E2E_APPEND_URL: 'https://a1.lambda-url.ap-south-1.on.aws/' })).toThrow(/go together/);
  });

  it('sends each request to its function and signs it for lambda with the host it goes to', async () => {
    const { routedFetch, signedFetch } = await import('../e2e/sigv4.js');
    const fetchImpl = routedFetch({ appendUrl, readUrl }, signedFetch(credentials, 'eu-west-1', 'lambda'));
    const before = { append: append.seen.length, read: read.seen.length };
    const base = readUrl.replace(/\/$/, '');
    await fetchImpl(`${base}/v1/topics/t/records`, { method: 'POST', body: '{}' });
    await fetchImpl(`${base}/v1/topics/t/partitions/0/records?offset=3`, { method: 'GET' });
    expect(append.seen.slice(before.append).map((s) => s.url)).toEqual(['/v1/topics/t/records']);
    expect(read.seen.slice(before.read).map((s) => s.url)).toEqual(['/v1/topics/t/partitions/0/records?offset=3']);
    const signedHost = append.seen.at(-1)!.headers.authorization!;
    expect(signedHost).toMatch(/\/eu-west-1\/lambda\/aws4_request, SignedHeaders=[^,]*host/);
  });
});
