/**
 * The PartitionStore role of the DynamoDB adapter: a partition's head item, its tail items
 * and producer states, and its segment manifests. Appends turn DynamoDB's condition
 * failures into domain outcomes here: a failed append learns the real head and producer
 * state from `ReturnValuesOnConditionCheckFailure: ALL_OLD` instead of reading them again.
 */

import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { INDEX_MIN_TTL_MS, MAX_TRANSACTION_ITEMS } from '../core/constants.js';
import { InternalError, TopicNotFoundError } from '../core/errors.js';
import { padOffset } from '../format/object-keys.js';
import type {
  AppendCommit,
  AppendOutcome,
  DataWrite,
  FillCommit,
  FillOutcome,
  NumberOutcome,
  NumberRequest,
  PartitionStore,
  ReserveOutcome,
  ReserveRequest,
} from '../ports/log-store.js';
import {
  type PartitionHead,
  type PartitionRef,
  type ProducerState,
  producerStateExpired,
  producerStateTtl,
  type SegmentManifest,
  type TailExtent,
  type TailItem,
  ZERO_HEAD,
} from '../ports/model.js';
import { shiftBatches, tailItemBytes } from '../staging/staged-batches.js';
import {
  CONDITION_FAILURE,
  type DynamoTable,
  type Item,
  type QueryKey,
  rawItem,
  type TransactItems,
  type TransactResult,
  unlessConditionFails,
} from './dynamo-table.js';
import { expiry, toHead, toManifest, toProducerState, toTailItem, ttlSeconds, voidItem } from './table-items.js';
import {
  DATA_PREFIX,
  dataSk,
  HEAD_SK,
  INDEX_PREFIX,
  indexSk,
  partitionPk,
  producerSk,
  SEGMENT_PREFIX,
  segmentSk,
  TAIL_PREFIX,
  tailSk,
} from './table-keys.js';

type CancelledTransaction = Extract<TransactResult, { ok: false }>;

/**
 * Items per Query page of the tail: ten first, then as many as fill about one DynamoDB
 * page (1 MB) given the sizes just seen. A larger Limit gains nothing on DynamoDB and
 * costs on DynamoDB Local, which reads `Limit` items before cutting the page at 1 MB.
 */
const TAIL_QUERY_FIRST_PAGE_ITEMS = 10;
const TAIL_QUERY_MAX_PAGE_ITEMS = 100;
const DYNAMODB_PAGE_BYTES = 1_000_000;
/** Upper bound of tail sort keys: above every padded offset, below `HEAD`. */
export const TAIL_SK_MAX = `${TAIL_PREFIX}${'9'.repeat(padOffset(0).length)}`;
const SEGMENT_SK_MAX = `${SEGMENT_PREFIX}${'9'.repeat(padOffset(0).length)}`;
const INDEX_SK_MAX = `${INDEX_PREFIX}${'9'.repeat(padOffset(0).length)}`;
/** Data items read at once while answering a write-first tail read. */
const DATA_READ_BATCH = 25;
/**
 * Pending entries one REMOVE takes off the head. An update expression holds at most 4 KB
 * (`REMOVE pending.#r0, …`: about 15 bytes an entry, 1.4 KB for 100) and 300 operators
 * (at most two an entry, counting the path's dereference). Until 2026-12-03 it was 50, and
 * a head whose steps lagged (more than 50 entries: 64 writers on this machine's two
 * cores) took two REMOVEs a step: UpdateItem 1.13 calls and 4.15 write units per
 * single-record append at K=64 against 1.06–1.09 and 3.60–3.70 with 100 (docs/design.md,
 * "How large the head grows under load").
 */
export const INDEX_REMOVE_BATCH = 100;
/** Index items the first page of a numbering's look reads (newest first); later pages read more. */
const FIND_FIRST_PAGE_ITEMS = 4;

export class DynamoPartitionStore implements PartitionStore {
  /** Partitions whose head this store saw with a `pending` map (write first, number after). */
  private readonly numbering = new Set<string>();
  /** The pending entries (token → base) of the write-first heads getHead and getHeads answered, by the head they answered. */
  private readonly pendingOf = new WeakMap<PartitionHead, Record<string, number>>();

  /** `tailTtlMs`: tail items are written with a DynamoDB TTL this long after their append (DynamoLogStoreOptions). */
  constructor(
    private readonly table: DynamoTable,
    private readonly tailTtlMs: number | undefined,
  ) {}

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

  async getHead(ref: PartitionRef): Promise<PartitionHead> {
    const out = await this.table.send(
      new GetCommand({ TableName: this.table.name, Key: { pk: partitionPk(ref), sk: HEAD_SK }, ConsistentRead: true }),
    );
    return this.noteNumbering(out.Item);
  }

  /**
   * The head, remembering one that takes numberings (write first, number after): readers
   * and flushers read the head before the tail, so only such a partition's tail reads look
   * for data items when no offset-keyed item answers; and the head's pending entries, for
   * a tail read handed this very head (queryTail).
   */
  private noteNumbering(item: Item | undefined): PartitionHead {
    const head = toHead(item);
    if (item?.pending !== undefined) {
      this.numbering.add(String(item.pk));
      this.pendingOf.set(head, numbers(item.pending as Item));
    }
    return head;
  }

  async getHeads(refs: PartitionRef[], options: { consistent?: boolean } = {}): Promise<PartitionHead[]> {
    const items = await this.table.batchGetAll(
      refs.map((ref) => ({ pk: partitionPk(ref), sk: HEAD_SK })),
      options,
    );
    const byPk = new Map(items.map((item) => [String(item.pk), this.noteNumbering(item)]));
    return refs.map((ref) => byPk.get(partitionPk(ref)) ?? { ...ZERO_HEAD });
  }

  async commitAppend(commit: AppendCommit): Promise<AppendOutcome> {
    const pk = partitionPk(commit.ref);
    // Optimistic commits and reservations may meet on one partition: an optimistic commit
    // applies only when no reservation is outstanding (committedOffset = nextOffset).
    const headCondition =
      (commit.expectedNextOffset === 0 ? '(attribute_not_exists(nextOffset) OR nextOffset = :expected)' : 'nextOffset = :expected') +
      ` AND (attribute_not_exists(committedOffset) OR committedOffset = :expected) AND ${NOT_DELETED}`;
    const transactItems: TransactItems = [
      {
        Update: {
          TableName: this.table.name,
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
          TableName: this.table.name,
          Item: this.tailRecord(pk, item),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      })),
      ...commit.producers.map((p) => this.producerPut(pk, p)),
    ];
    const result = await this.table.transact(transactItems, 'append', commit.requestToken);
    if (!result.ok && result.codes[0] === 'ConditionalCheckFailed') refuseDeleted(commit.ref, rawItem(result.reasons[0]?.Item));
    return result.ok ? result : appendFailure(result, commit);
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
      ':one': 1,
    };
    let condition = `(attribute_exists(committedOffset) OR attribute_not_exists(nextOffset)) AND ${NOT_DELETED}`;
    if (request.expectedOffset !== undefined) {
      condition +=
        request.expectedOffset === 0 ? ' AND (attribute_not_exists(nextOffset) OR nextOffset = :expected)' : ' AND nextOffset = :expected';
      values[':expected'] = request.expectedOffset;
    }
    for (let migrated = false; ; migrated = true) {
      try {
        const out = await this.table.send(
          new UpdateCommand({
            TableName: this.table.name,
            Key: key,
            UpdateExpression:
              'SET nextOffset = if_not_exists(nextOffset, :zero) + :n, committedOffset = if_not_exists(committedOffset, :zero), ' +
              'tailBytes = if_not_exists(tailBytes, :zero) + :bytes, previousAppendAt = if_not_exists(lastAppendAt, :zero), lastAppendAt = :now, ' +
              'lastReservationToken = :token, lastReservationCount = :n, reservations = if_not_exists(reservations, :zero) + :one, ' +
              'logStartOffset = if_not_exists(logStartOffset, :zero), flushedOffset = if_not_exists(flushedOffset, :zero)',
            ConditionExpression: condition,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
          CONDITION_FAILURE,
        );
        const head = toHead(out.Attributes);
        const previousAt = Number(out.Attributes?.previousAppendAt ?? 0);
        return {
          ok: true,
          base: head.nextOffset - request.count,
          head,
          previousAt: previousAt > 0 ? previousAt : null,
          sequence: Number(out.Attributes?.reservations ?? 0),
        };
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        const old = err.Item ? unmarshall(err.Item) : undefined;
        refuseDeleted(request.ref, old);
        if (!migrated && old && old.committedOffset === undefined && old.nextOffset !== undefined) {
          await this.table
            .send(
              new UpdateCommand({
                TableName: this.table.name,
                Key: key,
                UpdateExpression: 'SET committedOffset = nextOffset',
                ConditionExpression: 'attribute_not_exists(committedOffset)',
              }),
              CONDITION_FAILURE,
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
      TableName: this.table.name,
      Item: this.tailRecord(pk, item),
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    }));
    if (puts.length === 1 && commit.producers.length === 0) {
      try {
        await this.table.send(new PutCommand(puts[0]!), CONDITION_FAILURE);
        return { ok: true };
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
        return { ok: false, taken: err.Item ? [toTailItem(unmarshall(err.Item))] : [], producers: new Map(), transactionConflict: false };
      }
    }
    const result = await this.table.transact(
      [...puts.map((Put) => ({ Put })), ...commit.producers.map((p) => this.producerPut(pk, p))],
      'fill',
      commit.requestToken,
    );
    if (result.ok) return result;
    const { reasons, codes, error: err } = result;
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

  async sealOffsets(ref: PartitionRef, offsets: number[], now: number): Promise<{ sealed: boolean; taken: TailItem[] }> {
    if (offsets.length === 0) return { sealed: true, taken: [] };
    if (offsets.length > MAX_TRANSACTION_ITEMS)
      throw new InternalError(`a seal takes at most ${MAX_TRANSACTION_ITEMS} offsets; got ${offsets.length}`);
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
    return unlessConditionFails(
      this.table.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: { pk: partitionPk(ref), sk: HEAD_SK },
          UpdateExpression: 'SET committedOffset = :offset',
          ConditionExpression: 'committedOffset < :offset AND nextOffset >= :offset',
          ExpressionAttributeValues: { ':offset': offset },
        }),
        CONDITION_FAILURE,
      ),
    );
  }

  /**
   * The put of a producer's new state in an append or fill transaction, conditioned on
   * the version it was decided on; its TTL runs from the state's last write.
   */
  private producerPut(pk: string, { state, expectedVersion }: { state: ProducerState; expectedVersion: number | null }) {
    return {
      Put: {
        TableName: this.table.name,
        Item: { pk, sk: producerSk(state.producerId), ...state, ttl: producerStateTtl(state.updatedAt) },
        // A state created: none stored, or one past its TTL that DynamoDB has not deleted yet
        // (it can take days), which reads as none (getProducerState).
        ConditionExpression: expectedVersion === null ? 'attribute_not_exists(pk) OR #ttl <= :now' : 'version = :v',
        ...(expectedVersion === null
          ? { ExpressionAttributeNames: { '#ttl': 'ttl' }, ExpressionAttributeValues: { ':now': Math.floor(state.updatedAt / 1000) } }
          : { ExpressionAttributeValues: { ':v': expectedVersion } }),
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
      },
    };
  }

  async writeData(write: DataWrite): Promise<void> {
    const pk = partitionPk(write.ref);
    await Promise.all(
      write.items.map(async ({ token, item }) => {
        const written = await unlessConditionFails(
          this.table.send(
            new PutCommand({
              TableName: this.table.name,
              Item: { ...this.tailRecord(pk, item), sk: dataSk(token) },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
            CONDITION_FAILURE,
          ),
        );
        // 48 random bits per token: a taken key is a re-sent write of our own.
        if (!written) {
          const held = await this.table.send(
            new GetCommand({ TableName: this.table.name, Key: { pk, sk: dataSk(token) }, ConsistentRead: true }),
          );
          if (held.Item?.commitId !== item.commitId) throw new InternalError(`data item ${token} of ${pk} holds another write`);
        }
      }),
    );
  }

  async numberData(request: NumberRequest): Promise<NumberOutcome> {
    const pk = partitionPk(request.ref);
    try {
      return await this.number(pk, request);
    } catch (err) {
      // DynamoDB refuses a path into a map the item does not have, or a sum with a counter it
      // does not have: the head's first numbering.
      if (!(err instanceof InternalError && (err.cause as { name?: string } | undefined)?.name === 'ValidationException')) throw err;
      const unsettled = await this.startNumbering(request.ref);
      if (unsettled) return { ok: false, head: unsettled, fence: 0, missing: [], unsettled: true };
      return this.number(pk, request);
    }
  }

  private async number(pk: string, request: NumberRequest): Promise<NumberOutcome> {
    const total = request.ranges.reduce((n, r) => n + r.count, 0);
    const names: Record<string, string> = {};
    const values: Item = { ':total': total, ':bytes': request.bytes, ':now': request.now, ':one': 1 };
    const entries: string[] = [];
    let within = 0;
    request.ranges.forEach((range, i) => {
      names[`#t${i}`] = range.token;
      // An update's operands are the item's values before it: each entry gets its range's base.
      entries.push(`pending.#t${i} = nextOffset${within > 0 ? ` + :o${i}` : ''}`);
      if (within > 0) values[`:o${i}`] = within;
      within += range.count;
    });
    // No reserved range outstanding below (a reserving writer of a sequencing switched, or
    // being switched, back): a numbering sets committedOffset to its end, which would step
    // over a range its writer may still fill or leave to be sealed. The reserving
    // sequencer leaves committedOffset behind nextOffset; numberings keep them equal.
    let condition = `attribute_not_exists(pending.#t0) AND (attribute_not_exists(committedOffset) OR committedOffset = nextOffset) AND ${NOT_DELETED}`;
    if (request.expectedOffset !== undefined) {
      condition +=
        request.expectedOffset === 0 ? ' AND (attribute_not_exists(nextOffset) OR nextOffset = :expected)' : ' AND nextOffset = :expected';
      values[':expected'] = request.expectedOffset;
    }
    if (request.fence !== undefined) {
      condition += ' AND (attribute_not_exists(fence) OR fence <= :fence)';
      values[':fence'] = request.fence;
    }
    (request.after ?? []).forEach((token, i) => {
      names[`#a${i}`] = token;
      condition += ` AND attribute_exists(pending.#a${i})`;
    });
    try {
      const out = await this.table.send(
        firstAttemptOnly(
          new UpdateCommand({
            TableName: this.table.name,
            Key: { pk, sk: HEAD_SK },
            // Only what changes: the counters a numbering adds to were set once by startNumbering
            // (a head lacking one answers ValidationException, and numberData starts it again).
            // DynamoDB Local spent 3-16% less on this form than on one that also sets every
            // counter if absent, in three runs of bench/probes/numbering-cpu.ts.
            UpdateExpression:
              'SET nextOffset = nextOffset + :total, committedOffset = nextOffset + :total, numbered = numbered + :one, ' +
              `tailBytes = tailBytes + :bytes, lastAppendAt = :now, ${entries.join(', ')}`,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            // The whole head, pending entries included: the index step needs no read of its own.
            ReturnValues: 'ALL_NEW',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
        CONDITION_FAILURE,
      );
      const next = Number(out.Attributes?.nextOffset);
      this.numbering.add(pk);
      return {
        ok: true,
        base: next - total,
        numbered: Number(out.Attributes?.numbered ?? 0),
        tailBytes: Number(out.Attributes?.tailBytes ?? 0),
        fence: Number(out.Attributes?.fence ?? 0),
        pending: numbers((out.Attributes?.pending as Item | undefined) ?? {}),
      };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const old = err.Item ? unmarshall(err.Item) : undefined;
      const pending = (old?.pending as Item | undefined) ?? {};
      const fence = Number(old?.fence ?? 0);
      const base = pending[request.ranges[0]!.token];
      // Our own numbering, applied by an earlier attempt whose answer was lost.
      if (base !== undefined) return { ok: true, base: Number(base), numbered: 0, tailBytes: Number(old?.tailBytes ?? 0), fence };
      refuseDeleted(request.ref, old);
      const head = toHead(old);
      if (head.committedOffset !== head.nextOffset) return { ok: false, head, fence, missing: [], unsettled: true };
      return { ok: false, head, fence, missing: (request.after ?? []).filter((token) => pending[token] === undefined) };
    }
  }

  /**
   * A head takes numberings once it has a `pending` map and the counters a numbering adds
   * to: given to it the first time, and only while its offsets are contiguous (no reserved
   * range still being filled below). Answers the head when they are not (undefined once
   * the head takes numberings).
   */
  private async startNumbering(ref: PartitionRef): Promise<PartitionHead | undefined> {
    const pk = partitionPk(ref);
    try {
      await this.table.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: { pk, sk: HEAD_SK },
          UpdateExpression:
            'SET pending = if_not_exists(pending, :empty), nextOffset = if_not_exists(nextOffset, :zero), numbered = if_not_exists(numbered, :zero), ' +
            'tailBytes = if_not_exists(tailBytes, :zero), logStartOffset = if_not_exists(logStartOffset, :zero), flushedOffset = if_not_exists(flushedOffset, :zero)',
          ConditionExpression:
            'attribute_exists(pending) OR attribute_not_exists(nextOffset) OR attribute_not_exists(committedOffset) OR committedOffset = nextOffset',
          ExpressionAttributeValues: { ':empty': {}, ':zero': 0 },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        CONDITION_FAILURE,
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      const old = err.Item ? unmarshall(err.Item) : undefined;
      refuseDeleted(ref, old);
      return toHead(old);
    }
    this.numbering.add(pk);
    return undefined;
  }

  async findNumbering(ref: PartitionRef, token: string, floor?: number): Promise<number | undefined> {
    const pk = partitionPk(ref);
    // The head first: an entry gone from it was put in an index item before it left.
    const head = await this.headFields(pk, 'pending.#t', { '#t': token });
    const pending = (head?.pending as Item | undefined)?.[token];
    if (pending !== undefined) return Number(pending);
    // From the floor up, when known: the range is held by an index item keyed at or above its
    // base, so the first page holds it (it was numbered soon after the floor was seen).
    // Else newest first: a numbering looked up is most often a recent one; an old claim's
    // look (a producer back after a long pause) reads every index item since.
    const ascending = floor !== undefined && floor > 0;
    let startKey: Item | undefined;
    let limit = FIND_FIRST_PAGE_ITEMS;
    do {
      const out = await this.table.send(
        new QueryCommand({
          TableName: this.table.name,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: { ':pk': pk, ':from': indexSk(ascending ? floor : 0), ':to': INDEX_SK_MAX },
          ExpressionAttributeNames: { '#t': token },
          ProjectionExpression: 'ranges.#t',
          ConsistentRead: true,
          ScanIndexForward: ascending,
          Limit: limit,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of out.Items ?? []) {
        const base = (item.ranges as Item | undefined)?.[token];
        if (base !== undefined) return Number(base);
      }
      startKey = out.LastEvaluatedKey;
      limit = TAIL_QUERY_MAX_PAGE_ITEMS;
    } while (startKey);
    return undefined;
  }

  async raiseFence(ref: PartitionRef, above: number): Promise<number> {
    try {
      await this.table.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: { pk: partitionPk(ref), sk: HEAD_SK },
          UpdateExpression: 'SET fence = :fence',
          ConditionExpression: 'attribute_not_exists(fence) OR fence < :fence',
          ExpressionAttributeValues: { ':fence': above + 1 },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
        CONDITION_FAILURE,
      );
      return above + 1;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return Number((err.Item ? unmarshall(err.Item) : {}).fence ?? 0);
    }
  }

  async putProducerState(
    ref: PartitionRef,
    state: ProducerState,
    expectedVersion: number | null,
  ): Promise<{ written: true } | { written: false; state: ProducerState | null }> {
    try {
      await this.table.send(new PutCommand(this.producerPut(partitionPk(ref), { state, expectedVersion }).Put), CONDITION_FAILURE);
      return { written: true };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      return { written: false, state: err.Item ? toProducerState(unmarshall(err.Item)) : null };
    }
  }

  async indexPending(
    ref: PartitionRef,
    upToBase: number,
    lastOffset: number,
    now = Date.now(),
    pending?: Record<string, number>,
  ): Promise<void> {
    const pk = partitionPk(ref);
    // The entries as the numbering left them, or as the head holds them now: either way an
    // entry already indexed and removed is only indexed again (same base), never lost.
    const known = pending ?? numbers(((await this.headFields(pk, 'pending'))?.pending as Item | undefined) ?? {});
    // Lowest first: a step that fails part-way leaves on the head the entries above those it
    // took off, never a hole below them (a tail read takes the head's entries for every range
    // from the lowest on; numberedTail still checks).
    const entries = Object.entries(known)
      .filter(([, base]) => base <= upToBase)
      .sort(([, a], [, b]) => a - b);
    if (entries.length === 0) return;
    // Put before REMOVE: an entry leaves the head only once an index item holds it.
    await this.table.send(
      new PutCommand({
        TableName: this.table.name,
        Item: {
          pk,
          sk: indexSk(lastOffset),
          ranges: Object.fromEntries(entries),
          ttl: this.tailTtlMs === undefined ? undefined : ttlSeconds(now + Math.max(this.tailTtlMs, INDEX_MIN_TTL_MS)),
        },
      }),
    );
    for (let i = 0; i < entries.length; i += INDEX_REMOVE_BATCH) {
      const batch = entries.slice(i, i + INDEX_REMOVE_BATCH);
      await this.table.send(
        new UpdateCommand({
          TableName: this.table.name,
          Key: { pk, sk: HEAD_SK },
          UpdateExpression: `REMOVE ${batch.map((_, j) => `pending.#r${j}`).join(', ')}`,
          ExpressionAttributeNames: Object.fromEntries(batch.map(([token], j) => [`#r${j}`, token])),
        }),
      );
    }
  }

  async keepNumberedAlive(ref: PartitionRef, fromOffset: number, expiresAt: number, dueBefore: number): Promise<number> {
    const pk = partitionPk(ref);
    if (!this.numbering.has(pk)) return 0;
    const ttl = ttlSeconds(expiresAt);
    const due = (item: Item | undefined) => item?.ttl !== undefined && Number(item.ttl) * 1000 < dueBefore;
    // The index items that hold unflushed ranges, then the data items of those ranges and of
    // the head's pending entries, oldest first, window by window; past the first window
    // whose newest item is not due, none is.
    // The head first, as every reader of both: an entry gone from it since is in an index item.
    const head = await this.headFields(pk, 'pending');
    const index = await this.indexItems(pk, fromOffset);
    const ranges = sortedRanges(indexedBases(index, numbers((head?.pending as Item | undefined) ?? {})));
    let extended = 0;
    const extend = async (keys: Item[]) => {
      await Promise.all(keys.map((key) => this.table.extendExpiry(key, ttl)));
      extended += keys.length;
    };
    await extend(index.filter(due).map((item) => ({ pk, sk: item.sk })));
    for (let i = 0; i < ranges.length; i += DATA_READ_BATCH) {
      const window = ranges.slice(i, i + DATA_READ_BATCH);
      const read = await this.table.batchGetAll(window.map(({ token }) => ({ pk, sk: dataSk(token) })));
      const byToken = new Map(read.map((raw) => [String(raw.sk).slice(DATA_PREFIX.length), raw]));
      const items = window.map(({ token }) => byToken.get(token));
      // Below the flushed offset a range needs nothing; its data item may be gone already.
      const unflushed = window.filter(({ token, base }) => base + Number(byToken.get(token)?.recordCount ?? 0) > fromOffset);
      await extend(unflushed.filter(({ token }) => due(byToken.get(token))).map(({ token }) => ({ pk, sk: dataSk(token) })));
      const newest = items.findLast((item) => item !== undefined);
      if (newest && !due(newest)) break;
    }
    return extended;
  }

  /** Some attributes of a partition's head, read consistently. */
  private async headFields(pk: string, projection: string, names?: Record<string, string>): Promise<Item | undefined> {
    const out = await this.table.send(
      new GetCommand({
        TableName: this.table.name,
        Key: { pk, sk: HEAD_SK },
        ConsistentRead: true,
        ProjectionExpression: projection,
        ...(names ? { ExpressionAttributeNames: names } : {}),
      }),
    );
    return out.Item;
  }

  /** Index items holding ranges that end at or above `fromOffset`. */
  private indexItems(pk: string, fromOffset: number): Promise<Item[]> {
    return this.table.queryAll({ pk, skRange: { from: indexSk(fromOffset), to: INDEX_SK_MAX } });
  }

  /**
   * A write-first tail from `fromOffset`, as tail items: the head's pending entries and the
   * index items give each data item its base (head first, then the index), and each item's
   * batches are re-stamped at it. Up to the limits, contiguous from the range holding
   * `fromOffset`; empty when the head takes no numberings.
   */
  private async numberedTail(
    ref: PartitionRef,
    fromOffset: number,
    limits: { maxRecords: number; maxBytes: number },
    known?: { nextOffset: number; pending: Record<string, number> },
  ): Promise<TailItem[]> {
    const pk = partitionPk(ref);
    let head = known;
    if (!head) {
      const read = await this.headFields(pk, 'nextOffset, pending');
      if (read?.pending === undefined) return [];
      head = { nextOffset: Number(read.nextOffset ?? 0), pending: numbers(read.pending as Item) };
    }
    if (fromOffset >= head.nextOffset) return [];
    // The pending entries alone when they reach down to `fromOffset` and answer in full: the
    // index steps take entries off the head lowest first, so they are the newest ranges.
    const pending = sortedRanges(Object.entries(head.pending));
    if (pending.length > 0 && pending[0]!.base <= fromOffset) {
      const answer = await this.readRanges(pk, pending, fromOffset, head.nextOffset, limits);
      if (answer.full) return answer.items;
    }
    // Else the index items' too (read after the head: an entry gone from it since is in an
    // index item). A step that failed part-way before they were taken off lowest first left
    // entries on the head above a range only an index item holds (the write-first chaos run
    // of 2026-12-02: read as a gap, sealed).
    const ranges = sortedRanges(indexedBases(await this.indexItems(pk, fromOffset), head.pending));
    return (await this.readRanges(pk, ranges, fromOffset, head.nextOffset, limits)).items;
  }

  /**
   * The data items of `ranges` (sorted by base) from the one holding `fromOffset`, as tail
   * items at their offsets: contiguous only, up to the limits or `end`. `full` when the
   * answer reached them; else `ranges` lacked the range (or its data) that comes next.
   */
  private async readRanges(
    pk: string,
    ranges: { token: string; base: number }[],
    fromOffset: number,
    end: number,
    limits: { maxRecords: number; maxBytes: number },
  ): Promise<{ items: TailItem[]; full: boolean }> {
    const first = ranges.findLastIndex((r) => r.base <= fromOffset);
    const items: TailItem[] = [];
    const short = { items, full: false };
    if (first < 0) return short;
    let records = 0;
    let bytes = 0;
    for (let i = first; i < ranges.length; i += DATA_READ_BATCH) {
      const batch = ranges.slice(i, i + DATA_READ_BATCH);
      const read = await this.table.batchGetAll(batch.map((r) => ({ pk, sk: dataSk(r.token) })));
      const byToken = new Map(read.map((raw) => [String(raw.sk).slice(DATA_PREFIX.length), raw]));
      for (const { token, base } of batch) {
        const raw = byToken.get(token);
        // Contiguous only: a range whose data is not there (yet) ends the answer.
        if (!raw || (items.length > 0 && items.at(-1)!.lastOffset + 1 !== base)) return short;
        const stored = toTailItem(raw);
        // The range below `fromOffset` ends before it: offsets from there on are not numbered
        // ones (a sequencing switched back writes offset-keyed items above them), or their
        // range is not among `ranges`.
        if (base + stored.recordCount <= fromOffset) return short;
        const item: TailItem = {
          ...stored,
          baseOffset: base,
          lastOffset: base + stored.recordCount - 1,
          data: stored.staged ? stored.data : shiftBatches(stored.data, base),
        };
        items.push(item);
        records += item.lastOffset - Math.max(base, fromOffset) + 1;
        bytes += tailItemBytes(item);
        if (records >= limits.maxRecords || bytes >= limits.maxBytes || item.lastOffset + 1 >= end) return { items, full: true };
      }
    }
    return short;
  }

  async getTailItem(ref: PartitionRef, lastOffset: number): Promise<TailItem | undefined> {
    const out = await this.table.send(
      new GetCommand({ TableName: this.table.name, Key: { pk: partitionPk(ref), sk: tailSk(lastOffset) }, ConsistentRead: true }),
    );
    return out.Item ? toTailItem(out.Item) : undefined;
  }

  async getProducerState(ref: PartitionRef, producerId: string, now?: number): Promise<ProducerState | null> {
    const out = await this.table.send(
      new GetCommand({
        TableName: this.table.name,
        Key: { pk: partitionPk(ref), sk: producerSk(producerId) },
        ConsistentRead: true,
      }),
    );
    // Past its TTL, a state reads as none, as it will once DynamoDB deletes it (which can take days).
    if (!out.Item || (now !== undefined && out.Item.ttl !== undefined && producerStateExpired(Number(out.Item.ttl), now))) return null;
    return toProducerState(out.Item);
  }

  async queryTail(
    ref: PartitionRef,
    fromOffset: number,
    limits: { maxRecords: number; maxBytes: number },
    head?: PartitionHead,
  ): Promise<TailItem[]> {
    // A tail read of a write-first partition, handed the head the caller read: its numbered
    // ranges without reading the head again. An answer that does not cover `fromOffset`
    // (offset-keyed items above a switch back) is none.
    const pending = head && this.pendingOf.get(head);
    if (pending) {
      const items = await this.numberedTail(ref, fromOffset, limits, { nextOffset: head.nextOffset, pending });
      if (items.length > 0) return items;
    }
    const items = await this.offsetKeyedTail(ref, fromOffset, limits);
    if (!this.numbering.has(partitionPk(ref)) || (items[0] !== undefined && items[0].baseOffset <= fromOffset)) return items;
    // A partition that numbers writes (write first, number after): its numbered ranges hold
    // the offsets below the first offset-keyed item, if any (a partition whose sequencing
    // was switched back writes offset-keyed items above the ranges it numbered).
    const numbered = await this.numberedTail(ref, fromOffset, limits);
    if (numbered.length === 0) return items;
    const boundary = items[0]?.baseOffset ?? Number.POSITIVE_INFINITY;
    return numbered.filter((item) => item.baseOffset < boundary);
  }

  private async offsetKeyedTail(
    ref: PartitionRef,
    fromOffset: number,
    limits: { maxRecords: number; maxBytes: number },
  ): Promise<TailItem[]> {
    const items: TailItem[] = [];
    let bytes = 0;
    let records = 0;
    let startKey: Item | undefined;
    let pageItems = TAIL_QUERY_FIRST_PAGE_ITEMS;
    do {
      const out = await this.table.send(
        new QueryCommand({
          TableName: this.table.name,
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
   * The tail items' offsets from `fromOffset`, projected: DynamoDB still reads (and bills)
   * whole items, a page ending at 1 MB of them, but answers a few bytes per item. The key
   * range ends at `until - 1`: no item straddles `until` when it is a range's base or the
   * counter. A look over K batch items of 100 KiB takes K/10 pages, one round trip each
   * when they follow each other; so when the first page stops short, the rest of the
   * range is split by the offsets that page covered and read at once
   * (EXTENT_PARALLEL_PAGES at most): two round trips for any range, the same Queries and
   * read units.
   */
  async tailExtents(ref: PartitionRef, fromOffset: number, until: number, options: { consistent?: boolean } = {}): Promise<TailExtent[]> {
    if (until <= fromOffset) return [];
    const pk = partitionPk(ref);
    const range = (from: number, to: number): QueryKey => ({
      pk,
      ...(options.consistent === false ? { consistent: false } : {}),
      skRange: { from: tailSk(from), to: tailSk(to - 1) },
      projection: {
        ProjectionExpression: 'baseOffset, lastOffset, appendedAt, #void, #ttl',
        ExpressionAttributeNames: { '#void': 'void', '#ttl': 'ttl' },
      },
    });
    const first = await this.table.queryPage(range(fromOffset, until));
    let items = first.items;
    if (first.next) {
      const last = items.at(-1);
      const reached = last ? Number(last.lastOffset) + 1 : fromOffset;
      const pages = Math.ceil((until - reached) / Math.max(1, reached - fromOffset));
      const rest = await Promise.all(
        splitRange(reached, until, pages, EXTENT_PARALLEL_PAGES).map(([a, b]) => this.table.queryAll(range(a, b))),
      );
      items = items.concat(...rest);
    }
    return items.map((item) => ({
      baseOffset: Number(item.baseOffset),
      lastOffset: Number(item.lastOffset),
      appendedAt: Number(item.appendedAt),
      ...(item.void ? { void: true as const } : {}),
      ...expiry(item),
    }));
  }

  async listSegments(ref: PartitionRef, fromOffset: number, limit: number): Promise<SegmentManifest[]> {
    return (await this.table.queryAll({ pk: partitionPk(ref), skRange: { from: segmentSk(fromOffset), to: SEGMENT_SK_MAX }, limit })).map(
      toManifest,
    );
  }
}

/** The bases of the index items' entries and the head's pending ones (token → base). */
function indexedBases(index: Item[], pending: Record<string, number>): [string, number][] {
  const bases = new Map<string, number>();
  for (const item of index)
    for (const [token, base] of Object.entries((item.ranges as Item | undefined) ?? {})) bases.set(token, Number(base));
  for (const [token, base] of Object.entries(pending)) bases.set(token, base);
  return [...bases];
}

/** Numbered ranges by base. */
function sortedRanges(entries: Iterable<[string, number]>): { token: string; base: number }[] {
  return [...entries].map(([token, base]) => ({ token, base })).sort((a, b) => a.base - b.base);
}

/** A map of numbers as stored (token → base). */
function numbers(map: Item): Record<string, number> {
  return Object.fromEntries(Object.entries(map).map(([key, value]) => [key, Number(value)]));
}

/** The part of the SDK's middleware stack firstAttemptOnly uses. */
interface AttemptStack {
  add(
    middleware: (next: (args: unknown) => Promise<unknown>, context: object) => (args: unknown) => Promise<unknown>,
    options: { step: 'finalizeRequest'; priority: 'low'; name: string; override: true },
  ): void;
}

/** What firstAttemptOnly keeps across the attempts of one send. */
interface AttemptState {
  count: number;
  /** An attempt is going through the chain now. */
  active: boolean;
  error?: unknown;
}

/**
 * The command with the SDK's retries cut to its first attempt: a later attempt re-throws
 * the first one's error instead of going out. For a write whose first attempt may have
 * been applied and whose repetition would not be refused by its own condition (a
 * numbering whose entry an index step took off the head in between): the caller looks
 * at what happened before it sends again. A middleware of the command, inside the
 * client's retry loop, so that every attempt passes it.
 */
function firstAttemptOnly<C extends { middlewareStack: { add: (...args: never[]) => void } }>(command: C): C {
  (command.middlewareStack as unknown as AttemptStack).add(
    (next, context) => async (args) => {
      const state = ((context as { strataAttempt?: AttemptState }).strataAttempt ??= { count: 0, active: false });
      // The document client may hand the stack on with this middleware in it twice: the inner copy passes.
      if (state.active) return next(args);
      if (state.count > 0) throw state.error;
      state.count++;
      state.active = true;
      try {
        return await next(args);
      } catch (err) {
        state.error = err;
        throw err;
      } finally {
        state.active = false;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'strataFirstAttemptOnly', override: true },
  );
  return command;
}

/** At most this many Queries at once for the rest of a look's range after its first page. */
const EXTENT_PARALLEL_PAGES = 8;

/**
 * [from, to) in `parts` ranges of about equal length (at least one offset each, at most
 * `most` ranges), in order.
 *
 * @example
 * splitRange(10, 20, 3, 8); // [[10, 14], [14, 17], [17, 20]]
 */
export function splitRange(from: number, to: number, parts: number, most: number): [number, number][] {
  const n = Math.max(1, Math.min(parts, most, to - from));
  return Array.from({ length: n }, (_, i) => [from + Math.floor(((to - from) * i) / n), from + Math.floor(((to - from) * (i + 1)) / n)]);
}

/** Reads an append's cancellation reasons, in the order of the transaction's actions. */
/**
 * The commits' condition that the head carries no delete mark (a topic's delete marks its
 * heads first: lib/aws/dynamo-topic-store.ts, deleteTopic).
 */
const NOT_DELETED = 'attribute_not_exists(deletedAt)';

/** Throws TopicNotFoundError when a refused commit's head (as the refusal returned it) carries a delete mark. */
function refuseDeleted(ref: PartitionRef, head: Item | undefined): void {
  if (head?.deletedAt !== undefined) throw new TopicNotFoundError(ref.topic);
}

function appendFailure({ reasons, codes, error: err }: CancelledTransaction, commit: AppendCommit): AppendOutcome {
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
