import { describe, expect, it } from 'vitest';
import { matchRoute, ROUTES, type Route, type RouteMatch, routeKey } from '../../functions/shared/routes.js';

const SAMPLE_PARAMS: Record<string, string> = { topic: 'orders', partition: '3', group: 'billing', memberId: 'm-1' };

/** The path of `route` with each `{param}` replaced by its sample value. */
function samplePath(route: Route): string {
  return route.path.replace(/\{(\w+)\}/g, (_, name: string) => SAMPLE_PARAMS[name]!);
}

function paramsOf(route: Route): Record<string, string> {
  const names = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  return Object.fromEntries(names.map((n) => [n, SAMPLE_PARAMS[n]!]));
}

function expectMatch(result: ReturnType<typeof matchRoute>): RouteMatch {
  if (!result || !('route' in result)) throw new Error(`expected a match, got ${JSON.stringify(result)}`);
  return result;
}

describe('ROUTES', () => {
  it('lists the sixteen routes of API v1', () => {
    expect(ROUTES.map(routeKey)).toEqual([
      'POST /v1/topics',
      'GET /v1/topics',
      'GET /v1/topics/{topic}',
      'PATCH /v1/topics/{topic}',
      'DELETE /v1/topics/{topic}',
      'POST /v1/topics/{topic}/records',
      'POST /v1/topics/{topic}/partitions/{partition}/records',
      'GET /v1/topics/{topic}/partitions/{partition}/records',
      'GET /v1/topics/{topic}/partitions/{partition}/offsets',
      'GET /v1/groups/{group}/offsets',
      'PUT /v1/groups/{group}/offsets',
      'GET /v1/groups/{group}',
      'POST /v1/groups/{group}/members',
      'POST /v1/groups/{group}/members/{memberId}/heartbeat',
      'DELETE /v1/groups/{group}/members/{memberId}',
      'GET /v1/push',
    ]);
  });

  it('has no two routes with the same route key', () => {
    const keys = ROUTES.map(routeKey);

    expect(new Set(keys).size).toBe(keys.length);
  });

  it('serves every GET from the read function and every write from the append function', () => {
    for (const route of ROUTES) expect(route.fn).toBe(route.method === 'GET' ? 'read' : 'append');
  });
});

describe('routeKey', () => {
  it("formats API Gateway's route key as METHOD and path template", () => {
    expect(routeKey({ method: 'PATCH', path: '/v1/topics/{topic}', fn: 'append' })).toBe('PATCH /v1/topics/{topic}');
  });
});

describe('matchRoute', () => {
  describe.each(ROUTES.map((r) => [routeKey(r), r] as const))('for %s', (_key, route) => {
    it('matches its own template filled with sample parameters', () => {
      const match = expectMatch(matchRoute(route.method, samplePath(route)));

      expect(match.route).toBe(route);
      expect(match.pathParameters).toEqual(paramsOf(route));
    });
  });

  it('extracts each parameter by name', () => {
    const match = expectMatch(matchRoute('GET', '/v1/topics/payments/partitions/17/offsets'));

    expect(match.route.fn).toBe('read');
    expect(match.pathParameters).toEqual({ topic: 'payments', partition: '17' });
  });

  it('tells apart routes that differ only in the last segment', () => {
    const records = expectMatch(matchRoute('GET', '/v1/topics/t/partitions/0/records'));
    const offsets = expectMatch(matchRoute('GET', '/v1/topics/t/partitions/0/offsets'));

    expect(routeKey(records.route)).toBe('GET /v1/topics/{topic}/partitions/{partition}/records');
    expect(routeKey(offsets.route)).toBe('GET /v1/topics/{topic}/partitions/{partition}/offsets');
  });

  describe('URL-encoded parameters', () => {
    it('decodes percent-encoded spaces and UTF-8', () => {
      const match = expectMatch(matchRoute('GET', '/v1/groups/caf%C3%A9%20team/offsets'));

      expect(match.pathParameters).toEqual({ group: 'café team' });
    });

    it('decodes an encoded slash inside one parameter without splitting the path', () => {
      const match = expectMatch(matchRoute('POST', '/v1/topics/a%2Fb/records'));

      expect(routeKey(match.route)).toBe('POST /v1/topics/{topic}/records');
      expect(match.pathParameters).toEqual({ topic: 'a/b' });
    });

    it('decodes every parameter of a route', () => {
      const match = expectMatch(matchRoute('POST', '/v1/topics/my%2Etopic/partitions/%31/records'));

      expect(match.pathParameters).toEqual({ topic: 'my.topic', partition: '1' });
    });

    it('does not decode literal segments', () => {
      expect(matchRoute('GET', '/v1/%74opics')).toBeUndefined();
    });
  });

  describe('a path that exists for other methods', () => {
    it.each([
      ['PUT', '/v1/topics', ['POST', 'GET']],
      ['POST', '/v1/topics/orders', ['GET', 'PATCH', 'DELETE']],
      ['GET', '/v1/topics/orders/records', ['POST']],
      ['DELETE', '/v1/topics/orders/partitions/0/records', ['POST', 'GET']],
      ['POST', '/v1/topics/orders/partitions/0/offsets', ['GET']],
      ['POST', '/v1/groups/billing/offsets', ['GET', 'PUT']],
      ['HEAD', '/v1/topics', ['POST', 'GET']],
    ])('answers %s %s with the allowed methods', (method, path, allowed) => {
      expect(matchRoute(method, path)).toEqual({ allowed });
    });
  });

  describe('unknown paths', () => {
    it.each([
      '',
      '/',
      '/v1',
      '/v2/topics',
      '/v1/topic',
      '/v1/topics/orders/partitions',
      '/v1/topics/orders/partitions/0',
      '/v1/topics/orders/partitions/0/records/extra',
      '/v1/groups/billing/members/m-1/heartbeat/extra',
      '/v1/groups/billing/offsets/orders',
      'v1/topics',
      '/V1/TOPICS',
    ])('answers %j with undefined', (path) => {
      expect(matchRoute('GET', path)).toBeUndefined();
      expect(matchRoute('POST', path)).toBeUndefined();
    });
  });

  describe('empty parameter segments', () => {
    it.each([
      ['GET', '/v1/topics/'],
      ['DELETE', '/v1/topics/'],
      ['POST', '/v1/topics//records'],
      ['POST', '/v1/topics/orders/partitions//records'],
      ['GET', '/v1/topics//partitions//offsets'],
      ['GET', '/v1/groups//offsets'],
    ])('does not match %s %s', (method, path) => {
      expect(matchRoute(method, path)).toBeUndefined();
    });
  });

  describe('malformed percent-encoding', () => {
    it.each([
      '/v1/topics/%',
      '/v1/topics/%E0%A4%A',
      '/v1/topics/%ZZ/records',
      '/v1/topics/orders/partitions/%C3/records',
      '/v1/groups/%FF%FE/offsets',
    ])('does not throw on %s and matches nothing', (path) => {
      expect(() => matchRoute('GET', path)).not.toThrow();
      expect(matchRoute('GET', path)).toBeUndefined();
      expect(matchRoute('POST', path)).toBeUndefined();
    });
  });
});
