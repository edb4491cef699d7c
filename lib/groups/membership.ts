/**
 * Consumer group membership: members join a group for a set of topics, hold a lease they
 * renew by heartbeating, and get a share of the topics' partitions. The group's state is
 * one DynamoDB item (`GM#{group}` / `STATE`) written with a condition on its version, so
 * concurrent joins, heartbeats and leaves from any number of Lambda instances serialize
 * on it. There is no coordinator process: whichever request first sees an expired lease
 * removes that member and rebalances (lib/groups/assignment.ts has the transition table).
 *
 *     member A          member B           state item
 *     join ───────────────────────────────▶ gen 1: A owns 0..5
 *                       join ────────────▶ gen 2: A owns 0..2, B owns 3..5
 *     commit(p4, gen 1) ─────────────────▶ refused: STALE_GENERATION (409)
 *     heartbeat ─────────────────────────▶ answers gen 2, A owns 0..2
 *     (A stops reading 3..5; B reads them from the last committed offsets)
 *
 * Between B's join and A's next heartbeat both may read partitions 3..5: records A had
 * read but not committed are delivered again to B. Delivery is at-least-once.
 */
import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { Clock } from '../core/clock.js';
import {
  DEFAULT_SESSION_TIMEOUT_MS,
  GROUP_STATE_TTL_MS,
  HEARTBEATS_PER_SESSION,
  MAX_GROUP_MEMBERS,
  MAX_GROUP_STATE_BYTES,
  MAX_MEMBER_ID_LENGTH,
  MAX_SESSION_TIMEOUT_MS,
  MIN_SESSION_TIMEOUT_MS,
  RETRY_AFTER_SECONDS,
} from '../core/constants.js';
import { GroupTooLargeError, RetryableError, TopicNotFoundError, UnknownMemberError, ValidationError } from '../core/errors.js';
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy, sleep } from '../core/retry.js';
import { parseOrThrow } from '../core/validation.js';
import type { LogStore } from '../ports/log-store.js';
import type { TopicService } from '../topics/topic-service.js';
import {
  emptyGroupState,
  type GroupMember,
  type GroupState,
  partitionCountsChanged,
  reapExpired,
  rebalance,
  subscribedTopics,
  type TopicPartition,
} from './assignment.js';
import { groupNameSchema } from './offsets.js';

export const memberIdSchema = z
  .string()
  .regex(
    new RegExp(`^[a-zA-Z0-9._:-]{1,${MAX_MEMBER_ID_LENGTH}}$`),
    `a memberId is 1 to ${MAX_MEMBER_ID_LENGTH} characters from a-z, A-Z, 0-9, ".", "_", ":" and "-"`,
  );

export const joinRequestSchema = z
  .object({
    topics: z
      .array(z.string().min(1), { message: 'topics must be an array of topic names' })
      .min(1, 'topics must name at least one topic')
      .max(100),
    memberId: memberIdSchema.optional(),
    clientId: z.string().max(256).optional(),
    sessionTimeoutMs: z
      .number()
      .int()
      .min(MIN_SESSION_TIMEOUT_MS, `sessionTimeoutMs must be ≥ ${MIN_SESSION_TIMEOUT_MS}`)
      .max(MAX_SESSION_TIMEOUT_MS, `sessionTimeoutMs must be ≤ ${MAX_SESSION_TIMEOUT_MS}`)
      .optional(),
  })
  .strict();

export type JoinRequest = z.infer<typeof joinRequestSchema>;

/** What join and heartbeat answer: the member's view of the current generation. */
export interface Membership {
  group: string;
  memberId: string;
  generation: number;
  /** The partitions this member owns in `generation`. */
  assignment: TopicPartition[];
  sessionTimeoutMs: number;
  /** How often to heartbeat so that one lost heartbeat does not end the session. */
  heartbeatIntervalMs: number;
  /** Members in the group. */
  members: number;
}

export interface GroupDescription {
  group: string;
  generation: number;
  members: (GroupMember & { assignment: TopicPartition[] })[];
}

/** How many times a membership change re-reads the group after a concurrent change. */
const MEMBERSHIP_ATTEMPTS = 20;

export class GroupMembership {
  constructor(
    private readonly topics: TopicService,
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  /**
   * Adds a member (a new id unless `memberId` is given) and rebalances, or renews the
   * lease of a member that is already in, e.g. a client retrying a join whose answer
   * it lost. Refused with GroupTooLargeError when the group would no longer fit in its
   * one item (MAX_GROUP_STATE_BYTES).
   */
  async join(group: string, request: unknown): Promise<Membership> {
    parseOrThrow(groupNameSchema, group, 'group');
    const body = parseOrThrow(joinRequestSchema, request, 'join request');
    const topics = [...new Set(body.topics)].sort();
    for (const t of topics) await this.topics.get(t);
    const memberId = body.memberId ?? randomUUID();
    const sessionTimeoutMs = body.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    return this.update(group, memberId, async (state, now) => {
      const existing = state.members.find((m) => m.memberId === memberId);
      let changed = false;
      if (existing) {
        existing.expiresAt = now + sessionTimeoutMs;
        existing.sessionTimeoutMs = sessionTimeoutMs;
        if (body.clientId !== undefined) existing.clientId = body.clientId;
        if (existing.topics.join(',') !== topics.join(',')) {
          existing.topics = topics;
          changed = true;
        }
      } else {
        if (state.members.length >= MAX_GROUP_MEMBERS) {
          throw new ValidationError(`group '${group}' has ${MAX_GROUP_MEMBERS} members, the most one group can hold`);
        }
        state.members.push({
          memberId,
          clientId: body.clientId ?? '',
          topics,
          joinedAt: now,
          expiresAt: now + sessionTimeoutMs,
          sessionTimeoutMs,
        });
        changed = true;
      }
      return changed;
    });
  }

  /** Renews the member's lease and answers the current generation and its assignment. */
  async heartbeat(group: string, memberId: string): Promise<Membership> {
    parseOrThrow(groupNameSchema, group, 'group');
    parseOrThrow(memberIdSchema, memberId, 'memberId');
    return this.update(group, memberId, async (state, now) => {
      const member = state.members.find((m) => m.memberId === memberId);
      if (!member) throw new UnknownMemberError(group, memberId);
      member.expiresAt = now + member.sessionTimeoutMs;
      return false;
    });
  }

  /** Removes the member at once (no wait for its lease) and rebalances. */
  async leave(group: string, memberId: string): Promise<void> {
    parseOrThrow(groupNameSchema, group, 'group');
    parseOrThrow(memberIdSchema, memberId, 'memberId');
    await this.mutate(group, async (state) => {
      const before = state.members.length;
      state.members = state.members.filter((m) => m.memberId !== memberId);
      if (state.members.length === before) throw new UnknownMemberError(group, memberId);
      return true;
    });
  }

  /** The group's members and assignment as stored (expired leases included until reaped). */
  async describe(group: string): Promise<GroupDescription> {
    parseOrThrow(groupNameSchema, group, 'group');
    const state = (await this.store.getGroupState(group)) ?? emptyGroupState(group);
    return {
      group,
      generation: state.generation,
      members: state.members.map((m) => ({ ...m, assignment: state.assignments[m.memberId] ?? [] })),
    };
  }

  /** The current state, for fenced commits. */
  async state(group: string): Promise<GroupState | null> {
    return this.store.getGroupState(group);
  }

  private async update(group: string, memberId: string, change: (state: GroupState, now: number) => Promise<boolean>): Promise<Membership> {
    const state = await this.mutate(group, change);
    const member = state.members.find((m) => m.memberId === memberId);
    if (!member) throw new UnknownMemberError(group, memberId);
    return {
      group,
      memberId,
      generation: state.generation,
      assignment: state.assignments[memberId] ?? [],
      sessionTimeoutMs: member.sessionTimeoutMs,
      heartbeatIntervalMs: Math.floor(member.sessionTimeoutMs / HEARTBEATS_PER_SESSION),
      members: state.members.length,
    };
  }

  /**
   * Read, change, write if nobody wrote in between; again from the new state otherwise.
   * `change` says whether membership changed (then the group rebalances); expired
   * members are reaped and changed partition counts noticed on every write.
   */
  private async mutate(group: string, change: (state: GroupState, now: number) => Promise<boolean>): Promise<GroupState> {
    for (let attempt = 0; attempt < MEMBERSHIP_ATTEMPTS; attempt++) {
      const stored = await this.store.getGroupState(group);
      const state = stored ? structuredClone(stored) : emptyGroupState(group);
      const expectedVersion = state.version;
      const now = this.clock.now();
      let membershipChanged = reapExpired(state, now);
      membershipChanged = (await change(state, now)) || membershipChanged;
      const counts = await this.partitionCounts(subscribedTopics(state.members));
      if (membershipChanged || partitionCountsChanged(state, counts)) rebalance(state, counts);
      const bytes = serializedBytes(state);
      if (bytes > MAX_GROUP_STATE_BYTES) throw new GroupTooLargeError(group, bytes, MAX_GROUP_STATE_BYTES, state.members.length);
      state.version = expectedVersion + 1;
      state.updatedAt = now;
      const lastExpiry = Math.max(now, ...state.members.map((m) => m.expiresAt));
      if (await this.store.putGroupState(state, expectedVersion, Math.ceil((lastExpiry + GROUP_STATE_TTL_MS) / 1000))) return state;
      await sleep(backoffDelay(this.retry, attempt));
    }
    throw new RetryableError(`group '${group}' is changing too fast to update its membership; retry`, RETRY_AFTER_SECONDS);
  }

  /** Partition counts of the topics; a deleted topic counts 0 (its partitions leave the assignment). */
  private async partitionCounts(topics: string[]): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    for (const t of topics) {
      try {
        counts[t] = (await this.topics.get(t)).partitions;
      } catch (err) {
        if (!(err instanceof TopicNotFoundError)) throw err;
        counts[t] = 0;
      }
    }
    return counts;
  }
}

/**
 * The group's state as JSON, in bytes: never less than DynamoDB's size of the item (JSON
 * quotes every name and string and spells numbers in full; DynamoDB counts names, values
 * and a byte or three per element), so a state within MAX_GROUP_STATE_BYTES fits in it.
 */
function serializedBytes(state: GroupState): number {
  return Buffer.byteLength(JSON.stringify(state));
}
