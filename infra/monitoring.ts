/**
 * The CloudWatch dashboard and alarms of a Strata deployment. The dashboard graphs the
 * EMF metrics the functions emit (functions/shared/observability.ts, dispatch.ts,
 * compact/handler.ts: namespace `Strata`, dimensions `service` and, for HTTP
 * requests, `route`, for per-topic ones `topic`) next to the AWS service metrics. The
 * alarms use the service metrics, which exist whether or not a function ran, except
 * where only the functions know: unexpected 5xx answers (UnexpectedErrors, which leaves
 * out the 503 RETRY of a contended append) and flush lag.
 */
import { Duration } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../functions/shared/observability.js';
import { FLUSH_LAG_ALARM_MS } from '../lib/core/constants.js';
import type { FunctionId } from './function-bundling.js';

/**
 * The EMF metric names the dashboard graphs, by the function that emits them. A test
 * (test/infra/strata-log-props.test.ts) checks that the functions' code emits each of them.
 */
export const EMF_METRICS = {
  /** Every HTTP request, per `service` and `route` (functions/shared/dispatch.ts). */
  http: ['Latency', 'Status2xx', 'Status4xx', 'Status5xx'],
  /** 5xx answers other than 503 RETRY, per `service` only (functions/shared/dispatch.ts): the ServerErrors alarm. */
  errors: ['UnexpectedErrors'],
  /** Per `service` and `topic` (functions/shared/observability.ts TOPIC_METRICS), unless topicMetrics is off. */
  topic: ['TopicAppendedRecords', 'TopicAppendedBytes', 'TopicReadRecords', 'TopicReadBytes', 'TopicConsumerLag'],
  /** The append function's push announcements (functions/shared/push.ts), with the push endpoint. */
  push: ['PushSent', 'PushQuiet', 'PushGone', 'PushFailed', 'PushLate'],
  /** Every group commit of the append function (functions/shared/observability.ts). */
  commit: ['CommitRecords', 'CommitBytes', 'CommitAppends', 'CommitConflicts', 'CommitAttempts', 'CommitLatency'],
  /** Every compact invocation (functions/compact/handler.ts): flush, retention, compaction, GC, fan-out. */
  compact: [
    'FlushSegments',
    'FlushRecords',
    'FlushBytes',
    'RetentionSegments',
    'CompactionSegments',
    'CompactionRecordsRemoved',
    'GcObjectsDeleted',
    'PartitionsDispatched',
    'FlushLag',
    'TailTtlExtended',
  ],
} as const;

export interface MonitoringAlarmOptions {
  /**
   * Unexpected 5xx answers of the append and read functions in 5 minutes that raise the
   * ServerErrors alarm: 500s (a bug, or a dependency failing in a way the code does not
   * expect), not the 503 RETRY an append answers when it could not commit under
   * contention before its deadline, which the client retries. @default 5
   */
  /** PushNotificationsFailed: failed push notifications (POSTs, lookups) in 5 minutes. @default 50 */
  pushFailures?: number;
  serverErrors?: number;
  /** @deprecated the former name of `serverErrors` (it counted API Gateway's 5XXError, RETRY included). */
  apiServerErrors?: number;
  /**
   * The fraction of a limit at which the concurrency alarms fire: the account's
   * (AccountConcurrency, ClaimedAccountConcurrency) and each reserved function's. @default 0.8
   */
  concurrencyNearLimit?: number;
  /** The fraction of a function's timeout its p99 duration may reach before {Fn}DurationNearTimeout fires. @default 0.8 */
  durationNearTimeout?: number;
  /** DynamoDB throttle events (read + write) in 5 minutes that raise the alarm. @default 10 */
  dynamoThrottles?: number;
  /**
   * The compact function has not been invoked for this long: flushes, retention and
   * compaction have stopped and the DynamoDB tail grows. Keep it far below the tail
   * items' TTL. @default 30 minutes
   */
  compactStalledAfter?: Duration;
  /**
   * A compact pass found a partition whose oldest unflushed offset had waited this long:
   * its flushes fail (or cannot keep up). Keep it far below the tail TTL (the construct
   * checks it is under half). @default 1 hour (FLUSH_LAG_ALARM_MS)
   */
  flushLagAfter?: Duration;
}

export interface MonitoringProps extends MonitoringAlarmOptions {
  functions: Record<FunctionId, lambda.IFunction>;
  /** Each function's timeout and reserved concurrency (the near-limit alarms). */
  limits: Record<FunctionId, { timeout: Duration; reservedConcurrency?: number | undefined }>;
  /** The account's Lambda concurrency quota in the region. */
  accountConcurrency: number;
  /** The compact function's maximum event age (asynchronous invocations older are dropped). */
  compactMaxEventAge: Duration;
  /** The API Gateway HTTP API, unless the functions are reached only by function URL. */
  api?: apigwv2.IHttpApi;
  /** The append and read functions have function URLs (graphed and alarmed from Lambda's Url* metrics). */
  functionUrls?: boolean;
  table: dynamodb.ITable;
  deadLetterQueue: sqs.IQueue;
  /** The push endpoint's function, with the construct's push prop: its alarms and the notifications graph. */
  pushFunction?: lambda.IFunction;
  /** Actions (e.g. an SNS topic) for every alarm, on ALARM and on OK. */
  alarmActions?: cloudwatch.IAlarmAction[];
  dashboardName?: string;
}

const FIVE_MINUTES = Duration.minutes(5);
const ONE_MINUTE = Duration.minutes(1);

export class StrataMonitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const fns = props.functions;

    for (const [name, fn] of Object.entries(fns) as [FunctionId, lambda.IFunction][]) {
      this.alarm(
        `${capitalize(name)}Errors`,
        fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
        1,
        `The ${name} function failed (a crash or a timeout, not an HTTP error answer): see its log group.`,
      );
      this.alarm(
        `${capitalize(name)}Throttles`,
        fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
        1,
        `Lambda throttled the ${name} function: raise its reserved concurrency or the account limit.`,
      );
    }

    if (props.pushFunction) {
      const push = props.pushFunction;
      this.alarm(
        'PushErrors',
        push.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
        1,
        'The push function failed (a crash or a timeout): subscriptions and pings fail, consumers long-poll meanwhile. See its log group.',
      );
      this.alarm(
        'PushThrottles',
        push.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
        1,
        'Lambda throttled the push function: consumers cannot subscribe or ping; raise the account limit or reserve concurrency for it.',
      );
      this.alarm(
        'PushNotificationsFailed',
        emfMetric('PushFailed', 'append'),
        props.pushFailures ?? 50,
        'Push notifications failed (a @connections POST or the subscriber lookup): consumers fall back to their pings (every 2 minutes). ' +
          'See "push notification failed" in the append function\'s log group.',
      );
    }

    // Not API Gateway's 5XXError: it counts the 503 RETRY of every contended append
    // (normal, retried by the client). The functions count the 5xx they did not expect;
    // what never reached them (crashes, timeouts, throttles) has the alarms above.
    const unexpected = sumOf('Unexpected 5xx answers (not 503 RETRY)', {
      a: emfMetric('UnexpectedErrors', 'append'),
      r: emfMetric('UnexpectedErrors', 'read'),
    });
    this.alarm(
      'ServerErrors',
      unexpected,
      props.serverErrors ?? props.apiServerErrors ?? 5,
      'The append or read function answered 5xx other than 503 RETRY (a 500 is a bug, or a dependency failing unexpectedly): ' +
        'see "request failed" in their log groups. RETRY answers under contention are not counted.',
    );

    // Concurrency and cost guards: capacity near its limit, before anything is throttled.
    const near = props.concurrencyNearLimit ?? 0.8;
    this.alarms.push(
      new cloudwatch.Alarm(this, 'AccountConcurrency', {
        alarmDescription:
          `The account's claimed Lambda concurrency in this region reached ${Math.round(near * 100)}% of ${props.accountConcurrency} ` +
          '(accountConcurrency): appends will be throttled when it is used up. Cap the read and compact functions or raise the quota.',
        metric: new cloudwatch.Metric({
          namespace: 'AWS/Lambda',
          metricName: 'ClaimedAccountConcurrency',
          statistic: 'Maximum',
          period: ONE_MINUTE,
        }),
        threshold: Math.floor(near * props.accountConcurrency),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    for (const [name, fn] of Object.entries(fns) as [FunctionId, lambda.IFunction][]) {
      const { timeout, reservedConcurrency } = props.limits[name];
      if (reservedConcurrency) {
        this.alarm(
          `${capitalize(name)}ConcurrencyNearReserved`,
          fn.metric('ConcurrentExecutions', { statistic: 'Maximum', period: ONE_MINUTE }),
          Math.max(1, Math.floor(near * reservedConcurrency)),
          `The ${name} function ran ${Math.round(near * 100)}% of its reserved concurrency (${reservedConcurrency}): beyond it Lambda throttles it.`,
        );
      }
      const ratio = props.durationNearTimeout ?? 0.8;
      this.alarm(
        `${capitalize(name)}DurationNearTimeout`,
        fn.metricDuration({ statistic: 'p99', period: FIVE_MINUTES }),
        Math.floor(ratio * timeout.toMilliseconds()),
        `The ${name} function's p99 duration reached ${Math.round(ratio * 100)}% of its timeout (${timeout.toHumanString()}): ` +
          'its invocations are about to time out (slow dependencies, or too little memory).',
      );
    }
    this.alarm(
      'CompactEventsDropped',
      fns.compact.metric('AsyncEventsDropped', { statistic: 'Sum', period: FIVE_MINUTES }),
      1,
      'Lambda dropped asynchronous compact invocations (throttled past the maximum event age, or failed past the retries without ' +
        'reaching the dead-letter queue): partitions went without a pass. The next scheduled run dispatches them again.',
    );
    const ageLimit = props.compactMaxEventAge.toMilliseconds();
    this.alarm(
      'CompactEventAge',
      fns.compact.metric('AsyncEventAge', { statistic: 'Maximum', period: FIVE_MINUTES }),
      Math.floor(ageLimit / 2),
      `Asynchronous compact invocations waited half their maximum age (${props.compactMaxEventAge.toHumanString()}) before running: ` +
        'the fan-out is throttled (its reserved concurrency, or the account) and events will be dropped.',
    );

    const dynamoThrottles = sumOf('DynamoDB throttle events', {
      r: props.table.metric('ReadThrottleEvents', { statistic: 'Sum', period: FIVE_MINUTES }),
      w: props.table.metric('WriteThrottleEvents', { statistic: 'Sum', period: FIVE_MINUTES }),
    });
    this.alarm(
      'DynamoThrottles',
      dynamoThrottles,
      props.dynamoThrottles ?? 10,
      'DynamoDB throttled reads or writes: a hot partition key (one Strata partition above ~1 MB/s of appends) or an account limit.',
    );

    this.alarm(
      'DeadLetterQueueDepth',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' }),
      1,
      'A compact invocation (scheduled or asked for by append) failed after its retries: the event is in the dead-letter queue.',
    );

    const stalledAfter = props.compactStalledAfter ?? Duration.minutes(30);
    const periods = Math.max(1, Math.round(stalledAfter.toMinutes() / FIVE_MINUTES.toMinutes()));
    this.alarms.push(
      new cloudwatch.Alarm(this, 'CompactStalled', {
        alarmDescription: `The compact function has not run for ${stalledAfter.toMinutes()} minutes: tails are not flushed to S3. Check the schedule rule and the function.`,
        metric: fns.compact.metricInvocations({ period: FIVE_MINUTES, statistic: 'Sum' }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        // No invocation means no data point at all: that is exactly the stall.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
    );

    const flushLag = props.flushLagAfter ?? Duration.millis(FLUSH_LAG_ALARM_MS);
    this.alarm(
      'FlushLag',
      compactMetric('FlushLag', 'Maximum'),
      flushLag.toMilliseconds(),
      `A partition's oldest unflushed offset waited ${flushLag.toHumanString()}: its flushes fail or cannot keep up. ` +
        'Tail items expire by TTL; the flusher extends it for unflushed ones at half the TTL, but find out why (the compact log group).',
    );

    for (const alarm of this.alarms) {
      for (const action of props.alarmActions ?? []) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      ...(props.dashboardName ? { dashboardName: props.dashboardName } : {}),
      defaultInterval: Duration.hours(3),
    });
    if (props.api) {
      this.dashboard.addWidgets(
        graph('API requests and errors (API Gateway)', [
          props.api.metricCount({ period: ONE_MINUTE, statistic: 'Sum' }),
          props.api.metricClientError({ period: ONE_MINUTE, statistic: 'Sum' }),
          props.api.metricServerError({ period: ONE_MINUTE, statistic: 'Sum' }),
        ]),
        graph('API latency p50 / p99 (API Gateway)', [
          props.api.metricLatency({ period: ONE_MINUTE, statistic: 'p50' }),
          props.api.metricLatency({ period: ONE_MINUTE, statistic: 'p99' }),
        ]),
      );
    }
    if (props.functionUrls) {
      const url = (fn: 'append' | 'read', metric: string, statistic: string) =>
        fns[fn].metric(metric, { period: ONE_MINUTE, statistic, label: `${fn} ${metric} ${statistic}` });
      this.dashboard.addWidgets(
        graph(
          'Function URL requests and errors',
          (['append', 'read'] as const).flatMap((fn) => ['UrlRequestCount', 'Url4xxCount', 'Url5xxCount'].map((m) => url(fn, m, 'Sum'))),
        ),
        graph(
          'Function URL latency p50 / p99 (ms)',
          (['append', 'read'] as const).flatMap((fn) => ['p50', 'p99'].map((p) => url(fn, 'UrlRequestLatency', p))),
        ),
      );
    }
    this.dashboard.addWidgets(
      graph('Append latency p99 per route (ms)', [search('Latency', 'append', 'p99')]),
      graph('Read latency p99 per route (ms, long-polls included)', [search('Latency', 'read', 'p99')]),
    );
    this.dashboard.addWidgets(
      graph(
        'Answers by status class',
        EMF_METRICS.http.filter((m) => m.startsWith('Status')).map((m) => search(m, undefined, 'Sum')),
      ),
      graph('Appended records and bytes per minute', [search('CommitRecords', 'append', 'Sum')], [search('CommitBytes', 'append', 'Sum')]),
      graph('Group commits: conflicts and attempts (retries = attempts - commits)', [
        search('CommitConflicts', 'append', 'Sum'),
        search('CommitAttempts', 'append', 'Sum'),
        search('CommitAppends', 'append', 'Sum'),
      ]),
      graph('Commit latency p50 / p99 (ms)', [search('CommitLatency', 'append', 'p50'), search('CommitLatency', 'append', 'p99')]),
    );
    // Per topic (TOPIC_METRICS; absent when topicMetrics is off): what each topic takes in
    // and gives out, and how far behind its readers are.
    this.dashboard.addWidgets(
      graph(
        'Appended per topic: records / min (left), bytes / min (right)',
        [perTopic('TopicAppendedRecords', 'append')],
        [perTopic('TopicAppendedBytes', 'append')],
      ),
      graph(
        'Read per topic: records / min (left), bytes / min (right)',
        [perTopic('TopicReadRecords', 'read')],
        [perTopic('TopicReadBytes', 'read')],
      ),
      graph('Consumer lag per topic (records behind the high watermark after a read, max)', [
        perTopic('TopicConsumerLag', 'read', 'Maximum'),
      ]),
      graph('Unexpected 5xx (not 503 RETRY) and 5xx answers', [unexpected], [search('Status5xx', undefined, 'Sum')]),
    );
    this.dashboard.addWidgets(
      graph(
        'Flushed to S3: segments and records',
        [compactMetric('FlushSegments'), compactMetric('FlushRecords')],
        [compactMetric('FlushBytes')],
      ),
      graph('Flush lag (max ms) and tail TTLs extended', [compactMetric('FlushLag', 'Maximum')], [compactMetric('TailTtlExtended')]),
      graph(
        'Retention, key compaction and GC',
        [compactMetric('RetentionSegments'), compactMetric('CompactionSegments'), compactMetric('GcObjectsDeleted')],
        [compactMetric('CompactionRecordsRemoved')],
      ),
      graph(
        'Compact invocations, fan-out and duration',
        [fns.compact.metricInvocations({ period: FIVE_MINUTES, statistic: 'Sum' }), compactMetric('PartitionsDispatched')],
        [fns.compact.metricDuration({ period: FIVE_MINUTES, statistic: 'Maximum' })],
      ),
      graph(
        'Lambda errors and throttles',
        Object.values(fns).flatMap((fn) => [
          fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
          fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
        ]),
      ),
      graph(
        'DynamoDB throttles and dead letters',
        [dynamoThrottles],
        [props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' })],
      ),
    );
    if (props.pushFunction) {
      this.dashboard.addWidgets(
        graph(
          'Push notifications: sent, held back, gone, failed, late',
          EMF_METRICS.push.map((m) => emfMetric(m, 'append')),
        ),
        graph(
          'Push function: invocations (left), errors (right)',
          [props.pushFunction.metricInvocations({ period: FIVE_MINUTES, statistic: 'Sum' })],
          [props.pushFunction.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' })],
        ),
      );
    }
    this.dashboard.addWidgets(
      graph(
        'Concurrency: account claimed (left), per function max (right)',
        [
          new cloudwatch.Metric({
            namespace: 'AWS/Lambda',
            metricName: 'ClaimedAccountConcurrency',
            statistic: 'Maximum',
            period: ONE_MINUTE,
          }),
        ],
        Object.entries(fns).map(([name, fn]) =>
          fn.metric('ConcurrentExecutions', { statistic: 'Maximum', period: ONE_MINUTE, label: name }),
        ),
      ),
      graph(
        'Duration p99 (ms)',
        Object.entries(fns).map(([name, fn]) => fn.metricDuration({ statistic: 'p99', period: FIVE_MINUTES, label: name })),
      ),
      graph(
        'Compact async events: dropped (left), oldest age ms (right)',
        [fns.compact.metric('AsyncEventsDropped', { statistic: 'Sum', period: FIVE_MINUTES })],
        [fns.compact.metric('AsyncEventAge', { statistic: 'Maximum', period: FIVE_MINUTES })],
      ),
    );
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24, height: 4 }));
  }

  private alarm(id: string, metric: cloudwatch.IMetric, threshold: number, description: string): void {
    this.alarms.push(
      new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}

/**
 * One line per route of an HTTP request's EMF metric (dimensions `service` and `route`): a SEARCH expression, so routes
 * added to functions/shared/routes.ts appear without touching the dashboard.
 */
function search(metricName: string, service: FunctionId | undefined, statistic: string): cloudwatch.MathExpression {
  const serviceFilter = service ? ` service="${service}"` : '';
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},route,service} MetricName="${metricName}"${serviceFilter}', '${statistic}', 60)`,
    usingMetrics: {},
    label: '',
    period: ONE_MINUTE,
  });
}

/** The sum of five-minute metrics, a missing data point counting as 0 (FILL), as one alarmable expression. */
function sumOf(label: string, metrics: Record<string, cloudwatch.IMetric>): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: Object.keys(metrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics: metrics,
    label,
    period: FIVE_MINUTES,
  });
}

/** A compact pass's metric: dimension `service` only (no route). */
function compactMetric(metricName: (typeof EMF_METRICS.compact)[number], statistic = 'Sum'): cloudwatch.Metric {
  return emfMetric(metricName, 'compact', statistic);
}

/** An EMF metric of one function with dimension `service` only, over five minutes. */
function emfMetric(metricName: string, service: FunctionId, statistic = 'Sum'): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service }, statistic, period: FIVE_MINUTES });
}

/** One line per topic of a per-topic metric (dimensions `service` and `topic`): a SEARCH, so new topics appear by themselves. */
function perTopic(metricName: (typeof EMF_METRICS.topic)[number], service: FunctionId, statistic = 'Sum'): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},service,topic} MetricName="${metricName}" service="${service}"', '${statistic}', 60)`,
    usingMetrics: {},
    label: '',
    period: ONE_MINUTE,
  });
}

function graph(title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left, right, width: 6, height: 6 });
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
