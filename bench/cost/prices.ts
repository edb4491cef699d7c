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
/**
 * S3 Express One Zone (the staging tier, lib/staging/tier.ts), us-east-1, after the April 2025
 * price cut. Checked on 2026-11-30 with the search tool, not on the pricing page itself
 * (no network here): the S3 FAQ's worked example for us-east-1
 * (https://aws.amazon.com/s3/faqs/, "S3 Express One Zone" pricing examples) confirms
 * every figure below: storage $0.11 per GB-month, PUT $0.00113 and GET $0.00003 per
 * 1,000, DELETE free, upload $0.0032 and retrieval $0.0006 per GB. The same example
 * bills the per-GB charges on 10 KB requests, i.e. on every byte: the "portion of a
 * request above 512 KB" rule belongs to the 2023 launch prices (third-party write-ups
 * of that time), not to these. What could not be confirmed: the pricing page's own
 * table, and whether other regions differ.
 */
const S3_EXPRESS = 'https://aws.amazon.com/s3/pricing/ (S3 Express One Zone; worked example at https://aws.amazon.com/s3/faqs/)';
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
  s3ExpressStorageGbMonth: { usd: 0.11, unit: 'GB-month, S3 Express One Zone', source: S3_EXPRESS },
  s3ExpressPutRequest: { usd: 0.00113 / 1000, unit: 'PUT, COPY, POST or LIST request, S3 Express One Zone', source: S3_EXPRESS },
  s3ExpressGetRequest: { usd: 0.00003 / 1000, unit: 'GET request, S3 Express One Zone', source: S3_EXPRESS },
  s3ExpressDeleteRequest: { usd: 0, unit: 'DELETE request, S3 Express One Zone (no charge)', source: S3_EXPRESS },
  s3ExpressUploadGb: { usd: 0.0032, unit: 'GB uploaded to S3 Express One Zone (every byte of a PUT)', source: S3_EXPRESS },
  s3ExpressRetrievalGb: { usd: 0.0006, unit: 'GB retrieved from S3 Express One Zone (every byte of a GET)', source: S3_EXPRESS },
  lambdaRequest: { usd: 0.2 / 1e6, unit: 'Lambda request', source: LAMBDA },
  lambdaArmGbSecond: { usd: 0.0000133334, unit: 'GB-second, arm64', source: LAMBDA },
  httpApiRequest: { usd: 1.0 / 1e6, unit: 'HTTP API request (first 300 M a month; metered per 512 KB)', source: APIGW },
  webSocketMessage: {
    usd: 1.0 / 1e6,
    unit: 'WebSocket API message, either way (first 1 billion a month; metered per 32 KB)',
    source: APIGW,
  },
  webSocketConnectionMinute: { usd: 0.25 / 1e6, unit: 'WebSocket API connection-minute', source: APIGW },
  eventBridgeScheduledInvocation: {
    usd: 0,
    unit: 'EventBridge rule invocation of a Lambda target (AWS service events are free)',
    source: EVENTBRIDGE,
  },
  cloudWatchDashboardMonth: { usd: 3.0, unit: 'dashboard-month', source: CLOUDWATCH },
  cloudWatchAlarmMonth: { usd: 0.1, unit: 'standard-resolution alarm-month', source: CLOUDWATCH },
  cloudWatchMetricMonth: { usd: 0.3, unit: 'custom metric-month (first 10,000; EMF metrics are custom metrics)', source: CLOUDWATCH },
  cloudWatchLogsIngestGb: { usd: 0.5, unit: 'GB of logs ingested', source: CLOUDWATCH },
  kinesisOnDemandStreamHour: { usd: 0.04, unit: 'on-demand stream-hour', source: KINESIS },
  kinesisOnDemandDataInGb: { usd: 0.08, unit: 'GB ingested, on-demand (records rounded up to 1 KB)', source: KINESIS },
  kinesisOnDemandDataOutGb: { usd: 0.04, unit: 'GB retrieved, on-demand', source: KINESIS },
  kinesisOnDemandExtendedRetentionGbMonth: { usd: 0.1, unit: 'GB-month kept beyond 24 h (up to 7 days), on-demand', source: KINESIS },
  kinesisShardHour: { usd: 0.015, unit: 'provisioned shard-hour (1 MB/s or 1,000 records/s in)', source: KINESIS },
  kinesisPutPayloadUnit: { usd: 0.014 / 1e6, unit: 'PUT payload unit (25 KB), provisioned', source: KINESIS },
  kinesisExtendedRetentionShardHour: {
    usd: 0.02,
    unit: 'shard-hour of retention beyond 24 h (up to 7 days), provisioned',
    source: KINESIS,
  },
} satisfies Record<string, Price>;

export type PriceName = keyof typeof PRICES;

/** Billing's GB and month. */
export const GIB = 1024 ** 3;
export const HOURS_PER_MONTH = 730;
export const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;
/** API Gateway meters HTTP API requests in 512 KB increments. */
export const HTTP_API_METERING_BYTES = 512 * 1024;

/**
 * What one staged batch of `bytes` costs in S3 requests and bytes, from its PUT to its
 * delete: the append's PUT, the flush's GET (one, when the flush copies it into a
 * segment; reads of the tail before the flush add a GET each) and the flush's delete
 * (DeleteObjects, free in both classes). The tail item's pointer write (about 2 write
 * units in the append's transaction) is DynamoDB's, not counted here.
 *
 * @example
 * stagedBatchS3Usd('express', 64 * 1024);   // $1.13e-6 PUT + $0.03e-9 GET + 64 KiB at $0.0038 per GiB ≈ $1.39e-6
 * stagedBatchS3Usd('standard', 64 * 1024);  // $5e-6 PUT + $0.4e-6 GET = $5.4e-6
 */
export function stagedBatchS3Usd(tier: 'express' | 'standard', bytes: number): number {
  if (tier === 'standard') return PRICES.s3PutRequest.usd + PRICES.s3GetRequest.usd;
  const gib = bytes / GIB;
  return (
    PRICES.s3ExpressPutRequest.usd +
    PRICES.s3ExpressGetRequest.usd +
    PRICES.s3ExpressDeleteRequest.usd +
    gib * (PRICES.s3ExpressUploadGb.usd + PRICES.s3ExpressRetrievalGb.usd)
  );
}
