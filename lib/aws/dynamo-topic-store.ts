/**
 * The TopicStore role of the DynamoDB adapter: one item per topic under TOPICS_PK, and a
 * deletion marker under DELETED_TOPICS_PK, written with the topic's delete, that garbage
 * collection follows to remove the incarnation's partitions.
 */
import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { TopicExistsError } from '../core/errors.js';
import type { TopicStore } from '../ports/log-store.js';
import type { TopicMeta } from '../ports/model.js';
import { refsOf } from '../topics/topic-service.js';
import { CONDITION_FAILURE, type DynamoTable, unexpectedCancellation, unlessConditionFails } from './dynamo-table.js';
import { toTopicMeta } from './table-items.js';
import { DELETED_TOPICS_PK, deletedTopicSk, HEAD_SK, partitionPk, TOPICS_PK, topicSk } from './table-keys.js';

/** Head marks a topic's delete sends at once. */
const MARK_CONCURRENCY = 25;

export class DynamoTopicStore implements TopicStore {
  constructor(private readonly table: DynamoTable) {}

  async getTopic(name: string): Promise<TopicMeta | undefined> {
    const out = await this.table.send(
      new GetCommand({ TableName: this.table.name, Key: { pk: TOPICS_PK, sk: topicSk(name) }, ConsistentRead: true }),
    );
    return out.Item ? toTopicMeta(out.Item) : undefined;
  }

  async createTopic(meta: TopicMeta): Promise<void> {
    const created = await unlessConditionFails(
      this.table.send(
        new PutCommand({
          TableName: this.table.name,
          Item: { pk: TOPICS_PK, sk: topicSk(meta.name), ...meta },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
        CONDITION_FAILURE,
      ),
    );
    if (!created) throw new TopicExistsError(meta.name);
  }

  async updateTopic(meta: TopicMeta, expectedVersion: number): Promise<boolean> {
    return unlessConditionFails(
      this.table.send(
        new PutCommand({
          TableName: this.table.name,
          Item: { pk: TOPICS_PK, sk: topicSk(meta.name), ...meta },
          ConditionExpression: 'version = :v AND topicId = :id',
          ExpressionAttributeValues: { ':v': expectedVersion, ':id': meta.topicId },
        }),
        CONDITION_FAILURE,
      ),
    );
  }

  async deleteTopic(meta: TopicMeta, now: number): Promise<boolean> {
    // Every head first: from its mark on, no commit into the partition is acknowledged
    // (the commits' conditions), whatever copy of the topic its writer holds. Marks on a
    // topic deleted meanwhile are marks on that incarnation's heads, which are dead anyway.
    const refs = refsOf(meta);
    for (let i = 0; i < refs.length; i += MARK_CONCURRENCY) {
      await Promise.all(
        refs.slice(i, i + MARK_CONCURRENCY).map((ref) =>
          this.table.send(
            new UpdateCommand({
              TableName: this.table.name,
              Key: { pk: partitionPk(ref), sk: HEAD_SK },
              UpdateExpression: 'SET deletedAt = if_not_exists(deletedAt, :now)',
              ExpressionAttributeValues: { ':now': now },
            }),
          ),
        ),
      );
    }
    const result = await this.table.transact(
      [
        {
          Delete: {
            TableName: this.table.name,
            Key: { pk: TOPICS_PK, sk: topicSk(meta.name) },
            ConditionExpression: 'topicId = :id',
            ExpressionAttributeValues: { ':id': meta.topicId },
          },
        },
        {
          Put: {
            TableName: this.table.name,
            Item: {
              pk: DELETED_TOPICS_PK,
              sk: deletedTopicSk(meta.name, meta.topicId),
              name: meta.name,
              topicId: meta.topicId,
              partitions: meta.partitions,
              deletedAt: now,
            },
          },
        },
      ],
      'topic delete',
    );
    if (result.ok) return true;
    if (result.codes.includes('ConditionalCheckFailed')) return false;
    throw unexpectedCancellation(result, 'topic delete');
  }

  async listTopics(): Promise<TopicMeta[]> {
    return (await this.table.queryAll({ pk: TOPICS_PK })).map(toTopicMeta);
  }
}
