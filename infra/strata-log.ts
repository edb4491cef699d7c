/**
 * `StrataLog`: the whole of Strata as one CDK construct. A DynamoDB table (the same
 * definition as the local stack's), an S3 bucket for segments, the append, read and
 * compact functions, an HTTP API with one route per entry of functions/shared/routes.ts
 * (IAM auth unless told otherwise) and/or Lambda function URLs for the append and read
 * functions (`endpoints`), the compaction schedule with retries and a dead-letter queue,
 * and a dashboard with alarms.
 *
 * @example
 * const log = new StrataLog(stack, 'Log', { alarmActions: [new SnsAction(topic)] });
 * log.grantInvokeApi(myService.role);  // lets a role call the API with SigV4
 *
 * @example
 * const log = new StrataLog(stack, 'Log', { endpoints: 'function-urls' });
 * log.grantInvokeUrl(myService.role);  // SigV4 for service `lambda`, to log.functionUrls.{append,read}.url
 */
import { Annotations, type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ROUTES } from '../functions/shared/routes.js';
import {
  DEFAULT_RECOVERY_WINDOW_MS,
  DEFAULT_TAIL_TTL_MS,
  FLUSH_LAG_ALARM_MS,
  MAX_RECOVERY_WINDOW_MS,
  MAX_WAIT_MS,
  MIN_TAIL_TTL_MS,
} from '../lib/core/constants.js';
import { type TopicConfigPatch, topicConfigPatchSchema } from '../lib/topics/topic-config.js';
import { FUNCTION_IDS, type FunctionId } from './function-bundling.js';
import { type StrataFunctionProps, strataFunction } from './function-code.js';
import { type GrantTarget, grantRoutes } from './grants.js';
import { type MonitoringAlarmOptions, type MonitoringProps, StrataMonitoring } from './monitoring.js';
import { FUNCTION_PERMISSIONS, type FunctionPermissions, OBJECT_PREFIX, PUSH_PERMISSIONS } from './permissions.js';
import { PUSH_STAGE_NAME, PushApi } from './push-api.js';
import { STAGING_TOPIC_DEFAULTS, StagingTier } from './staging-tier.js';
import { TABLE_DEFINITION } from './table-definition.js';

/**
 * Who may call the API.
 * - `iam` (the default): SigV4-signed requests from principals allowed
 *   `execute-api:Invoke` (see `grantInvokeApi`).
 * - `jwt`: a bearer token from an OIDC issuer (Cognito, Auth0, ...).
 * - `none`: anyone who knows the URL. Only when asked for, with the reason, which is
 *   recorded as the acknowledgement of the cdk-nag finding it raises.
 */
export type StrataAuth =
  | { type: 'iam' }
  | { type: 'jwt'; issuer: string; audience: string[]; identitySource?: string[] }
  | { type: 'none'; reason: string };

/**
 * How callers reach the append and read functions over HTTPS.
 * - `api-gateway` (the default): one HTTP API in front of both, with the `auth` prop's
 *   authorizer, stage throttling, access logs, and a custom domain if you add one.
 *   $1.00 per million requests (metered per 512 KB), 30 s and 6 MB per request.
 * - `function-urls`: a Lambda function URL per function, AWS_IAM auth (SigV4 for service
 *   `lambda`), the read function's with response streaming (InvokeMode RESPONSE_STREAM:
 *   up to 200 MB an answer) and a timeout up to 15 minutes. Nothing to pay beyond the
 *   functions; but no throttling other than reserved concurrency, no custom domain
 *   without CloudFront, no JWT or open auth, and two URLs: the client sends appends and
 *   reads each to its function's URL (`{ appendUrl, readUrl }`).
 * - `both`: the API and the URLs, e.g. to move callers from one to the other. The
 *   functions keep API Gateway's timeouts (29 s) unless told otherwise.
 */
export type StrataEndpoints = 'api-gateway' | 'function-urls' | 'both';

export interface StrataFunctionOptions {
  /** MB; CPU grows with it. @default 1024 */
  memorySize?: number;
  /**
   * @default 29 s for append and read (under API Gateway's 30 s); with endpoints
   * 'function-urls', 2 minutes for read (FUNCTION_URL_READ_TIMEOUT); 5 minutes for compact
   */
  timeout?: Duration;
  /**
   * Reserved concurrency: both a cap on this function and capacity set aside for it
   * from the account's pool. Unset (the account's shared pool) by default, because a
   * reservation fails the deploy where the account's quota cannot spare it (Lambda keeps
   * 100 unreserved; new accounts may have a quota of 10). To keep consumers and the
   * compact fan-out from starving appends, cap `read` and `compact` and/or reserve for
   * `append` (infra/README.md, "Concurrency guards"); the synth refuses reservations
   * that leave less than 100 of `accountConcurrency` unreserved.
   */
  reservedConcurrency?: number;
}

export interface StrataLogProps {
  /**
   * What happens to the table and the bucket when they leave the stack. RETAIN keeps the
   * data; DESTROY also turns deletion protection off (empty the bucket first: CloudFormation
   * cannot delete a bucket that holds objects). @default RemovalPolicy.RETAIN
   */
  removalPolicy?: RemovalPolicy;
  /** DynamoDB deletion protection. @default true unless removalPolicy is DESTROY */
  deletionProtection?: boolean;
  /** Who may call the API Gateway API. Function URLs are always AWS_IAM. @default { type: 'iam' } */
  auth?: StrataAuth;
  /**
   * API Gateway, function URLs, or both (see StrataEndpoints for what each gives and
   * lacks). The default keeps the API: deployments made before function URLs existed
   * keep their URL, their callers' `execute-api` signatures and grants, throttling and
   * custom domains; switching a live stack to 'function-urls' deletes the API, so go
   * through 'both' and move the callers first. @default 'api-gateway'
   */
  endpoints?: StrataEndpoints;
  /** Stage-wide request rate (per second) and burst (API Gateway only). @default 1000 / 2000 */
  throttle?: { rateLimit: number; burstLimit: number };
  /** When the compact function runs (flush, retention, compaction). @default every 5 minutes */
  compactionSchedule?: events.Schedule;
  /** Per-function memory, timeout and reserved concurrency. */
  functions?: Partial<Record<FunctionId, StrataFunctionOptions>>;
  /**
   * Settings every new topic gets unless its create request says otherwise (any subset of
   * a topic's config: `retentionMs`, `retentionBytes`, `cleanupPolicy`, `compression`, …).
   * @default the built-in defaults (README, "Limits and defaults")
   */
  topicDefaults?: TopicConfigPatch;
  /**
   * How appends get their offsets (docs/design.md). A Lambda environment serves one
   * request at a time, so concurrent appends to a partition come from separate
   * environments: 'reserve' (reserve, fill, seal) gives each its offsets from an atomic
   * counter and never cancels one; 'optimistic' (one conditional transaction per append)
   * makes them race, and the losers pay and retry (docs/benchmarks.md, contention);
   * 'write-first' (write first, number after) writes each append's data under a key of its
   * own and numbers it in one update of the head, so no writer waits for another and
   * nothing is sealed; each takes two DynamoDB calls per uncontended append, but only
   * 'write-first' keeps its throughput as environments are added without waiting for
   * slower ones (docs/benchmarks.md). Any can be switched to on a live stack. @default 'write-first'
   */
  sequencing?: 'optimistic' | 'reserve' | 'write-first';
  /**
   * Tail items expire through DynamoDB TTL this long after their append: a flush leaves
   * the items it moved to S3 for TTL to remove for free, instead of paying a delete as
   * large as the write (docs/design.md, "Flushed items expire"). Unflushed items never
   * expire: the flusher extends the TTL of any past half of it. At least one hour, and
   * more than twice the flush-lag alarm's threshold. @default Duration.days(1)
   */
  tailTtl?: Duration;
  /**
   * How far back the table can be restored, and how long everything it may then
   * reference is kept: point-in-time recovery keeps this period (whole days, 1 to 35),
   * and objects that leave the log (replaced and retained segments, flushed staged
   * batches, deleted topics') are deleted this long plus 20 minutes after they left it,
   * so a table restored alone reads every record it held, with no S3 step
   * (docs/operations.md, "Restore"). Costs S3 storage: what retention and compaction
   * drop stays this much longer (docs/cost.md). @default Duration.days(1)
   */
  recoveryWindow?: Duration;
  /**
   * The account's Lambda concurrency quota in this region (Service Quotas, "Concurrent
   * executions"): the AccountConcurrency alarm fires at 80% of it, and reservations are
   * checked against it. @default 1000
   */
  accountConcurrency?: number;
  /**
   * The push endpoint (docs/push.md): an API Gateway WebSocket API with IAM on `$connect`
   * and a small push function; the append function notifies subscribed consumers, and
   * `GET /v1/push` tells clients where it is. The client's consumer then waits there
   * instead of holding a long-poll (a billed read function) at the high watermark: about
   * $0.07 a month per idle connection against $36 per partition (docs/cost.md). Not
   * available with `auth: jwt` (WebSocket APIs have no JWT authorizer); consumers
   * long-poll there. @default true (false with auth jwt)
   */
  push?: boolean;
  /**
   * X-Ray active tracing of the functions, with the Powertools Tracer's subsegments per
   * invocation and per AWS SDK call. X-Ray's default sampling (1 request a second, then
   * 5% of the rest) records about 3.5 million traces a month at 8 requests a second ($17
   * at $5 per million past the free 100,000) and 134 million at 1,000 a second ($670):
   * lower the rate with an X-Ray sampling rule for the functions, or turn tracing off.
   * @default true
   */
  tracing?: boolean;
  /**
   * Per-topic EMF metrics (records and bytes appended and read, consumer lag; the
   * dashboard's per-topic graphs): five custom metrics per active topic, about $1.50 a
   * topic a month. Turn them off for deployments with many topics. @default true
   */
  topicMetrics?: boolean;
  /** Powertools log level of the functions. @default INFO */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Retention of the functions' and the API's log groups. @default one month */
  logRetention?: logs.RetentionDays;
  /** Where S3 server access logs of the segment bucket go; none by default (see infra/README.md). */
  serverAccessLogsBucket?: s3.IBucket;
  /** Actions (an SNS topic, ...) for every alarm. */
  alarmActions?: cloudwatch.IAlarmAction[];
  /** Alarm thresholds. */
  alarms?: MonitoringAlarmOptions;
  /**
   * Turns the S3 Express One Zone staging tier on (docs/design.md, "The staging tier"):
   * a directory bucket in this Availability Zone, by zone id (`use1-az4`; ZoneId in `aws
   * ec2 describe-availability-zones`), takes the batches of staged appends (single-digit
   * ms PUTs, $0.00113 per 1,000), committed by pointer; segments stay in the S3 Standard
   * bucket. New topics then get stageBytes EXPRESS_STAGE_BYTES (4 KiB) unless
   * `topicDefaults` names one. One zone: pick the one the functions run most in; a zone
   * outage fails staged appends until it is back or the tier is drained. @default off
   */
  stagingAvailabilityZoneId?: string;
  /**
   * Whether new staged batches go to the staging tier (with stagingAvailabilityZoneId).
   * `false` drains it before removing it: new batches are staged in the Standard bucket,
   * while what is in the tier is still read, flushed and collected; remove the zone id
   * once a flush interval (and the alarm's flush lag) has passed. @default true
   */
  stagingWrites?: boolean;
}

/** API Gateway HTTP APIs wait at most 30 s for an integration. */
const API_GATEWAY_TIMEOUT_SECONDS = 30;
const HTTP_TIMEOUT = Duration.seconds(29);
/**
 * The read function's timeout when only function URLs serve it. Reads today answer at
 * most MAX_READ_MAX_BYTES and wait at most MAX_WAIT_MS, well inside 29 s; a streamed
 * answer is allowed up to 200 MB, and past its first 6 MB Lambda streams at most 2 MB/s,
 * so the largest takes about 100 s. A longer timeout costs nothing unless a read hangs.
 */
export const FUNCTION_URL_READ_TIMEOUT = Duration.minutes(2);
/** Lambda's longest timeout, what a function URL allows. */
const LAMBDA_MAX_TIMEOUT_SECONDS = 15 * 60;
const DEFAULTS: Record<FunctionId, Required<Omit<StrataFunctionOptions, 'reservedConcurrency'>>> = {
  append: { memorySize: 1024, timeout: HTTP_TIMEOUT },
  read: { memorySize: 1024, timeout: HTTP_TIMEOUT },
  compact: { memorySize: 1024, timeout: Duration.minutes(5) },
};
/** Lambda's default concurrency quota per account and region. */
const DEFAULT_ACCOUNT_CONCURRENCY = 1000;
/** What Lambda keeps unreserved in every account: a reservation may not go below it. */
const MIN_UNRESERVED_CONCURRENCY = 100;
/** The API's one stage (auto-deployed); execute-api ARNs name it. */
const API_STAGE_NAME = '$default';
/** Retries of an asynchronous compact invocation (scheduled or from append) before the DLQ. */
const COMPACT_RETRY_ATTEMPTS = 2;
const COMPACT_MAX_EVENT_AGE = Duration.hours(1);
/** The push function answers subscribe, ping and disconnect: a few DynamoDB calls. */
const PUSH_MEMORY_MB = 256;
const PUSH_TIMEOUT = Duration.seconds(10);
/** Stage throttling of the HTTP API and the push endpoint, unless `throttle` says otherwise. */
const DEFAULT_THROTTLE = { rateLimit: 1000, burstLimit: 2000 };

export class StrataLog extends Construct {
  readonly table: dynamodb.Table;
  readonly bucket: s3.Bucket;
  /**
   * The functions: a `NodejsFunction` bundled at synth inside this repository, a
   * `lambda.Function` of the prebuilt bundle from the installed package (function-code.ts).
   */
  readonly functions: Record<FunctionId, lambda.Function>;
  /** The API Gateway HTTP API; undefined with endpoints 'function-urls'. */
  readonly api: apigwv2.HttpApi | undefined;
  /**
   * The append and read functions' URLs (AWS_IAM; the read one streams), with endpoints
   * 'function-urls' or 'both'. Their `url`s end with a slash.
   */
  readonly functionUrls: { append: lambda.FunctionUrl; read: lambda.FunctionUrl } | undefined;
  /** Failed asynchronous compact invocations (after their retries). */
  readonly deadLetterQueue: sqs.Queue;
  readonly schedule: events.Rule;
  readonly monitoring: StrataMonitoring;
  /** The S3 Express staging tier, with stagingAvailabilityZoneId. */
  readonly staging: StagingTier | undefined;
  /** The API's base URL, e.g. `https://abc123.execute-api.eu-west-1.amazonaws.com`; undefined without the API. */
  readonly url: string | undefined;
  /** The push endpoint (WebSocket API and its function), unless `push: false` or auth jwt. */
  readonly push: PushApi | undefined;
  /** The push endpoint's function, with `push`. */
  readonly pushFunction: lambda.Function | undefined;
  private readonly authType: StrataAuth['type'];

  constructor(scope: Construct, id: string, props: StrataLogProps = {}) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const auth = props.auth ?? { type: 'iam' };
    this.authType = auth.type;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    // Log groups hold no state worth keeping once the stack is gone.
    const logRemoval = RemovalPolicy.DESTROY;
    const recoveryDays = checkRecoveryWindow(props.recoveryWindow ?? Duration.millis(DEFAULT_RECOVERY_WINDOW_MS));

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TABLE_DEFINITION.partitionKey.name, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_DEFINITION.sortKey.name, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_DEFINITION.timeToLiveAttribute,
      pointInTimeRecoverySpecification: {
        pointInTimeRecoveryEnabled: TABLE_DEFINITION.pointInTimeRecovery,
        recoveryPeriodInDays: recoveryDays,
      },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      deletionProtection: props.deletionProtection ?? removalPolicy !== RemovalPolicy.DESTROY,
      removalPolicy,
    });

    this.bucket = new s3.Bucket(this, 'Segments', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: false,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ id: 'abort-incomplete-multipart-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      ...(props.serverAccessLogsBucket
        ? { serverAccessLogsBucket: props.serverAccessLogsBucket, serverAccessLogsPrefix: 'strata-segments/' }
        : {}),
      removalPolicy,
    });
    if (!props.serverAccessLogsBucket) {
      Validations.of(this.bucket).acknowledge({
        id: 'AwsSolutions-S1',
        reason:
          "Server access logs are opt-in (serverAccessLogsBucket): only the three functions' roles can reach the bucket, " +
          'and a log object per request would multiply the PUTs of a busy log. Use CloudTrail S3 data events for an audit trail.',
      });
    }

    this.deadLetterQueue = new sqs.Queue(this, 'CompactDeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is itself the dead-letter queue of the compact function and its schedule: nothing consumes it to fail ' +
        'again, messages are inspected and redriven by hand (docs/operations.md), and the DeadLetterQueueDepth alarm watches it.',
    });

    const endpoints = props.endpoints ?? 'api-gateway';
    const withApi = endpoints !== 'function-urls';
    const withUrls = endpoints !== 'api-gateway';
    // Without API Gateway, nothing cuts a request at 30 s: reads get room to stream.
    const defaults = withApi ? DEFAULTS : { ...DEFAULTS, read: { ...DEFAULTS.read, timeout: FUNCTION_URL_READ_TIMEOUT } };
    const fnOptions = (fn: FunctionId) => ({ ...defaults[fn], ...props.functions?.[fn] });
    this.checkHttpTimeouts(fnOptions('append').timeout, fnOptions('read').timeout, withApi);
    const compact = this.createFunction('compact', fnOptions('compact'), props, logRetention, logRemoval, {
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: COMPACT_RETRY_ATTEMPTS,
      maxEventAge: COMPACT_MAX_EVENT_AGE,
    });
    Validations.of(compact).acknowledge({
      id: 'Serverless-LambdaAsyncFailureDestination',
      reason:
        'Failed asynchronous invocations go to the dead-letter queue through DeadLetterConfig (with the EventInvokeConfig retries ' +
        'and max event age); an on-failure destination to the same queue would deliver each failure twice.',
    });
    const append = this.createFunction('append', fnOptions('append'), props, logRetention, logRemoval, {});
    // Appends are sequenced by the append function only (reads and flushes work the same
    // with either sequencer).
    append.addEnvironment('STRATA_SEQUENCING', props.sequencing ?? 'write-first');
    this.staging = props.stagingAvailabilityZoneId
      ? new StagingTier(this, 'Staging', {
          availabilityZoneId: props.stagingAvailabilityZoneId,
          removalPolicy,
          recoveryWindowDays: recoveryDays,
        })
      : undefined;
    // With the tier, batches above a few KiB are cheaper staged than inline (EXPRESS_STAGE_BYTES).
    const stagingWrites = this.staging !== undefined && props.stagingWrites !== false;
    const topicDefaults = { ...(stagingWrites ? STAGING_TOPIC_DEFAULTS : {}), ...props.topicDefaults };
    if (Object.keys(topicDefaults).length > 0) {
      // Topics are created by the append function only.
      append.addEnvironment('STRATA_TOPIC_DEFAULTS', JSON.stringify(validTopicDefaults(topicDefaults)));
    }
    // The append function writes tail items (with their TTL); the compact function flushes
    // them and keeps unflushed ones alive.
    const tailTtl = checkTailTtl(props.tailTtl ?? Duration.millis(DEFAULT_TAIL_TTL_MS), props.alarms?.flushLagAfter);
    for (const fn of [append, compact]) fn.addEnvironment('STRATA_TAIL_TTL_MS', String(tailTtl.toMilliseconds()));
    // Only GC deletes what left the log: it keeps it as long as the table can be restored to before.
    compact.addEnvironment('STRATA_RECOVERY_WINDOW_MS', String(Duration.days(recoveryDays).toMilliseconds()));
    // Behind a streaming URL the read function needs the streaming entry, which also
    // answers API Gateway's buffered invocations (functions/shared/streaming.ts).
    const read = this.createFunction(
      'read',
      fnOptions('read'),
      props,
      logRetention,
      logRemoval,
      withUrls ? { handler: 'streamingHandler' } : {},
    );
    this.functions = { append, read, compact };
    checkReservations(
      FUNCTION_IDS.map((fn) => [fn, fnOptions(fn).reservedConcurrency] as const),
      props.accountConcurrency ?? DEFAULT_ACCOUNT_CONCURRENCY,
    );
    for (const fn of [append, read]) {
      Validations.of(fn).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          'Invoked synchronously only (API Gateway, the function URL): a dead-letter queue applies to asynchronous invocations, ' +
          'and a failed request is answered to its caller, who retries.',
      });
    }

    for (const fn of FUNCTION_IDS) this.grantStorage(fn, this.functions[fn]);
    if (this.staging) {
      // Appends stage there, reads fetch staged batches, compact flushes and collects them.
      for (const fn of FUNCTION_IDS) {
        this.functions[fn].addEnvironment('STRATA_STAGING_BUCKET', this.staging.bucketName);
        this.staging.grantSessions(this.functions[fn]);
      }
      if (!stagingWrites) append.addEnvironment('STRATA_STAGING_WRITES', 'false');
    }
    // Asynchronous flush requests (InvocationType Event) on the unqualified function only:
    // `grantInvoke` would also allow every version and alias (`arn:...:function:name:*`).
    append.addEnvironment('STRATA_COMPACT_FUNCTION_NAME', compact.functionName);
    append.addToRolePolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [compact.functionArn] }));
    // The compact function fans a scheduled run out to one invocation per partition and
    // continues a pass that hit its bound by invoking itself. A policy of its own: in the
    // role's default policy, which the function depends on, its own ARN would be a cycle.
    new iam.Policy(this, 'CompactSelfInvoke', {
      roles: [compact.role!],
      statements: [new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [compact.functionArn] })],
    });

    this.schedule = new events.Rule(this, 'CompactSchedule', {
      description: 'Runs the Strata compact function: flushes due tails to S3 segments, retention, compaction',
      schedule: props.compactionSchedule ?? events.Schedule.rate(Duration.minutes(5)),
      targets: [
        new targets.LambdaFunction(compact, {
          retryAttempts: COMPACT_RETRY_ATTEMPTS,
          maxEventAge: COMPACT_MAX_EVENT_AGE,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });

    this.api = withApi ? this.createApi(auth, props, logRetention, logRemoval) : undefined;
    this.url = this.api?.apiEndpoint;
    if (props.push === true && auth.type === 'jwt') {
      throw new Error(
        'StrataLog push needs IAM auth (or none): API Gateway WebSocket APIs have no JWT authorizer. Drop push, or use auth iam',
      );
    }
    const withPush = props.push ?? auth.type !== 'jwt';
    if (withPush) {
      this.pushFunction = this.createFunction(
        'push',
        { memorySize: PUSH_MEMORY_MB, timeout: PUSH_TIMEOUT },
        props,
        logRetention,
        logRemoval,
        {},
      );
      this.grantTable(this.pushFunction, PUSH_PERMISSIONS);
      this.push = new PushApi(this, 'Push', {
        handler: this.pushFunction,
        auth: auth.type === 'none' ? 'none' : 'iam',
        throttle: props.throttle ?? DEFAULT_THROTTLE,
        logRetention,
        logRemoval,
      });
      Validations.of(this.pushFunction).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason:
          "Invoked synchronously only (the WebSocket API's routes): a failed frame is answered with an error frame, and the client retries.",
      });
      // The append function posts `moved` frames to the stage's connections; the read
      // function tells clients where the endpoint is (GET /v1/push).
      append.addEnvironment('STRATA_PUSH_CALLBACK_URL', this.push.callbackUrl);
      read.addEnvironment('STRATA_PUSH_URL', this.push.url);
      this.push.grantPost(append);
      Validations.of(append.role!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${this.logicalIdOf(this.push.api)}>/${PUSH_STAGE_NAME}/POST/@connections/*]`,
        reason:
          "execute-api:ManageConnections on this WebSocket stage's @connections only: a connection id is known at run time, so the id is the wildcard.",
      });
    }
    this.functionUrls = withUrls
      ? {
          append: append.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM, invokeMode: lambda.InvokeMode.BUFFERED }),
          // Streamed: an answer may pass the 6 MB of a buffered invocation (up to 200 MB).
          read: read.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.AWS_IAM, invokeMode: lambda.InvokeMode.RESPONSE_STREAM }),
        }
      : undefined;
    // No CORS on the URLs: the API has none either (the clients are servers, not browsers).

    this.monitoring = new StrataMonitoring(this, 'Monitoring', {
      functions: this.functions,
      ...(this.api ? { api: this.api } : {}),
      functionUrls: withUrls,
      table: this.table,
      deadLetterQueue: this.deadLetterQueue,
      ...(this.pushFunction ? { pushFunction: this.pushFunction } : {}),
      ...(props.alarmActions ? { alarmActions: props.alarmActions } : {}),
      limits: Object.fromEntries(
        FUNCTION_IDS.map((fn) => [fn, { timeout: fnOptions(fn).timeout, reservedConcurrency: fnOptions(fn).reservedConcurrency }]),
      ) as MonitoringProps['limits'],
      accountConcurrency: props.accountConcurrency ?? DEFAULT_ACCOUNT_CONCURRENCY,
      compactMaxEventAge: COMPACT_MAX_EVENT_AGE,
      ...props.alarms,
    });
  }

  /**
   * Lets a principal append to the named topics (or to every topic): the two append
   * routes and, when topics are named, describing them (the client's Producer reads the
   * partition count). On API Gateway only when topics are named; see infra/grants.ts for
   * the ARNs and for what each grant amounts to on function URLs.
   *
   * @example
   * log.grantAppend(ordersProducer, 'orders');             // one topic, every partition
   * log.grantAppend(ingest, ['clicks', 'views']);          // two topics
   */
  grantAppend(grantee: iam.IGrantable, topics?: string | readonly string[]): iam.Grant {
    return grantRoutes(this.grantTarget('grantAppend'), grantee, 'append', topics);
  }

  /**
   * Lets a principal read the named topics (describe, records, offset lookups), or with
   * no names every read route (topics, records, offsets, groups). A consumer that
   * commits offsets in a group also needs grantConsumerGroup.
   */
  grantRead(grantee: iam.IGrantable, topics?: string | readonly string[]): iam.Grant {
    return grantRoutes(this.grantTarget('grantRead'), grantee, 'read', topics);
  }

  /**
   * Lets a principal manage topics: create, list, change config, delete. Not describe
   * one topic, which IAM cannot tell apart from reading its records (grantRead).
   */
  grantAdmin(grantee: iam.IGrantable): iam.Grant {
    return grantRoutes(this.grantTarget('grantAdmin'), grantee, 'admin', undefined);
  }

  /**
   * Lets a principal use the named consumer groups (or every group): fetch and commit
   * offsets, join, heartbeat, leave, describe.
   */
  grantConsumerGroup(grantee: iam.IGrantable, groups?: string | readonly string[]): iam.Grant {
    return grantRoutes(this.grantTarget('grantConsumerGroup'), grantee, 'consumerGroup', groups);
  }

  /**
   * Lets a principal open push connections (`execute-api:Invoke` on the WebSocket API's
   * `$connect`), so its consumers wait there instead of long-polling. A connection can
   * subscribe to any topic: it learns every topic's high watermarks, and the records of
   * small appends ride in the notifications (docs/push.md). So this is for principals
   * that may read every topic (grantRead without topics); a principal allowed only some
   * topics gets no push grant, and its consumers long-poll (the client falls back when
   * the connection is refused).
   *
   * @example
   * log.grantRead(analytics);
   * log.grantSubscribe(analytics);
   */
  grantSubscribe(grantee: iam.IGrantable): iam.Grant {
    if (!this.push) throw new Error('StrataLog has no push endpoint (push: false, or auth jwt): consumers long-poll, nothing to grant');
    return this.push.grantConnect(grantee);
  }

  /**
   * The broad grant: every route of the API with SigV4 (`execute-api:Invoke` on
   * `{apiId}/*`), topic management included. Prefer grantAppend, grantRead, grantAdmin
   * and grantConsumerGroup; its `*` is an IAM5 finding in the caller's cdk-nag checks.
   * Only meaningful with the default IAM auth.
   */
  grantInvokeApi(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['execute-api:Invoke'],
      resourceArns: [this.apiRoutesArn()],
    });
  }

  /**
   * Lets a principal call the append and read function URLs with SigV4 (service
   * `lambda`): `lambda:InvokeFunctionUrl` where the URL's auth type is AWS_IAM, and
   * `lambda:InvokeFunction` only when invoked through a URL (function URLs created since
   * October 2025 require both). Not the compact function, and no direct Invoke. Returns
   * the read function's grant; both are added to the principal's policy.
   */
  grantInvokeUrl(grantee: iam.IGrantable): iam.Grant {
    if (!this.functionUrls) throw new Error("StrataLog has no function URLs: set endpoints to 'function-urls' or 'both'");
    this.functions.append.grantInvokeUrl(grantee);
    return this.functions.read.grantInvokeUrl(grantee);
  }

  private grantTarget(method: string): GrantTarget {
    if (this.api && this.authType !== 'iam') {
      throw new Error(`StrataLog.${method} gives IAM permissions, but the API's auth is '${this.authType}': IAM grants do not apply to it`);
    }
    return { scope: this, api: this.api, stageName: API_STAGE_NAME, functions: this.functions, functionUrls: this.functionUrls };
  }

  /** `arn:aws:execute-api:{region}:{account}:{apiId}/*`: every stage, method and path of this API. */
  apiRoutesArn(): string {
    if (!this.api) throw new Error("StrataLog has no API Gateway API with endpoints 'function-urls': use grantInvokeUrl");
    return Stack.of(this).formatArn({ service: 'execute-api', resource: this.api.apiId, resourceName: '*' });
  }

  private createFunction(
    fn: FunctionId | 'push',
    options: StrataFunctionOptions & { memorySize: number; timeout: Duration },
    props: StrataLogProps,
    logRetention: logs.RetentionDays,
    logRemoval: RemovalPolicy,
    extra: StrataFunctionProps,
  ): lambda.Function {
    const logGroup = new logs.LogGroup(this, `${capitalize(fn)}Logs`, { retention: logRetention, removalPolicy: logRemoval });
    // A role per function, with logs scoped to its own log group: the managed
    // AWSLambdaBasicExecutionRole would allow writing to every log group of the account.
    const role = new iam.Role(this, `${capitalize(fn)}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Strata ${fn} function`,
    });
    logGroup.grantWrite(role);
    const created = strataFunction(this, `${capitalize(fn)}Function`, fn, {
      description: `Strata ${fn} function`,
      architecture: lambda.Architecture.ARM_64,
      memorySize: options.memorySize,
      timeout: options.timeout,
      ...(options.reservedConcurrency !== undefined ? { reservedConcurrentExecutions: options.reservedConcurrency } : {}),
      // X-Ray: the functions' Powertools Tracer (functions/shared/tracing.ts) adds a
      // subsegment per invocation and one per AWS SDK call.
      tracing: props.tracing === false ? lambda.Tracing.DISABLED : lambda.Tracing.ACTIVE,
      role,
      logGroup,
      environment: {
        STRATA_TABLE_NAME: this.table.tableName,
        STRATA_BUCKET_NAME: this.bucket.bucketName,
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        // The tracer's service annotation (the logger and metrics are told in code).
        POWERTOOLS_SERVICE_NAME: fn,
        ...(props.topicMetrics === false ? { STRATA_TOPIC_METRICS: 'false' } : {}),
        ...(props.tracing === false ? { POWERTOOLS_TRACE_ENABLED: 'false' } : {}),
        NODE_OPTIONS: '--enable-source-maps',
      },
      ...extra,
    });
    created.node.addDependency(role);
    const pinned =
      'Pinned to nodejs22.x (infra/function-bundling.ts, the bundle target): the bundles are built, measured and tested for Node 22; ' +
      'move to a newer runtime deliberately, with the bundle target in infra/function-bundling.ts.';
    Validations.of(created).acknowledge({ id: 'AwsSolutions-L1', reason: pinned });
    Validations.of(created).acknowledge({ id: 'Serverless-LambdaLatestVersion', reason: pinned });
    if (props.tracing !== false) {
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions ' +
          '(the X-Ray service authorization reference), so their resource can only be *; no other statement of this role has one.',
      });
    } else {
      Validations.of(created).acknowledge({
        id: 'Serverless-LambdaTracing',
        reason:
          'X-Ray tracing turned off by the tracing prop (its cost at high request rates); logs carry the request id and metrics the rest.',
      });
    }
    return created;
  }

  /** Timeouts that cannot work behind API Gateway, said at synth rather than found in production. */
  private checkHttpTimeouts(append: Duration, read: Duration, withApi: boolean): void {
    const warn = (id: string, message: string) => Annotations.of(this).addWarningV2(id, message);
    for (const [fn, timeout] of [
      ['append', append],
      ['read', read],
    ] as const) {
      if (timeout.toSeconds() > LAMBDA_MAX_TIMEOUT_SECONDS) {
        throw new Error(
          `the ${fn} function's timeout (${timeout.toSeconds()} s) is longer than Lambda allows (${LAMBDA_MAX_TIMEOUT_SECONDS} s)`,
        );
      }
      if (withApi && timeout.toSeconds() > API_GATEWAY_TIMEOUT_SECONDS) {
        warn(
          `strata:${fn}-timeout`,
          `the ${fn} function's timeout (${timeout.toSeconds()} s) is longer than API Gateway waits (${API_GATEWAY_TIMEOUT_SECONDS} s): callers get a 503 while it keeps running`,
        );
      }
    }
    if (read.toSeconds() * 1000 <= MAX_WAIT_MS) {
      warn(
        'strata:read-timeout',
        `the read function's timeout (${read.toSeconds()} s) is not longer than the longest long-poll (waitMs ${MAX_WAIT_MS}): such reads time out`,
      );
    }
  }

  /** The table and bucket actions of permissions.ts, on this table and this bucket's keys only. */
  /** The table actions of `permissions` on this table. */
  private grantTable(target: lambda.Function, permissions: FunctionPermissions): void {
    target.addToRolePolicy(new iam.PolicyStatement({ actions: [...permissions.table], resources: [this.table.tableArn] }));
  }

  private grantStorage(fn: FunctionId, target: lambda.Function): void {
    const permissions = FUNCTION_PERMISSIONS[fn];
    this.grantTable(target, permissions);
    for (const grant of permissions.objects) {
      target.addToRolePolicy(
        new iam.PolicyStatement({ actions: [...grant.actions], resources: [this.bucket.arnForObjects(grant.pattern)] }),
      );
      Validations.of(target.role!).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${this.logicalIdOf(this.bucket)}.Arn>/${grant.pattern}]`,
        reason:
          `Object keys embed the topic, topic id and partition (topics/{topic}/{topicId}/{p}/...), so the ${fn} function ` +
          `is granted ${grant.actions.join(', ')} on the key pattern ${grant.pattern} of this bucket only, never the whole bucket.`,
      });
    }
    if (permissions.listObjects) {
      target.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [this.bucket.bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${OBJECT_PREFIX}*`] } },
        }),
      );
    }
  }

  private createApi(auth: StrataAuth, props: StrataLogProps, logRetention: logs.RetentionDays, logRemoval: RemovalPolicy): apigwv2.HttpApi {
    const authorizer = apiAuthorizer(auth);
    const integrations = {
      append: new HttpLambdaIntegration('AppendIntegration', this.functions.append),
      read: new HttpLambdaIntegration('ReadIntegration', this.functions.read),
    };
    const api = new apigwv2.HttpApi(this, 'Api', {
      description: 'Strata HTTP API v1',
      createDefaultStage: false,
      defaultAuthorizer: authorizer,
      // Unknown paths reach the read function, which answers 404 ROUTE_NOT_FOUND in the
      // API's error format instead of API Gateway's `{"message":"Not Found"}`.
      defaultIntegration: integrations.read,
    });
    for (const route of ROUTES) {
      api.addRoutes({
        path: route.path,
        methods: [apigwv2.HttpMethod[route.method]],
        integration: integrations[route.fn],
        authorizer,
      });
    }

    const accessLogs = new logs.LogGroup(this, 'ApiAccessLogs', { retention: logRetention, removalPolicy: logRemoval });
    const throttle = props.throttle ?? DEFAULT_THROTTLE;
    new apigwv2.HttpStage(this, 'Stage', {
      httpApi: api,
      stageName: API_STAGE_NAME,
      autoDeploy: true,
      throttle,
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    if (auth.type === 'none') {
      Annotations.of(this).addWarningV2(
        'strata:open-api',
        `The Strata API has no authorization: anyone with its URL can read and write. Reason given: ${auth.reason}`,
      );
      for (const child of api.node.findAll()) {
        if (child instanceof apigwv2.CfnRoute) {
          Validations.of(child).acknowledge({
            id: 'AwsSolutions-APIG4',
            reason: `Open API asked for explicitly (auth: none): ${auth.reason}`,
          });
        }
      }
    }
    return api;
  }

  private logicalIdOf(construct: Construct): string {
    return Stack.of(this).getLogicalId(construct.node.defaultChild as CfnElement);
  }
}

/** The props' topic defaults, validated as the function will at cold start (a bad value fails the synth, not a deploy). */
function validTopicDefaults(defaults: TopicConfigPatch): TopicConfigPatch {
  const parsed = topicConfigPatchSchema.safeParse(defaults);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`StrataLog topicDefaults are not valid topic settings: ${issues}`);
  }
  return parsed.data;
}

function apiAuthorizer(auth: StrataAuth): apigwv2.IHttpRouteAuthorizer {
  switch (auth.type) {
    case 'iam':
      return new HttpIamAuthorizer();
    case 'jwt':
      if (!auth.issuer.startsWith('https://')) throw new Error(`StrataLog auth.jwt.issuer must be an https:// URL; got '${auth.issuer}'`);
      if (auth.audience.length === 0) throw new Error('StrataLog auth.jwt.audience must name at least one audience (client id)');
      return new HttpJwtAuthorizer('JwtAuthorizer', auth.issuer, {
        jwtAudience: auth.audience,
        ...(auth.identitySource ? { identitySource: auth.identitySource } : {}),
      });
    case 'none':
      if (!auth.reason?.trim())
        throw new Error("StrataLog auth { type: 'none' } needs a reason: the API would be open to anyone with its URL");
      return new apigwv2.HttpNoneAuthorizer();
  }
}

/** One JSON line per request in the access log group. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.caller',
  user: '$context.identity.user',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationLatencyMs: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
};

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * The tail TTL, checked at synth: at least MIN_TAIL_TTL_MS, and more than twice the
 * flush-lag alarm's threshold, so the alarm fires long before the flusher's keep-alive
 * (at half the TTL) has to extend anything.
 */
function checkTailTtl(ttl: Duration, flushLagAfter: Duration | undefined): Duration {
  const ms = ttl.toMilliseconds();
  if (ms < MIN_TAIL_TTL_MS) throw new Error(`tailTtl must be at least 1 hour (MIN_TAIL_TTL_MS); got ${ttl.toHumanString()}`);
  const lag = flushLagAfter?.toMilliseconds() ?? FLUSH_LAG_ALARM_MS;
  if (ms <= 2 * lag) {
    throw new Error(
      `tailTtl (${ttl.toHumanString()}) must be more than twice alarms.flushLagAfter (${Duration.millis(lag).toHumanString()}): raise the TTL or lower the alarm`,
    );
  }
  return ttl;
}

/**
 * Point-in-time recovery keeps whole days, 1 to 35 (MAX_RECOVERY_WINDOW_MS): the window
 * in days, refused when it is not a whole number of days in that range.
 */
export function checkRecoveryWindow(window: Duration): number {
  const ms = window.toMilliseconds();
  const days = ms / Duration.days(1).toMilliseconds();
  if (!Number.isInteger(days) || days < 1 || ms > MAX_RECOVERY_WINDOW_MS) {
    throw new Error(
      `recoveryWindow must be a whole number of days from 1 to 35 (point-in-time recovery's period); got ${window.toHumanString()}`,
    );
  }
  return days;
}

/**
 * Reserved concurrency that the account cannot give is a failed deploy (Lambda keeps
 * MIN_UNRESERVED_CONCURRENCY unreserved): said at synth, with the numbers.
 */
function checkReservations(reservations: readonly (readonly [FunctionId, number | undefined])[], accountConcurrency: number): void {
  let total = 0;
  for (const [fn, reserved] of reservations) {
    if (reserved === undefined) continue;
    if (!Number.isInteger(reserved) || reserved < 0)
      throw new Error(`the ${fn} function's reservedConcurrency must be a whole number >= 0; got ${reserved}`);
    total += reserved;
  }
  if (total > accountConcurrency - MIN_UNRESERVED_CONCURRENCY) {
    throw new Error(
      `reserved concurrency ${total} (${reservations
        .filter(([, r]) => r !== undefined)
        .map(([fn, r]) => `${fn} ${r}`)
        .join(', ')}) leaves less than ` +
        `${MIN_UNRESERVED_CONCURRENCY} of accountConcurrency ${accountConcurrency} unreserved, which Lambda refuses: lower the reservations, ` +
        'or raise the quota (Service Quotas) and accountConcurrency with it',
    );
  }
}
