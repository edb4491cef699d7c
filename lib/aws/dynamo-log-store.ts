/**
 * The DynamoDB adapter of the LogStore port. It owns the item layout (lib/aws/table-keys.ts) and
 * turns DynamoDB's condition failures into domain outcomes here, at the edge of the
 * engine: a failed append learns the real head and producer state from
 * `ReturnValuesOnConditionCheckFailure: ALL_OLD` instead of reading them again.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  TransactionCanceledException,
  TransactionConflictException,
  ConditionalCheckFailedException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { randomUUID } from 'node:crypto';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { GroupMember, GroupState } from '../groups/assignment.js';
import { MAX_TRANSACTION_ITEMS, PRODUCER_STATE_TTL_MS } from '../core/constants.js';
import { InternalError, ThrottledError, TopicExistsError } from '../core/errors.js';
import { tailItemBytes } from '../staging/staged-batches.js';
import { topicConfigSchema } from '../topics/topic-config.js';
import { DELETED_TOPICS_PK, GARBAGE_PREFIX, HEAD_SK, STATS_SK, SEGMENT_PREFIX, TAIL_PREFIX, TOPICS_PK, deletedTopicSk, garbageSk, GROUP_STATE_SK, groupPk, groupSk, groupStatePk, partitionPk, producerSk, segmentSk, tailSk, topicSk } from './table-keys.js';
import { padOffset } from '../format/object-keys.js';
import { type PartitionRef } from '../ports/model.js';
import { ZERO_HEAD, type DeletedTopic, type PartitionStats, type SegmentManifest, type GroupFence, type GroupOffset, type PartitionHead, type ProducerState, type StagedObject, type TailExtent, type TailItem, type TopicMeta } from '../ports/model.js';
import { type AppendCommit, type AppendOutcome, type FillCommit, type FillOutcome, type ReserveOutcome, type ReserveRequest, type CompactionCommit, type FlushCommit, type FlushCommitOutcome, type GarbageBatch, type RetentionCommit, type GroupCommitOutcome, type LogStore } from '../ports/log-store.js';

type Item = Record<string, unknown>;

export interface DynamoLogStoreOptions {
  /**
   * Write tail items with a DynamoDB TTL this long after their append (ms; deployments
   * take at least MIN_TAIL_TTL_MS, DEFAULT_TAIL_TTL_MS by default): flushed items then
   * expire for free instead of being deleted. The table's TTL attribute must be `ttl`
   * (TABLE_DEFINITION). Without it, flushes delete the items they moved to S3.
   */
  tailTtlMs?: number;
}

/**
 * Items per Query page of the tail: ten first, then as many as fill about one DynamoDB
 * page (1 MB) given the sizes just seen. A larger Limit gains nothing on DynamoDB and
 * costs on DynamoDB Local, which reads `Limit` items before cutting the page at 1 MB.
 */
const TAIL_QUERY_FIRST_PAGE_ITEMS = 10;
const TAIL_QUERY_MAX_PAGE_ITEMS = 100;
const DYNAMODB_PAGE_BYTES = 1_000_000;
/** BatchWriteItem takes at most 25 requests. */
const BATCH_WRITE_LIMIT = 25;
/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_LIMIT = 100;
/** Upper bound of tail sort keys: above every padded offset, below `HEAD`. */
const TAIL_SK_MAX = `${TAIL_PREFIX}${'9'.repeat(padOffset(0).length)}`;
const SEGMENT_SK_MAX = `${SEGMENT_PREFIX}${'9'.repeat(padOffset(0).length)}`;

export class DynamoLogStore implements LogStore {
  private readonly doc: DynamoDBDocumentClient;

  readonly tailTtlMs?: number;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    options: DynamoLogStoreOptions = {},
  ) {
    this.doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    if (options.tailTtlMs !== undefined) {
      // Deployments take at least MIN_TAIL_TTL_MS (functions/shared/env.ts, the construct);
      // tests of expiry go lower.
      if (!Number.isInteger(options.tailTtlMs) || options.tailTtlMs < 1000) {
        throw new RangeError(`tailTtlMs must be a whole number of ms, at least 1000 (MIN_TAIL_TTL_MS in a deployment); got ${options.tailTtlMs}`);
      }
      this.tailTtlMs = options.tailTtlMs;
    }
  }

  /**
   * A tail item as stored: a staged item's batches are in S3 and a void has none (an
   * empty `data` attribute is left out); with a tail TTL, `ttl` (epoch seconds) is when
   * DynamoDB may remove it, counted from its append.
   */
  private tailRecord(pk: string, item: TailItem): Item {
    const { expiresAt: _, ...fields } = item;
    return {
      pk,
      sk: tailSk(item.lastOffset),
      ...fields,
      data: item.staged || item.void ? undefined : item.data,
      ttl: this.tailTtlMs === undefined ? undefined : ttlSeconds(item.appendedAt + this.tailTtlMs),
    };
  }

  async getTopic(name: string): Promise<TopicMeta | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: TOPICS_PK, sk: topicSk(name) }, ConsistentRead: true }),
    );
    return out.Item ? toTopicMeta(out.Item) : undefined;
  }

  async createTopic(meta: TopicMeta): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: TOPICS_PK, sk: topicSk(meta.name), ...meta },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new TopicExistsError(meta.name);
      throw err;
    }
  }

  async updateTopic(meta: TopicMeta, expectedVersion: number): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: TOPICS_PK, sk: topicSk(meta.name), ...meta },
          ConditionExpression: 'version = :v AND topicId = :id',
          ExpressionAttributeValues: { ':v': expectedVersion, ':id': meta.topicId },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  async deleteTopic(meta: TopicMeta, now: number): Promise<boolean> {
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.tableName,
                Key: { pk: TOPICS_PK, sk: topicSk(meta.name) },
                ConditionExpression: 'topicId = :id',
                ExpressionAttributeValues: { ':id': meta.topicId },
              },
            },
            {
              Put: {
                TableName: this.tableName,
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
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof TransactionCanceledException && reasonCodes(err).includes('ConditionalCheckFailed')) return false;
      throw err;
    }
  }

  async listTopics(): Promise<TopicMeta[]> {
    const items = await this.queryAll({ pk: TOPICS_PK });
    return items.map(toTopicMeta);
  }

  async getHead(ref: PartitionRef): Promise<PartitionHead> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: partitionPk(ref), sk: HEAD_SK }, ConsistentRead: true }),
    );
    return toHead(out.Item);
  }

  async getHeads(refs: PartitionRef[], options: { consistent?: boolean } = {}): Promise<PartitionHead[]> {
    const byPk = new Map<string, PartitionHead>();
    for (let i = 0; i < refs.length; i += BATCH_GET_LIMIT) {
      let keys: Item[] | undefined = refs.slice(i, i + BATCH_GET_LIMIT).map((ref) => ({ pk: partitionPk(ref), sk: HEAD_SK }));
      while (keys && keys.length > 0) {
        const out = await this.doc.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: options.consistent ?? true } } }),
        );
        for (const item of out.Responses?.[this.tableName] ?? []) byPk.set(String(item.pk), toHead(item));
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys as Item[] | undefined;
      }
    }
    return refs.map((ref) => byPk.get(partitionPk(ref)) ?? { ...ZERO_HEAD });
  }

  async commitAppend(commit: AppendCommit): Promise<AppendOutcome> {
    const pk = partitionPk(commit.ref);
    // Optimistic commits and reservations may meet on one partition: an optimistic commit
    // applies only when no reservation is outstanding (committedOffset = nextOffset).
    const headCondition =
      (commit.expectedNextOffset === 0 ? '(attribute_not_exists(nextOffset) OR nextOffset = :expected)' : 'nextOffset = :expected') +
      ' AND (attribute_not_exists(committedOffset) OR committedOffset = :expected)';
    const transactItems: NonNullable<TransactWriteCommandInput['TransactItems']> = [
      {
        Update: {
          TableName: this.tableName,
          Key: { pk, sk: HEAD_SK },
          UpdateExpression:
            'SET nextOffset = :next, committedOffset = :next, tailBytes = if_not_exists(tailBytes, :zero) + :bytes, lastAppendAt = :now, ' +
            'logStartOffset = if_not_exists(logStartOffset, :zero), flushedOffset = if_not_exists(flushedOffset, :zero)',
          ConditionExpression: headCondition,
          ExpressionAttributeValues: {
            ':expected': commit.expectedNextOffset,
            ':next': commit.nextOffset,
            ':bytes': commit.appendedBytes,
            ':now': commit.now,
            ':zero': 0,
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      ...commit.items.map((item) => ({
        Put: {
          TableName: this.tableName,
          Item: this.tailRecord(pk, item),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      })),
      ...commit.producers.map((p) => this.producerPut(pk, p)),
    ];
    if (transactItems.length > MAX_TRANSACTION_ITEMS) {
      throw new InternalError(`append transaction has ${transactItems.length} actions, over ${MAX_TRANSACTION_ITEMS}`);
    }
    try {
      await this.doc.send(new TransactWriteCommand({ TransactItems: transactItems, ClientRequestToken: commit.requestToken }));
      return { ok: true };
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      return this.appendFailure(err, commit);
    }
  }

  /** Reads the cancellation reasons, in the order of the transaction's actions. */
  private appendFailure(err: TransactionCanceledException, commit: AppendCommit): AppendOutcome {
    const reasons = err.CancellationReasons ?? [];
    const codes = reasonCodes(err);
    if (throttled(codes)) {
      throw new ThrottledError('DynamoDB throttled the append transaction', { cause: err });
    }
    const outcome: AppendOutcome & { ok: false } = {
      ok: false,
      producers: new Map(),
      transactionConflict: codes.includes('TransactionConflict'),
    };
    if (codes[0] === 'ConditionalCheckFailed') outcome.head = toHead(rawItem(reasons[0]?.Item));
    const producerStart = 1 + commit.items.length;
    commit.producers.forEach(({ state }, i) => {
      const reason = reasons[producerStart + i];
      if (reason?.Code === 'ConditionalCheckFailed') {
        const old = rawItem(reason.Item);
        outcome.producers.set(state.producerId, old ? toProducerState(old) : null);
      }
    });
    const tailFailed = codes.slice(1, producerStart).some((c) => c === 'ConditionalCheckFailed');
    if (tailFailed && !outcome.head) {
      throw new InternalError(`a tail item of ${partitionPk(commit.ref)} already exists below a head at ${commit.expectedNextOffset}`);
    }
    if (!outcome.head && outcome.producers.size === 0 && !outcome.transactionConflict) {
      throw new InternalError(`append transaction cancelled for reasons ${codes.join(',')}`, { cause: err });
    }
    return outcome;
  }

  /**
   * `ADD` to the counter, no condition on it (unless conditional): concurrent writers are
   * serialised by DynamoDB, never cancelled. A head written before reservations (no
   * committedOffset) gets committedOffset = nextOffset first: the optimistic protocol
   * only ever committed contiguously.
   */
  async reserve(request: ReserveRequest): Promise<ReserveOutcome> {
    const key = { pk: partitionPk(request.ref), sk: HEAD_SK };
    const values: Item = {
      ':n': request.count,
      ':bytes': request.bytes,
      ':now': request.now,
      ':token': request.token,
      ':zero': 0,
    };
    let condition = '(attribute_exists(committedOffset) OR attribute_not_exists(nextOffset))';
    if (request.expectedOffset !== undefined) {
      condition += request.expectedOffset === 0 ? ' AND (attribute_not_exists(nextOffset) OR nextOffset = :expected)' : ' AND nextOffset = :expected';
      values[':expected'] = request.expectedOffset;
    }
    for (let migrated = false; ; migrated = true) {
      try {
        const out = await this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: key,
            UpdateExpression:
              'SET nextOffset = if_not_exists(nextOffset, :zero) + :n, committedOffset = if_not_exists(committedOffset, :zero), ' +
              'tailBytes = if_not_exists(tailBytes, :zero) + :bytes, previousAppendAt = if_not_exists(lastAppendAt, :zero), lastAppendAt = :now, ' +
              'lastReservationToken = :token, lastReservationCount = :n, ' +
              'logStartOffset = if_not_exists(logStartOffset, :zero), flushedOffset = if_not_exists(flushedOffset, :zero)',
            ConditionExpression: condition,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        const head = toHead(out.Attributes);
        const previousAt = Number(out.Attributes?.previousAppendAt ?? 0);
        return { ok: true, base: head.nextOffset - request.count, head, previousAt: previousAt > 0 ? previousAt : null };
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        const old = err.Item ? unmarshall(err.Item) : undefined;
        if (!migrated && old && old.committedOffset === undefined && old.nextOffset !== undefined) {
          await this.doc
            .send(
              new UpdateCommand({
                TableName: this.tableName,
                Key: key,
                UpdateExpression: 'SET committedOffset = nextOffset',
                ConditionExpression: 'attribute_not_exists(committedOffset)',
              }),
            )
            .catch((e: unknown) => {
              if (!(e instanceof ConditionalCheckFailedException)) throw e;
            });
          continue;
        }
        return { ok: false, head: toHead(old) };
      }
    }
  }

  async fill(commit: FillCommit): Promise<FillOutcome> {
    const pk = partitionPk(commit.ref);
    const puts = commit.items.map((item) => ({
      TableName: this.tableName,
      Item: this.tailRecord(pk, item),
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    }));
    if (puts.length === 1 && commit.producers.length === 0) {
      try {
        await this.doc.send(new PutCommand(puts[0]!));
        return { ok: true };
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        return { ok: false, taken: err.Item ? [toTailItem(unmarshall(err.Item))] : [], producers: new Map(), transactionConflict: false };
      }
    }
    const transactItems: NonNullable<TransactWriteCommandInput['TransactItems']> = [
      ...puts.map((Put) => ({ Put })),
      ...commit.producers.map((p) => this.producerPut(pk, p)),
    ];
    if (transactItems.length > MAX_TRANSACTION_ITEMS) {
      throw new InternalError(`fill transaction has ${transactItems.length} actions, over ${MAX_TRANSACTION_ITEMS}`);
    }
    try {
      await this.doc.send(new TransactWriteCommand({ TransactItems: transactItems, ClientRequestToken: commit.requestToken }));
      return { ok: true };
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const reasons = err.CancellationReasons ?? [];
      const codes = reasonCodes(err);
      if (throttled(codes)) {
        throw new ThrottledError('DynamoDB throttled the fill transaction', { cause: err });
      }
      const taken: TailItem[] = [];
      const producers = new Map<string, ProducerState | null>();
      reasons.forEach((reason, i) => {
        if (reason.Code !== 'ConditionalCheckFailed') return;
        const old = rawItem(reason.Item);
        if (i < puts.length) {
          if (old) taken.push(toTailItem(old));
        } else {
          producers.set(commit.producers[i - puts.length]!.state.producerId, old ? toProducerState(old) : null);
        }
      });
      const transactionConflict = codes.includes('TransactionConflict');
      if (taken.length === 0 && producers.size === 0 && !transactionConflict) {
        throw new InternalError(`fill transaction cancelled for reasons ${codes.join(',')}`, { cause: err });
      }
      return { ok: false, taken, producers, transactionConflict };
    }
  }

  async sealOffsets(ref: PartitionRef, offsets: number[], now: number): Promise<{ sealed: boolean; taken: TailItem[] }> {
    if (offsets.length === 0) return { sealed: true, taken: [] };
    if (offsets.length > MAX_TRANSACTION_ITEMS) throw new InternalError(`a seal takes at most ${MAX_TRANSACTION_ITEMS} offsets; got ${offsets.length}`);
    const outcome = await this.fill({
      ref,
      items: offsets.map((offset) => voidItem(offset, offset, now)),
      producers: [],
      requestToken: randomUUID(),
    });
    if (outcome.ok) return { sealed: true, taken: [] };
    return { sealed: false, taken: outcome.taken };
  }

  async advanceCommitted(ref: PartitionRef, offset: number): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: partitionPk(ref), sk: HEAD_SK },
          UpdateExpression: 'SET committedOffset = :offset',
          ConditionExpression: 'committedOffset < :offset AND nextOffset >= :offset',
          ExpressionAttributeValues: { ':offset': offset },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  /**
   * The put of a producer's new state in an append or fill transaction, conditioned on
   * the version it was decided on; its TTL runs from the state's last write.
   */
  private producerPut(pk: string, { state, expectedVersion }: { state: ProducerState; expectedVersion: number | null }) {
    return {
      Put: {
        TableName: this.tableName,
        Item: { pk, sk: producerSk(state.producerId), ...state, ttl: ttlSeconds(state.updatedAt + PRODUCER_STATE_TTL_MS) },
        ConditionExpression: expectedVersion === null ? 'attribute_not_exists(pk)' : 'version = :v',
        ...(expectedVersion === null ? {} : { ExpressionAttributeValues: { ':v': expectedVersion } }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
      },
    };
  }

  async getTailItem(ref: PartitionRef, lastOffset: number): Promise<TailItem | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: partitionPk(ref), sk: tailSk(lastOffset) }, ConsistentRead: true }),
    );
    return out.Item ? toTailItem(out.Item) : undefined;
  }

  async getProducerState(ref: PartitionRef, producerId: string): Promise<ProducerState | null> {
    const out = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: partitionPk(ref), sk: producerSk(producerId) },
        ConsistentRead: true,
      }),
    );
    return out.Item ? toProducerState(out.Item) : null;
  }

  async queryTail(ref: PartitionRef, fromOffset: number, limits: { maxRecords: number; maxBytes: number }): Promise<TailItem[]> {
    const items: TailItem[] = [];
    let bytes = 0;
    let records = 0;
    let startKey: Item | undefined;
    let pageItems = TAIL_QUERY_FIRST_PAGE_ITEMS;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': partitionPk(ref), ':from': tailSk(fromOffset), ':to': TAIL_SK_MAX },
          ConsistentRead: true,
          // Every item holds at least one record: never fetch more items than records wanted.
          Limit: Math.min(pageItems, Math.max(1, limits.maxRecords - records)),
          ExclusiveStartKey: startKey,
        }),
      );
      let pageBytes = 0;
      for (const raw of out.Items ?? []) {
        const item = toTailItem(raw);
        items.push(item);
        pageBytes += tailItemBytes(item);
        records += item.lastOffset - Math.max(item.baseOffset, fromOffset) + 1;
        if (records >= limits.maxRecords || bytes + pageBytes >= limits.maxBytes) return items;
      }
      bytes += pageBytes;
      // Size the next page to about one DynamoDB page (1 MB) of items like these.
      const count = out.Items?.length ?? 0;
      if (count > 0) {
        const perItem = Math.max(1, pageBytes / count);
        pageItems = Math.min(TAIL_QUERY_MAX_PAGE_ITEMS, Math.max(1, Math.ceil(DYNAMODB_PAGE_BYTES / perItem)));
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  /**
   * One Query, projected to the offsets: DynamoDB still reads (and bills) whole items,
   * a page ending at 1 MB of them, but answers a few bytes per item. The key range ends
   * at `until - 1`: no item straddles `until` when it is a range's base or the counter.
   */
  async tailExtents(ref: PartitionRef, fromOffset: number, until: number): Promise<TailExtent[]> {
    if (until <= fromOffset) return [];
    const items = await this.queryAll({
      pk: partitionPk(ref),
      skRange: { from: tailSk(fromOffset), to: tailSk(until - 1) },
      projection: {
        ProjectionExpression: 'baseOffset, lastOffset, appendedAt, #void, #ttl',
        ExpressionAttributeNames: { '#void': 'void', '#ttl': 'ttl' },
      },
    });
    return items.map((item) => ({
      baseOffset: Number(item.baseOffset),
      lastOffset: Number(item.lastOffset),
      appendedAt: Number(item.appendedAt),
      ...(item.void ? { void: true as const } : {}),
      ...expiry(item),
    }));
  }

  async listSegments(ref: PartitionRef, fromOffset: number, limit: number): Promise<SegmentManifest[]> {
    return (await this.queryAll({ pk: partitionPk(ref), skRange: { from: segmentSk(fromOffset), to: SEGMENT_SK_MAX }, limit })).map(toManifest);
  }

  async commitFlush(flush: FlushCommit): Promise<FlushCommitOutcome> {
    const pk = partitionPk(flush.ref);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
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
                TableName: this.tableName,
                Item: { pk, sk: segmentSk(flush.manifest.lastOffset), ...flush.manifest },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            ...(flush.garbage ?? []).flatMap((g) => this.garbagePut(pk, g)),
          ],
        }),
      );
      return 'committed';
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const codes = reasonCodes(err);
      if (codes.includes('ConditionalCheckFailed')) return 'fenced';
      // An append held the head item: nothing was written, the flusher may send the commit again.
      if (codes.includes('TransactionConflict')) return 'conflict';
      throw err;
    }
  }

  async deleteTailItems(ref: PartitionRef, lastOffsets: number[]): Promise<void> {
    const pk = partitionPk(ref);
    await this.batchDelete(lastOffsets.map((last) => ({ pk, sk: tailSk(last) })));
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
      await Promise.all(
        lastOffsets.slice(i, i + BATCH_WRITE_LIMIT).map((last) =>
          this.doc
            .send(
              new UpdateCommand({
                TableName: this.tableName,
                Key: { pk, sk: tailSk(last) },
                UpdateExpression: 'SET #ttl = :ttl',
                ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#ttl) OR #ttl < :ttl)',
                ExpressionAttributeNames: { '#ttl': 'ttl' },
                ExpressionAttributeValues: { ':ttl': ttl },
              }),
            )
            .catch((err: unknown) => {
              if (!(err instanceof ConditionalCheckFailedException)) throw err;
            }),
        ),
      );
    }
  }

  async commitGroupOffsets(offsets: GroupOffset[], fence?: GroupFence): Promise<GroupCommitOutcome> {
    if (offsets.length === 0) return 'committed';
    const puts: NonNullable<TransactWriteCommandInput['TransactItems']> = offsets.map((o) => ({
      Put: {
        TableName: this.tableName,
        Item: { pk: groupPk(o.group), sk: groupSk(o.topic, o.partition), ...o },
      },
    }));
    const check = fence
      ? [
          {
            ConditionCheck: {
              TableName: this.tableName,
              Key: { pk: groupStatePk(fence.group), sk: GROUP_STATE_SK },
              ConditionExpression: 'generation = :g',
              ExpressionAttributeValues: { ':g': fence.generation },
            },
          },
        ]
      : [];
    try {
      await this.doc.send(new TransactWriteCommand({ TransactItems: [...check, ...puts] }));
      return 'committed';
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const codes = reasonCodes(err);
      if (throttled(codes)) {
        throw new ThrottledError('DynamoDB throttled an offset commit', { cause: err });
      }
      if (fence && codes[0] === 'ConditionalCheckFailed') return 'fenced';
      // A heartbeat or join writing the group item, or another commit of the same partitions.
      if (codes.includes('TransactionConflict')) return 'conflict';
      throw err;
    }
  }

  async getGroupState(group: string): Promise<GroupState | null> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: groupStatePk(group), sk: GROUP_STATE_SK }, ConsistentRead: true }),
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
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: groupStatePk(state.group), sk: GROUP_STATE_SK, ...state, ttl: ttlSeconds },
          ...(expectedVersion === 0
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': expectedVersion } }),
        }),
      );
      return true;
    } catch (err) {
      // TransactionConflict: an offset commit's transaction held the item (its fence check).
      if (err instanceof ConditionalCheckFailedException || err instanceof TransactionConflictException) return false;
      throw err;
    }
  }

  async getGroupOffsets(group: string): Promise<GroupOffset[]> {
    const items = await this.queryAll({ pk: groupPk(group) });
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

  async commitRetention(commit: RetentionCommit): Promise<boolean> {
    const pk = partitionPk(commit.ref);
    return this.transactConditional([
      {
        Update: {
          TableName: this.tableName,
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
          TableName: this.tableName,
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
    const items = await this.queryAll({ pk: partitionPk(ref), skPrefix: GARBAGE_PREFIX });
    return items.map((item) => ({
      id: String(item.id),
      keys: ((item.keys as unknown[] | undefined) ?? []).map(String),
      createdAt: Number(item.createdAt),
      deleteAfter: Number(item.deleteAfter),
      ...(item.store === 'staging' ? { store: 'staging' as const } : {}),
    }));
  }

  async deleteGarbage(ref: PartitionRef, ids: string[]): Promise<void> {
    await this.batchDelete(ids.map((id) => ({ pk: partitionPk(ref), sk: garbageSk(id) })));
  }

  async listTailBelow(ref: PartitionRef, below: number, limit: number): Promise<Pick<TailItem, 'lastOffset' | 'staged' | 'appendedAt' | 'void'>[]> {
    if (below <= 0) return [];
    // A page stops at 1 MB of items read (three or four full tail items): queryAll follows LastEvaluatedKey up to `limit`.
    const items = await this.queryAll({
      pk: partitionPk(ref),
      skRange: { from: tailSk(0), to: tailSk(below - 1) },
      projection: { ProjectionExpression: 'lastOffset, appendedAt, #staged, #void', ExpressionAttributeNames: { '#staged': 'staged', '#void': 'void' } },
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
    const items = await this.queryAll({
      pk: partitionPk(ref),
      skRange: { from: tailSk(fromOffset), to: TAIL_SK_MAX },
      projection: { ProjectionExpression: '#staged', ExpressionAttributeNames: { '#staged': 'staged' } },
    });
    return items.flatMap((item) => (item.staged ? [String((item.staged as Item).key)] : []));
  }

  async getPartitionStats(refs: PartitionRef[]): Promise<(PartitionStats | undefined)[]> {
    const byPk = new Map<string, PartitionStats>();
    for (let i = 0; i < refs.length; i += BATCH_GET_LIMIT) {
      let keys: Item[] | undefined = refs.slice(i, i + BATCH_GET_LIMIT).map((ref) => ({ pk: partitionPk(ref), sk: STATS_SK }));
      while (keys && keys.length > 0) {
        const out = await this.doc.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: keys } } }));
        for (const item of out.Responses?.[this.tableName] ?? []) {
          byPk.set(String(item.pk), {
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
          });
        }
        keys = out.UnprocessedKeys?.[this.tableName]?.Keys as Item[] | undefined;
      }
    }
    return refs.map((ref) => byPk.get(partitionPk(ref)));
  }

  async putPartitionStats(ref: PartitionRef, stats: PartitionStats): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.tableName, Item: { pk: partitionPk(ref), sk: STATS_SK, ...stats } }));
  }

  async listDeletedTopics(): Promise<DeletedTopic[]> {
    const items = await this.queryAll({ pk: DELETED_TOPICS_PK });
    return items.map((item) => ({
      name: String(item.name),
      topicId: String(item.topicId),
      partitions: Number(item.partitions),
      deletedAt: Number(item.deletedAt),
    }));
  }

  async deletePartitionItems(ref: PartitionRef, limit: number): Promise<number> {
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': partitionPk(ref) },
        ProjectionExpression: 'pk, sk',
        Limit: limit,
      }),
    );
    const keys = (out.Items ?? []).map((item) => ({ pk: item.pk, sk: item.sk }));
    await this.batchDelete(keys);
    return keys.length;
  }

  async forgetDeletedTopic(topic: DeletedTopic): Promise<void> {
    await this.batchDelete([{ pk: DELETED_TOPICS_PK, sk: deletedTopicSk(topic.name, topic.topicId) }]);
  }

  private deleteManifest(pk: string, m: SegmentManifest) {
    return {
      Delete: {
        TableName: this.tableName,
        Key: { pk, sk: segmentSk(m.lastOffset) },
        ConditionExpression: '#key = :key AND generation = :gen',
        ExpressionAttributeNames: { '#key': 'key' },
        ExpressionAttributeValues: { ':key': m.key, ':gen': m.generation },
      },
    };
  }

  private garbagePut(pk: string, garbage: GarbageBatch | null) {
    if (!garbage || garbage.keys.length === 0) return [];
    return [{ Put: { TableName: this.tableName, Item: { pk, sk: garbageSk(garbage.id), ...garbage } } }];
  }

  /** Runs a maintenance transaction; false when a condition failed or another transaction held an item. */
  private async transactConditional(items: NonNullable<TransactWriteCommandInput['TransactItems']>): Promise<boolean> {
    if (items.length > MAX_TRANSACTION_ITEMS) {
      throw new InternalError(`maintenance transaction has ${items.length} actions, over ${MAX_TRANSACTION_ITEMS}`);
    }
    try {
      await this.doc.send(new TransactWriteCommand({ TransactItems: items }));
      return true;
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const codes = reasonCodes(err);
      if (throttled(codes)) {
        throw new ThrottledError('DynamoDB throttled a maintenance transaction', { cause: err });
      }
      if (codes.includes('ConditionalCheckFailed') || codes.includes('TransactionConflict')) return false;
      throw err;
    }
  }

  private async batchDelete(keys: Item[]): Promise<void> {
    for (let i = 0; i < keys.length; i += BATCH_WRITE_LIMIT) {
      let requests: Item[] | undefined = keys.slice(i, i + BATCH_WRITE_LIMIT).map((Key) => ({ DeleteRequest: { Key } }));
      while (requests && requests.length > 0) {
        const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }));
        requests = out.UnprocessedItems?.[this.tableName] as Item[] | undefined;
      }
    }
  }

  /**
   * The items of a partition key (those whose sort key starts with `skPrefix`, or lies in
   * `skRange`), strongly consistent, across as many Query pages as it takes, at most `limit`.
   */
  private async queryAll(key: {
    pk: string;
    skPrefix?: string;
    skRange?: { from: string; to: string };
    projection?: { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> };
    limit?: number;
  }): Promise<Item[]> {
    const items: Item[] = [];
    const limit = key.limit ?? Infinity;
    const [condition, values] = key.skRange
      ? ['pk = :pk AND sk BETWEEN :from AND :to', { ':from': key.skRange.from, ':to': key.skRange.to }]
      : key.skPrefix
        ? ['pk = :pk AND begins_with(sk, :prefix)', { ':prefix': key.skPrefix }]
        : ['pk = :pk', {}];
    let startKey: Item | undefined;
    do {
      const out = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: condition,
          ExpressionAttributeValues: { ':pk': key.pk, ...values },
          ConsistentRead: true,
          ...key.projection,
          ...(Number.isFinite(limit) ? { Limit: limit - items.length } : {}),
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (startKey && items.length < limit);
    return items;
  }
}

function reasonCodes(err: TransactionCanceledException): string[] {
  return (err.CancellationReasons ?? []).map((r) => r.Code ?? 'None');
}

/** True when DynamoDB cancelled a transaction because it throttled one of its items. */
function throttled(codes: string[]): boolean {
  return codes.some((c) => c === 'ThrottlingError' || c === 'ProvisionedThroughputExceeded' || c === 'RequestLimitExceeded');
}

/** CancellationReasons carry raw AttributeValues even through the document client. */
function rawItem(item: Record<string, AttributeValue> | undefined): Item | undefined {
  return item && Object.keys(item).length > 0 ? unmarshall(item) : undefined;
}

/** A void over [baseOffset, lastOffset]: reserved offsets that will never hold records. */
export function voidItem(baseOffset: number, lastOffset: number, now: number): TailItem {
  return {
    baseOffset,
    lastOffset,
    recordCount: 0,
    data: new Uint8Array(0),
    minTimestamp: now,
    maxTimestamp: now,
    appendedAt: now,
    commitId: 'void',
    void: true,
  };
}

function toHead(item: Item | undefined): PartitionHead {
  if (!item) return { ...ZERO_HEAD };
  const nextOffset = Number(item.nextOffset ?? 0);
  const token = item.lastReservationToken;
  return {
    nextOffset,
    // A head written before reservations: every offset below nextOffset was committed.
    committedOffset: Number(item.committedOffset ?? nextOffset),
    lastReservation: token === undefined ? null : { token: String(token), base: nextOffset - Number(item.lastReservationCount ?? 0) },
    logStartOffset: Number(item.logStartOffset ?? 0),
    flushedOffset: Number(item.flushedOffset ?? 0),
    tailBytes: Number(item.tailBytes ?? 0),
    lastAppendAt: item.lastAppendAt === undefined ? null : Number(item.lastAppendAt),
  };
}

function toTopicMeta(item: Item): TopicMeta {
  return {
    name: String(item.name),
    topicId: String(item.topicId),
    partitions: Number(item.partitions),
    // Parsing fills in defaults for config fields added after the topic was created.
    config: topicConfigSchema.parse(item.config ?? {}),
    createdAt: Number(item.createdAt),
    updatedAt: Number(item.updatedAt),
    version: Number(item.version),
  };
}

/** A tail item's `staged` map; `store` only when not the main store (items staged before the staging tier have none). */
function toStagedObject(staged: Item): StagedObject {
  return { key: String(staged.key), bytes: Number(staged.bytes), ...(staged.store === 'staging' ? { store: 'staging' as const } : {}) };
}

function toTailItem(item: Item): TailItem {
  return {
    baseOffset: Number(item.baseOffset),
    lastOffset: Number(item.lastOffset),
    recordCount: Number(item.recordCount),
    data: (item.data as Uint8Array | undefined) ?? new Uint8Array(0),
    ...(item.staged ? { staged: toStagedObject(item.staged as Item) } : {}),
    minTimestamp: Number(item.minTimestamp),
    maxTimestamp: Number(item.maxTimestamp),
    appendedAt: Number(item.appendedAt),
    commitId: String(item.commitId ?? ''),
    ...(item.void ? { void: true as const } : {}),
    ...expiry(item),
  };
}

/** DynamoDB TTL is epoch seconds; an item is not removed before its second has passed. */
export function ttlSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}

/** A stored item's `ttl` as `expiresAt` in ms, when it has one. */
function expiry(item: Item): Pick<TailItem, 'expiresAt'> {
  return item.ttl === undefined || item.ttl === null ? {} : { expiresAt: Number(item.ttl) * 1000 };
}

function toManifest(item: Item): SegmentManifest {
  return {
    baseOffset: Number(item.baseOffset),
    lastOffset: Number(item.lastOffset),
    recordCount: Number(item.recordCount),
    key: String(item.key),
    bytes: Number(item.bytes),
    indexPosition: Number(item.indexPosition),
    index: item.index as Uint8Array,
    maxTimestamp: Number(item.maxTimestamp),
    createdAt: Number(item.createdAt),
    generation: Number(item.generation ?? 0),
    oldestTombstone: item.oldestTombstone == null ? null : Number(item.oldestTombstone),
  };
}

function toProducerState(item: Item): ProducerState {
  const batches = (item.batches as Item[] | undefined) ?? [];
  return {
    producerId: String(item.producerId),
    epoch: Number(item.epoch),
    batches: batches.map((b) => ({
      firstSequence: Number(b.firstSequence),
      lastSequence: Number(b.lastSequence),
      baseOffset: Number(b.baseOffset),
      lastOffset: Number(b.lastOffset),
    })),
    version: Number(item.version),
    updatedAt: Number(item.updatedAt),
  };
}
