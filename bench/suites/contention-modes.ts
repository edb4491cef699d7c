/**
 * The ways of appending to one partition that the contention suite compares, by name.
 * A worker process opens one mode per measurement, as a Lambda environment would hold
 * one engine, and sends one request at a time through it; the harness knows modes only
 * by name, so a new sequencing design is measured by adding an entry here.
 *
 * - `engine`: the real LogEngine on a DynamoLogStore, `appender.appendToPartition`:
 *   whatever the engine's sequencing is at the time of the run; `engine-optimistic`,
 *   `engine-reserve`, `engine-write-first` name it.
 * - `raw`: the conflict-free primitive by hand: `UpdateItem ADD nextOffset :n` on a head
 *   item answers the reserved range (never a condition failure), then a `PutItem` of the
 *   records' item under `attribute_not_exists(pk)`, as large as the engine's tail item.
 * - `optimistic-raw`: today's commit by hand (bench/harness/raw-commit.ts's contended shape): one
 *   TransactWriteItems of the head update conditioned on the head last seen and the
 *   tail item; a lost race is re-sent at the head the failure returned.
 * - `head-index-raw`: sequencing after the write, by hand (a trial, not in the default run;
 *   docs/design.md, "Sequencing after the write: the head as the index"): a `PutItem` of
 *   the records under a key of their own, then one `UpdateItem` of the head that numbers
 *   them and notes `pending.{token} = base`; the writer of every HEAD_INDEX_EVERY-th range
 *   moves the pending entries up to its own to an index item and removes them from the head.
 *
 * Every mode gives up after the append deadline with a 503 (RetryableError), as the
 * engine does, so a starved request ends and is counted.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoLogStore } from '../../lib/aws/dynamo-log-store.js';
import { HEAD_SK, tailSk } from '../../lib/aws/table-keys.js';
import { RetryableError } from '../../lib/core/errors.js';
import { backoffDelay, DEFAULT_RETRY, sleep } from '../../lib/core/retry.js';
import { type EngineOptions, LogEngine } from '../../lib/engine.js';
import { encodeBatch } from '../../lib/format/record-batch-encoder.js';
import type { AppendRecordInput } from '../../lib/sequencing/appender.js';
import { cancelledCommit } from '../harness/raw-commit.js';

/** What one request appends. */
export interface ContentionShape {
  name: string;
  recordsPerRequest: number;
  valueBytes: number;
  /**
   * Pause between a request's answer and the next request of the same worker (default 0:
   * at once): a Lambda environment that gets an event now and then. The first request
   * comes after a random part of it, so that the workers do not append in step.
   */
  pauseMs?: number;
  /**
   * The worker is stopped (SIGSTOP) for each pause after its first request, as Lambda
   * freezes an environment between requests: work the engine left running beside an
   * answer (a write-first index step) waits for the next request instead of ending in
   * the pause.
   */
  frozenPauses?: boolean;
}

export const SINGLE_RECORD_SHAPE: ContentionShape = { name: 'single', recordsPerRequest: 1, valueBytes: 1024 };
export const BATCH_SHAPE: ContentionShape = { name: 'batch', recordsPerRequest: 100, valueBytes: 1024 };

/** One measurement's place in the table. */
export interface ModeScope {
  tableName: string;
  /** Unique per measurement: the topic's name, the raw modes' partition key. */
  scope: string;
  shape: ContentionShape;
  /** How long a request keeps retrying before it fails with 503. */
  deadlineMs: number;
  /**
   * Partitions the mode prepares (default 1), and the one this worker appends to
   * (default 0). The pool's warm-up gives each worker a partition of its own, so that
   * every worker runs every mode's code uncontended before the first window.
   */
  partitions?: number;
  partition?: number;
}

/** One worker's environment of a mode: one request at a time. */
export interface ContentionAppender {
  /** Resolves once the request's records are acknowledged; throws a 503 at the deadline. */
  append(): Promise<void>;
}

export interface ContentionMode {
  /** For the report. */
  label: string;
  /** In the harness, once per measurement, before any worker starts (e.g. create the topic). */
  prepare?(dynamo: DynamoDBClient, scope: ModeScope): Promise<void>;
  /** In a worker: its environment, warm across its requests (cached heads, topic metadata). */
  open(dynamo: DynamoDBClient, scope: ModeScope): Promise<ContentionAppender>;
  /** In the harness afterwards: the records the partition's head says were appended. */
  storedRecords(dynamo: DynamoDBClient, scope: ModeScope): Promise<number>;
}

/** Distinct request payloads a worker rotates through. */
const PAYLOAD_VARIANTS = 4;
/**
 * The largest flushBytes a topic takes (as bench/suites/append.ts's NO_TRIGGERED_FLUSH_BYTES):
 * no append asks for a flush, which on AWS another function would run.
 */
const NO_TRIGGERED_FLUSH_BYTES = 1024 * 1024 * 1024;
const PARTITION = 0;

function topicName(scope: ModeScope): string {
  return `contention-${scope.scope}`;
}

/** The raw modes' partition key of one measurement's partition. */
export function rawPk(scope: ModeScope, partition = 0): string {
  return `BENCH#contention#${scope.scope}${partition === 0 ? '' : `#${partition}`}`;
}

function recordInputs(shape: ContentionShape): AppendRecordInput[][] {
  return Array.from({ length: PAYLOAD_VARIANTS }, () =>
    Array.from({ length: shape.recordsPerRequest }, () => ({ key: null, value: randomBytes(shape.valueBytes) })),
  );
}

/** The request's records encoded once, as the engine's tail item holds them. */
/** A raw mode's partition key on the scope's partition, records per request and batch. */
function rawTarget(scope: ModeScope): { pk: string; count: number; data: Uint8Array } {
  return { pk: rawPk(scope, scope.partition), count: scope.shape.recordsPerRequest, data: encodedBatch(scope.shape) };
}

function encodedBatch(shape: ContentionShape): Uint8Array {
  const now = Date.now();
  const records = Array.from({ length: shape.recordsPerRequest }, () => ({
    key: null,
    value: randomBytes(shape.valueBytes),
    headers: [],
    timestamp: now,
  }));
  return encodeBatch(records, { baseOffset: 0 });
}

async function headNextOffset(dynamo: DynamoDBClient, tableName: string, pk: string): Promise<number> {
  const out = await dynamo.send(
    new GetItemCommand({ TableName: tableName, Key: { pk: { S: pk }, sk: { S: HEAD_SK } }, ConsistentRead: true }),
  );
  return Number(out.Item?.nextOffset?.N ?? 0);
}

/** The attributes of the engine's tail item for records [base, base + count), in the low-level shape. */
export function tailItem(pk: string, base: number, count: number, data: Uint8Array, now: number) {
  const n = (value: number) => ({ N: String(value) });
  return {
    pk: { S: pk },
    sk: { S: tailSk(base + count - 1) },
    baseOffset: n(base),
    lastOffset: n(base + count - 1),
    recordCount: n(count),
    data: { B: data },
    minTimestamp: n(now),
    maxTimestamp: n(now),
    appendedAt: n(now),
    commitId: { S: randomUUID() },
  };
}

/** An engine on the scope's table. */
const engineOn = (dynamo: DynamoDBClient, scope: ModeScope, options: Partial<EngineOptions> = {}) =>
  new LogEngine({ store: new DynamoLogStore(dynamo, scope.tableName), ...options });

/** The real engine with the given sequencing (docs/design.md), or its default, and further options. */
const engineMode = (
  sequencing?: 'optimistic' | 'reserve' | 'write-first',
  extra: { options: Partial<EngineOptions>; label: string } = { options: {}, label: '' },
): ContentionMode => ({
  label: `engine (LogEngine.appendToPartition${sequencing ? `, sequencing: ${sequencing}` : ''}${extra.label})`,
  async prepare(dynamo, scope) {
    await engineOn(dynamo, scope).topics.create({
      name: topicName(scope),
      partitions: scope.partitions ?? 1,
      config: { flushBytes: NO_TRIGGERED_FLUSH_BYTES },
    });
  },
  async open(dynamo, scope) {
    const engine = engineOn(dynamo, scope, {
      appendDeadlineMs: scope.deadlineMs,
      ...(sequencing ? { sequencing } : {}),
      ...extra.options,
    });
    const payloads = recordInputs(scope.shape);
    const topic = topicName(scope);
    const partition = scope.partition ?? PARTITION;
    let next = 0;
    return {
      async append() {
        const records = payloads[next++ % payloads.length]!;
        await engine.appender.appendToPartition(topic, partition, { records });
      },
    };
  },
  async storedRecords(dynamo, scope) {
    // The high watermark: the end of the contiguous prefix (with reservations, the
    // counter also counts offsets reserved by requests still in flight at the end).
    const described = await engineOn(dynamo, scope)
      .topics.describe(topicName(scope))
      .catch(() => undefined);
    return described?.partitionStates[PARTITION]?.highWatermark ?? 0;
  },
});

const rawMode: ContentionMode = {
  label: 'raw: UpdateItem ADD + conditional PutItem',
  async open(dynamo, scope) {
    const { pk, count, data } = rawTarget(scope);
    return {
      async append() {
        const reserved = await dynamo.send(
          new UpdateItemCommand({
            TableName: scope.tableName,
            Key: { pk: { S: pk }, sk: { S: HEAD_SK } },
            UpdateExpression: 'ADD nextOffset :n',
            ExpressionAttributeValues: { ':n': { N: String(count) } },
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        const next = Number(reserved.Attributes?.nextOffset?.N);
        if (!Number.isSafeInteger(next)) throw new Error(`UpdateItem ADD answered no nextOffset: ${JSON.stringify(reserved.Attributes)}`);
        await dynamo.send(
          new PutItemCommand({
            TableName: scope.tableName,
            Item: tailItem(pk, next - count, count, data, Date.now()),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
      },
    };
  },
  storedRecords: (dynamo, scope) => headNextOffset(dynamo, scope.tableName, rawPk(scope)),
};

const optimisticRawMode: ContentionMode = {
  label: 'optimistic raw: conditional TransactWriteItems',
  async open(dynamo, scope) {
    const { pk, count, data } = rawTarget(scope);
    /** The head this environment last saw: warm across requests, like the engine's. */
    let known = 0;
    const attempt = async (expected: number): Promise<{ ok: true } | { ok: false; head?: number }> => {
      const now = Date.now();
      try {
        await dynamo.send(
          new TransactWriteItemsCommand({
            ClientRequestToken: randomUUID(),
            TransactItems: [
              {
                Update: {
                  TableName: scope.tableName,
                  Key: { pk: { S: pk }, sk: { S: HEAD_SK } },
                  UpdateExpression:
                    'SET nextOffset = :next, tailBytes = if_not_exists(tailBytes, :zero) + :bytes, lastAppendAt = :now, ' +
                    'logStartOffset = if_not_exists(logStartOffset, :zero), flushedOffset = if_not_exists(flushedOffset, :zero)',
                  ConditionExpression:
                    expected === 0 ? 'attribute_not_exists(nextOffset) OR nextOffset = :expected' : 'nextOffset = :expected',
                  ExpressionAttributeValues: {
                    ':expected': { N: String(expected) },
                    ':next': { N: String(expected + count) },
                    ':bytes': { N: String(data.byteLength) },
                    ':now': { N: String(now) },
                    ':zero': { N: '0' },
                  },
                  ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
                },
              },
              {
                Put: {
                  TableName: scope.tableName,
                  Item: tailItem(pk, expected, count, data, now),
                  ConditionExpression: 'attribute_not_exists(pk)',
                },
              },
            ],
          }),
        );
        return { ok: true };
      } catch (err) {
        return cancelledCommit(err);
      }
    };
    return {
      async append() {
        const deadline = Date.now() + scope.deadlineMs;
        for (let failures = 0; ; ) {
          const outcome = await attempt(known);
          if (outcome.ok) {
            known += count;
            return;
          }
          failures++;
          if (outcome.head !== undefined) known = outcome.head;
          if (Date.now() >= deadline)
            throw new RetryableError('the partition is contended and the append did not commit before the deadline', 1);
          // The sequencer's policy: re-send at once after a first lost race, back off after more.
          if (outcome.head === undefined || failures > 1) await sleep(backoffDelay(DEFAULT_RETRY, failures));
        }
      },
    };
  },
  storedRecords: (dynamo, scope) => headNextOffset(dynamo, scope.tableName, rawPk(scope)),
};

/** The writer of every this-many-th numbered range moves the head's pending entries up to its own to an index item. */
const HEAD_INDEX_EVERY = 16;

/** The head of a `head-index-raw` partition: numbered ranges whose data is written are `pending` until indexed. */
async function prepareHeadIndex(dynamo: DynamoDBClient, scope: ModeScope): Promise<void> {
  for (let p = 0; p < (scope.partitions ?? 1); p++)
    await dynamo.send(
      new PutItemCommand({
        TableName: scope.tableName,
        Item: { pk: { S: rawPk(scope, p) }, sk: { S: HEAD_SK }, nextOffset: { N: '0' }, numbered: { N: '0' }, pending: { M: {} } },
      }),
    );
}

const headIndexRawMode: ContentionMode = {
  label: 'head index raw: PutItem of the data, then UpdateItem of the head that numbers it (trial)',
  prepare: prepareHeadIndex,
  async open(dynamo, scope) {
    const { pk, count, data } = rawTarget(scope);
    const head = { pk: { S: pk }, sk: { S: HEAD_SK } };
    return {
      async append() {
        // 48 random bits: unique among the partition's live data items (the Put's condition would say otherwise).
        const token = randomBytes(6).toString('base64url');
        const now = Date.now();
        // 1. The data, durable before it has an offset: no other writer uses this key.
        await dynamo.send(
          new PutItemCommand({
            TableName: scope.tableName,
            Item: { ...tailItem(pk, 0, count, data, now), sk: { S: `D#${token}` } },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        // 2. Numbered and committed in one update: the operands are the item's values before it.
        const out = await dynamo.send(
          new UpdateItemCommand({
            TableName: scope.tableName,
            Key: head,
            UpdateExpression: 'SET nextOffset = nextOffset + :n, numbered = numbered + :one, pending.#t = nextOffset',
            ConditionExpression: 'attribute_not_exists(pending.#t)',
            ExpressionAttributeNames: { '#t': token },
            ExpressionAttributeValues: { ':n': { N: String(count) }, ':one': { N: '1' } },
            // Only what changed: the pending map's other entries stay on DynamoDB's side.
            ReturnValues: 'UPDATED_NEW',
          }),
        );
        const next = Number(out.Attributes?.nextOffset?.N);
        if (!Number.isSafeInteger(next)) throw new Error(`the head answered no nextOffset: ${JSON.stringify(out.Attributes)}`);
        const base = next - count;
        // Acknowledged here: every offset below base was numbered after its data was written.
        if (Number(out.Attributes?.numbered?.N) % HEAD_INDEX_EVERY !== 0) return;
        // 3. Every HEAD_INDEX_EVERY-th range's writer indexes the pending ranges up to its own and takes them off the head.
        const read = await dynamo.send(
          new GetItemCommand({ TableName: scope.tableName, Key: head, ConsistentRead: true, ProjectionExpression: 'pending' }),
        );
        const below = Object.entries(read.Item?.pending?.M ?? {})
          .map(([t, v]) => [t, Number(v.N)] as const)
          .filter(([, b]) => b <= base);
        if (below.length === 0) return;
        await dynamo.send(
          new PutItemCommand({
            TableName: scope.tableName,
            Item: {
              pk: { S: pk },
              // Keyed by the last offset of the indexer's own range, the highest of the item's: unique.
              sk: { S: `I#${String(base + count - 1).padStart(20, '0')}` },
              ranges: { M: Object.fromEntries(below.map(([t, b]) => [t, { N: String(b) }])) },
            },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        const names = Object.fromEntries(below.map(([t], i) => [`#r${i}`, t]));
        await dynamo.send(
          new UpdateItemCommand({
            TableName: scope.tableName,
            Key: head,
            UpdateExpression: `REMOVE ${below.map((_, i) => `pending.#r${i}`).join(', ')}`,
            ExpressionAttributeNames: names,
          }),
        );
      },
    };
  },
  storedRecords: (dynamo, scope) => headNextOffset(dynamo, scope.tableName, rawPk(scope)),
};

export const CONTENTION_MODES: Readonly<Record<string, ContentionMode>> = Object.freeze({
  engine: engineMode(),
  'engine-optimistic': engineMode('optimistic'),
  'engine-reserve': engineMode('reserve'),
  'engine-write-first': engineMode('write-first'),
  // Before 2026-12-01: an append on a topic copy past the cache TTL read the topic first.
  'engine-reserve-topic-first': engineMode('reserve', {
    options: { topicStaleAppendMs: 0 },
    label: ', the topic read before the commit once its copy is 1 s old',
  }),
  raw: rawMode,
  'optimistic-raw': optimisticRawMode,
  'head-index-raw': headIndexRawMode,
});

export function contentionMode(name: string): ContentionMode {
  const mode = CONTENTION_MODES[name];
  if (!mode) throw new Error(`unknown contention mode '${name}'; known: ${Object.keys(CONTENTION_MODES).join(', ')}`);
  return mode;
}
