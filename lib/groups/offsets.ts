/**
 * Consumer group offsets: the committed position of a group in each partition, the
 * offset of the next record the group will process (Kafka's convention). A commit of
 * several partitions is atomic. Offsets belong to one incarnation of a topic (its
 * `topicId`): offsets committed for a deleted topic are not returned for a new topic of
 * the same name, and a commit of positions read from a deleted incarnation is refused:
 *
 *     consumer                  topic 'orders'          group offsets
 *     read 0..9 of id A ──────▶ (incarnation A)
 *                               deleted, re-created B
 *                               20 records appended
 *     commit 10, topicId A ───────────────────────────▶ refused: TOPIC_INCARNATION_MISMATCH
 *     (restarts from its reset policy: B's 0..19, none skipped)
 *
 * Stored with the caller's topicId, a commit that races a re-creation after the check
 * lands on the old incarnation, which the new one never reads.
 */
import * as z from 'zod';
import type { Clock } from '../core/clock.js';
import { MAX_GROUP_METADATA_BYTES, MAX_GROUP_NAME_LENGTH, MAX_GROUP_OFFSETS_PER_COMMIT, RETRY_AFTER_SECONDS } from '../core/constants.js';
import {
  PartitionNotAssignedError,
  RetryableError,
  StaleGenerationError,
  TopicIncarnationMismatchError,
  TopicNotFoundError,
  UnknownMemberError,
  ValidationError,
} from '../core/errors.js';
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy, sleep } from '../core/retry.js';
import { parseOrThrow } from '../core/validation.js';
import type { GroupCommitOutcome, LogStore } from '../ports/log-store.js';
import type { GroupOffset } from '../ports/model.js';
import type { TopicService } from '../topics/topic-service.js';

export const groupNameSchema = z
  .string()
  .regex(
    new RegExp(`^[a-zA-Z0-9._:-]{1,${MAX_GROUP_NAME_LENGTH}}$`),
    `a group name is 1 to ${MAX_GROUP_NAME_LENGTH} characters from a-z, A-Z, 0-9, ".", "_", ":" and "-"`,
  );

export interface GroupOffsetInput {
  topic: string;
  partition: number;
  offset: number;
  metadata?: string | null;
  /**
   * The incarnation of the topic the position was read from (a read's `topicId`). A
   * consumer always sends it; without it the position applies to the topic as it is now.
   */
  topicId?: string;
}

/** The member and generation a fenced commit is made for. */
export interface CommitFence {
  memberId: string;
  generation: number;
}

/** A committed position as a group's members see it: the stored one, without the group it is stored under. */
export type CommittedOffset = Omit<GroupOffset, 'group'>;

/**
 * How many times a commit is tried when another write holds one of its items: a
 * heartbeat, join or leave writing the group item its fence checks, or a commit of the
 * same partitions. Each try is a new transaction (nothing of a lost one is written), so
 * retrying cannot commit twice; after the last one the commit answers 503 RETRY.
 */
const COMMIT_ATTEMPTS = 20;

export class GroupOffsets {
  constructor(
    private readonly topics: TopicService,
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  /**
   * Commits positions atomically; every topic and partition must exist. With `fence`
   * (a member of the group and the generation it was given), the commit applies only if
   * the group is still at that generation and every partition is that member's in it:
   * a member that lost its partitions in a rebalance (a zombie) cannot move the group's
   * position behind the new owner's back. A position carrying the `topicId` of an
   * earlier incarnation of its topic is refused (TopicIncarnationMismatchError).
   */
  async commit(group: string, offsets: GroupOffsetInput[], fence?: CommitFence): Promise<CommittedOffset[]> {
    parseOrThrow(groupNameSchema, group, 'group');
    if (offsets.length === 0) throw new ValidationError('offsets is empty; commit at least one position');
    if (offsets.length > MAX_GROUP_OFFSETS_PER_COMMIT) {
      throw new ValidationError(`offsets has ${offsets.length} entries; commit at most ${MAX_GROUP_OFFSETS_PER_COMMIT} at once`);
    }
    const seen = new Set<string>();
    const now = this.clock.now();
    const items: GroupOffset[] = [];
    for (const [i, o] of offsets.entries()) {
      const id = `${o.topic}#${o.partition}`;
      if (seen.has(id)) throw new ValidationError(`offsets[${i}] repeats ${o.topic} partition ${o.partition}; commit each partition once`);
      seen.add(id);
      if (!Number.isSafeInteger(o.offset) || o.offset < 0) {
        throw new ValidationError(`offsets[${i}].offset must be a whole number ≥ 0; got ${o.offset}`);
      }
      if (o.metadata && Buffer.byteLength(o.metadata) > MAX_GROUP_METADATA_BYTES) {
        throw new ValidationError(`offsets[${i}].metadata is over ${MAX_GROUP_METADATA_BYTES} bytes`);
      }
      const { meta } = await this.topics.partition(o.topic, o.partition);
      if (o.topicId !== undefined && o.topicId !== meta.topicId) throw new TopicIncarnationMismatchError(o.topic, o.topicId, meta.topicId);
      items.push({
        group,
        topic: o.topic,
        topicId: o.topicId ?? meta.topicId,
        partition: o.partition,
        offset: o.offset,
        metadata: o.metadata ?? null,
        updatedAt: now,
      });
    }
    for (let attempt = 1; ; attempt++) {
      const outcome = fence ? await this.commitFenced(group, items, fence) : await this.store.commitGroupOffsets(items);
      if (outcome === 'committed') return items.map(toCommitted);
      if (outcome === 'fenced') {
        const current = await this.store.getGroupState(group);
        throw new StaleGenerationError(group, fence!.generation, current?.generation ?? 0);
      }
      if (attempt >= COMMIT_ATTEMPTS) {
        throw new RetryableError(
          `group '${group}' is being written too often to commit its offsets (${attempt} tries lost to concurrent writes); retry`,
          RETRY_AFTER_SECONDS,
        );
      }
      await sleep(backoffDelay(this.retry, attempt - 1));
    }
  }

  /**
   * One try of a fenced commit: the member, generation and assignment are checked on the
   * group item as it is now (a retry after a conflict sees what the concurrent write did),
   * then the transaction re-checks the generation as it writes.
   */
  private async commitFenced(group: string, items: GroupOffset[], fence: CommitFence): Promise<GroupCommitOutcome> {
    const state = await this.store.getGroupState(group);
    if (!state?.members.some((m) => m.memberId === fence.memberId)) throw new UnknownMemberError(group, fence.memberId);
    if (state.generation !== fence.generation) throw new StaleGenerationError(group, fence.generation, state.generation);
    const owned = new Set((state.assignments[fence.memberId] ?? []).map((p) => `${p.topic}#${p.partition}`));
    for (const o of items) {
      if (!owned.has(`${o.topic}#${o.partition}`)) {
        throw new PartitionNotAssignedError(group, fence.memberId, o.topic, o.partition, fence.generation);
      }
    }
    return this.store.commitGroupOffsets(items, { group, generation: fence.generation });
  }

  /** The group's committed positions, optionally for one topic, in topic/partition order. */
  async fetch(group: string, topic?: string): Promise<CommittedOffset[]> {
    parseOrThrow(groupNameSchema, group, 'group');
    const stored = await this.store.getGroupOffsets(group);
    const live: GroupOffset[] = [];
    const ids = new Map<string, string | null>();
    for (const o of stored) {
      if (topic !== undefined && o.topic !== topic) continue;
      if (!ids.has(o.topic)) ids.set(o.topic, await this.currentTopicId(o.topic));
      if (ids.get(o.topic) === o.topicId) live.push(o);
    }
    return live.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition).map(toCommitted);
  }

  private async currentTopicId(topic: string): Promise<string | null> {
    try {
      return (await this.topics.get(topic)).topicId;
    } catch (err) {
      // Only a topic that is gone drops its offsets; a storage error must not look like "no offsets".
      if (err instanceof TopicNotFoundError) return null;
      throw err;
    }
  }
}

function toCommitted(o: GroupOffset): CommittedOffset {
  return { topic: o.topic, topicId: o.topicId, partition: o.partition, offset: o.offset, metadata: o.metadata, updatedAt: o.updatedAt };
}
