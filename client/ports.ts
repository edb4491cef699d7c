/**
 * What the producer and the consumer need from the client (`Strata`), as narrow
 * interfaces: they take these in their constructors and never see the transport, and
 * this module imports no runtime code, so producer.ts, consumer.ts and strata.ts do not
 * import each other in a circle. `Strata` implements all of them.
 */
import type { PushDiscovery } from '../lib/push/protocol.js';
import type { AppendResult, CommittedOffset, Membership, OffsetCommit, OffsetLookup, TopicDescription } from '../lib/wire/api.js';
import type { ConsumedRecord, ProducerRecord } from './records.js';

/** A read's wire format: the stored batches (binary) or JSON. */
export type ReadFormat = 'batches' | 'json';

export interface ReadOptions {
  offset?: number;
  maxRecords?: number;
  maxBytes?: number;
  /** Long-poll: wait up to this long for a record past `offset` (max 20 000). */
  waitMs?: number;
  signal?: AbortSignal;
  /** This read's wire format; default the client's `readFormat`. */
  format?: ReadFormat;
}

export interface ReadResult {
  /** The incarnation of the topic the records come from: it changes when the topic is deleted and re-created. */
  topicId: string;
  records: ConsumedRecord[];
  /** Where the next read starts. Not always `offset + records.length`: compaction leaves gaps. */
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

/** The idempotent producer's stamp on a batch: the server deduplicates retries by it. */
export interface ProducerStamp {
  producerId: string;
  epoch: number;
  sequence: number;
}

/** The producer's calls: a topic's partition count, and one append request. */
export interface AppendApi {
  describeTopic(name: string): Promise<TopicDescription>;
  append(topic: string, records: ProducerRecord[], options: { partition?: number; producer?: ProducerStamp }): Promise<AppendResult>;
}

/** The consumer's reading calls, and the push channel's discovery and signing. */
export interface ReadApi {
  describeTopic(name: string): Promise<TopicDescription>;
  read(topic: string, partition: number, options?: ReadOptions): Promise<ReadResult>;
  /** The records of a binary read's frame (a push notification's), offsets and CRCs checked. */
  frameResult(topic: string, partition: number, bytes: Uint8Array, maxRecords?: number): ReadResult;
  lookupOffset(topic: string, partition: number, at: 'earliest' | 'latest' | number): Promise<OffsetLookup>;
  pushDiscovery(): Promise<PushDiscovery | undefined>;
  /** Signs the push endpoint's URL with the client's credentials; undefined when requests are not signed. */
  webSocketPresigner(url: URL): ((url: URL) => Promise<URL>) | undefined;
}

/** A group member's calls: membership and committed positions. */
export interface GroupApi {
  joinGroup(
    group: string,
    request: { topics: string[]; memberId?: string; clientId?: string; sessionTimeoutMs?: number },
  ): Promise<Membership>;
  heartbeat(group: string, memberId: string): Promise<Membership>;
  leaveGroup(group: string, memberId: string): Promise<void>;
  fetchOffsets(group: string, topic?: string): Promise<CommittedOffset[]>;
  commitOffsets(group: string, offsets: OffsetCommit[], fence?: { memberId: string; generation: number }): Promise<CommittedOffset[]>;
}
