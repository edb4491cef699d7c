/**
 * The stack of `infra/app.ts`: one StrataLog and its endpoints as outputs. Kept apart
 * from the app so the tests synthesize exactly what `cdk deploy` deploys.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import { type StrataEndpoints, StrataLog, type StrataLogProps } from './strata-log.js';

const ENDPOINTS: readonly StrataEndpoints[] = ['api-gateway', 'function-urls', 'both'];

export interface StrataStackProps extends StackProps {
  log?: StrataLogProps;
  /** Subscribes this address to an SNS topic that every alarm notifies. */
  alarmEmail?: string;
}

export class StrataStack extends Stack {
  readonly log: StrataLog;
  readonly alarmTopic: sns.Topic | undefined;

  constructor(scope: Construct, id: string, props: StrataStackProps = {}) {
    super(scope, id, props);
    let alarmActions = props.log?.alarmActions;
    if (props.alarmEmail) {
      this.alarmTopic = new sns.Topic(this, 'Alarms', { displayName: 'Strata alarms', enforceSSL: true });
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      Validations.of(this.alarmTopic).acknowledge({
        id: 'AwsSolutions-SNS2',
        reason:
          'Alarm notifications carry no data of the log. CloudWatch cannot publish to a topic encrypted with the AWS-managed ' +
          'SNS key, and a customer-managed key would cost $1/month for a topic that is idle unless something is wrong.',
      });
      Validations.of(this.alarmTopic).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'An e-mail subscription of alarm notifications: SNS retries e-mail delivery itself, and a missed e-mail loses nothing, ' +
          'since the alarm stays in ALARM in CloudWatch (and on the dashboard) until it is resolved; a dead-letter queue would be one more resource to watch.',
      });
      alarmActions = [...(alarmActions ?? []), new actions.SnsAction(this.alarmTopic)];
    }
    this.log = new StrataLog(this, 'Log', { ...props.log, ...(alarmActions ? { alarmActions } : {}) });

    const log = this.log;
    const outputs: Record<string, [string, string]> = {
      ...(log.api
        ? {
            ApiUrl: [log.api.apiEndpoint, 'Base URL of the HTTP API (sign requests with SigV4, service execute-api)'],
            ApiInvokeArn: [log.apiRoutesArn(), 'Resource to allow execute-api:Invoke on, for callers of the API'],
          }
        : {}),
      ...(log.functionUrls
        ? {
            AppendUrl: [log.functionUrls.append.url, 'Append function URL: topics, appends, group writes (SigV4, service lambda)'],
            ReadUrl: [log.functionUrls.read.url, 'Read function URL, streamed: reads, offsets, descriptions (SigV4, service lambda)'],
          }
        : {}),
      ...(log.push
        ? {
            PushUrl: [
              log.push.url,
              'Push endpoint (WebSocket, SigV4-signed $connect): where consumers wait; GET /v1/push tells clients',
            ] as [string, string],
          }
        : {}),
      TableName: [this.log.table.tableName, 'DynamoDB table'],
      BucketName: [this.log.bucket.bucketName, 'S3 bucket of segments and staged batches'],
      AppendFunctionName: [this.log.functions.append.functionName, 'Append function'],
      ReadFunctionName: [this.log.functions.read.functionName, 'Read function'],
      CompactFunctionName: [this.log.functions.compact.functionName, 'Compact function (flush, retention, compaction)'],
      DeadLetterQueueUrl: [this.log.deadLetterQueue.queueUrl, 'Failed compact invocations'],
      DashboardName: [this.log.monitoring.dashboard.dashboardName, 'CloudWatch dashboard'],
    };
    for (const [name, [value, description]] of Object.entries(outputs)) new CfnOutput(this, name, { value, description });
  }
}

/**
 * Reads the app's context (`-c removalPolicy=destroy -c alarmEmail=ops@example.com
 * -c stagingAvailabilityZoneId=use1-az4 -c endpoints=function-urls -c recoveryWindowDays=7
 * -c push=false`).
 */
export function stackPropsFromContext(scope: Construct): StrataStackProps {
  const get = (key: string): string | undefined => {
    const value: unknown = scope.node.tryGetContext(key);
    return value === undefined || value === null || value === '' ? undefined : String(value);
  };
  const removal = get('removalPolicy') ?? 'retain';
  if (removal !== 'retain' && removal !== 'destroy') {
    throw new Error(`context removalPolicy must be 'retain' or 'destroy'; got '${removal}'`);
  }
  const alarmEmail = get('alarmEmail');
  const stagingAvailabilityZoneId = get('stagingAvailabilityZoneId');
  const endpoints = get('endpoints');
  const recoveryWindowDays = get('recoveryWindowDays');
  if (recoveryWindowDays !== undefined && !/^\d+$/.test(recoveryWindowDays)) {
    throw new Error(`context recoveryWindowDays must be a whole number of days (1 to 35); got '${recoveryWindowDays}'`);
  }
  const push = get('push');
  if (push !== undefined && push !== 'true' && push !== 'false') {
    throw new Error(`context push must be 'true' or 'false'; got '${push}'`);
  }
  if (endpoints !== undefined && !ENDPOINTS.includes(endpoints as StrataEndpoints)) {
    throw new Error(`context endpoints must be one of ${ENDPOINTS.join(', ')}; got '${endpoints}'`);
  }
  return {
    description: 'Strata: a serverless partitioned, replayable log on DynamoDB, S3 and Lambda',
    log: {
      removalPolicy: removal === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      ...(stagingAvailabilityZoneId ? { stagingAvailabilityZoneId } : {}),
      ...(endpoints ? { endpoints: endpoints as StrataEndpoints } : {}),
      ...(recoveryWindowDays ? { recoveryWindow: Duration.days(Number(recoveryWindowDays)) } : {}),
      ...(push ? { push: push === 'true' } : {}),
    },
    ...(alarmEmail ? { alarmEmail } : {}),
  };
}
