/**
 * Turns a table of route operations into an API Gateway v2 handler: finds the
 * operation by routeKey, maps any thrown value to the error body, logs 5xx as errors,
 * and records request latency and status per route as EMF metrics.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { asStrataError, errorResponse, type HttpResponse } from './http.js';
import { MetricUnit, type Observability } from './observability.js';
import { unmatchedRouteError } from './routes.js';

export type Operation = (event: APIGatewayProxyEventV2) => Promise<HttpResponse>;
export type Operations = Record<string, Operation>;
export type HttpHandler = (event: APIGatewayProxyEventV2) => Promise<HttpResponse>;

export function createHttpHandler(operations: Operations, obs: Observability): HttpHandler {
  return async (event) => {
    const started = performance.now();
    const operation = operations[event.routeKey];
    let response: HttpResponse;
    try {
      // On AWS, requests that match no route reach the `$default` route.
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
