/**
 * The one small helper every DynamoDB adapter goes through: `send`, which throws every
 * failure as a Strata error (errors.ts) but the condition failures the adapter reads
 * itself, and the calls that take more than one request: every page of a Query, every
 * key of a BatchGet, every request of a BatchWrite (unprocessed ones resent after a
 * full-jitter backoff), and a transaction whose cancellation becomes the reasons the
 * adapter turns into a domain outcome.
 *
 *     batchWriteAll(60 requests) ──▶ 25 ──▶ 25 ──▶ 10       (BATCH_WRITE_LIMIT each)
 *                                     └─ 3 unprocessed ──▶ sleep(backoff(1)) ──▶ 3 ──▶ …
 *                                        after MAX_BATCH_ROUNDS rounds: ThrottledError
 */
import { type AttributeValue, ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { MAX_TRANSACTION_ITEMS } from '../core/constants.js';
import { InternalError, ThrottledError } from '../core/errors.js';
import { backoffDelay, DEFAULT_RETRY, type RetryPolicy, sleep } from '../core/retry.js';
import { sdkAttempts, translate } from './errors.js';

export type Item = Record<string, unknown>;
export type TransactItems = NonNullable<TransactWriteCommandInput['TransactItems']>;
export type WriteRequest = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Item } };

/** A command of the document client (`send` takes any). */
type DocumentCommand = Parameters<DynamoDBDocumentClient['send']>[0];
/** What `send` resolves to for a command: the output type its handler answers with. */
type OutputOf<C> = C extends { resolveMiddleware(...args: never[]): (...args: never[]) => Promise<{ output: infer O }> } ? O : never;
/** An SDK error class whose instances a caller reads itself (ConditionalCheckFailedException, say). */
type ErrorClass = abstract new (...args: never[]) => Error;

/** What `send` keeps for a conditional write's caller: its condition failure (with the ALL_OLD item when asked for). */
export const CONDITION_FAILURE: readonly ErrorClass[] = [ConditionalCheckFailedException];

/** BatchWriteItem takes at most 25 requests. */
export const BATCH_WRITE_LIMIT = 25;
/** BatchGetItem takes at most 100 keys. */
const BATCH_GET_LIMIT = 100;
/** Rounds of a batch's unprocessed keys or items (throttling) before THROTTLED. */
const MAX_BATCH_ROUNDS = 8;

/** Which items of a partition key a Query reads. */
export interface QueryKey {
  pk: string;
  /** Sort keys starting with this. */
  skPrefix?: string;
  /** Sort keys in [from, to]. */
  skRange?: { from: string; to: string };
  projection?: { ProjectionExpression: string; ExpressionAttributeNames: Record<string, string> };
  /** At most this many items (default: all). */
  limit?: number;
  /** false: an eventually consistent read, at half the read units (default: strongly consistent). */
  consistent?: boolean;
}

/**
 * How a transaction ended: sent, or cancelled with its reasons (one code per action, in
 * the order of the actions; the old items where ALL_OLD was asked for). A cancellation by
 * throttling is thrown as ThrottledError instead: nothing was written and the caller's
 * retry policy decides.
 */
export type TransactResult =
  | { ok: true }
  | {
      ok: false;
      codes: string[];
      reasons: { Code?: string; Item?: Record<string, AttributeValue> }[];
      error: TransactionCanceledException;
    };

export class DynamoTable {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly name: string,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {}

  /**
   * Sends one command. A failure is thrown as a Strata error (errors.ts `translate`:
   * ThrottledError, StorageUnavailableError, InternalError), except an instance of a
   * class in `keep`, thrown as the SDK made it for the caller to turn into a domain
   * outcome (CONDITION_FAILURE for a conditional write).
   */
  async send<C extends { resolveMiddleware(...args: never[]): unknown }>(
    command: C,
    keep: readonly ErrorClass[] = [],
  ): Promise<OutputOf<C>> {
    try {
      return (await this.doc.send(command as unknown as DocumentCommand)) as OutputOf<C>;
    } catch (err) {
      if (keep.some((kept) => err instanceof kept)) throw err;
      throw translate(err, `DynamoDB ${command.constructor.name}`);
    }
  }

  /**
   * Moves an item's TTL to `ttl` (epoch seconds) if the item exists and expires sooner;
   * false when it is gone or already expires later. Billed like a write of the item.
   */
  extendExpiry(key: Item, ttl: number): Promise<boolean> {
    return unlessConditionFails(
      this.send(
        new UpdateCommand({
          TableName: this.name,
          Key: key,
          UpdateExpression: 'SET #ttl = :ttl',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(#ttl) OR #ttl < :ttl)',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':ttl': ttl },
        }),
        CONDITION_FAILURE,
      ),
    );
  }

  /**
   * The items of a partition key (those whose sort key starts with `skPrefix`, or lies in
   * `skRange`), strongly consistent unless the key says otherwise, across as many Query
   * pages as it takes, at most `limit`.
   */
  async queryAll(key: QueryKey): Promise<Item[]> {
    const items: Item[] = [];
    const limit = key.limit ?? Infinity;
    let startKey: Item | undefined;
    do {
      const page = await this.queryPage(key, startKey, Number.isFinite(limit) ? limit - items.length : undefined);
      items.push(...page.items);
      startKey = page.next;
    } while (startKey && items.length < limit);
    return items;
  }

  /**
   * One Query page (DynamoDB reads at most 1 MB of items for it, whatever it projects),
   * strongly consistent unless the key says otherwise; `next` is where the following page
   * starts, if there is one.
   */
  async queryPage(key: QueryKey, startKey?: Item, limit?: number): Promise<{ items: Item[]; next: Item | undefined }> {
    const [condition, values] = key.skRange
      ? ['pk = :pk AND sk BETWEEN :from AND :to', { ':from': key.skRange.from, ':to': key.skRange.to }]
      : key.skPrefix
        ? ['pk = :pk AND begins_with(sk, :prefix)', { ':prefix': key.skPrefix }]
        : ['pk = :pk', {}];
    const out = await this.send(
      new QueryCommand({
        TableName: this.name,
        KeyConditionExpression: condition,
        ExpressionAttributeValues: { ':pk': key.pk, ...values },
        ConsistentRead: key.consistent ?? true,
        ...key.projection,
        ...(limit !== undefined ? { Limit: limit } : {}),
        ExclusiveStartKey: startKey,
      }),
    );
    return { items: out.Items ?? [], next: out.LastEvaluatedKey };
  }

  /** The items at `keys` that exist, in no particular order (strongly consistent unless told). */
  async batchGetAll(keys: Item[], options: { consistent?: boolean } = {}): Promise<Item[]> {
    const items: Item[] = [];
    for (let i = 0; i < keys.length; i += BATCH_GET_LIMIT) {
      await this.rounds(keys.slice(i, i + BATCH_GET_LIMIT), 'keys read', async (pending) => {
        const out = await this.send(
          new BatchGetCommand({ RequestItems: { [this.name]: { Keys: pending, ConsistentRead: options.consistent ?? true } } }),
        );
        items.push(...(out.Responses?.[this.name] ?? []));
        return out.UnprocessedKeys?.[this.name]?.Keys as Item[] | undefined;
      });
    }
    return items;
  }

  /** Sends every put and delete, BATCH_WRITE_LIMIT at a time. */
  async batchWriteAll(requests: WriteRequest[]): Promise<void> {
    for (let i = 0; i < requests.length; i += BATCH_WRITE_LIMIT) {
      await this.rounds(requests.slice(i, i + BATCH_WRITE_LIMIT), 'writes', async (pending) => {
        const out = await this.send(new BatchWriteCommand({ RequestItems: { [this.name]: pending } }));
        return out.UnprocessedItems?.[this.name] as WriteRequest[] | undefined;
      });
    }
  }

  /** Deletes the items at `keys`. */
  async batchDeleteAll(keys: Item[]): Promise<void> {
    await this.batchWriteAll(keys.map((Key) => ({ DeleteRequest: { Key } })));
  }

  /**
   * Sends one transaction (at most MAX_TRANSACTION_ITEMS actions; `what` names it in
   * errors); with `token`, a resend of the same transaction is applied at most once.
   */
  async transact(items: TransactItems, what: string, token?: string): Promise<TransactResult> {
    if (items.length > MAX_TRANSACTION_ITEMS) {
      throw new InternalError(`${what} transaction has ${items.length} actions, over ${MAX_TRANSACTION_ITEMS}`);
    }
    try {
      await this.send(new TransactWriteCommand({ TransactItems: items, ...(token === undefined ? {} : { ClientRequestToken: token }) }), [
        TransactionCanceledException,
      ]);
      return { ok: true };
    } catch (err) {
      if (!(err instanceof TransactionCanceledException)) throw err;
      const reasons = err.CancellationReasons ?? [];
      const codes = reasons.map((r) => r.Code ?? 'None');
      if (throttled(codes)) {
        // A cancellation by throttling wrote nothing, but an attempt before it may have: the attempts tell.
        throw new ThrottledError(`DynamoDB throttled the ${what} transaction`, { cause: err, attempts: sdkAttempts(err) });
      }
      return { ok: false, codes, reasons, error: err };
    }
  }

  /**
   * A request, then its unprocessed part again after a full-jitter backoff, until none is
   * left: DynamoDB leaves keys and items unprocessed when it throttles them, and resending
   * them at once would meet the same throttle.
   */
  private async rounds<T>(first: T[], what: string, send: (pending: T[]) => Promise<T[] | undefined>): Promise<void> {
    let pending: T[] | undefined = first;
    for (let round = 0; pending && pending.length > 0; round++) {
      if (round === MAX_BATCH_ROUNDS) throw new ThrottledError(`DynamoDB left ${pending.length} ${what} unprocessed ${round} times; retry`);
      if (round > 0) await sleep(backoffDelay(this.retry, round));
      pending = await send(pending);
    }
  }
}

/**
 * A cancelled transaction whose reasons the adapter has no domain outcome for, as the
 * error to throw: not retryable, the cancellation as its cause.
 */
export function unexpectedCancellation(result: Extract<TransactResult, { ok: false }>, what: string): InternalError {
  return new InternalError(`${what} transaction cancelled for reasons ${result.codes.join(',')}`, { cause: result.error });
}

/** True when DynamoDB cancelled a transaction because it throttled one of its items. */
function throttled(codes: string[]): boolean {
  return codes.some((c) => c === 'ThrottlingError' || c === 'ProvisionedThroughputExceeded' || c === 'RequestLimitExceeded');
}

/**
 * A conditional write's outcome: true when sent, false when its condition failed. The
 * write is sent with `keep` = CONDITION_FAILURE (its other failures are Strata errors).
 */
export async function unlessConditionFails(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}

/** CancellationReasons carry raw AttributeValues even through the document client. */
export function rawItem(item: Record<string, AttributeValue> | undefined): Item | undefined {
  return item && Object.keys(item).length > 0 ? unmarshall(item) : undefined;
}
