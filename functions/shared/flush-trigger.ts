/**
 * Asks the compact function to run one partition: an asynchronous Lambda invocation
 * (`InvocationType: Event`) with `{topic, partition}`. The append function uses it when a
 * tail passed its flush threshold; the compact function uses it to fan the scheduled run
 * out per partition and to continue a partition whose pass stopped at its bound. The
 * local stack answers the same Lambda Invoke API, so this code runs unchanged there.
 */

import type { Logger } from '@aws-lambda-powertools/logger';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { PartitionRef } from '../../lib/ports/model.js';

/** Invokes the compact function for a partition; `continuation` counts self-invocations in a row. */
export type PartitionInvoker = (ref: PartitionRef, continuation?: number) => Promise<void>;

export function lambdaFlushTrigger(client: LambdaClient, functionName: string, logger: Logger): PartitionInvoker {
  return async (ref, continuation) => {
    try {
      await client.send(
        new InvokeCommand({
          FunctionName: functionName,
          InvocationType: 'Event',
          Payload: new TextEncoder().encode(
            JSON.stringify({ topic: ref.topic, partition: ref.partition, ...(continuation ? { continuation } : {}) }),
          ),
        }),
      );
    } catch (err) {
      logger.warn('could not invoke the compact function for a partition; the schedule will run it', {
        topic: ref.topic,
        partition: ref.partition,
        error: err as Error,
      });
      throw err;
    }
  };
}

/**
 * Invokes the function asynchronously with `event`: how the compact function hands the
 * rest of a scheduled pass to its next run (`{fanOut: cursor, chain}`).
 */
export function lambdaSelfInvoker(client: LambdaClient, functionName: string): (event: object) => Promise<void> {
  return async (event) => {
    await client.send(
      new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(event)) }),
    );
  };
}
