/**
 * What each function may do, as data: the construct turns these into IAM statements and
 * the template tests compare the synthesized policies with them. Each list names only
 * the calls the function's code makes (lib/aws/dynamo-log-store.ts,
 * lib/aws/s3-object-store.ts); when the engine starts making a new call, add its action
 * here, or the function fails on AWS with AccessDenied (the local stack cannot catch it).
 *
 * DynamoDB's TransactWriteItems has no IAM action of its own: each action inside a
 * transaction is authorized as PutItem / UpdateItem / DeleteItem / ConditionCheckItem.
 * S3's DeleteObjects is authorized per key as s3:DeleteObject.
 */
import type { FunctionId } from './function-bundling.js';

/** The S3 prefix under which every object Strata writes lives (lib/aws/table-keys.ts). */
export const OBJECT_PREFIX = 'topics/';

/**
 * Key patterns relative to the bucket. Topic names are `[a-zA-Z0-9._-]`, so a `*`
 * cannot reach outside `topics/`.
 */
export const OBJECT_PATTERNS = {
  /** Every segment and staged batch: `topics/{topic}/{topicId}/{p}/...`. */
  all: `${OBJECT_PREFIX}*`,
  /** Staged append batches only: `topics/{topic}/{topicId}/{p}/staged/{id}.batch`. */
  staged: `${OBJECT_PREFIX}*/staged/*.batch`,
} as const;

export interface FunctionPermissions {
  /** Actions on the table (and nothing else). */
  table: readonly string[];
  /** Object actions, each on a key pattern of the bucket. */
  objects: readonly { actions: readonly string[]; pattern: string }[];
  /** s3:ListBucket, restricted by an `s3:prefix` condition to `topics/`. */
  listObjects: boolean;
}

export const FUNCTION_PERMISSIONS: Record<FunctionId, FunctionPermissions> = {
  // Topic create/patch/delete (a delete marks every partition's head: UpdateItem), appends (head update, tail put, producer state), group
  // offset commits (fenced by a ConditionCheck on the group's generation) and group
  // membership (join, heartbeat, leave); reads back a head, a tail item, a producer or
  // group state. Writes a staged batch to S3 before committing a large append; never reads one.
  // With push (lib/push/fanout.ts): the partition's subscribers (Query), its quiet
  // marker (UpdateItem), a gone connection's subscription (DeleteItem, UpdateItem).
  append: {
    table: [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:Query',
    ],
    objects: [{ actions: ['s3:PutObject'], pattern: OBJECT_PATTERNS.staged }],
    listObjects: false,
  },
  // Topic list/describe (Query, BatchGetItem of heads and partition stats), record reads
  // (GetItem of the head, Query of the tail and manifests), group state (GetItem) and
  // offsets (Query); segments and staged batches from S3. Writes nothing.
  read: {
    table: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'],
    objects: [{ actions: ['s3:GetObject'], pattern: OBJECT_PATTERNS.all }],
    listObjects: false,
  },
  // Flush: heads and partition stats (GetItem, BatchGetItem), topics and tails (Query),
  // the flush commit (UpdateItem + PutItem), removal of flushed tail items
  // (BatchWriteItem). Retention and compaction commits (UpdateItem, PutItem, DeleteItem
  // of manifests), garbage records and deleted topics' items (Query, BatchWriteItem);
  // list, read, write and delete segment and staged objects.
  compact: {
    table: [
      'dynamodb:GetItem',
      'dynamodb:BatchGetItem',
      'dynamodb:Query',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:BatchWriteItem',
    ],
    objects: [{ actions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], pattern: OBJECT_PATTERNS.all }],
    listObjects: true,
  },
};

/**
 * The push function (functions/push/handler.ts, lib/aws/dynamo-push-store.ts): topics
 * (GetItem) and heads (BatchGetItem) for the watermarks, a connection's item (GetItem,
 * UpdateItem, DeleteItem) and its subscription items (BatchWriteItem). No objects.
 */
export const PUSH_PERMISSIONS: FunctionPermissions = {
  table: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
  objects: [],
  listObjects: false,
};
