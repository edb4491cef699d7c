import { describe, expect, it } from 'vitest';
import { computeAssignments, emptyGroupState, type GroupMember, reapExpired, rebalance } from '../../../lib/groups/assignment.js';

const member = (memberId: string, topics = ['t'], expiresAt = 10_000): GroupMember => ({
  memberId,
  clientId: '',
  topics,
  joinedAt: 0,
  expiresAt,
  sessionTimeoutMs: 1000,
});

const owners = (a: Record<string, { topic: string; partition: number }[]>) =>
  Object.fromEntries(Object.entries(a).map(([m, ps]) => [m, ps.map((p) => `${p.topic}${p.partition}`)]));

describe('group assignment', () => {
  it('gives every partition to exactly one member, balanced to within one', () => {
    const a = computeAssignments([member('a'), member('b'), member('c'), member('d')], { t: 10 }, {});
    const all = Object.values(a)
      .flat()
      .map((p) => p.partition)
      .sort((x, y) => x - y);
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const sizes = Object.values(a).map((ps) => ps.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
  });

  it('is sticky: a join moves only the partitions the new member takes', () => {
    const before = computeAssignments([member('a'), member('b')], { t: 6 }, {});
    const after = computeAssignments([member('a'), member('b'), member('c')], { t: 6 }, before);
    for (const id of ['a', 'b']) {
      for (const p of after[id]!) expect(before[id]).toContainEqual(p);
    }
    expect(after.c).toHaveLength(2);
  });

  it('assigns a topic only to the members subscribed to it', () => {
    const a = computeAssignments([member('a', ['x']), member('b', ['x', 'y'])], { x: 2, y: 3 }, {});
    expect(owners(a).a!.every((p) => p.startsWith('x'))).toBe(true);
    expect(owners(a).b!.filter((p) => p.startsWith('y'))).toEqual(['y0', 'y1', 'y2']);
  });

  it('reaps members whose lease passed and bumps the generation on rebalance', () => {
    const state = { ...emptyGroupState('g'), members: [member('a', ['t'], 100), member('b', ['t'], 300)] };
    rebalance(state, { t: 4 });
    expect(state.generation).toBe(1);
    expect(reapExpired(state, 200)).toBe(true);
    rebalance(state, { t: 4 });
    expect(state).toMatchObject({ generation: 2, members: [{ memberId: 'b' }] });
    expect(state.assignments.b).toHaveLength(4);
    expect(reapExpired(state, 200)).toBe(false);
  });
});
