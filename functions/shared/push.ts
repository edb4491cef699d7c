/**
 * The push path's wiring in the functions: API Gateway's management API as the
 * connection poster, the fan-out the append function runs after each commit, and the
 * discovery answer of `GET /v1/push`. The local stack builds the same fan-out with its
 * socket map as the poster (local/push-server.ts).
 */
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ApiGatewayPoster } from '../../lib/aws/api-gateway-poster.js';
import { DynamoPushStore } from '../../lib/aws/dynamo-push-store.js';
import { type Clock, systemClock } from '../../lib/core/clock.js';
import {
  DEFAULT_PUSH_QUIET_MS,
  PUSH_ANNOUNCE_BUDGET_MS,
  PUSH_INLINE_MAX_BYTES,
  PUSH_MAX_CONNECTION_MS,
  PUSH_PING_INTERVAL_MS,
} from '../../lib/core/constants.js';
import { encodeFrame } from '../../lib/format/batch-frame.js';
import { encodeBatch } from '../../lib/format/record-batch-encoder.js';
import type { LogStore } from '../../lib/ports/log-store.js';
import type { PartitionRef } from '../../lib/ports/model.js';
import { type ConnectionPoster, PushFanout } from '../../lib/push/fanout.js';
import { PUSH_PROTOCOL, type PushDiscovery } from '../../lib/push/protocol.js';
import { PushSessions } from '../../lib/push/sessions.js';
import type { Announce, AppendedRecords } from '../../lib/sequencing/appender.js';
import { TopicService } from '../../lib/topics/topic-service.js';
import { MetricUnit, type Observability } from './observability.js';

/** Posts to the API Gateway WebSocket connections of `callbackUrl` (`@connections`); 410 Gone is 'gone'. */
export function apiGatewayPoster(callbackUrl: string): ConnectionPoster {
  return new ApiGatewayPoster(
    new ApiGatewayManagementApiClient({
      endpoint: callbackUrl,
      requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
    }),
  );
}

/**
 * The engine's `announcer`: looks the partition's subscribers up as an append starts,
 * and announces its commit to them, with a metric per outcome (PushSent, PushQuiet,
 * PushGone, PushFailed, PushLate: not done within PUSH_ANNOUNCE_BUDGET_MS, which is all
 * an append waits for it).
 */
export function pushAnnouncer(
  dynamo: DynamoDBClient,
  tableName: string,
  poster: ConnectionPoster,
  obs: Observability,
  options: { quietMs?: number; clock?: Clock } = {},
): (ref: PartitionRef) => Announce {
  const clock = options.clock ?? systemClock;
  const fanout = new PushFanout(new DynamoPushStore(dynamo, tableName, clock), poster, clock, {
    quietMs: options.quietMs ?? DEFAULT_PUSH_QUIET_MS,
    onPostError: (connectionId, err) => obs.logger.warn('push notification failed', { connectionId, error: err as Error }),
  });
  return (ref) => {
    const announce = fanout.prepare(ref.topic, ref.partition);
    return async (highWatermark, appended) => {
      try {
        const announced = announce(highWatermark, () => inlineFrame(ref, highWatermark, appended));
        const result = await Promise.race([announced, budget(PUSH_ANNOUNCE_BUDGET_MS)]);
        if (result === 'late') {
          // Answered without it; whatever it still does may be frozen with the environment.
          announced.catch(() => undefined);
          obs.metrics.addMetric('PushLate', MetricUnit.Count, 1);
          return;
        }
        if (result.outcome === 'none') return;
        if (result.outcome === 'quiet') obs.metrics.addMetric('PushQuiet', MetricUnit.Count, 1);
        else obs.metrics.addMetric('PushSent', MetricUnit.Count, result.sent);
        if (result.gone > 0) obs.metrics.addMetric('PushGone', MetricUnit.Count, result.gone);
        if (result.failed > 0) obs.metrics.addMetric('PushFailed', MetricUnit.Count, result.failed);
      } catch (err) {
        obs.logger.warn('push announcement failed', { topic: ref.topic, partition: ref.partition, error: err as Error });
        obs.metrics.addMetric('PushFailed', MetricUnit.Count, 1);
      }
    };
  };
}

/** Resolves 'late' after `ms`, without holding the event loop open. */
function budget(ms: number): Promise<'late'> {
  return new Promise((resolve) => setTimeout(() => resolve('late'), ms).unref());
}

/**
 * The appended records as a binary read's frame (base64) for the notification, when
 * they are at most PUSH_INLINE_MAX_BYTES: one uncompressed batch with the offsets the
 * append got. logStartOffset is not known here and is sent as 0.
 */
export function inlineFrame(ref: PartitionRef, highWatermark: number, appended: AppendedRecords): string | undefined {
  let bytes = 0;
  for (const r of appended.records) {
    bytes += (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0);
    for (const h of r.headers) bytes += h.key.length + (h.value?.byteLength ?? 0);
    if (bytes > PUSH_INLINE_MAX_BYTES) return undefined;
  }
  const batch = encodeBatch(appended.records, { baseOffset: appended.baseOffset });
  const header = { topicId: ref.topicId, startOffset: appended.baseOffset, nextOffset: highWatermark, highWatermark, logStartOffset: 0 };
  return encodeFrame(header, [batch]).toString('base64');
}

/** What the push function's routes run: subscriptions in the table, watermarks from `store`'s heads. */
export function pushSessions(dynamo: DynamoDBClient, tableName: string, store: LogStore): PushSessions {
  return new PushSessions(new TopicService(store, systemClock), store, new DynamoPushStore(dynamo, tableName), systemClock);
}

/** `GET /v1/push`'s answer for a deployment whose WebSocket is at `url`. */
export function pushDiscovery(url: string, options: { quietMs?: number; signed: boolean; pingIntervalMs?: number }): PushDiscovery {
  return {
    url,
    protocol: PUSH_PROTOCOL,
    pingIntervalMs: options.pingIntervalMs ?? PUSH_PING_INTERVAL_MS,
    maxConnectionMs: PUSH_MAX_CONNECTION_MS,
    quietMs: options.quietMs ?? DEFAULT_PUSH_QUIET_MS,
    signed: options.signed,
  };
}
