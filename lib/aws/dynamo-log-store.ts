/**
 * The DynamoDB adapter of the LogStore port: one table, four roles, each in its own file
 * and all sharing one DynamoTable (dynamo-table.ts: every page, every batch key, every
 * unprocessed item, transactions' cancellation reasons):
 *
 *     DynamoLogStore ─┬─ DynamoTopicStore        dynamo-topic-store.ts        TopicStore
 *                     ├─ DynamoPartitionStore    dynamo-partition-store.ts    PartitionStore
 *                     ├─ DynamoMaintenanceStore  dynamo-maintenance-store.ts  MaintenanceStore
 *                     └─ DynamoGroupStore        dynamo-group-store.ts        GroupStore
 *
 * The item layout is in table-keys.ts (keys) and table-items.ts (items to domain values).
 * Each role turns DynamoDB's condition failures into domain outcomes at this edge.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { GroupState } from '../groups/assignment.js';
import type {
  AppendCommit,
  AppendOutcome,
  CompactionCommit,
  DataWrite,
  FillCommit,
  FillOutcome,
  FlushCommit,
  FlushCommitOutcome,
  GarbageBatch,
  GroupCommitOutcome,
  LogStore,
  NumberOutcome,
  NumberRequest,
  ReserveOutcome,
  ReserveRequest,
  RetentionCommit,
} from '../ports/log-store.js';
import type {
  DeletedTopic,
  GroupFence,
  GroupOffset,
  PartitionHead,
  PartitionRef,
  PartitionStats,
  ProducerState,
  SegmentManifest,
  TailExtent,
  TailItem,
  TopicMeta,
} from '../ports/model.js';
import { DynamoGroupStore } from './dynamo-group-store.js';
import { DynamoMaintenanceStore } from './dynamo-maintenance-store.js';
import { DynamoPartitionStore } from './dynamo-partition-store.js';
import { DynamoTable } from './dynamo-table.js';
import { DynamoTopicStore } from './dynamo-topic-store.js';

export { ttlSeconds, voidItem } from './table-items.js';

export interface DynamoLogStoreOptions {
  /**
   * Write tail items with a DynamoDB TTL this long after their append (ms; deployments
   * take at least MIN_TAIL_TTL_MS, DEFAULT_TAIL_TTL_MS by default): flushed items then
   * expire for free instead of being deleted. The table's TTL attribute must be `ttl`
   * (TABLE_DEFINITION). Without it, flushes delete the items they moved to S3.
   */
  tailTtlMs?: number;
}

export class DynamoLogStore implements LogStore {
  readonly tailTtlMs?: number;
  readonly topics: DynamoTopicStore;
  readonly partitions: DynamoPartitionStore;
  readonly maintenance: DynamoMaintenanceStore;
  readonly groups: DynamoGroupStore;

  constructor(client: DynamoDBClient, tableName: string, options: DynamoLogStoreOptions = {}) {
    if (options.tailTtlMs !== undefined) {
      // Deployments take at least MIN_TAIL_TTL_MS (functions/shared/env.ts, the construct);
      // tests of expiry go lower.
      if (!Number.isInteger(options.tailTtlMs) || options.tailTtlMs < 1000) {
        throw new RangeError(
          `tailTtlMs must be a whole number of ms, at least 1000 (MIN_TAIL_TTL_MS in a deployment); got ${options.tailTtlMs}`,
        );
      }
      this.tailTtlMs = options.tailTtlMs;
    }
    const table = new DynamoTable(DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), tableName);
    this.topics = new DynamoTopicStore(table);
    this.partitions = new DynamoPartitionStore(table, this.tailTtlMs);
    this.maintenance = new DynamoMaintenanceStore(table, this.tailTtlMs);
    this.groups = new DynamoGroupStore(table);
  }

  // TopicStore
  getTopic(name: string): Promise<TopicMeta | undefined> {
    return this.topics.getTopic(name);
  }
  createTopic(meta: TopicMeta): Promise<void> {
    return this.topics.createTopic(meta);
  }
  updateTopic(meta: TopicMeta, expectedVersion: number): Promise<boolean> {
    return this.topics.updateTopic(meta, expectedVersion);
  }
  deleteTopic(meta: TopicMeta, now: number): Promise<boolean> {
    return this.topics.deleteTopic(meta, now);
  }
  listTopics(): Promise<TopicMeta[]> {
    return this.topics.listTopics();
  }

  // PartitionStore
  getHead(ref: PartitionRef): Promise<PartitionHead> {
    return this.partitions.getHead(ref);
  }
  getHeads(refs: PartitionRef[], options?: { consistent?: boolean }): Promise<PartitionHead[]> {
    return this.partitions.getHeads(refs, options);
  }
  commitAppend(commit: AppendCommit): Promise<AppendOutcome> {
    return this.partitions.commitAppend(commit);
  }
  reserve(request: ReserveRequest): Promise<ReserveOutcome> {
    return this.partitions.reserve(request);
  }
  fill(commit: FillCommit): Promise<FillOutcome> {
    return this.partitions.fill(commit);
  }
  sealOffsets(ref: PartitionRef, offsets: number[], now: number): Promise<{ sealed: boolean; taken: TailItem[] }> {
    return this.partitions.sealOffsets(ref, offsets, now);
  }
  advanceCommitted(ref: PartitionRef, offset: number): Promise<boolean> {
    return this.partitions.advanceCommitted(ref, offset);
  }
  writeData(write: DataWrite): Promise<void> {
    return this.partitions.writeData(write);
  }
  numberData(request: NumberRequest): Promise<NumberOutcome> {
    return this.partitions.numberData(request);
  }
  findNumbering(ref: PartitionRef, token: string, floor?: number): Promise<number | undefined> {
    return this.partitions.findNumbering(ref, token, floor);
  }
  indexPending(ref: PartitionRef, upToBase: number, lastOffset: number, now?: number, pending?: Record<string, number>): Promise<void> {
    return this.partitions.indexPending(ref, upToBase, lastOffset, now, pending);
  }
  keepNumberedAlive(ref: PartitionRef, fromOffset: number, expiresAt: number, dueBefore: number): Promise<number> {
    return this.partitions.keepNumberedAlive(ref, fromOffset, expiresAt, dueBefore);
  }
  raiseFence(ref: PartitionRef, above: number): Promise<number> {
    return this.partitions.raiseFence(ref, above);
  }
  putProducerState(
    ref: PartitionRef,
    state: ProducerState,
    expectedVersion: number | null,
  ): Promise<{ written: true } | { written: false; state: ProducerState | null }> {
    return this.partitions.putProducerState(ref, state, expectedVersion);
  }
  getTailItem(ref: PartitionRef, lastOffset: number): Promise<TailItem | undefined> {
    return this.partitions.getTailItem(ref, lastOffset);
  }
  getProducerState(ref: PartitionRef, producerId: string, now?: number): Promise<ProducerState | null> {
    return this.partitions.getProducerState(ref, producerId, now);
  }
  queryTail(
    ref: PartitionRef,
    fromOffset: number,
    limits: { maxRecords: number; maxBytes: number },
    head?: PartitionHead,
  ): Promise<TailItem[]> {
    return this.partitions.queryTail(ref, fromOffset, limits, head);
  }
  tailExtents(ref: PartitionRef, fromOffset: number, until: number, options?: { consistent?: boolean }): Promise<TailExtent[]> {
    return this.partitions.tailExtents(ref, fromOffset, until, options);
  }
  listSegments(ref: PartitionRef, fromOffset: number, limit: number): Promise<SegmentManifest[]> {
    return this.partitions.listSegments(ref, fromOffset, limit);
  }

  // MaintenanceStore
  commitFlush(flush: FlushCommit): Promise<FlushCommitOutcome> {
    return this.maintenance.commitFlush(flush);
  }
  deleteTailItems(ref: PartitionRef, lastOffsets: number[]): Promise<void> {
    return this.maintenance.deleteTailItems(ref, lastOffsets);
  }
  extendTailExpiry(ref: PartitionRef, lastOffsets: number[], expiresAt: number): Promise<void> {
    return this.maintenance.extendTailExpiry(ref, lastOffsets, expiresAt);
  }
  commitRetention(commit: RetentionCommit): Promise<boolean> {
    return this.maintenance.commitRetention(commit);
  }
  commitCompaction(commit: CompactionCommit): Promise<boolean> {
    return this.maintenance.commitCompaction(commit);
  }
  listGarbage(ref: PartitionRef): Promise<GarbageBatch[]> {
    return this.maintenance.listGarbage(ref);
  }
  deleteGarbage(ref: PartitionRef, ids: string[]): Promise<void> {
    return this.maintenance.deleteGarbage(ref, ids);
  }
  listTailBelow(
    ref: PartitionRef,
    below: number,
    limit: number,
  ): Promise<Pick<TailItem, 'lastOffset' | 'staged' | 'appendedAt' | 'void'>[]> {
    return this.maintenance.listTailBelow(ref, below, limit);
  }
  listStagedKeys(ref: PartitionRef, fromOffset: number): Promise<string[]> {
    return this.maintenance.listStagedKeys(ref, fromOffset);
  }
  getPartitionStats(refs: PartitionRef[]): Promise<(PartitionStats | undefined)[]> {
    return this.maintenance.getPartitionStats(refs);
  }
  putPartitionStats(ref: PartitionRef, stats: PartitionStats): Promise<void> {
    return this.maintenance.putPartitionStats(ref, stats);
  }
  listDeletedTopics(): Promise<DeletedTopic[]> {
    return this.maintenance.listDeletedTopics();
  }
  deletePartitionItems(ref: PartitionRef, limit: number): Promise<number> {
    return this.maintenance.deletePartitionItems(ref, limit);
  }
  forgetDeletedTopic(topic: DeletedTopic): Promise<void> {
    return this.maintenance.forgetDeletedTopic(topic);
  }

  // GroupStore
  commitGroupOffsets(offsets: GroupOffset[], fence?: GroupFence): Promise<GroupCommitOutcome> {
    return this.groups.commitGroupOffsets(offsets, fence);
  }
  getGroupOffsets(group: string): Promise<GroupOffset[]> {
    return this.groups.getGroupOffsets(group);
  }
  getGroupState(group: string): Promise<GroupState | null> {
    return this.groups.getGroupState(group);
  }
  putGroupState(state: GroupState, expectedVersion: number, ttlSeconds: number): Promise<boolean> {
    return this.groups.putGroupState(state, expectedVersion, ttlSeconds);
  }
}
