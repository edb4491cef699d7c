/**
 * Consumer group membership as pure state transitions: who is in a group, which
 * partitions each member owns, and the generation that numbers each assignment.
 * `lib/groups/membership.ts` stores the state in DynamoDB with conditional writes; this
 * module decides, so it is unit-tested without I/O.
 *
 * Transitions (any other event leaves the state as it is):
 *
 * | event                              | members                | generation | assignment   |
 * | ---------------------------------- | ---------------------- | ---------- | ------------ |
 * | join of a new member               | + member               | + 1        | recomputed   |
 * | join of a known member, same topics| lease renewed          | same       | same         |
 * | join of a known member, new topics | topics replaced        | + 1        | recomputed   |
 * | heartbeat of a known member        | lease renewed          | same       | same         |
 * | leave                              | − member               | + 1        | recomputed   |
 * | any call after a lease expired     | − expired members      | + 1        | recomputed   |
 * | topic partitions changed           | same                   | + 1        | recomputed   |
 *
 * An assignment never changes within a generation. That is what makes a commit fenced
 * by `generation` safe: if the generation a member names is the current one, the
 * partitions it was given for that generation are still its own.
 */

/** One member of a consumer group. */
export interface GroupMember {
  memberId: string;
  /** Free text the client chose (host, process), shown by describe. */
  clientId: string;
  topics: string[];
  joinedAt: number;
  /** The lease: the member is dead once the clock passes this without a heartbeat. */
  expiresAt: number;
  sessionTimeoutMs: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** The stored state of one group. `version` increases on every write (optimistic locking). */
export interface GroupState {
  group: string;
  generation: number;
  members: GroupMember[];
  /** memberId → the partitions it owns in this generation. */
  assignments: Record<string, TopicPartition[]>;
  /** topic → partition count the assignment was computed for. */
  partitionCounts: Record<string, number>;
  version: number;
  updatedAt: number;
}

export function emptyGroupState(group: string): GroupState {
  return { group, generation: 0, members: [], assignments: {}, partitionCounts: {}, version: 0, updatedAt: 0 };
}

/** Removes members whose lease expired; true when any did. */
export function reapExpired(state: GroupState, now: number): boolean {
  const live = state.members.filter((m) => m.expiresAt > now);
  if (live.length === state.members.length) return false;
  state.members = live;
  return true;
}

/**
 * The sticky, balanced assignment of every subscribed topic's partitions. Per topic,
 * each subscribed member gets ⌊n/k⌋ or ⌈n/k⌉ partitions; a member keeps the partitions it
 * owned before up to its share, so a rebalance moves as few partitions as it can (fewer
 * redeliveries: only a moved partition is re-read from its last committed offset).
 */
export function computeAssignments(
  members: readonly GroupMember[],
  partitionCounts: Readonly<Record<string, number>>,
  previous: Readonly<Record<string, TopicPartition[]>>,
): Record<string, TopicPartition[]> {
  const result: Record<string, TopicPartition[]> = Object.fromEntries(members.map((m) => [m.memberId, []]));
  const previousOwner = new Map<string, string>();
  for (const [memberId, parts] of Object.entries(previous)) {
    for (const p of parts) previousOwner.set(`${p.topic}#${p.partition}`, memberId);
  }
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort();
  for (const topic of topics) {
    const count = partitionCounts[topic] ?? 0;
    const subscribers = members
      .filter((m) => m.topics.includes(topic))
      .map((m) => m.memberId)
      .sort();
    if (count === 0 || subscribers.length === 0) continue;
    const base = Math.floor(count / subscribers.length);
    let extra = count % subscribers.length;
    // Members that already own more partitions claim the larger shares first, so that
    // they keep what they have.
    const owned = (id: string) => [...previousOwner.entries()].filter(([k, v]) => v === id && k.startsWith(`${topic}#`)).length;
    const order = [...subscribers].sort((a, b) => owned(b) - owned(a) || a.localeCompare(b));
    const quota = new Map<string, number>();
    for (const id of order) {
      quota.set(id, base + (extra > 0 ? 1 : 0));
      if (extra > 0) extra -= 1;
    }
    const unassigned: number[] = [];
    for (let p = 0; p < count; p++) {
      const owner = previousOwner.get(`${topic}#${p}`);
      if (owner !== undefined && quota.has(owner) && quota.get(owner)! > 0) {
        result[owner]!.push({ topic, partition: p });
        quota.set(owner, quota.get(owner)! - 1);
      } else unassigned.push(p);
    }
    for (const p of unassigned) {
      const id = order.find((m) => quota.get(m)! > 0)!;
      result[id]!.push({ topic, partition: p });
      quota.set(id, quota.get(id)! - 1);
    }
  }
  for (const parts of Object.values(result)) parts.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
  return result;
}

/** Bumps the generation and recomputes the assignment for the current members. */
export function rebalance(state: GroupState, partitionCounts: Record<string, number>): void {
  state.generation += 1;
  state.partitionCounts = partitionCounts;
  state.assignments = computeAssignments(state.members, partitionCounts, state.assignments);
}

/** True when the topics' partition counts differ from those the assignment was made for. */
export function partitionCountsChanged(state: GroupState, partitionCounts: Record<string, number>): boolean {
  const topics = new Set([...Object.keys(state.partitionCounts), ...Object.keys(partitionCounts)]);
  for (const t of topics) if ((state.partitionCounts[t] ?? 0) !== (partitionCounts[t] ?? 0)) return true;
  return false;
}

/** The topics any member subscribes to, sorted. */
export function subscribedTopics(members: readonly GroupMember[]): string[] {
  return [...new Set(members.flatMap((m) => m.topics))].sort();
}
