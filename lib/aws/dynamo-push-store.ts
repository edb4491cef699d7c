/**
 * The DynamoDB adapter of the push fan-out's PushStore, in the log's own table (item
 * layout in lib/aws/table-keys.ts): one item per (partition, connection) that the fan-out's Query
 * finds, a quiet marker beside them, and one item per connection listing its
 * subscriptions so a disconnect can remove them. Every item carries `ttl`: a connection
 * API Gateway closed without a `$disconnect` (or one whose cleanup failed) leaves items
 * that expire after the connection's longest life, and the fan-out skips them before.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Clock, systemClock } from '../core/clock.js';
import { PUSH_SUBSCRIPTION_TTL_MS } from '../core/constants.js';
import type { PartitionSubscribers, PushStore } from '../push/fanout.js';
import { parseSubscriptionKey, subscriptionKey } from '../push/protocol.js';
import { CONDITION_FAILURE, DynamoTable, type WriteRequest } from './dynamo-table.js';
import { ttlSeconds } from './table-items.js';
import {
  PUSH_CONNECTION_SK,
  PUSH_QUIET_SK,
  PUSH_SUBSCRIBER_PREFIX,
  pushConnectionPk,
  pushPartitionPk,
  pushSubscriberSk,
} from './table-keys.js';

export class DynamoPushStore implements PushStore {
  private readonly table: DynamoTable;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly clock: Clock = systemClock,
  ) {
    this.table = new DynamoTable(DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), tableName);
  }

  async subscribers(topic: string, partition: number): Promise<PartitionSubscribers> {
    const nowSeconds = this.clock.now() / 1000;
    const out: PartitionSubscribers = { connections: [], quietUntil: 0 };
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.table.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': pushPartitionPk(topic, partition) },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const item of page.Items ?? []) {
        const sk = String(item.sk);
        if (sk === PUSH_QUIET_SK) out.quietUntil = Number(item.quietUntil ?? 0);
        // TTL removes expired items within days, not at once: an expired one is skipped.
        else if (sk.startsWith(PUSH_SUBSCRIBER_PREFIX) && Number(item.ttl ?? Infinity) > nowSeconds)
          out.connections.push(String(item.connectionId));
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async claimQuiet(topic: string, partition: number, now: number, until: number): Promise<boolean> {
    try {
      await this.table.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pushPartitionPk(topic, partition), sk: PUSH_QUIET_SK },
          UpdateExpression: 'SET quietUntil = :until, #ttl = :ttl',
          ConditionExpression: 'attribute_not_exists(quietUntil) OR quietUntil <= :now',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':until': until, ':now': now, ':ttl': ttlSeconds(until + PUSH_SUBSCRIPTION_TTL_MS) },
        }),
        CONDITION_FAILURE,
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async subscribe(connectionId: string, topic: string, partitions: number[], expiresAt: number): Promise<void> {
    const ttl = ttlSeconds(expiresAt);
    // The connection's list first: a disconnect that comes between the two writes still
    // finds what to remove (and TTL removes what a crash left).
    await this.table.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: pushConnectionPk(connectionId), sk: PUSH_CONNECTION_SK },
        UpdateExpression: 'ADD subs :keys SET #ttl = :ttl',
        ExpressionAttributeNames: { '#ttl': 'ttl' },
        ExpressionAttributeValues: { ':keys': new Set(partitions.map((p) => subscriptionKey(topic, p))), ':ttl': ttl },
      }),
    );
    await this.batchWrite(
      partitions.map((partition) => ({
        PutRequest: { Item: { pk: pushPartitionPk(topic, partition), sk: pushSubscriberSk(connectionId), connectionId, ttl } },
      })),
    );
  }

  async unsubscribe(connectionId: string, topic: string, partitions: number[]): Promise<void> {
    await this.batchWrite(
      partitions.map((partition) => ({
        DeleteRequest: { Key: { pk: pushPartitionPk(topic, partition), sk: pushSubscriberSk(connectionId) } },
      })),
    );
    await this.removeFromConnection(
      connectionId,
      partitions.map((p) => subscriptionKey(topic, p)),
    );
  }

  async subscriptionsOf(connectionId: string): Promise<string[]> {
    const out = await this.table.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: pushConnectionPk(connectionId), sk: PUSH_CONNECTION_SK },
        ConsistentRead: true,
      }),
    );
    const subs = out.Item?.subs as Set<string> | undefined;
    return subs ? [...subs].sort() : [];
  }

  async dropConnection(connectionId: string): Promise<void> {
    const keys = await this.subscriptionsOf(connectionId);
    await this.batchWrite(
      keys.map((key) => {
        const { topic, partition } = parseSubscriptionKey(key);
        return { DeleteRequest: { Key: { pk: pushPartitionPk(topic, partition), sk: pushSubscriberSk(connectionId) } } };
      }),
    );
    await this.table.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: pushConnectionPk(connectionId), sk: PUSH_CONNECTION_SK } }),
    );
  }

  async forget(connectionId: string, topic: string, partition: number): Promise<void> {
    await this.table.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: pushPartitionPk(topic, partition), sk: pushSubscriberSk(connectionId) } }),
    );
    await this.removeFromConnection(connectionId, [subscriptionKey(topic, partition)]);
  }

  private async removeFromConnection(connectionId: string, keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    try {
      await this.table.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: pushConnectionPk(connectionId), sk: PUSH_CONNECTION_SK },
          UpdateExpression: 'DELETE subs :keys',
          // An update creates a missing item: a connection already dropped stays dropped.
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':keys': new Set(keys) },
        }),
        CONDITION_FAILURE,
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }

  /** Unprocessed items are resent after a full-jitter backoff, then THROTTLED (DynamoTable.batchWriteAll). */
  private async batchWrite(requests: WriteRequest[]): Promise<void> {
    await this.table.batchWriteAll(requests);
  }
}
