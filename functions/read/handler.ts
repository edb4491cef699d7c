/**
 * The read function: every route that only reads (records, offsets, topics, groups).
 * Thin: parse and validate the request, call the engine, answer. A records read answers
 * JSON, or the batches as stored when the request accepts `application/vnd.strata.batches`
 * (lib/batch-frame.ts).
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type { LogEngine } from '../../lib/engine.js';
import { BATCHES_MEDIA_TYPE, encodeFrame } from '../../lib/batch-frame.js';
import { StrataError } from '../../lib/errors.js';
import type { PushDiscovery } from '../../lib/push-protocol.js';
import { parseOrThrow } from '../../lib/validation.js';
import {
  MAX_FRAME_BATCH_BYTES,
  groupFetchQuerySchema,
  offsetsQuerySchema,
  partitionParam,
  readQuerySchema,
  toJsonReadResult,
  toLookupTarget,
  toReadRequest,
} from '../shared/codec.js';
import { createHttpHandler, type HttpHandler, type Operations } from '../shared/dispatch.js';
import { readEnv } from '../shared/env.js';
import { binary, json, pathParam, prefers, type HttpResponse } from '../shared/http.js';
import { createObservability, withReadPosition, type Observability } from '../shared/observability.js';
import { pushDiscovery } from '../shared/push.js';
import { createEngine } from '../shared/runtime.js';
import { streamingEntry } from '../shared/streaming.js';
import { groupDescriptionView, groupOffsetsView, topicDescriptionView, topicView } from '../shared/views.js';

/** A read answers JSON or batches by its Accept header: caches must key on it. */
const VARY_ACCEPT = { vary: 'accept' };

export interface ReadFunctionOptions {
  /** What `GET /v1/push` answers: the push endpoint, when the deployment has one. */
  push?: (event: APIGatewayProxyEventV2) => PushDiscovery | undefined;
}

export function readOperations(engine: LogEngine, options: ReadFunctionOptions = {}): Operations {
  return {
    'GET /v1/push': async (event) => {
      const push = options.push?.(event);
      if (!push) throw new StrataError('PUSH_NOT_CONFIGURED', 404, 'this deployment has no push endpoint; consumers long-poll instead (the construct\'s push prop turns it on)');
      return json(200, push);
    },

    'GET /v1/topics': async () => json(200, { topics: (await engine.topics.list()).map(topicView) }),

    'GET /v1/topics/{topic}': async (event) => json(200, topicDescriptionView(await engine.topics.describe(pathParam(event, 'topic')))),

    'GET /v1/topics/{topic}/partitions/{partition}/records': async (event) => {
      const partition = partitionParam(event.pathParameters?.partition);
      const query = parseOrThrow(readQuerySchema, event.queryStringParameters ?? {}, 'query');
      if (prefers(event, BATCHES_MEDIA_TYPE)) {
        const result = await engine.reader.readBatches(pathParam(event, 'topic'), partition, toReadRequest(query), { maxBatchBytes: MAX_FRAME_BATCH_BYTES });
        return withReadPosition(binary(200, BATCHES_MEDIA_TYPE, encodeFrame(result, result.batches), VARY_ACCEPT), {
          records: result.nextOffset - result.startOffset,
          nextOffset: result.nextOffset,
          highWatermark: result.highWatermark,
        });
      }
      const result = await engine.reader.read(pathParam(event, 'topic'), partition, toReadRequest(query));
      return withReadPosition(json(200, toJsonReadResult(result, query.encoding), VARY_ACCEPT), {
        records: result.records.length,
        nextOffset: result.nextOffset,
        highWatermark: result.highWatermark,
      });
    },

    'GET /v1/topics/{topic}/partitions/{partition}/offsets': async (event) => {
      const partition = partitionParam(event.pathParameters?.partition);
      const query = parseOrThrow(offsetsQuerySchema, event.queryStringParameters ?? {}, 'query');
      return json(200, await engine.reader.lookupOffset(pathParam(event, 'topic'), partition, toLookupTarget(query.at)));
    },

    'GET /v1/groups/{group}': async (event) => json(200, groupDescriptionView(await engine.membership.describe(pathParam(event, 'group')))),

    'GET /v1/groups/{group}/offsets': async (event) => {
      const group = pathParam(event, 'group');
      const query = parseOrThrow(groupFetchQuerySchema, event.queryStringParameters ?? {}, 'query');
      return json(200, groupOffsetsView(group, await engine.groups.fetch(group, query.topic)));
    },
  };
}

export function createReadHandler(engine: LogEngine, obs: Observability, options: ReadFunctionOptions = {}): HttpHandler {
  return createHttpHandler(readOperations(engine, options), obs);
}

let instance: HttpHandler | undefined;

function readHandler(): HttpHandler {
  if (!instance) {
    const env = readEnv();
    const push = env.pushUrl ? pushDiscovery(env.pushUrl, { signed: true, ...(env.pushQuietMs !== undefined ? { quietMs: env.pushQuietMs } : {}) }) : undefined;
    instance = createReadHandler(createEngine(env), createObservability('read', { topicMetrics: env.topicMetrics !== false }), { push: () => push });
  }
  return instance;
}

/** Lambda entry point: builds the engine once per cold start from the environment. */
export async function handler(event: APIGatewayProxyEventV2, context?: Context): Promise<HttpResponse> {
  return readHandler()(event, context);
}

/**
 * The entry point behind a function URL with InvokeMode RESPONSE_STREAM (the construct
 * picks it then): the same answers, written to the response stream (functions/shared/streaming.ts).
 */
export const streamingHandler = streamingEntry(readHandler);
