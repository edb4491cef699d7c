/**
 * JSON views of engine objects, shared by the handlers so each route answers the same
 * shape: the API's wire types (lib/wire/api.ts), which the client parses.
 */
import type { GroupDescription as EngineGroupDescription, Membership as EngineMembership } from '../../lib/groups/membership.js';
import type { CommittedOffset } from '../../lib/groups/offsets.js';
import type { TopicMeta } from '../../lib/ports/model.js';
import type { TopicDescription as EngineTopicDescription } from '../../lib/topics/topic-service.js';
import type { GroupDescription, GroupOffsets, Membership, TopicDescription, TopicInfo } from '../../lib/wire/api.js';

export function topicView(meta: Omit<TopicMeta, 'version'>): TopicInfo {
  return {
    name: meta.name,
    topicId: meta.topicId,
    partitions: meta.partitions,
    config: meta.config,
    createdAt: meta.createdAt,
    updatedAt: meta.updatedAt,
  };
}

export function topicDescriptionView(d: EngineTopicDescription): TopicDescription {
  return {
    ...topicView(d),
    partitionStates: d.partitionStates.map((p) => ({
      partition: p.partition,
      highWatermark: p.highWatermark,
      logStartOffset: p.logStartOffset,
      flushedOffset: p.flushedOffset,
      tailBytes: p.tailBytes,
      lastAppendAt: p.lastAppendAt,
      bytes: p.bytes,
      segments: p.segments,
      segmentBytes: p.segmentBytes,
      lastCompactionAt: p.lastCompactionAt,
      lastRetentionAt: p.lastRetentionAt,
    })),
  };
}

export function groupOffsetsView(group: string, offsets: CommittedOffset[]): GroupOffsets {
  return { group, offsets };
}

export function membershipView(m: EngineMembership): Membership {
  return {
    group: m.group,
    memberId: m.memberId,
    generation: m.generation,
    assignment: m.assignment,
    sessionTimeoutMs: m.sessionTimeoutMs,
    heartbeatIntervalMs: m.heartbeatIntervalMs,
    members: m.members,
  };
}

export function groupDescriptionView(d: EngineGroupDescription): GroupDescription {
  return {
    group: d.group,
    generation: d.generation,
    members: d.members.map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      topics: m.topics,
      joinedAt: m.joinedAt,
      expiresAt: m.expiresAt,
      sessionTimeoutMs: m.sessionTimeoutMs,
      assignment: m.assignment,
    })),
  };
}
