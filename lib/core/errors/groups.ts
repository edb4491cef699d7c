/**
 * Errors of consumer groups: membership, generations, fenced offset commits, a group too
 * large for its one item. Import them from lib/core/errors.ts.
 */
import { StrataError } from './strata-error.js';

/**
 * Group heartbeat, leave or fenced offset commit: the member is not in the group — its
 * session expired without a heartbeat, or it left. Its partitions may already belong to
 * another member. Join again (POST /v1/groups/{group}/members).
 */
export class UnknownMemberError extends StrataError {
  constructor(
    readonly group: string,
    readonly memberId: string,
  ) {
    super('UNKNOWN_MEMBER', `member '${memberId}' is not in group '${group}' (its session expired or it left); join the group again`, {
      details: { memberId },
    });
  }
}

/**
 * Fenced offset commit: the commit names a generation older than the group's current
 * one, so the group rebalanced and the member's partitions may have moved. Heartbeat to
 * get the new assignment; progress on partitions the member lost is not committed.
 */
export class StaleGenerationError extends StrataError {
  constructor(
    readonly group: string,
    readonly generation: number,
    readonly currentGeneration: number,
  ) {
    super(
      'STALE_GENERATION',
      `group '${group}' is at generation ${currentGeneration}, not ${generation}: it rebalanced; heartbeat for the new assignment and commit only partitions you still own`,
      { details: { generation, currentGeneration } },
    );
  }
}

/** Fenced offset commit: the partition is not assigned to this member in this generation. */
export class PartitionNotAssignedError extends StrataError {
  constructor(
    readonly group: string,
    readonly memberId: string,
    readonly topic: string,
    readonly partition: number,
    readonly generation: number,
  ) {
    super(
      'PARTITION_NOT_ASSIGNED',
      `${topic} partition ${partition} is not assigned to member '${memberId}' of group '${group}' in generation ${generation}; commit only the partitions the group gave you`,
      { details: { memberId, topic, partition, generation } },
    );
  }
}

/**
 * Offset commit: the positions were read from an earlier incarnation of the topic (the
 * `topicId` the commit carries), and the topic has since been deleted and re-created under
 * the same name. Offsets of one incarnation mean nothing in another: stored against the
 * new topic they would make the group skip its first records. Nothing is committed; start
 * the partitions again from your reset policy (e.g. `earliest`) and commit what you read
 * from the new topic.
 */
export class TopicIncarnationMismatchError extends StrataError {
  constructor(
    readonly topic: string,
    readonly topicId: string,
    readonly currentTopicId: string,
  ) {
    super(
      'TOPIC_INCARNATION_MISMATCH',
      `topic '${topic}' was deleted and re-created: these offsets were read from its incarnation ${topicId}, it is now ${currentTopicId}; ` +
        'restart the partitions from your reset policy (e.g. earliest) and commit positions read from the new topic',
      { details: { topic, topicId, currentTopicId } },
    );
  }
}

/**
 * Group join (or any membership change): the group's members and the assignment of every
 * partition they subscribe to are one DynamoDB item, and with this change it would be
 * larger than MAX_GROUP_STATE_BYTES (DynamoDB's items are at most 400 KB). Nothing is
 * written. Use fewer members or fewer topics per member, topics with fewer partitions or
 * shorter names, or split the group into several groups.
 */
export class GroupTooLargeError extends StrataError {
  constructor(
    readonly group: string,
    readonly bytes: number,
    readonly maxBytes: number,
    readonly members: number,
  ) {
    super(
      'GROUP_TOO_LARGE',
      `group '${group}' would need ${bytes} bytes for its ${members} members and the assignment of their partitions, over the ${maxBytes}-byte limit of one group (one DynamoDB item); ` +
        'use fewer members or fewer topics per member, topics with fewer partitions or shorter names, or split the group into several groups',
      { details: { bytes, maxBytes, members } },
    );
  }
}
