/**
 * The push protocol: JSON text frames over one WebSocket, by which a tailing consumer
 * learns that a partition's high watermark moved instead of holding a long-poll open
 * (docs/push.md has the whole exchange, docs/design.md why it looks like this).
 *
 *     client                                   server
 *     {action: subscribe, topic, partitions} ─▶ subscription items (TTL), heads read
 *                                            ◀─ {type: subscribed, watermarks}
 *                  … an append commits on a subscribed partition …
 *                                            ◀─ {type: moved, topic, partition, highWatermark, quietMs}
 *     GET …/records?offset=…  (an ordinary read)
 *     {action: ping}  every PUSH_PING_INTERVAL_MS ─▶ heads of the connection's partitions
 *                                            ◀─ {type: pong, watermarks}
 *
 * A notification only says "read now": the consumer reads from its own position, so a
 * lost one costs latency, never a record; the pong's watermarks are the slow fallback.
 * The route of a client frame is its `action`, as API Gateway's route selection
 * expression `$request.body.action` picks it; the local server routes the same way.
 */
import * as z from 'zod';
import { MAX_PARTITIONS, MAX_TOPIC_NAME_LENGTH, TOPIC_NAME_PATTERN } from '../core/constants.js';

/** The subprotocol name a client may offer; also the `protocol` of the discovery answer. */
export const PUSH_PROTOCOL = 'strata.push.v1';

const topicName = z.string().max(MAX_TOPIC_NAME_LENGTH).regex(TOPIC_NAME_PATTERN, 'a topic name: letters, digits, . _ -');
const partitionList = z
  .array(
    z
      .number()
      .int()
      .min(0)
      .max(MAX_PARTITIONS - 1),
  )
  .min(1)
  .max(MAX_PARTITIONS);
/** A correlation id the answer echoes. */
const requestId = z.string().max(64).optional();

export const subscribeSchema = z
  .object({ action: z.literal('subscribe'), id: requestId, topic: topicName, partitions: partitionList })
  .strict();
export const unsubscribeSchema = z
  .object({ action: z.literal('unsubscribe'), id: requestId, topic: topicName, partitions: partitionList })
  .strict();
export const pingSchema = z.object({ action: z.literal('ping'), id: requestId }).strict();

export type SubscribeRequest = z.infer<typeof subscribeSchema>;
export type UnsubscribeRequest = z.infer<typeof unsubscribeSchema>;

/** The routes a client frame can take; anything else is answered with an error frame. */
export const PUSH_ACTIONS = ['subscribe', 'unsubscribe', 'ping'] as const;
export type PushAction = (typeof PUSH_ACTIONS)[number];

export interface Watermark {
  topic: string;
  partition: number;
  highWatermark: number;
}

/** Server → client frames. */
export type PushMessage =
  | { type: 'subscribed'; id?: string; topic: string; watermarks: Watermark[] }
  | { type: 'unsubscribed'; id?: string; topic: string; partitions: number[] }
  | { type: 'pong'; id?: string; watermarks: Watermark[] }
  /**
   * An append committed `highWatermark` (a lower bound: later appends may have too).
   * No other notification for this partition comes within `quietMs`: a consumer that
   * read after this one reads once more after `quietMs`, which finds any append the
   * quiet interval held back (lib/push/fanout.ts).
   */
  | {
      type: 'moved';
      topic: string;
      partition: number;
      highWatermark: number;
      quietMs: number;
      /**
       * The appended records themselves when they are small (PUSH_INLINE_MAX_BYTES): a
       * binary read's frame (lib/format/batch-frame.ts), base64, from the append's first offset
       * to `highWatermark`. A consumer whose position is exactly its startOffset takes
       * them without a read; any other skips it and reads.
       */
      frame?: string;
    }
  | { type: 'error'; id?: string; code: string; message: string };

/** What `GET /v1/push` answers: where the WebSocket is and how it behaves. */
export interface PushDiscovery {
  url: string;
  protocol: typeof PUSH_PROTOCOL;
  /** Send `{action: ping}` this often: it keeps the connection open and returns the watermarks. */
  pingIntervalMs: number;
  /** The server closes a connection after this long at most (API Gateway: 2 hours); reconnect. */
  maxConnectionMs: number;
  quietMs: number;
  /** Whether `url` must be signed with SigV4 (`execute-api`, query-string signing). */
  signed: boolean;
}

/** One subscription key: a partition of a topic by name (any incarnation). */
export function subscriptionKey(topic: string, partition: number): string {
  return `${topic}#${partition}`;
}

export function parseSubscriptionKey(key: string): { topic: string; partition: number } {
  const at = key.lastIndexOf('#');
  return { topic: key.slice(0, at), partition: Number(key.slice(at + 1)) };
}
