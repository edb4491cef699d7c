/**
 * Asks the compact function to flush one partition: an asynchronous Lambda invocation
 * (`InvocationType: Event`) with `{topic, partition}`. The local stack answers the same
 * Lambda Invoke API, so this code runs unchanged there.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { PartitionRef } from '../../lib/keys.js';

export function lambdaFlushTrigger(client: LambdaClient, functionName: string, logger: Logger) {
  return async (ref: PartitionRef): Promise<void> => {
    try {
      await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: new TextEncoder().encode(JSON.stringify({ topic: ref.topic, partition: ref.partition })),
        }),
      );
    } catch (err) {
      logger.warn('could not ask the compact function to flush; the schedule will', {
        topic: ref.topic,
        partition: ref.partition,
        error: err as Error,
      });
      throw err;
    }
  };
}
