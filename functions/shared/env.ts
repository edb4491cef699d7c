/**
 * Typed readers of the functions' environment, called once at cold start. A missing or
 * malformed variable fails the cold start with a message naming it, not a request later.
 */
import { MAX_APPEND_DEADLINE_MS, MAX_RECOVERY_WINDOW_MS, MIN_TAIL_TTL_MS } from '../../lib/core/constants.js';
import { type TopicConfigPatch, topicConfigPatchSchema } from '../../lib/topics/topic-config.js';

export interface FunctionEnv {
  tableName: string;
  bucketName: string;
  /** Optional endpoint overrides (the local stack, LocalStack); AWS_ENDPOINT_URL_* also work. */
  dynamoEndpoint?: string;
  s3Endpoint?: string;
  appendDeadlineMs?: number;
  /** The compact function the append function invokes when a tail is due for a flush (STRATA_COMPACT_FUNCTION_NAME). */
  compactFunctionName?: string;
  /**
   * This function's own name (AWS_LAMBDA_FUNCTION_NAME, which Lambda sets): the compact
   * function invokes itself with it to fan out and to continue a pass.
   */
  functionName?: string;
  lambdaEndpoint?: string;
  /** Defaults for new topics' config (STRATA_TOPIC_DEFAULTS, JSON), e.g. a deployment-wide retention. */
  topicDefaults?: TopicConfigPatch;
  /** How appends get their offsets (STRATA_SEQUENCING: optimistic, reserve or write-first; docs/design.md). */
  sequencing?: Sequencing;
  /**
   * The staging tier's bucket (STRATA_STAGING_BUCKET): an S3 Express One Zone directory
   * bucket (`name--azid--x-s3`) on AWS. Unset: staged batches go to the segment bucket.
   */
  stagingBucketName?: string;
  /** Whether new staged batches go to the staging bucket (STRATA_STAGING_WRITES, default true; false drains it). */
  stagingWrites?: boolean;
  /** Per-topic EMF metrics (STRATA_TOPIC_METRICS, default true; functions/shared/observability.ts TOPIC_METRICS). */
  topicMetrics?: boolean;
  /** Tail items expire through DynamoDB TTL this long after their append (STRATA_TAIL_TTL_MS, ≥ 1 h); unset: flushes delete them. */
  tailTtlMs?: number;
  /**
   * How far back the table can be restored (STRATA_RECOVERY_WINDOW_MS, the construct's
   * recoveryWindow): objects that leave the log are kept at least this long, so a
   * restored table finds every object it references (docs/operations.md). Unset: 0.
   */
  recoveryWindowMs?: number;
  /**
   * The push endpoint's WebSocket URL (STRATA_PUSH_URL, `wss://…`), which `GET /v1/push`
   * tells consumers; unset: the deployment has no push endpoint.
   */
  pushUrl?: string;
  /**
   * Where the append function posts notifications (STRATA_PUSH_CALLBACK_URL: the
   * WebSocket stage's `https://{api}.execute-api.{region}.amazonaws.com/{stage}`).
   */
  pushCallbackUrl?: string;
  /** No second notification of a partition within this long (STRATA_PUSH_QUIET_MS, default DEFAULT_PUSH_QUIET_MS). */
  pushQuietMs?: number;
}

export function readEnv(env: NodeJS.ProcessEnv = process.env): FunctionEnv {
  const result: FunctionEnv = {
    tableName: required(env, 'STRATA_TABLE_NAME'),
    bucketName: required(env, 'STRATA_BUCKET_NAME'),
  };
  if (env.STRATA_DYNAMODB_ENDPOINT) result.dynamoEndpoint = url(env, 'STRATA_DYNAMODB_ENDPOINT');
  if (env.STRATA_S3_ENDPOINT) result.s3Endpoint = url(env, 'STRATA_S3_ENDPOINT');
  if (env.STRATA_COMPACT_FUNCTION_NAME) result.compactFunctionName = functionName(env, 'STRATA_COMPACT_FUNCTION_NAME');
  if (env.AWS_LAMBDA_FUNCTION_NAME) result.functionName = functionName(env, 'AWS_LAMBDA_FUNCTION_NAME');
  if (env.STRATA_LAMBDA_ENDPOINT) result.lambdaEndpoint = url(env, 'STRATA_LAMBDA_ENDPOINT');
  if (env.STRATA_APPEND_DEADLINE_MS) result.appendDeadlineMs = wholeNumber(env, 'STRATA_APPEND_DEADLINE_MS', 1, MAX_APPEND_DEADLINE_MS);
  if (env.STRATA_TOPIC_DEFAULTS) result.topicDefaults = topicDefaults(env, 'STRATA_TOPIC_DEFAULTS');
  if (env.STRATA_SEQUENCING) result.sequencing = sequencing(env, 'STRATA_SEQUENCING');
  if (env.STRATA_STAGING_BUCKET) result.stagingBucketName = env.STRATA_STAGING_BUCKET;
  if (env.STRATA_STAGING_WRITES) result.stagingWrites = bool(env, 'STRATA_STAGING_WRITES');
  if (env.STRATA_TOPIC_METRICS) result.topicMetrics = bool(env, 'STRATA_TOPIC_METRICS');
  if (env.STRATA_TAIL_TTL_MS) result.tailTtlMs = wholeNumber(env, 'STRATA_TAIL_TTL_MS', MIN_TAIL_TTL_MS);
  if (env.STRATA_PUSH_URL) result.pushUrl = url(env, 'STRATA_PUSH_URL');
  if (env.STRATA_PUSH_CALLBACK_URL) result.pushCallbackUrl = url(env, 'STRATA_PUSH_CALLBACK_URL');
  if (env.STRATA_PUSH_QUIET_MS) result.pushQuietMs = wholeNumber(env, 'STRATA_PUSH_QUIET_MS', 0, 60_000);
  if (env.STRATA_RECOVERY_WINDOW_MS) result.recoveryWindowMs = wholeNumber(env, 'STRATA_RECOVERY_WINDOW_MS', 0, MAX_RECOVERY_WINDOW_MS);
  return result;
}

/** A JSON object of topic config settings, validated like a PATCH of a topic's config. */
export function topicDefaults(env: NodeJS.ProcessEnv, name: string): TopicConfigPatch {
  let value: unknown;
  try {
    value = JSON.parse(env[name]!);
  } catch {
    throw new Error(
      `environment variable ${name} must be a JSON object of topic settings, e.g. {"retentionMs":86400000}; got '${env[name]}'`,
    );
  }
  const parsed = topicConfigPatchSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`environment variable ${name} has invalid topic settings: ${issues}`);
  }
  return parsed.data;
}

/** The engine's sequencing modes (docs/design.md). */
export const SEQUENCINGS = ['optimistic', 'reserve', 'write-first'] as const;
export type Sequencing = (typeof SEQUENCINGS)[number];

/** One of the engine's sequencing modes. */
export function sequencing(env: NodeJS.ProcessEnv, name: string): Sequencing {
  const value = env[name];
  if (!SEQUENCINGS.includes(value as Sequencing)) {
    throw new Error(
      `environment variable ${name} must be one of ${SEQUENCINGS.map((s) => `'${s}'`).join(', ')} (docs/design.md); got '${value}'`,
    );
  }
  return value as Sequencing;
}

function bool(env: NodeJS.ProcessEnv, name: string): boolean {
  const value = env[name];
  if (value !== 'true' && value !== 'false') throw new Error(`environment variable ${name} must be 'true' or 'false'; got '${value}'`);
  return value === 'true';
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value)
    throw new Error(`environment variable ${name} is not set; the CDK stack sets it (or set it by hand when running a handler yourself)`);
  return value;
}

/**
 * A Lambda function as Invoke takes it: a name (`strata-compact`), or a full or partial
 * ARN (`arn:aws:lambda:us-east-1:123456789012:function:strata-compact`,
 * `123456789012:function:strata-compact`), optionally with a version or alias.
 */
const FUNCTION_NAME =
  /^(?:(?:arn:aws[a-z-]*:lambda:[a-z0-9-]+:)?\d{12}:function:)?[A-Za-z0-9_-]{1,64}(?::(?:\$LATEST|[A-Za-z0-9_-]{1,128}))?$/;

function functionName(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]!;
  if (!FUNCTION_NAME.test(value)) {
    throw new Error(
      `environment variable ${name} must be a Lambda function name (letters, digits, - and _, at most 64) or ARN; got '${value}'`,
    );
  }
  return value;
}

function url(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]!;
  try {
    new URL(value);
  } catch {
    throw new Error(`environment variable ${name} is '${value}', not a URL (e.g. http://127.0.0.1:8000)`);
  }
  return value;
}

/** A whole number in [min, max]; the message gives the range, or the floor when there is no ceiling. */
function wholeNumber(env: NodeJS.ProcessEnv, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(env[name]);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
    throw new Error(`environment variable ${name} must be a whole number ${range}; got '${env[name]}'`);
  }
  return value;
}
