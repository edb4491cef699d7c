/**
 * The running API against docs/openapi.yaml: one request (at least) per route, and the
 * common errors, each answer checked against the schema the document gives for its
 * route and status. A field a handler answers that the document does not list (or a
 * required one it omits) fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchRoute, ROUTES, routeKey } from '../../functions/shared/routes.js';
import type { LocalStack } from '../../local/stack.js';
import { apiClient, startTestStack } from '../support/local-stack.js';
import { loadOpenApi, type Schema, validate } from '../support/openapi.js';

const doc = loadOpenApi();
let stack: LocalStack;
let api: ReturnType<typeof apiClient>;
const covered = new Set<string>();
const problems: string[] = [];

beforeAll(async () => {
  stack = await startTestStack();
  api = apiClient(stack.url);
});
afterAll(async () => stack?.stop());

/** Sends a request and checks its answer against the documented response. */
async function call(method: string, path: string, body?: unknown) {
  const res = await api(method, path, body);
  const match = matchRoute(method, new URL(path, 'http://x').pathname);
  if (!match || !('route' in match)) {
    problems.push(`${method} ${path}: no route`);
    return res;
  }
  covered.add(routeKey(match.route));
  const op = doc.paths[match.route.path]?.[method.toLowerCase()];
  const response = op?.responses?.[String(res.status)] ?? op?.responses?.default;
  if (!response) {
    problems.push(`${method} ${match.route.path}: status ${res.status} is not documented`);
    return res;
  }
  const resolved = response.$ref ? doc.components.responses[response.$ref.split('/').pop()] : response;
  const schema = resolved.content?.['application/json']?.schema as Schema | undefined;
  if (schema) problems.push(...validate(doc, schema, res.body).map((e) => `${method} ${match.route.path} ${res.status}: ${e}`));
  else if (res.body !== undefined) problems.push(`${method} ${match.route.path} ${res.status}: body where none is documented`);
  return res;
}

describe('the API answers what docs/openapi.yaml says', () => {
  it('on every route, and for common errors', async () => {
    await call('POST', '/v1/topics', { name: 'doc', partitions: 2, config: { retentionMs: 3_600_000 } });
    await call('POST', '/v1/topics', { name: 'doc', partitions: 2 });
    await call('GET', '/v1/topics');
    await call('PATCH', '/v1/topics/doc', { config: { compression: 'gzip' } });
    await call('POST', '/v1/topics/doc/records', {
      records: [
        { key: 'k', value: 'v', headers: { h: '1' } },
        { value: null, partition: 1 },
      ],
    });
    await call('POST', '/v1/topics/doc/partitions/0/records', {
      records: [{ value: 'x' }],
      producer: { producerId: 'p', epoch: 0, sequence: 0 },
    });
    await call('POST', '/v1/topics/doc/partitions/0/records', { records: [{ value: 'x' }], expectedOffset: 0 });
    await call('GET', '/v1/topics/doc');
    await call('GET', '/v1/topics/doc/partitions/0/records?offset=0&encoding=base64');
    await call('GET', '/v1/topics/doc/partitions/0/records?offset=99');
    await call('GET', '/v1/topics/doc/partitions/0/offsets?at=latest');
    await call('GET', '/v1/topics/doc/partitions/9/offsets?at=earliest');
    await call('GET', '/v1/topics/doc/partitions/0/offsets');
    await call('PUT', '/v1/groups/g/offsets', { offsets: [{ topic: 'doc', partition: 0, offset: 1, metadata: 'm' }] });
    await call('GET', '/v1/groups/g/offsets?topic=doc');
    const joined = await call('POST', '/v1/groups/g/members', { topics: ['doc'], clientId: 'test' });
    const member = joined.body.memberId as string;
    await call('POST', `/v1/groups/g/members/${member}/heartbeat`);
    await call('PUT', '/v1/groups/g/offsets', { memberId: member, generation: 0, offsets: [{ topic: 'doc', partition: 0, offset: 1 }] });
    await call('GET', '/v1/groups/g');
    await call('DELETE', `/v1/groups/g/members/${member}`);
    await call('POST', `/v1/groups/g/members/${member}/heartbeat`);
    await call('GET', '/v1/push');
    await call('POST', '/v1/topics/doc/records', { records: 'nope' });
    await call('DELETE', '/v1/topics/doc');
    await call('GET', '/v1/topics/doc');

    expect(problems).toEqual([]);
    expect([...covered].sort()).toEqual(ROUTES.map(routeKey).sort());
  });

  it('for a binary read: the batches media type on success, the documented JSON errors otherwise', async () => {
    const accept = 'application/vnd.strata.batches';
    const op = doc.paths['/v1/topics/{topic}/partitions/{partition}/records']!.get;
    expect(op.parameters.some((p: { name: string; in: string }) => p.name === 'accept' && p.in === 'header')).toBe(true);
    await api('POST', '/v1/topics', { name: 'doc-binary', partitions: 1 });
    await api('POST', '/v1/topics/doc-binary/records', { records: [{ value: 'x' }] });
    const ok = await fetch(`${stack.url}/v1/topics/doc-binary/partitions/0/records?offset=0`, { headers: { accept } });
    expect(ok.status).toBe(200);
    expect(Object.keys(op.responses['200'].content)).toContain(ok.headers.get('content-type'));
    const missing = await fetch(`${stack.url}/v1/topics/doc-binary/partitions/0/records?offset=9`, { headers: { accept } });
    expect(missing.status).toBe(416);
    const documented = doc.components.responses[op.responses['416'].$ref.split('/').pop()];
    expect(validate(doc, documented.content['application/json'].schema as Schema, await missing.json())).toEqual([]);
  });
});
