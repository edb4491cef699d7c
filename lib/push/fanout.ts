/**
 * Push fan-out: after an append committed, tell the WebSocket connections subscribed to
 * its partition that the high watermark moved. It runs in the append function before
 * it answers (a Lambda freezes once it has answered), on AWS as locally; the port that
 * posts to a connection is API Gateway's management API there, a socket map here.
 *
 *     append fn (any env)            DynamoDB                          connections
 *     Query W#{topic}#{p} (consistent) ▶ subscribers + quiet marker   (as the append starts,
 *     commit ──────────────────────▶ head                                 beside its commit)
 *     no subscriber, or quiet ─────── done (no write)
 *     UpdateItem marker: quietUntil = now + quietMs
 *         IF quietUntil ≤ now ──────▶ one winner per quiet interval
 *     winner: POST {moved, hwm, quietMs} ───────────────────────────▶ each subscriber
 *     a gone connection ─────────────▶ its subscription item deleted
 *
 * Coalescing: the conditional marker lets one append per partition per `quietMs` notify,
 * whichever environment it runs in. An append held back by the marker committed before
 * it looked at the marker, so before `quietUntil`: a consumer that reads again `quietMs`
 * after the notification it got (which came after the marker was set) finds it. A crash
 * between commit and notification, or a failed POST, loses a notification: the consumer
 * reads from its own position anyway, and its ping answers carry the watermarks.
 *
 * The subscriber Query is consistent and starts with the append, beside its commit (one
 * round trip less on the append's latency, and nothing at all when nobody subscribed).
 * A subscription written before the append started is always seen. One written while the
 * append was in flight may be missed, and the subscriber's own read may have run before
 * the commit: the client reads once more a second after subscribing (docs/push.md), which
 * finds such an append.
 */
import type { Clock } from '../core/clock.js';
import type { PushMessage } from './protocol.js';

/** The subscription items of one partition and its quiet marker. */
export interface PartitionSubscribers {
  connections: string[];
  /** No notification before this time (ms); 0 when none was sent yet. */
  quietUntil: number;
}

/** Where subscriptions live (lib/aws/dynamo-push-store.ts). */
export interface PushStore {
  /** Subscribers of a partition (by topic name) and its quiet marker, read consistently. */
  subscribers(topic: string, partition: number): Promise<PartitionSubscribers>;
  /** Sets the marker to `until` if it is not after `now`; false when another append holds it. */
  claimQuiet(topic: string, partition: number, now: number, until: number): Promise<boolean>;
  /** Subscribes a connection; items expire at `expiresAt` (ms). */
  subscribe(connectionId: string, topic: string, partitions: number[], expiresAt: number): Promise<void>;
  unsubscribe(connectionId: string, topic: string, partitions: number[]): Promise<void>;
  /** The subscription keys (`topic#partition`) a connection holds. */
  subscriptionsOf(connectionId: string): Promise<string[]>;
  /** Removes a connection and all its subscriptions. */
  dropConnection(connectionId: string): Promise<void>;
  /** Removes one subscription of a connection that is gone. */
  forget(connectionId: string, topic: string, partition: number): Promise<void>;
}

/** Sends a frame to a connection: API Gateway's `@connections` POST, or a local socket. */
export interface ConnectionPoster {
  /** 'gone' when the connection no longer exists (API Gateway's 410). */
  post(connectionId: string, message: PushMessage): Promise<'sent' | 'gone'>;
}

export interface AnnounceResult {
  /** 'none': no subscriber; 'quiet': another append notified within quietMs; 'sent'. */
  outcome: 'none' | 'quiet' | 'sent';
  sent: number;
  gone: number;
  failed: number;
}

export interface PushFanoutOptions {
  quietMs: number;
  /** Called for a POST that failed other than 'gone' (the notification is lost; logged by the caller). */
  onPostError?: (connectionId: string, err: unknown) => void;
}

export class PushFanout {
  constructor(
    private readonly store: PushStore,
    private readonly poster: ConnectionPoster,
    private readonly clock: Clock,
    private readonly options: PushFanoutOptions,
  ) {}

  /**
   * Looks the partition's subscribers up now (as an append starts); the function it
   * returns announces the commit to them once the append committed.
   */
  prepare(topic: string, partition: number): (highWatermark: number, frame?: () => string | undefined) => Promise<AnnounceResult> {
    const found = this.store.subscribers(topic, partition);
    // An append that fails never announces: its lookup's failure is nobody's.
    found.catch(() => undefined);
    return async (highWatermark, frame) => this.announceTo(await found, topic, partition, highWatermark, frame);
  }

  /**
   * Tells the partition's subscribers that `highWatermark` is committed, unless it is
   * quiet; `frame` gives the appended records to carry, when they are small enough.
   */
  announce(topic: string, partition: number, highWatermark: number, frame?: () => string | undefined): Promise<AnnounceResult> {
    return this.prepare(topic, partition)(highWatermark, frame);
  }

  private async announceTo(
    { connections, quietUntil }: PartitionSubscribers,
    topic: string,
    partition: number,
    highWatermark: number,
    frame: (() => string | undefined) | undefined,
  ): Promise<AnnounceResult> {
    const result: AnnounceResult = { outcome: 'none', sent: 0, gone: 0, failed: 0 };
    if (connections.length === 0) return result;
    const now = this.clock.now();
    if (quietUntil > now || !(await this.store.claimQuiet(topic, partition, now, now + this.options.quietMs))) {
      result.outcome = 'quiet';
      return result;
    }
    result.outcome = 'sent';
    const inline = frame?.();
    const message: PushMessage = {
      type: 'moved',
      topic,
      partition,
      highWatermark,
      quietMs: this.options.quietMs,
      ...(inline !== undefined ? { frame: inline } : {}),
    };
    await Promise.all(
      connections.map(async (connectionId) => {
        try {
          if ((await this.poster.post(connectionId, message)) === 'sent') {
            result.sent++;
            return;
          }
          result.gone++;
          await this.store.forget(connectionId, topic, partition).catch(() => undefined);
        } catch (err) {
          result.failed++;
          this.options.onPostError?.(connectionId, err);
        }
      }),
    );
    return result;
  }
}
