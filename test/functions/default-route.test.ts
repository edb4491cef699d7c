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

/** A Lambda function URL's request: payload 2.0, routeKey `$default`, no path parameters. */
function functionUrlEvent(method: string, rawPath: string, query?: Record<string, string>): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: { http: { method }, domainName: 'abc.lambda-url.eu-west-1.on.aws' },
  } as unknown as APIGatewayProxyEventV2;
}

describe('requests from a function URL', () => {
  const seen: APIGatewayProxyEventV2[] = [];
  const urlHandler = createHttpHandler(
    {
      'GET /v1/topics/{topic}/partitions/{partition}/records': async (event) => {
        seen.push(event);
        return { statusCode: 200, headers: {}, body: 'ok' };
      },
    },
    createObservability('read'),
  );

  it('are routed by method and path, with the path parameters decoded', async () => {
    const res = await urlHandler(functionUrlEvent('GET', '/v1/topics/a%2Fb/partitions/3/records', { offset: '7' }));
    expect(res.statusCode).toBe(200);
    expect(seen.at(-1)).toMatchObject({
      routeKey: 'GET /v1/topics/{topic}/partitions/{partition}/records',
      pathParameters: { topic: 'a/b', partition: '3' },
      queryStringParameters: { offset: '7' },
    });
  });

  it('answer 421 WRONG_FUNCTION for a route the other function serves, naming it', async () => {
    const res = await urlHandler(functionUrlEvent('POST', '/v1/topics/orders/records'));
    expect(res.statusCode).toBe(421);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'WRONG_FUNCTION', function: 'append' });
  });

  it('still answer 404 and 405 for paths and methods no route has', async () => {
    expect((await urlHandler(functionUrlEvent('GET', '/v2/everything'))).statusCode).toBe(404);
    expect((await urlHandler(functionUrlEvent('PUT', '/v1/topics/orders/records'))).statusCode).toBe(405);
  });
});
