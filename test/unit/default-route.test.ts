/**
 * API Gateway's `$default` route: on AWS, requests that match none of the API's routes
 * reach the read function with routeKey `$default`, and must be answered exactly as the
 * local server answers them (405 with the allowed methods, or 404), in the API's error format.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createHttpHandler } from '../../functions/shared/dispatch.js';
import { createObservability } from '../../functions/shared/observability.js';

const handler = createHttpHandler({}, createObservability('read'));

function defaultRouteEvent(method: string, rawPath: string): APIGatewayProxyEventV2 {
  return { routeKey: '$default', rawPath, requestContext: { http: { method } } } as unknown as APIGatewayProxyEventV2;
}

describe('the $default route', () => {
  it('answers 405 METHOD_NOT_ALLOWED with the allowed methods for a known path', async () => {
    const res = await handler(defaultRouteEvent('PUT', '/v1/topics/orders/records'));
    expect(res.statusCode).toBe(405);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'METHOD_NOT_ALLOWED', allowed: ['POST'] });
  });

  it('answers 404 ROUTE_NOT_FOUND for an unknown path', async () => {
    const res = await handler(defaultRouteEvent('GET', '/v2/everything'));
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body).error.code).toBe('ROUTE_NOT_FOUND');
  });
});
