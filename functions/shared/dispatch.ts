/**
 * Turns a table of route operations into an API Gateway v2 handler: finds the
 * operation by routeKey, maps any thrown value to the error body, logs 5xx as errors,
 * and records request latency and status per route as EMF metrics. A Lambda function
 * URL sends the same payload (version 2.0) but every request has routeKey `$default`
 * and no path parameters: such a request is routed here by its method and path, with
 * the table of functions/shared/routes.ts, as the local server routes.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { asStrataError, errorResponse, type HttpResponse } from './http.js';
import { MetricUnit, type Observability } from './observability.js';
import { StrataError } from '../../lib/errors.js';
import { matchRoute, routeKey, unmatchedRouteError } from './routes.js';

export type Operation = (event: APIGatewayProxyEventV2) => Promise<HttpResponse>;
export type Operations = Record<string, Operation>;
export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<HttpResponse>;

export function createHttpHandler(operations: Operations, obs: Observability): HttpHandler {
  return async (received) => {
    const started = performance.now();
    let event = received;
    let response: HttpResponse;
    try {
      let operation = operations[event.routeKey];
      if (!operation && event.routeKey === '$default') {
        // A function URL's request, or one API Gateway's `$default` route caught (a path
        // none of the API's routes has: answered 404 or 405 below).
        const routed = routeByPath(operations, event);
        if (routed) ({ event, operation } = routed);
      }
      if (!operation) throw unmatchedRouteError(event.requestContext?.http?.method ?? '?', event.rawPath ?? event.routeKey);
      response = await operation(event);
    } catch (err) {
      const error = asStrataError(err);
      if (error.status >= 500 && error.code !== 'RETRY') {
        obs.logger.error('request failed', { routeKey: event.routeKey, code: error.code, error: err as Error });
      } else {
        obs.logger.debug('request rejected', { routeKey: event.routeKey, code: error.code, message: error.message });
      }
      response = errorResponse(error);
    }
    obs.metrics.addDimension('route', event.routeKey);
    obs.metrics.addMetric('Latency', MetricUnit.Milliseconds, performance.now() - started);
    obs.metrics.addMetric(`Status${Math.floor(response.statusCode / 100)}xx`, MetricUnit.Count, 1);
    obs.metrics.publishStoredMetrics();
    return response;
  };
}

/**
 * The operation of a `$default` request, found by its method and raw path, with the
 * event given the routeKey and path parameters API Gateway would have set. Undefined
 * when no route has this method and path; a route of the other function (a read sent
 * to the append function's URL) is WRONG_FUNCTION (421), saying which function serves it.
 */
function routeByPath(operations: Operations, event: APIGatewayProxyEventV2): { event: APIGatewayProxyEventV2; operation: Operation } | undefined {
  const method = event.requestContext?.http?.method ?? '?';
  const match = matchRoute(method, event.rawPath ?? '');
  if (!match || !('route' in match)) return undefined;
  const key = routeKey(match.route);
  const operation = operations[key];
  if (!operation) {
    throw new StrataError('WRONG_FUNCTION', 421, `${key} is served by the ${match.route.fn} function: send it to that function's URL`, false, {
      details: { function: match.route.fn },
    });
  }
  return { event: { ...event, routeKey: key, pathParameters: match.pathParameters }, operation };
}
