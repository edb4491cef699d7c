/**
 * The MaintenanceStore role of the DynamoDB adapter: what flushes, tail expiry, retention,
 * compaction and garbage collection write (a head's flushedOffset and logStartOffset,
 * segment manifests, garbage batches, partition stats) and the deletion of a deleted
 * topic's items. Each commit is one conditional transaction whose failed condition is a
 * domain outcome (fenced, conflict, false), never an exception.
 */
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { InternalError } from '../core/errors.js';
import type {
  CompactionCommit,
  FlushCommit,
  FlushCommitOutcome,
  GarbageBatch,
  MaintenanceStore,
  RetentionCommit,
} from '../ports/log-store.js';
import type { DeletedTopic, PartitionRef, PartitionStats, SegmentManifest, TailItem } from '../ports/model.js';
import { TAIL_SK_MAX } from './dynamo-partition-store.js';
import { BATCH_WRITE_LIMIT, type DynamoTable, type Item, type TransactItems, unexpectedCancellation } from './dynamo-table.js';
import { toStagedObject, ttlSeconds } from './table-items.js';
import {
  DATA_PREFIX,
  DELETED_TOPICS_PK,
  deletedTopicSk,
  GARBAGE_PREFIX,
  garbageSk,
  HEAD_SK,
  partitionPk,
  STATS_SK,
  segmentSk,
  tailSk,
} from './table-keys.js';

export class DynamoMaintenanceStore implements MaintenanceStore {
  constructor(
    private readonly table: DynamoTable,
    /** Tail items carry a DynamoDB TTL this long after their append (ms), when set (DynamoLogStoreOptions). */
    readonly tailTtlMs: number | undefined,
  ) {}

  async commitFlush(flush: FlushCommit): Promise<FlushCommitOutcome> {
    const pk = partitionPk(flush.ref);
    const result = await this.table.transact(
      [
        {
          Update: {
            TableName: this.table.name,
            Key: { pk, sk: HEAD_SK },
            UpdateExpression: 'SET flushedOffset = :new, tailBytes = tailBytes - :bytes',
            ConditionExpression: 'flushedOffset = :old AND nextOffset >= :new',
            ExpressionAttributeValues: {
              ':old': flush.expectedFlushedOffset,
              ':new': flush.flushedOffset,
              ':bytes': flush.flushedBytes,
            },
          },
        },
        {
          Put: {
            TableName: this.table.name,
            Item: { pk, sk: segmentSk(flush.manifest.lastOffset), ...flush.manifest },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        ...(flush.garbage ?? []).flatMap((g) => this.garbagePut(pk, g)),
      ],
      'flush',
    );
    if (result.ok) return 'committed';
    if (result.codes.includes('ConditionalCheckFailed')) return 'fenced';
    // An append held the head item: nothing was written, the flusher may send the commit again.
    if (result.codes.includes('TransactionConflict')) return 'conflict';
    throw unexpectedCancellation(result, 'flush');
  }

  async deleteTailItems(ref: PartitionRef, lastOffsets: number[]): Promise<void> {
    const pk = partitionPk(ref);
    await this.table.batchDeleteAll(lastOffsets.map((last) => ({ pk, sk: tailSk(last) })));
  }

  /**
   * One UpdateItem per item, a few at a time: billed like a write of the whole item, so
   * the flusher calls it only for unflushed items about to expire (flushes stalled for
   * hours). An item gone or already expiring later is left as it is.
   */
  async extendTailExpiry(ref: PartitionRef, lastOffsets: number[], expiresAt: number): Promise<void> {
    const pk = partitionPk(ref);
    const ttl = ttlSeconds(expiresAt);
    for (let i = 0; i < lastOffsets.length; i += BATCH_WRITE_LIMIT) {
      await Promise.all(lastOffsets.slice(i, i + BATCH_WRITE_LIMIT).map((last) => this.table.extendExpiry({ pk, sk: tailSk(last) }, ttl)));
    }
  }

  async commitRetention(commit: RetentionCommit): Promise<boolean> {
    const pk = partitionPk(commit.ref);
    return this.transactConditional([
      {
        Update: {
          TableName: this.table.name,
          Key: { pk, sk: HEAD_SK },
          UpdateExpression: 'SET logStartOffset = :new',
          ConditionExpression: 'logStartOffset = :old AND flushedOffset >= :new',
          ExpressionAttributeValues: { ':old': commit.expectedLogStartOffset, ':new': commit.logStartOffset },
        },
      },
      ...commit.dropped.map((m) => this.deleteManifest(pk, m)),
      ...this.garbagePut(pk, commit.garbage),
    ]);
  }

  async commitCompaction(commit: CompactionCommit): Promise<boolean> {
    const pk = partitionPk(commit.ref);
    const last = commit.replaced.at(-1);
    if (!last || last.lastOffset !== commit.output.lastOffset || commit.replaced[0]!.baseOffset !== commit.output.baseOffset) {
      throw new InternalError(`a compacted segment must cover exactly the segments it replaces (${partitionPk(commit.ref)})`);
    }
    return this.transactConditional([
      ...commit.replaced.slice(0, -1).map((m) => this.deleteManifest(pk, m)),
      {
        Put: {
          TableName: this.table.name,
          Item: { pk, sk: segmentSk(commit.output.lastOffset), ...commit.output },
          ConditionExpression: '#key = :key AND generation = :gen',
          ExpressionAttributeNames: { '#key': 'key' },
          ExpressionAttributeValues: { ':key': last.key, ':gen': last.generation },
        },
      },
      ...this.garbagePut(pk, commit.garbage),
    ]);
  }

  async listGarbage(ref: PartitionRef): Promise<GarbageBatch[]> {
    const items = await this.table.queryAll({ pk: partitionPk(ref), skPrefix: GARBAGE_PREFIX });
    return items.map((item) => ({
      id: String(item.id),
      keys: ((item.keys as unknown[] | undefined) ?? []).map(String),
      createdAt: Number(item.createdAt),
      deleteAfter: Number(item.deleteAfter),
      ...(item.store === 'staging' ? { store: 'staging' as const } : {}),
    }));
  }

  async deleteGarbage(ref: PartitionRef, ids: string[]): Promise<void> {
    await this.table.batchDeleteAll(ids.map((id) => ({ pk: partitionPk(ref), sk: garbageSk(id) })));
  }

  async listTailBelow(
    ref: PartitionRef,
    below: number,
    limit: number,
  ): Promise<Pick<TailItem, 'lastOffset' | 'staged' | 'appendedAt' | 'void'>[]> {
    if (below <= 0) return [];
    // A page stops at 1 MB of items read (three or four full tail items): queryAll follows LastEvaluatedKey up to `limit`.
    const items = await this.table.queryAll({
      pk: partitionPk(ref),
      skRange: { from: tailSk(0), to: tailSk(below - 1) },
      projection: {
        ProjectionExpression: 'lastOffset, appendedAt, #staged, #void',
        ExpressionAttributeNames: { '#staged': 'staged', '#void': 'void' },
      },
      limit,
    });
    return items.map((item) => {
      const staged = item.staged as Item | undefined;
      return {
        lastOffset: Number(item.lastOffset),
        appendedAt: Number(item.appendedAt),
        ...(staged ? { staged: toStagedObject(staged) } : {}),
        ...(item.void ? { void: true as const } : {}),
      };
    });
  }

  async listStagedKeys(ref: PartitionRef, fromOffset: number): Promise<string[]> {
    const projection = { ProjectionExpression: '#staged', ExpressionAttributeNames: { '#staged': 'staged' } };
    const [tail, data] = await Promise.all([
      this.table.queryAll({ pk: partitionPk(ref), skRange: { from: tailSk(fromOffset), to: TAIL_SK_MAX }, projection }),
      // Data items (write first, number after) do not know their offsets: every one counts.
      this.table.queryAll({ pk: partitionPk(ref), skPrefix: DATA_PREFIX, projection }),
    ]);
    return [...tail, ...data].flatMap((item) => (item.staged ? [String((item.staged as Item).key)] : []));
  }

  async getPartitionStats(refs: PartitionRef[]): Promise<(PartitionStats | undefined)[]> {
    const items = await this.table.batchGetAll(
      refs.map((ref) => ({ pk: partitionPk(ref), sk: STATS_SK })),
      { consistent: false },
    );
    const byPk = new Map(items.map((item) => [String(item.pk), toPartitionStats(item)]));
    return refs.map((ref) => byPk.get(partitionPk(ref)));
  }

  async putPartitionStats(ref: PartitionRef, stats: PartitionStats): Promise<void> {
    await this.table.send(new PutCommand({ TableName: this.table.name, Item: { pk: partitionPk(ref), sk: STATS_SK, ...stats } }));
  }

  async listDeletedTopics(): Promise<DeletedTopic[]> {
    const items = await this.table.queryAll({ pk: DELETED_TOPICS_PK });
    return items.map((item) => ({
      name: String(item.name),
      topicId: String(item.topicId),
      partitions: Number(item.partitions),
      deletedAt: Number(item.deletedAt),
    }));
  }

  async deletePartitionItems(ref: PartitionRef, limit: number): Promise<number> {
    const out = await this.table.send(
      new QueryCommand({
        TableName: this.table.name,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': partitionPk(ref) },
        ProjectionExpression: 'pk, sk',
        Limit: limit,
      }),
    );
    const keys = (out.Items ?? []).map((item) => ({ pk: item.pk, sk: item.sk }));
    await this.table.batchDeleteAll(keys);
    return keys.length;
  }

  async forgetDeletedTopic(topic: DeletedTopic): Promise<void> {
    await this.table.batchDeleteAll([{ pk: DELETED_TOPICS_PK, sk: deletedTopicSk(topic.name, topic.topicId) }]);
  }

  private deleteManifest(pk: string, m: SegmentManifest) {
    return {
      Delete: {
        TableName: this.table.name,
        Key: { pk, sk: segmentSk(m.lastOffset) },
        ConditionExpression: '#key = :key AND generation = :gen',
        ExpressionAttributeNames: { '#key': 'key' },
        ExpressionAttributeValues: { ':key': m.key, ':gen': m.generation },
      },
    };
  }

  private garbagePut(pk: string, garbage: GarbageBatch | null) {
    if (!garbage || garbage.keys.length === 0) return [];
    return [{ Put: { TableName: this.table.name, Item: { pk, sk: garbageSk(garbage.id), ...garbage } } }];
  }

  /** Runs a maintenance transaction; false when a condition failed or another transaction held an item. */
  private async transactConditional(items: TransactItems): Promise<boolean> {
    const result = await this.table.transact(items, 'maintenance');
    if (result.ok) return true;
    if (result.codes.includes('ConditionalCheckFailed') || result.codes.includes('TransactionConflict')) return false;
    throw unexpectedCancellation(result, 'maintenance');
  }
}

function toPartitionStats(item: Item): PartitionStats {
  return {
    segments: Number(item.segments ?? 0),
    segmentBytes: Number(item.segmentBytes ?? 0),
    lastCompactionAt: item.lastCompactionAt == null ? null : Number(item.lastCompactionAt),
    lastRetentionAt: item.lastRetentionAt == null ? null : Number(item.lastRetentionAt),
    updatedAt: Number(item.updatedAt ?? 0),
    nextDueAt: item.nextDueAt == null ? null : Number(item.nextDueAt),
    compactionCursor:
      item.compactionCursor == null
        ? null
        : { offset: Number((item.compactionCursor as Item).offset), roundEnd: Number((item.compactionCursor as Item).roundEnd) },
  };
}
