/**
 * The JSON shapes of the HTTP API (docs/openapi.yaml): what the handlers answer
 * (functions/shared/views.ts and codec.ts build them from the engine's objects; the
 * append and offset-lookup answers are checked against them with `satisfies`) and what
 * the client parses (client/strata.ts). Types only, so the client bundle takes nothing from the
 * engine by importing them. Each names the fields that travel; a field added to an engine
 * type stays off the wire until it is added here (and to docs/openapi.yaml).
 */

import type { GroupDescription as EngineGroupDescription, Membership as EngineMembership } from '../groups/membership.js';
import type { CommittedOffset as EngineCommittedOffset, GroupOffsetInput } from '../groups/offsets.js';
import type { TopicMeta } from '../ports/model.js';
import type { PartitionState as EnginePartitionState } from '../topics/topic-service.js';

/** A topic: `POST /v1/topics`, `PATCH /v1/topics/{topic}`, each of `GET /v1/topics`. */
export type TopicInfo = Pick<TopicMeta, 'name' | 'topicId' | 'partitions' | 'config' | 'createdAt' | 'updatedAt'>;

/** `GET /v1/topics`. */
export interface TopicList {
  topics: TopicInfo[];
}

/** One partition in a topic's description: its bounds and what the last maintenance pass counted. */
export type PartitionState = Pick<
  EnginePartitionState,
  | 'partition'
  | 'highWatermark'
  | 'logStartOffset'
  | 'flushedOffset'
  | 'tailBytes'
  | 'lastAppendAt'
  | 'bytes'
  | 'segments'
  | 'segmentBytes'
  | 'lastCompactionAt'
  | 'lastRetentionAt'
>;

/** `GET /v1/topics/{topic}`. */
export interface TopicDescription extends TopicInfo {
  partitionStates: PartitionState[];
}

/** The answer to an append (`POST …/records`): each record's offset, and each partition's range. */
export interface AppendResult {
  offsets: { partition: number; offset: number }[];
  partitions: { partition: number; baseOffset: number; lastOffset: number; duplicate: boolean }[];
}

/** One record of a JSON read; key, value and header values in the read's `encoding`. */
export interface JsonReadRecord {
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string | null>;
}

/** A read's JSON answer (`GET …/partitions/{p}/records`). */
export interface JsonReadResult {
  /** The incarnation of the topic the records come from. */
  topicId: string;
  records: JsonReadRecord[];
  /** Where the next read starts; compaction leaves gaps. */
  nextOffset: number;
  highWatermark: number;
  logStartOffset: number;
}

/** `GET …/partitions/{p}/offsets`: the offset found and its record's timestamp (null when none is there yet). */
export interface OffsetLookup {
  offset: number;
  timestamp: number | null;
}

/** A committed group position. */
export type CommittedOffset = EngineCommittedOffset;

/**
 * One position of an offset commit (`PUT /v1/groups/{group}/offsets`). With the `topicId`
 * of the read it comes from, a commit made after the topic was deleted and re-created is
 * refused (TopicIncarnationMismatchError) instead of moving the new topic's position.
 */
export type OffsetCommit = GroupOffsetInput;

/** `PUT` and `GET /v1/groups/{group}/offsets`. */
export interface GroupOffsets {
  group: string;
  offsets: CommittedOffset[];
}

/** Join and heartbeat (`POST /v1/groups/{group}/members…`): the member's view of the generation. */
export type Membership = Pick<
  EngineMembership,
  'group' | 'memberId' | 'generation' | 'assignment' | 'sessionTimeoutMs' | 'heartbeatIntervalMs' | 'members'
>;

/** `GET /v1/groups/{group}`. */
export type GroupDescription = EngineGroupDescription;
