/**
 * The log's items as DynamoDB stores them, read back into the domain model (lib/ports/model.ts).
 * The keys they sit at are in table-keys.ts; the adapters that read and write them are
 * the dynamo-*-store.ts files beside this one.
 */

import {
  type PartitionHead,
  type ProducerState,
  type SegmentManifest,
  type StagedObject,
  type TailItem,
  type TopicMeta,
  ZERO_HEAD,
} from '../ports/model.js';
import { topicConfigSchema } from '../topics/topic-config.js';
import type { Item } from './dynamo-table.js';

/** DynamoDB TTL is epoch seconds; an item is not removed before its second has passed. */
export function ttlSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** A void over [baseOffset, lastOffset]: reserved offsets that will never hold records. */
export function voidItem(baseOffset: number, lastOffset: number, now: number): TailItem {
  return {
    baseOffset,
    lastOffset,
    recordCount: 0,
    data: new Uint8Array(0),
    minTimestamp: now,
    maxTimestamp: now,
    appendedAt: now,
    commitId: 'void',
    void: true,
  };
}

export function toHead(item: Item | undefined): PartitionHead {
  if (!item) return { ...ZERO_HEAD };
  const nextOffset = Number(item.nextOffset ?? 0);
  const token = item.lastReservationToken;
  return {
    nextOffset,
    // A head written before reservations: every offset below nextOffset was committed.
    committedOffset: Number(item.committedOffset ?? nextOffset),
    lastReservation: token === undefined ? null : { token: String(token), base: nextOffset - Number(item.lastReservationCount ?? 0) },
    logStartOffset: Number(item.logStartOffset ?? 0),
    flushedOffset: Number(item.flushedOffset ?? 0),
    tailBytes: Number(item.tailBytes ?? 0),
    lastAppendAt: item.lastAppendAt === undefined ? null : Number(item.lastAppendAt),
  };
}

export function toTopicMeta(item: Item): TopicMeta {
  return {
    name: String(item.name),
    topicId: String(item.topicId),
    partitions: Number(item.partitions),
    // Parsing fills in defaults for config fields added after the topic was created.
    config: topicConfigSchema.parse(item.config ?? {}),
    createdAt: Number(item.createdAt),
    updatedAt: Number(item.updatedAt),
    version: Number(item.version),
  };
}

/** A tail item's `staged` map; `store` only when not the main store (items staged before the staging tier have none). */
export function toStagedObject(staged: Item): StagedObject {
  return { key: String(staged.key), bytes: Number(staged.bytes), ...(staged.store === 'staging' ? { store: 'staging' as const } : {}) };
}

export function toTailItem(item: Item): TailItem {
  return {
    baseOffset: Number(item.baseOffset),
    lastOffset: Number(item.lastOffset),
    recordCount: Number(item.recordCount),
    data: (item.data as Uint8Array | undefined) ?? new Uint8Array(0),
    ...(item.staged ? { staged: toStagedObject(item.staged as Item) } : {}),
    minTimestamp: Number(item.minTimestamp),
    maxTimestamp: Number(item.maxTimestamp),
    appendedAt: Number(item.appendedAt),
    commitId: String(item.commitId ?? ''),
    ...(item.void ? { void: true as const } : {}),
    ...expiry(item),
  };
}

/** A stored item's `ttl` as `expiresAt` in ms, when it has one. */
export function expiry(item: Item): Pick<TailItem, 'expiresAt'> {
  return item.ttl === undefined || item.ttl === null ? {} : { expiresAt: Number(item.ttl) * 1000 };
}

export function toManifest(item: Item): SegmentManifest {
  return {
    baseOffset: Number(item.baseOffset),
    lastOffset: Number(item.lastOffset),
    recordCount: Number(item.recordCount),
    key: String(item.key),
    bytes: Number(item.bytes),
    indexPosition: Number(item.indexPosition),
    index: item.index as Uint8Array,
    maxTimestamp: Number(item.maxTimestamp),
    createdAt: Number(item.createdAt),
    generation: Number(item.generation ?? 0),
    oldestTombstone: item.oldestTombstone == null ? null : Number(item.oldestTombstone),
  };
}

export function toProducerState(item: Item): ProducerState {
  const batches = (item.batches as Item[] | undefined) ?? [];
  return {
    producerId: String(item.producerId),
    epoch: Number(item.epoch),
    batches: batches.map((b) => {
      const claim = b.claim as Item | undefined;
      return {
        firstSequence: Number(b.firstSequence),
        lastSequence: Number(b.lastSequence),
        baseOffset: Number(b.baseOffset),
        lastOffset: Number(b.lastOffset),
        ...(claim
          ? {
              claim: {
                token: String(claim.token),
                within: Number(claim.within),
                fence: Number(claim.fence),
                until: Number(claim.until),
                ...(claim.floor !== undefined ? { floor: Number(claim.floor) } : {}),
              },
            }
          : {}),
      };
    }),
    version: Number(item.version),
    updatedAt: Number(item.updatedAt),
  };
}
