/**
 * The DynamoDB primitive under an append, without Strata: the engine's commit
 * transaction (the same actions and conditions as DynamoLogStore.commitAppend) sent
 * straight through the SDK with pre-encoded batches. Three shapes of it:
 *
 * - independent: each worker owns a head, one request's batch per transaction;
 * - contended: all workers share ONE head, one request's batch per transaction, and a
 *   worker that loses the race retries at the head the failed condition returned;
 * - grouped: one transaction carries several requests' batches, packed into tail items
 *   the way the sequencer packs them: what a perfect group commit would send.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { HEAD_SK, tailSk } from '../../lib/aws/table-keys.js';
import { MAX_TAIL_ITEM_BYTES } from '../../lib/core/constants.js';
import { backoffDelay, DEFAULT_RETRY } from '../../lib/core/retry.js';

/** What the commits of a measured window had to go through. */
export interface ContentionCounts {
  successes: number;
  attempts: number;
  /** Lost races: the head had moved (the condition failed). */
  conditionFailures: number;
  /** DynamoDB cancelled the transaction because another one held an item. */
  transactionConflicts: number;
}

export interface RawCommitOptions {
  tableName: string;
  /** Partition keys start with this; workers append `#w{n}` unless `contended`. */
  pkPrefix: string;
  /** One request's encoded batch. */
  batch: Uint8Array;
  recordsPerBatch: number;
  /** Batches (requests) per transaction. */
  batchesPerCommit: number;
  contended: boolean;
}

interface TailItemLayout {
  /** Index of the item's first batch within the commit. */
  firstBatch: number;
  batches: number;
  data: Uint8Array;
}

type AttemptOutcome = { ok: true } | { ok: false; head?: number };

export class RawCommitter {
  private readonly known: number[] = [];
  private readonly items: TailItemLayout[];
  private readonly pks = new Set<string>();
  private counting = false;
  private successes = 0;
  private attempts = 0;
  private conditionFailures = 0;
  private transactionConflicts = 0;
  private committedRecords = 0;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly options: RawCommitOptions,
  ) {
    this.items = packTailItems(options.batch, options.batchesPerCommit);
  }

  get recordsPerCommit(): number {
    return this.options.recordsPerBatch * this.options.batchesPerCommit;
  }

  /** Starts counting attempts and failures (at the start of the measured window). */
  startCounting(): void {
    this.successes = this.attempts = this.conditionFailures = this.transactionConflicts = 0;
    this.counting = true;
  }

  contention(): ContentionCounts {
    return {
      successes: this.successes,
      attempts: this.attempts,
      conditionFailures: this.conditionFailures,
      transactionConflicts: this.transactionConflicts,
    };
  }

  /** One successful commit, retrying lost races with the engine's policy. */
  async commit(worker: number): Promise<void> {
    const pk = this.options.contended ? this.options.pkPrefix : `${this.options.pkPrefix}#w${worker}`;
    this.pks.add(pk);
    for (let failures = 0; ; ) {
      const expected = this.known[worker] ?? 0;
      const outcome = await this.attempt(pk, expected);
      if (this.counting) this.attempts++;
      if (outcome.ok) {
        this.known[worker] = expected + this.recordsPerCommit;
        this.committedRecords += this.recordsPerCommit;
        if (this.counting) this.successes++;
        return;
      }
      failures++;
      if (outcome.head !== undefined) {
        // Like an independent writer, a worker only knows the head its own attempt returned.
        this.known[worker] = outcome.head;
        if (this.counting) this.conditionFailures++;
      } else if (this.counting) this.transactionConflicts++;
      // The sequencer's policy: re-send at once after a first lost race, back off after more.
      if (outcome.head === undefined || failures > 1) await sleep(backoffDelay(DEFAULT_RETRY, failures));
    }
  }

  /** Every acknowledged commit moved a head: do the heads add up to the records committed? */
  async headsMatch(): Promise<boolean> {
    let total = 0;
    for (const pk of this.pks) {
      const out = await this.doc.send(
        new GetCommand({ TableName: this.options.tableName, Key: { pk, sk: HEAD_SK }, ConsistentRead: true }),
      );
      total += Number(out.Item?.nextOffset ?? 0);
    }
    return total === this.committedRecords;
  }

  private async attempt(pk: string, expected: number): Promise<AttemptOutcome> {
    const { tableName, recordsPerBatch } = this.options;
    const next = expected + this.recordsPerCommit;
    const now = Date.now();
    const requestToken = randomUUID();
    const bytes = this.items.reduce((sum, item) => sum + item.data.byteLength, 0);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          ClientRequestToken: requestToken,
          TransactItems: [
            {
              Update: {
                TableName: tableName,
                Key: { pk, sk: HEAD_SK },
                UpdateExpression:
                  'SET nextOffset = :next, tailBytes = if_not_exists(tailBytes, :zero) + :bytes, lastAppendAt = :now, ' +
                  'logStartOffset = if_not_exists(logStartOffset, :zero), flushedOffset = if_not_exists(flushedOffset, :zero)',
                ConditionExpression:
                  expected === 0 ? 'attribute_not_exists(nextOffset) OR nextOffset = :expected' : 'nextOffset = :expected',
                ExpressionAttributeValues: { ':expected': expected, ':next': next, ':bytes': bytes, ':now': now, ':zero': 0 },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            ...this.items.map((item) => {
              const baseOffset = expected + item.firstBatch * recordsPerBatch;
              const lastOffset = baseOffset + item.batches * recordsPerBatch - 1;
              return {
                Put: {
                  TableName: tableName,
                  Item: {
                    pk,
                    sk: tailSk(lastOffset),
                    baseOffset,
                    lastOffset,
                    recordCount: item.batches * recordsPerBatch,
                    data: item.data,
                    minTimestamp: now,
                    maxTimestamp: now,
                    appendedAt: now,
                    commitId: requestToken,
                  },
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              };
            }),
          ],
        }),
      );
      return { ok: true };
    } catch (err) {
      return cancelledCommit(err);
    }
  }
}

/**
 * What a cancelled commit of the head (its first action) and the batch says: the head's
 * nextOffset when its condition failed, nothing for a transaction conflict. Rethrows
 * anything but a cancellation.
 */
export function cancelledCommit(err: unknown): { ok: false; head?: number } {
  if (!(err instanceof TransactionCanceledException)) throw err;
  const head = err.CancellationReasons?.[0];
  if (head?.Code === 'ConditionalCheckFailed') return { ok: false, head: Number(head.Item?.nextOffset?.N ?? 0) };
  return { ok: false };
}

/** Packs `count` copies of a batch into tail items of at most MAX_TAIL_ITEM_BYTES, as the sequencer does. */
function packTailItems(batch: Uint8Array, count: number): TailItemLayout[] {
  const perItem = Math.max(1, Math.floor(MAX_TAIL_ITEM_BYTES / batch.byteLength));
  const items: TailItemLayout[] = [];
  for (let first = 0; first < count; first += perItem) {
    const batches = Math.min(perItem, count - first);
    const data = new Uint8Array(batches * batch.byteLength);
    for (let i = 0; i < batches; i++) data.set(batch, i * batch.byteLength);
    items.push({ firstBatch: first, batches, data });
  }
  return items;
}
