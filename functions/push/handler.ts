/**
 * The push function: the WebSocket API's routes (lib/push/protocol.ts). `$connect` (IAM
 * checked by API Gateway before it gets here) accepts, `subscribe`, `unsubscribe` and
 * `ping` answer one frame each (the routes return their response to the client), and
 * `$disconnect` removes the connection's subscriptions. `$default` takes frames whose
 * `action` no route has. Thin: parse, validate, call PushSessions, answer.
 *
 * The local server calls the same handler with the same events for its own sockets.
 */
import type { APIGatewayProxyWebsocketEventV2 } from 'aws-lambda';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import { InvalidJsonError, UnknownActionError, ValidationError } from '../../lib/core/errors.js';
import { parseOrThrow } from '../../lib/core/validation.js';
import { PUSH_ACTIONS, type PushMessage, pingSchema, subscribeSchema, unsubscribeSchema } from '../../lib/push/protocol.js';
import type { PushSessions } from '../../lib/push/sessions.js';
import { readEnv } from '../shared/env.js';
import { asStrataError } from '../shared/http.js';
import { createObservability, MetricUnit, type Observability } from '../shared/observability.js';
import { pushSessions } from '../shared/push.js';
import { dynamoClient } from '../shared/runtime.js';

export interface WebSocketResponse {
  statusCode: number;
  body?: string;
}

export type WebSocketHandler = (event: APIGatewayProxyWebsocketEventV2) => Promise<WebSocketResponse>;

export function createPushHandler(sessions: PushSessions, obs: Observability): WebSocketHandler {
  return async (event) => {
    const { routeKey, connectionId } = event.requestContext;
    const started = performance.now();
    let response: WebSocketResponse;
    let id: string | undefined;
    try {
      if (routeKey === '$connect') response = { statusCode: 200 };
      else if (routeKey === '$disconnect') {
        await sessions.disconnect(connectionId);
        response = { statusCode: 200 };
      } else {
        const frame = parseFrame(event.body, event.isBase64Encoded);
        id = typeof frame.id === 'string' ? frame.id : undefined;
        response = frameResponse(await answer(sessions, connectionId, routeKey, frame));
      }
    } catch (err) {
      const error = asStrataError(err);
      if (error.status >= 500) obs.logger.error('push request failed', { routeKey, code: error.code, error: err as Error });
      // A refused $connect must not open; any other route answers an error frame.
      response =
        routeKey === '$connect'
          ? { statusCode: error.status }
          : frameResponse({ type: 'error', ...(id !== undefined ? { id } : {}), code: error.code, message: error.message });
    }
    obs.metrics.addDimension('route', routeKey);
    obs.metrics.addMetric('Latency', MetricUnit.Milliseconds, performance.now() - started);
    obs.metrics.publishStoredMetrics();
    return response;
  };
}

async function answer(
  sessions: PushSessions,
  connectionId: string,
  routeKey: string,
  frame: Record<string, unknown>,
): Promise<PushMessage> {
  switch (routeKey) {
    case 'subscribe': {
      const request = parseOrThrow(subscribeSchema, frame, 'subscribe frame');
      const watermarks = await sessions.subscribe(connectionId, request);
      return { type: 'subscribed', ...withId(request.id), topic: request.topic, watermarks };
    }
    case 'unsubscribe': {
      const request = parseOrThrow(unsubscribeSchema, frame, 'unsubscribe frame');
      return {
        type: 'unsubscribed',
        ...withId(request.id),
        topic: request.topic,
        partitions: await sessions.unsubscribe(connectionId, request),
      };
    }
    case 'ping': {
      const request = parseOrThrow(pingSchema, frame, 'ping frame');
      return { type: 'pong', ...withId(request.id), watermarks: await sessions.ping(connectionId) };
    }
    default:
      throw new UnknownActionError(frame.action, PUSH_ACTIONS);
  }
}

function parseFrame(body: string | undefined, base64: boolean): Record<string, unknown> {
  const text = base64 && body !== undefined ? Buffer.from(body, 'base64').toString('utf8') : (body ?? '');
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    throw new InvalidJsonError('a frame must be a JSON object such as {"action":"subscribe","topic":"orders","partitions":[0]}');
  }
  if (typeof frame !== 'object' || frame === null || Array.isArray(frame))
    throw new ValidationError('a frame must be a JSON object with an "action"');
  return frame as Record<string, unknown>;
}

function withId(id: string | undefined): { id?: string } {
  return id !== undefined ? { id } : {};
}

function frameResponse(message: PushMessage): WebSocketResponse {
  return { statusCode: 200, body: JSON.stringify(message) };
}

let instance: WebSocketHandler | undefined;

/** Lambda entry point: builds the sessions once per cold start from the environment. */
export async function handler(event: APIGatewayProxyWebsocketEventV2): Promise<WebSocketResponse> {
  if (!instance) {
    const env = readEnv();
    const dynamo = dynamoClient(env);
    const store = new DynamoLogStore(dynamo, env.tableName);
    const sessions = pushSessions(dynamo, env.tableName, store);
    instance = createPushHandler(sessions, createObservability('push'));
  }
  return instance(event);
}
