/**
 * The append function: every route that writes (records, topics, group offsets).
 * Thin: parse and validate the request, call the engine, answer.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import * as z from 'zod';
import { parseOrThrow } from '../../lib/core/validation.js';
import type { LogEngine } from '../../lib/engine.js';
import { topicConfigPatchSchema } from '../../lib/topics/topic-config.js';
import type { AppendResult } from '../../lib/wire/api.js';
import {
  groupCommitSchema,
  partitionAppendSchema,
  partitionParam,
  toPartitionAppend,
  topicAppendSchema,
  toTopicAppend,
} from '../shared/codec.js';
import { createHttpHandler, type HttpHandler, type Operations } from '../shared/dispatch.js';
import { readEnv } from '../shared/env.js';
import { lambdaFlushTrigger } from '../shared/flush-trigger.js';
import { type HttpResponse, json, jsonBody, pathParam } from '../shared/http.js';
import { createObservability, type Observability, recordCommit } from '../shared/observability.js';
import { apiGatewayPoster, pushAnnouncer } from '../shared/push.js';
import { createEngine, dynamoClient, lambdaClient } from '../shared/runtime.js';
import { groupOffsetsView, membershipView, topicView } from '../shared/views.js';

const patchTopicSchema = z.object({ config: topicConfigPatchSchema }).strict();

export function appendOperations(engine: LogEngine): Operations {
  return {
    'POST /v1/topics': async (event) => json(201, topicView(await engine.topics.create(jsonBody(event)))),

    'PATCH /v1/topics/{topic}': async (event) => {
      const body = parseOrThrow(patchTopicSchema, jsonBody(event), 'request');
      return json(200, topicView(await engine.topics.updateConfig(pathParam(event, 'topic'), body.config)));
    },

    'DELETE /v1/topics/{topic}': async (event) => {
      await engine.topics.delete(pathParam(event, 'topic'));
      return noContent();
    },

    'POST /v1/topics/{topic}/records': async (event) => {
      const body = parseOrThrow(topicAppendSchema, jsonBody(event), 'append request');
      return json(200, (await engine.appender.append(pathParam(event, 'topic'), toTopicAppend(body))) satisfies AppendResult);
    },

    'POST /v1/topics/{topic}/partitions/{partition}/records': async (event) => {
      const partition = partitionParam(event.pathParameters?.partition);
      const body = parseOrThrow(partitionAppendSchema, jsonBody(event), 'append request');
      return json(
        200,
        (await engine.appender.appendToPartition(pathParam(event, 'topic'), partition, toPartitionAppend(body))) satisfies AppendResult,
      );
    },

    'PUT /v1/groups/{group}/offsets': async (event) => {
      const group = pathParam(event, 'group');
      const body = parseOrThrow(groupCommitSchema, jsonBody(event), 'offset commit');
      const fence =
        body.memberId !== undefined && body.generation !== undefined ? { memberId: body.memberId, generation: body.generation } : undefined;
      return json(200, groupOffsetsView(group, await engine.groups.commit(group, body.offsets, fence)));
    },

    'POST /v1/groups/{group}/members': async (event) =>
      json(200, membershipView(await engine.membership.join(pathParam(event, 'group'), jsonBody(event)))),

    'POST /v1/groups/{group}/members/{memberId}/heartbeat': async (event) =>
      json(200, membershipView(await engine.membership.heartbeat(pathParam(event, 'group'), pathParam(event, 'memberId')))),

    'DELETE /v1/groups/{group}/members/{memberId}': async (event) => {
      await engine.membership.leave(pathParam(event, 'group'), pathParam(event, 'memberId'));
      return noContent();
    },
  };
}

export function createAppendHandler(engine: LogEngine, obs: Observability): HttpHandler {
  return createHttpHandler(appendOperations(engine), obs);
}

let instance: HttpHandler | undefined;

/** Lambda entry point: builds the engine once per cold start from the environment. */
export async function handler(event: APIGatewayProxyEventV2, context?: Context): Promise<HttpResponse> {
  if (!instance) {
    const env = readEnv();
    const obs = createObservability('append', { topicMetrics: env.topicMetrics !== false });
    const engine = createEngine(env, {
      onCommit: (stats) => recordCommit(obs, stats),
      ...(env.compactFunctionName ? { onFlushDue: lambdaFlushTrigger(lambdaClient(env), env.compactFunctionName, obs.logger) } : {}),
      ...(env.pushCallbackUrl
        ? {
            announcer: pushAnnouncer(dynamoClient(env), env.tableName, apiGatewayPoster(env.pushCallbackUrl), obs, {
              ...(env.pushQuietMs !== undefined ? { quietMs: env.pushQuietMs } : {}),
            }),
          }
        : {}),
    });
    instance = createAppendHandler(engine, obs);
  }
  return instance(event, context);
}

function noContent(): HttpResponse {
  return { statusCode: 204, headers: {}, body: '' };
}
