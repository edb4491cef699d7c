/**
 * The one definition of Strata's DynamoDB table, shared by the CDK construct and the
 * local stack so that both create the same thing. Plain data: no CDK import here, so
 * the local stack and the tests can use it without aws-cdk-lib.
 */
export const TABLE_DEFINITION = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  billingMode: 'PAY_PER_REQUEST',
  /** Flushed tail items and idle producer state expire through DynamoDB TTL (free). */
  timeToLiveAttribute: 'ttl',
  pointInTimeRecovery: true,
} as const;

/** The CreateTable input for the local stack and the tests (DynamoDB API shape). */
export function createTableInput(tableName: string) {
  return {
    TableName: tableName,
    AttributeDefinitions: [
      { AttributeName: TABLE_DEFINITION.partitionKey.name, AttributeType: TABLE_DEFINITION.partitionKey.type },
      { AttributeName: TABLE_DEFINITION.sortKey.name, AttributeType: TABLE_DEFINITION.sortKey.type },
    ],
    KeySchema: [
      { AttributeName: TABLE_DEFINITION.partitionKey.name, KeyType: 'HASH' as const },
      { AttributeName: TABLE_DEFINITION.sortKey.name, KeyType: 'RANGE' as const },
    ],
    BillingMode: TABLE_DEFINITION.billingMode,
  };
}
