/**
 * The read function: every route that only reads (records, offsets, topics, groups).
 * Thin: parse and validate the request, call the engine, answer. A records read answers
 * JSON, or the batches as stored when the request accepts `application/vnd.strata.batches`
 * (lib/format/batch-frame.ts).
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { MAX_STREAMED_READ_MAX_BYTES } from '../../lib/core/constants.js';
import { PushNotConfiguredError } from '../../lib/core/errors.js';
import { parseOrThrow } from '../../lib/core/validation.js';
import type { LogEngine } from '../../lib/engine.js';
import { BATCHES_MEDIA_TYPE, encodeFrame } from '../../lib/format/batch-frame.js';
import type { PushDiscovery } from '../../lib/push/protocol.js';
import type { OffsetLookup, TopicList } from '../../lib/wire/api.js';
import {
  groupFetchQuerySchema,
  MAX_FRAME_BATCH_BYTES,
  offsetsQuerySchema,
  partitionParam,
  readQuerySchema,
  toJsonReadResult,
  toLookupTarget,
  toReadRequest,
} from '../shared/codec.js';
import { createHttpHandler, type HttpHandler, type Operations } from '../shared/dispatch.js';
import { readEnv } from '../shared/env.js';
import { binary, type HttpResponse, json, pathParam, prefers } from '../shared/http.js';
import { createObservability, type Observability, withReadPosition } from '../shared/observability.js';
import { pushDiscovery } from '../shared/push.js';
import { createEngine } from '../shared/runtime.js';
import { streamingEntry, viaFunctionUrl } from '../shared/streaming.js';
import { groupDescriptionView, groupOffsetsView, topicDescriptionView, topicView } from '../shared/views.js';

/** A read answers JSON or batches by its Accept header: caches must key on it. */
const VARY_ACCEPT = { vary: 'accept' };

export interface ReadFunctionOptions {
  /** What `GET /v1/push` answers: the push endpoint, when the deployment has one. */
  push?: (event: APIGatewayProxyEventV2) => PushDiscovery | undefined;
  /**
   * The handler answers through a streamed function URL (the streaming entry): a read
   * that came through one may ask for up to MAX_STREAMED_READ_MAX_BYTES.
   */
  streamed?: boolean;
}

export function readOperations(engine: LogEngine, options: ReadFunctionOptions = {}): Operations {
  return {
    'GET /v1/push': async (event) => {
      const push = options.push?.(event);
      if (!push) throw new PushNotConfiguredError();
      return json(200, push);
    },

    'GET /v1/topics': async () => json(200, { topics: (await engine.topics.list()).map(topicView) } satisfies TopicList),

    'GET /v1/topics/{topic}': async (event) => json(200, topicDescriptionView(await engine.topics.describe(pathParam(event, 'topic')))),

    'GET /v1/topics/{topic}/partitions/{partition}/records': async (event) => {
      const partition = partitionParam(event.pathParameters?.partition);
      const query = parseOrThrow(readQuerySchema, event.queryStringParameters ?? {}, 'query');
      // Through API Gateway the same function answers buffered (endpoints 'both'): the smaller bounds.
      const request = { ...toReadRequest(query), ...(options.streamed && viaFunctionUrl(event) ? { streamed: true } : {}) };
      if (prefers(event, BATCHES_MEDIA_TYPE)) {
        // A buffered answer is base64 in 6 MB; a streamed one carries the bytes as they are.
        const maxBatchBytes = request.streamed ? MAX_STREAMED_READ_MAX_BYTES : MAX_FRAME_BATCH_BYTES;
        const result = await engine.reader.readBatches(pathParam(event, 'topic'), partition, request, { maxBatchBytes });
        return withReadPosition(binary(200, BATCHES_MEDIA_TYPE, encodeFrame(result, result.batches), VARY_ACCEPT), {
          records: result.nextOffset - result.startOffset,
          nextOffset: result.nextOffset,
          highWatermark: result.highWatermark,
        });
      }
      const result = await engine.reader.read(pathParam(event, 'topic'), partition, request);
      // Streamed, the JSON of up to 64 MiB of records (base64 makes it larger) stays under the 200 MB a stream allows.
      const maxBodyBytes = request.streamed ? 2 * MAX_STREAMED_READ_MAX_BYTES : undefined;
      return withReadPosition(json(200, toJsonReadResult(result, query.encoding, maxBodyBytes), VARY_ACCEPT), {
        records: result.records.length,
        nextOffset: result.nextOffset,
        highWatermark: result.highWatermark,
      });
    },

    'GET /v1/topics/{topic}/partitions/{partition}/offsets': async (event) => {
      const partition = partitionParam(event.pathParameters?.partition);
      const query = parseOrThrow(offsetsQuerySchema, event.queryStringParameters ?? {}, 'query');
      return json(
        200,
        (await engine.reader.lookupOffset(pathParam(event, 'topic'), partition, toLookupTarget(query.at))) satisfies OffsetLookup,
      );
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

const instances: { buffered?: HttpHandler; streamed?: HttpHandler } = {};
let shared: { engine: LogEngine; obs: Observability; push: PushDiscovery | undefined } | undefined;

/** The handler of one entry point; both share the engine, built once per cold start from the environment. */
function readHandler(kind: 'buffered' | 'streamed'): HttpHandler {
  if (!shared) {
    const env = readEnv();
    const push = env.pushUrl
      ? pushDiscovery(env.pushUrl, { signed: true, ...(env.pushQuietMs !== undefined ? { quietMs: env.pushQuietMs } : {}) })
      : undefined;
    shared = { engine: createEngine(env), obs: createObservability('read', { topicMetrics: env.topicMetrics !== false }), push };
  }
  const { engine, obs, push } = shared;
  return (instances[kind] ??= createReadHandler(engine, obs, { push: () => push, streamed: kind === 'streamed' }));
}

/** Lambda entry point. */
export async function handler(event: APIGatewayProxyEventV2, context?: Context): Promise<HttpResponse> {
  return readHandler('buffered')(event, context);
}

/**
 * The entry point behind a function URL with InvokeMode RESPONSE_STREAM (the construct
 * picks it then): the same answers, written to the response stream (functions/shared/streaming.ts),
 * and reads through the URL may ask for up to 64 MiB (MAX_STREAMED_READ_MAX_BYTES).
 */
export const streamingHandler = streamingEntry(() => readHandler('streamed'));
