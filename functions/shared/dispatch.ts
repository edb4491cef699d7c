/**
 * Turns a table of route operations into an API Gateway v2 handler: finds the
 * operation by routeKey, maps any thrown value to the error body, logs 5xx as errors,
 * and records request latency and status per route as EMF metrics (and, apart, the
 * unexpected 5xx answers the ServerErrors alarm counts, and per-topic reads and lag). Each
 * invocation carries its Lambda context into the logs and an X-Ray subsegment
 * (tracing.ts). A Lambda function
 * URL sends the same payload (version 2.0) but every request has routeKey `$default`
 * and no path parameters: such a request is routed here by its method and path, with
 * the table of functions/shared/routes.ts, as the local server routes.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { WrongFunctionError } from '../../lib/core/errors.js';
import { asStrataError, errorResponse, type HttpResponse, rawBody } from './http.js';
import { MetricUnit, type Observability, readPosition, TOPIC_METRICS } from './observability.js';
import { matchRoute, routeKey, unmatchedRouteError } from './routes.js';
import { annotate, invocation } from './tracing.js';

export type Operation = (event: APIGatewayProxyEventV2) => Promise<HttpResponse>;
export type Operations = Record<string, Operation>;
/** `context` is Lambda's; the local stack and tests call without one. */
export type HttpHandler = (event: APIGatewayProxyEventV2, context?: Context) => Promise<HttpResponse>;

export function createHttpHandler(operations: Operations, obs: Observability): HttpHandler {
  return (received, context) => invocation(obs.logger, context, obs.service, () => handle(operations, obs, received));
}

async function handle(operations: Operations, obs: Observability, received: APIGatewayProxyEventV2): Promise<HttpResponse> {
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
    annotate('route', event.routeKey);
    if (event.pathParameters?.topic) annotate('topic', event.pathParameters.topic);
    response = await operation(event);
  } catch (err) {
    const error = asStrataError(err);
    if (error.status >= 500 && error.code !== 'RETRY') {
      obs.logger.error('request failed', { routeKey: event.routeKey, code: error.code, error: err as Error });
      // Dimension `service` only: the ServerErrors alarm (infra/monitoring.ts) counts it,
      // where API Gateway's 5XXError also counts every 503 RETRY of a contended append.
      obs.metrics.singleMetric().addMetric('UnexpectedErrors', MetricUnit.Count, 1);
    } else {
      obs.logger.debug('request rejected', { routeKey: event.routeKey, code: error.code, message: error.message });
    }
    response = errorResponse(error);
  }
  obs.metrics.addDimension('route', event.routeKey);
  obs.metrics.addMetric('Latency', MetricUnit.Milliseconds, performance.now() - started);
  obs.metrics.addMetric(`Status${Math.floor(response.statusCode / 100)}xx`, MetricUnit.Count, 1);
  obs.metrics.publishStoredMetrics();
  const topic = event.pathParameters?.topic;
  const position = readPosition(response);
  if (obs.topics && topic && position) {
    obs.topics.add(topic, TOPIC_METRICS.readRecords, position.records);
    obs.topics.add(topic, TOPIC_METRICS.readBytes, bodyBytes(response));
    obs.topics.max(topic, TOPIC_METRICS.consumerLag, Math.max(0, position.highWatermark - position.nextOffset));
  }
  obs.topics?.publish();
  return response;
}

function bodyBytes(response: HttpResponse): number {
  return rawBody(response)?.length ?? Buffer.byteLength(response.body ?? '', response.isBase64Encoded ? 'base64' : 'utf8');
}

/**
 * The operation of a `$default` request, found by its method and raw path, with the
 * event given the routeKey and path parameters API Gateway would have set. Undefined
 * when no route has this method and path; a route of the other function (a read sent
 * to the append function's URL) is WRONG_FUNCTION (421), saying which function serves it.
 */
function routeByPath(
  operations: Operations,
  event: APIGatewayProxyEventV2,
): { event: APIGatewayProxyEventV2; operation: Operation } | undefined {
  const method = event.requestContext?.http?.method ?? '?';
  const match = matchRoute(method, event.rawPath ?? '');
  if (!match || !('route' in match)) return undefined;
  const key = routeKey(match.route);
  const operation = operations[key];
  if (!operation) {
    throw new WrongFunctionError(key, match.route.fn);
  }
  return { event: { ...event, routeKey: key, pathParameters: match.pathParameters }, operation };
}
