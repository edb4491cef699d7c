/**
 * What the push endpoint does with a client's frames (lib/push/protocol.ts): subscribe,
 * unsubscribe, ping and disconnect, against the subscription store and the partition
 * heads. The WebSocket function (functions/push/handler.ts) and the local server run it.
 *
 * Subscribe writes the subscription items before it reads the heads, so every append
 * that commits after the watermarks it answers is announced to the connection (the
 * fan-out's Query runs after the commit): subscribe, read up to the watermark, then
 * wait, and nothing is missed but what a lost notification costs in latency.
 */
import type { Clock } from '../core/clock.js';
import { MAX_PUSH_SUBSCRIPTIONS, PUSH_SUBSCRIPTION_TTL_MS } from '../core/constants.js';
import { ValidationError } from '../core/errors.js';
import type { LogStore } from '../ports/log-store.js';
import type { TopicService } from '../topics/topic-service.js';
import type { PushStore } from './fanout.js';
import { parseSubscriptionKey, type SubscribeRequest, subscriptionKey, type UnsubscribeRequest, type Watermark } from './protocol.js';

export class PushSessions {
  constructor(
    private readonly topics: Pick<TopicService, 'get'>,
    private readonly heads: Pick<LogStore, 'getHeads'>,
    private readonly store: PushStore,
    private readonly clock: Clock,
  ) {}

  /** Subscribes the connection to partitions of a topic; answers their watermarks. */
  async subscribe(connectionId: string, request: SubscribeRequest): Promise<Watermark[]> {
    const meta = await this.topics.get(request.topic);
    const partitions = [...new Set(request.partitions)].sort((a, b) => a - b);
    const missing = partitions.filter((p) => p >= meta.partitions);
    if (missing.length > 0) {
      throw new ValidationError(
        `topic '${meta.name}' has partitions 0..${meta.partitions - 1}; partitions ${missing.join(', ')} do not exist`,
      );
    }
    const held = await this.store.subscriptionsOf(connectionId);
    const added = partitions.filter((p) => !held.includes(subscriptionKey(meta.name, p)));
    if (held.length + added.length > MAX_PUSH_SUBSCRIPTIONS) {
      throw new ValidationError(
        `a connection may subscribe to at most ${MAX_PUSH_SUBSCRIPTIONS} partitions (it has ${held.length}); open another connection or unsubscribe first`,
      );
    }
    await this.store.subscribe(connectionId, meta.name, partitions, this.clock.now() + PUSH_SUBSCRIPTION_TTL_MS);
    // Consistent: read after the subscription was written, these cover every append the
    // fan-out may not announce to it (lib/push/fanout.ts).
    return this.watermarks(
      partitions.map((partition) => ({ topic: meta.name, partition })),
      true,
    );
  }

  async unsubscribe(connectionId: string, request: UnsubscribeRequest): Promise<number[]> {
    const partitions = [...new Set(request.partitions)].sort((a, b) => a - b);
    await this.store.unsubscribe(connectionId, request.topic, partitions);
    return partitions;
  }

  /**
   * The watermarks of every partition the connection is subscribed to, read eventually
   * consistently (half the read units of every ping; a watermark a second stale delays
   * the fallback by one ping at most).
   */
  async ping(connectionId: string): Promise<Watermark[]> {
    return this.watermarks((await this.store.subscriptionsOf(connectionId)).map(parseSubscriptionKey), false);
  }

  disconnect(connectionId: string): Promise<void> {
    return this.store.dropConnection(connectionId);
  }

  /**
   * The heads' `nextOffset`: at or above what a read finds readable (a reservation still
   * filling counts), so a consumer told it may find nothing yet and waits for the
   * notification of the fill. A topic deleted since is left out.
   */
  private async watermarks(partitions: { topic: string; partition: number }[], consistent: boolean): Promise<Watermark[]> {
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of partitions) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    const out: Watermark[] = [];
    for (const [topic, list] of byTopic) {
      const meta = await this.topics.get(topic).catch(() => undefined);
      if (!meta) continue;
      const present = list.filter((p) => p < meta.partitions);
      const heads = await this.heads.getHeads(
        present.map((partition) => ({ topic, topicId: meta.topicId, partition })),
        { consistent },
      );
      for (const [i, partition] of present.entries()) out.push({ topic, partition, highWatermark: heads[i]!.nextOffset });
    }
    return out;
  }
}
