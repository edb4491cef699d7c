/**
 * The GroupStore role of the DynamoDB adapter: a group's committed offsets, one item per
 * partition under the group's key, and its membership item, which fences commits by
 * generation (a ConditionCheck in the commit's transaction).
 */
import { TransactionConflictException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { GroupMember, GroupState } from '../groups/assignment.js';
import type { GroupCommitOutcome, GroupStore } from '../ports/log-store.js';
import type { GroupFence, GroupOffset } from '../ports/model.js';
import { CONDITION_FAILURE, type DynamoTable, type TransactItems, unexpectedCancellation, unlessConditionFails } from './dynamo-table.js';
import { GROUP_STATE_SK, groupPk, groupSk, groupStatePk } from './table-keys.js';

export class DynamoGroupStore implements GroupStore {
  constructor(private readonly table: DynamoTable) {}

  async commitGroupOffsets(offsets: GroupOffset[], fence?: GroupFence): Promise<GroupCommitOutcome> {
    if (offsets.length === 0) return 'committed';
    const check: TransactItems = fence
      ? [
          {
            ConditionCheck: {
              TableName: this.table.name,
              Key: { pk: groupStatePk(fence.group), sk: GROUP_STATE_SK },
              ConditionExpression: 'generation = :g',
              ExpressionAttributeValues: { ':g': fence.generation },
            },
          },
        ]
      : [];
    const puts: TransactItems = offsets.map((o) => ({
      Put: { TableName: this.table.name, Item: { pk: groupPk(o.group), sk: groupSk(o.topic, o.partition), ...o } },
    }));
    const result = await this.table.transact([...check, ...puts], 'offset commit');
    if (result.ok) return 'committed';
    if (fence && result.codes[0] === 'ConditionalCheckFailed') return 'fenced';
    // A heartbeat or join writing the group item, or another commit of the same partitions.
    if (result.codes.includes('TransactionConflict')) return 'conflict';
    throw unexpectedCancellation(result, 'offset commit');
  }

  async getGroupOffsets(group: string): Promise<GroupOffset[]> {
    const items = await this.table.queryAll({ pk: groupPk(group) });
    return items.map((item) => ({
      group: String(item.group),
      topic: String(item.topic),
      topicId: String(item.topicId),
      partition: Number(item.partition),
      offset: Number(item.offset),
      metadata: item.metadata === undefined || item.metadata === null ? null : String(item.metadata),
      updatedAt: Number(item.updatedAt),
    }));
  }

  async getGroupState(group: string): Promise<GroupState | null> {
    const out = await this.table.send(
      new GetCommand({ TableName: this.table.name, Key: { pk: groupStatePk(group), sk: GROUP_STATE_SK }, ConsistentRead: true }),
    );
    if (!out.Item) return null;
    const item = out.Item;
    return {
      group: String(item.group),
      generation: Number(item.generation),
      members: (item.members as GroupMember[] | undefined) ?? [],
      assignments: (item.assignments as GroupState['assignments'] | undefined) ?? {},
      partitionCounts: (item.partitionCounts as GroupState['partitionCounts'] | undefined) ?? {},
      version: Number(item.version),
      updatedAt: Number(item.updatedAt),
    };
  }

  async putGroupState(state: GroupState, expectedVersion: number, ttlSeconds: number): Promise<boolean> {
    const put = this.table.send(
      new PutCommand({
        TableName: this.table.name,
        Item: { pk: groupStatePk(state.group), sk: GROUP_STATE_SK, ...state, ttl: ttlSeconds },
        ...(expectedVersion === 0
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': expectedVersion } }),
      }),
      [...CONDITION_FAILURE, TransactionConflictException],
    );
    // TransactionConflict: an offset commit's transaction held the item (its fence check).
    return unlessConditionFails(put).catch((err: unknown) => {
      if (err instanceof TransactionConflictException) return false;
      throw err;
    });
  }
}
