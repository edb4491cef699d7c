import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupPk, groupStatePk } from '../../lib/aws/table-keys.js';
import type { LocalStack } from '../../local/stack.js';
import { loseToConcurrentWrite } from '../support/dynamo-conflicts.js';
import { apiClient, startTestStack } from '../support/local-stack.js';

/**
 * A clock the test moves by hand: lease expiry without sleeping. It starts at the real
 * time: the group item's TTL is computed from it, and DynamoDB Local deletes items whose
 * TTL has passed (from a clock in 2023, the group item vanished mid-test at random).
 */
const clock = {
  t: Date.now(),
  now() {
    return this.t;
  },
};

let stack: LocalStack;
let api: ReturnType<typeof apiClient>;
/** The stack's DynamoDB client, to make its writes lose to concurrent ones. */
let dynamo: DynamoDBClient;

beforeAll(async () => {
  stack = await startTestStack({ engine: { clock, topicCacheTtlMs: 0 }, instrumentClients: (clients) => (dynamo = clients.dynamo) });
  api = apiClient(stack.url);
  await api('POST', '/v1/topics', { name: 'events', partitions: 6 });
});
afterAll(async () => stack?.stop());

function expectError(res: { status: number; body: { error: { code: string; message: string } } }, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body.error.code).toBe(code);
}

const partitions = (body: { assignment: { partition: number }[] }) => body.assignment.map((p) => p.partition);

describe('consumer group membership', () => {
  it('shares partitions between members, rebalances on join, leave and lease expiry', async () => {
    const a = await api('POST', '/v1/groups/g1/members', { topics: ['events'], sessionTimeoutMs: 3000, clientId: 'a' });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ generation: 1, members: 1, sessionTimeoutMs: 3000, heartbeatIntervalMs: 1000 });
    expect(partitions(a.body)).toEqual([0, 1, 2, 3, 4, 5]);

    const b = await api('POST', '/v1/groups/g1/members', { topics: ['events'], sessionTimeoutMs: 3000 });
    expect(b.body.generation).toBe(2);
    const aNow = await api('POST', `/v1/groups/g1/members/${a.body.memberId}/heartbeat`);
    expect(aNow.body.generation).toBe(2);
    expect(partitions(aNow.body)).toHaveLength(3);
    // Sticky: A keeps part of what it had, and the two shares cover all six, once.
    expect([...partitions(aNow.body), ...partitions(b.body)].sort()).toEqual([0, 1, 2, 3, 4, 5]);

    // B stops heartbeating; once its lease passes, A's next heartbeat takes everything back.
    clock.t += 2000;
    await api('POST', `/v1/groups/g1/members/${a.body.memberId}/heartbeat`);
    clock.t += 2000;
    const alone = await api('POST', `/v1/groups/g1/members/${a.body.memberId}/heartbeat`);
    expect(alone.body).toMatchObject({ generation: 3, members: 1 });
    expect(partitions(alone.body)).toEqual([0, 1, 2, 3, 4, 5]);
    expectError(await api('POST', `/v1/groups/g1/members/${b.body.memberId}/heartbeat`), 409, 'UNKNOWN_MEMBER');

    const described = await api('GET', '/v1/groups/g1');
    expect(described.body).toMatchObject({
      group: 'g1',
      generation: 3,
      members: [{ memberId: a.body.memberId, clientId: 'a', topics: ['events'] }],
    });

    expect((await api('DELETE', `/v1/groups/g1/members/${a.body.memberId}`)).status).toBe(204);
    expect((await api('GET', '/v1/groups/g1')).body).toMatchObject({ generation: 4, members: [] });
    expectError(await api('DELETE', `/v1/groups/g1/members/${a.body.memberId}`), 409, 'UNKNOWN_MEMBER');
  });

  it('a rejoin with the same memberId renews the lease without a rebalance', async () => {
    const first = await api('POST', '/v1/groups/g2/members', { topics: ['events'], memberId: 'm-1' });
    const again = await api('POST', '/v1/groups/g2/members', { topics: ['events'], memberId: 'm-1' });
    expect(again.body).toMatchObject({ memberId: 'm-1', generation: first.body.generation, members: 1 });
  });

  it('fences commits: a member of an older generation, a partition it does not own, an unknown member', async () => {
    const a = (await api('POST', '/v1/groups/g3/members', { topics: ['events'] })).body;
    const commit = (memberId: string, generation: number, partition: number, offset = 5) =>
      api('PUT', '/v1/groups/g3/offsets', { memberId, generation, offsets: [{ topic: 'events', partition, offset }] });
    expect((await commit(a.memberId, a.generation, 4)).status).toBe(200);

    const b = (await api('POST', '/v1/groups/g3/members', { topics: ['events'] })).body;
    // A is a zombie of generation 1 until it heartbeats: nothing it commits lands.
    const zombie = await commit(a.memberId, a.generation, b.assignment[0].partition, 99);
    expectError(zombie, 409, 'STALE_GENERATION');
    expect(zombie.body.error).toMatchObject({ generation: a.generation, currentGeneration: b.generation });
    const fetched = await api('GET', '/v1/groups/g3/offsets?topic=events');
    expect(fetched.body.offsets.find((o: { partition: number }) => o.partition === b.assignment[0].partition)?.offset ?? 0).not.toBe(99);

    const aNow = (await api('POST', `/v1/groups/g3/members/${a.memberId}/heartbeat`)).body;
    expectError(await commit(a.memberId, aNow.generation, b.assignment[0].partition), 409, 'PARTITION_NOT_ASSIGNED');
    expect((await commit(a.memberId, aNow.generation, aNow.assignment[0].partition)).status).toBe(200);
    expectError(await commit('nobody', aNow.generation, 0), 409, 'UNKNOWN_MEMBER');
    expectError(
      await api('PUT', '/v1/groups/g3/offsets', { memberId: a.memberId, offsets: [{ topic: 'events', partition: 0, offset: 1 }] }),
      400,
      'VALIDATION',
    );
  });

  // Regression (issue 12, finding 4): a commit made with positions read before the topic
  // was deleted and re-created was stored against the new incarnation, so a restarted
  // consumer skipped the new topic's records below that offset.
  it('refuses an offset commit carrying the old incarnation of a re-created topic', async () => {
    await api('POST', '/v1/topics', { name: 'reborn', partitions: 1 });
    await api('POST', '/v1/topics/reborn/records', { records: [{ value: 'a' }, { value: 'b' }, { value: 'c' }] });
    const read = await api('GET', '/v1/topics/reborn/partitions/0/records?offset=0');
    const oldId = read.body.topicId;
    expect(oldId).toBe((await api('GET', '/v1/topics/reborn')).body.topicId);
    const m = (await api('POST', '/v1/groups/g5/members', { topics: ['reborn'] })).body;

    expect((await api('DELETE', '/v1/topics/reborn')).status).toBe(204);
    const newId = (await api('POST', '/v1/topics', { name: 'reborn', partitions: 1 })).body.topicId;
    await api('POST', '/v1/topics/reborn/records', { records: [{ value: 'x' }] });

    const commit = (topicId: string, offset: number, fence = true) =>
      api('PUT', '/v1/groups/g5/offsets', {
        ...(fence ? { memberId: m.memberId, generation: m.generation } : {}),
        offsets: [{ topic: 'reborn', partition: 0, offset, topicId }],
      });
    const refused = await commit(oldId, read.body.nextOffset);
    expectError(refused, 409, 'TOPIC_INCARNATION_MISMATCH');
    expect(refused.body.error).toMatchObject({ topic: 'reborn', topicId: oldId, currentTopicId: newId });
    expectError(await commit(oldId, read.body.nextOffset, false), 409, 'TOPIC_INCARNATION_MISMATCH');
    expect((await api('GET', '/v1/groups/g5/offsets?topic=reborn')).body.offsets).toEqual([]);

    // The new incarnation's own positions commit, and the answer says which incarnation they belong to.
    expect((await commit(newId, 1)).status).toBe(200);
    expect((await api('GET', '/v1/groups/g5/offsets?topic=reborn')).body.offsets).toMatchObject([
      { partition: 0, offset: 1, topicId: newId },
    ]);
  });

  // Regression (issue 12): on DynamoDB a commit's transaction that meets a membership
  // write on the group item is cancelled with TransactionConflict, and a membership write
  // that meets a commit's transaction fails with TransactionConflictException; both were
  // rethrown as they came and answered 500 INTERNAL.
  it('a commit racing a heartbeat is retried, not a 500', async () => {
    const m = (await api('POST', '/v1/groups/g6/members', { topics: ['events'] })).body;
    const race = loseToConcurrentWrite(dynamo, {
      command: 'TransactWriteItemsCommand',
      pk: groupStatePk('g6'),
      interpose: () => api('POST', `/v1/groups/g6/members/${m.memberId}/heartbeat`),
    });
    const res = await api('PUT', '/v1/groups/g6/offsets', {
      memberId: m.memberId,
      generation: m.generation,
      offsets: [{ topic: 'events', partition: 0, offset: 7 }],
    });
    race.armed = false;
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(race.lost).toBe(1);
    expect((await api('GET', '/v1/groups/g6/offsets?topic=events')).body.offsets).toMatchObject([{ partition: 0, offset: 7 }]);
  });

  it('a heartbeat racing a commit is retried, not a 500', async () => {
    const m = (await api('POST', '/v1/groups/g7/members', { topics: ['events'] })).body;
    const race = loseToConcurrentWrite(dynamo, {
      command: 'PutItemCommand',
      pk: groupStatePk('g7'),
      interpose: () =>
        api('PUT', '/v1/groups/g7/offsets', {
          memberId: m.memberId,
          generation: m.generation,
          offsets: [{ topic: 'events', partition: 1, offset: 3 }],
        }),
    });
    const res = await api('POST', `/v1/groups/g7/members/${m.memberId}/heartbeat`);
    race.armed = false;
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(race.lost).toBe(1);
    expect(res.body).toMatchObject({ memberId: m.memberId, generation: m.generation });
  });

  it('an unfenced commit racing another commit is retried, not a 500', async () => {
    const race = loseToConcurrentWrite(dynamo, {
      command: 'TransactWriteItemsCommand',
      pk: groupPk('g8'),
      interpose: () => api('PUT', '/v1/groups/g8/offsets', { offsets: [{ topic: 'events', partition: 2, offset: 1 }] }),
    });
    const res = await api('PUT', '/v1/groups/g8/offsets', { offsets: [{ topic: 'events', partition: 2, offset: 5 }] });
    race.armed = false;
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(race.lost).toBe(1);
    expect((await api('GET', '/v1/groups/g8/offsets?topic=events')).body.offsets).toMatchObject([{ partition: 2, offset: 5 }]);
  });

  it('a commit and a heartbeat that keep losing to concurrent writes answer 503 RETRY, not a 500', async () => {
    const m = (await api('POST', '/v1/groups/g9/members', { topics: ['events'] })).body;
    const commits = loseToConcurrentWrite(dynamo, {
      command: 'TransactWriteItemsCommand',
      pk: groupStatePk('g9'),
      interpose: async () => {},
      times: 1000,
    });
    const commit = await api('PUT', '/v1/groups/g9/offsets', {
      memberId: m.memberId,
      generation: m.generation,
      offsets: [{ topic: 'events', partition: 0, offset: 1 }],
    });
    commits.armed = false;
    expectError(commit, 503, 'RETRY');
    expect(commit.headers.get('retry-after')).toBe('1');
    const heartbeats = loseToConcurrentWrite(dynamo, {
      command: 'PutItemCommand',
      pk: groupStatePk('g9'),
      interpose: async () => {},
      times: 1000,
    });
    const heartbeat = await api('POST', `/v1/groups/g9/members/${m.memberId}/heartbeat`);
    heartbeats.armed = false;
    expectError(heartbeat, 503, 'RETRY');
    expect((await api('GET', '/v1/groups/g9/offsets?topic=events')).body.offsets).toEqual([]);
  });

  // Regression (issue 12): the group's members and the assignment of every partition are
  // one DynamoDB item, and nothing bounded it: a join that took it past 400 KB failed in
  // DynamoDB (ValidationException) and answered 500 INTERNAL.
  it('refuses a join that would outgrow the group item (400 KB) with GROUP_TOO_LARGE, not a 500', async () => {
    // Each assigned partition costs its topic's name: 1024 partitions of a 249-character name is ~280 KB.
    const big = (c: string) => `${c}-${'x'.repeat(247)}`;
    for (const name of [big('a'), big('b')]) expect((await api('POST', '/v1/topics', { name, partitions: 1024 })).status).toBe(201);
    const a = await api('POST', '/v1/groups/g10/members', { topics: [big('a')] });
    expect(a.status, JSON.stringify(a.body)).toBe(200);

    const refused = await api('POST', '/v1/groups/g10/members', { topics: [big('b')] });
    expectError(refused, 409, 'GROUP_TOO_LARGE');
    expect(refused.body.error.message).toMatch(/split the group/);
    expect(refused.body.error).toMatchObject({ maxBytes: 350 * 1024 });
    expect(refused.body.error.bytes).toBeGreaterThan(350 * 1024);
    // Nothing changed: the member in the group keeps its lease and its assignment.
    const heartbeat = await api('POST', `/v1/groups/g10/members/${a.body.memberId}/heartbeat`);
    expect(heartbeat.status).toBe(200);
    expect(heartbeat.body).toMatchObject({ generation: a.body.generation, members: 1 });
    expect(heartbeat.body.assignment).toHaveLength(1024);
  });

  it('validates join requests and unknown topics', async () => {
    expectError(await api('POST', '/v1/groups/g4/members', { topics: [] }), 400, 'VALIDATION');
    expectError(await api('POST', '/v1/groups/g4/members', { topics: ['events'], sessionTimeoutMs: 10 }), 400, 'VALIDATION');
    expectError(await api('POST', '/v1/groups/g4/members', { topics: ['nope'] }), 404, 'TOPIC_NOT_FOUND');
    expectError(await api('POST', '/v1/groups/bad%20name/members', { topics: ['events'] }), 400, 'VALIDATION');
  });
});
