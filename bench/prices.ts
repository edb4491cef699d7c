/**
 * The AWS list prices the cost model uses: us-east-1, on-demand, no free tier, in one
 * dated table (rendered into docs/cost.md with its sources). Update them here, and the
 * date, when AWS changes them; `npm run cost` recomputes everything from these.
 *
 * They were taken from the public pricing pages named below as the team knew them on
 * PRICES_AS_OF; this environment has no network, so they were not re-fetched on that
 * day: check the pages before relying on a figure.
 */
export const PRICES_AS_OF = '2026-11-23';
export const PRICES_REGION = 'us-east-1';

export interface Price {
  /** Dollars per unit. */
  usd: number;
  unit: string;
  source: string;
}

const DYNAMODB = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const S3 = 'https://aws.amazon.com/s3/pricing/';
const LAMBDA = 'https://aws.amazon.com/lambda/pricing/';
const APIGW = 'https://aws.amazon.com/api-gateway/pricing/';
const KINESIS = 'https://aws.amazon.com/kinesis/data-streams/pricing/';
const CLOUDWATCH = 'https://aws.amazon.com/cloudwatch/pricing/';
const EVENTBRIDGE = 'https://aws.amazon.com/eventbridge/pricing/';

export const PRICES = {
  dynamoWriteRequestUnit: { usd: 0.625 / 1e6, unit: 'write request unit (on-demand)', source: DYNAMODB },
  dynamoReadRequestUnit: { usd: 0.125 / 1e6, unit: 'read request unit (on-demand)', source: DYNAMODB },
  dynamoStorageGbMonth: { usd: 0.25, unit: 'GB-month of table storage', source: DYNAMODB },
  s3StorageGbMonth: { usd: 0.023, unit: 'GB-month, S3 Standard (first 50 TB)', source: S3 },
  s3PutRequest: { usd: 0.005 / 1000, unit: 'PUT, COPY, POST or LIST request', source: S3 },
  s3GetRequest: { usd: 0.0004 / 1000, unit: 'GET request', source: S3 },
  lambdaRequest: { usd: 0.2 / 1e6, unit: 'Lambda request', source: LAMBDA },
  lambdaArmGbSecond: { usd: 0.0000133334, unit: 'GB-second, arm64', source: LAMBDA },
  httpApiRequest: { usd: 1.0 / 1e6, unit: 'HTTP API request (first 300 M a month; metered per 512 KB)', source: APIGW },
  eventBridgeScheduledInvocation: { usd: 0, unit: 'EventBridge rule invocation of a Lambda target (AWS service events are free)', source: EVENTBRIDGE },
  cloudWatchDashboardMonth: { usd: 3.0, unit: 'dashboard-month', source: CLOUDWATCH },
  cloudWatchAlarmMonth: { usd: 0.1, unit: 'standard-resolution alarm-month', source: CLOUDWATCH },
  cloudWatchLogsIngestGb: { usd: 0.5, unit: 'GB of logs ingested', source: CLOUDWATCH },
  kinesisOnDemandStreamHour: { usd: 0.04, unit: 'on-demand stream-hour', source: KINESIS },
  kinesisOnDemandDataInGb: { usd: 0.08, unit: 'GB ingested, on-demand (records rounded up to 1 KB)', source: KINESIS },
  kinesisOnDemandDataOutGb: { usd: 0.04, unit: 'GB retrieved, on-demand', source: KINESIS },
  kinesisOnDemandExtendedRetentionGbMonth: { usd: 0.1, unit: 'GB-month kept beyond 24 h (up to 7 days), on-demand', source: KINESIS },
  kinesisShardHour: { usd: 0.015, unit: 'provisioned shard-hour (1 MB/s or 1,000 records/s in)', source: KINESIS },
  kinesisPutPayloadUnit: { usd: 0.014 / 1e6, unit: 'PUT payload unit (25 KB), provisioned', source: KINESIS },
  kinesisExtendedRetentionShardHour: { usd: 0.02, unit: 'shard-hour of retention beyond 24 h (up to 7 days), provisioned', source: KINESIS },
} satisfies Record<string, Price>;

export type PriceName = keyof typeof PRICES;

/** Billing's GB and month. */
export const GIB = 1024 ** 3;
export const HOURS_PER_MONTH = 730;
export const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;
/** API Gateway meters HTTP API requests in 512 KB increments. */
export const HTTP_API_METERING_BYTES = 512 * 1024;
