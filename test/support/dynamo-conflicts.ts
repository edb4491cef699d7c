/**
 * DynamoDB's transaction conflicts, which DynamoDB Local never answers (it serializes
 * every request: 0 conflicts at 16 contended writers in docs/benchmarks.md). On AWS a
 * write that meets another transaction on the same item loses:
 *
 *     writer A                          writer B
 *     TransactWriteItems [item X, …] ─┐
 *                                      │  PutItem X ──▶ TransactionConflictException
 *     (or, the other way round)        │
 *     PutItem X in flight              │  TransactWriteItems [X, …] ──▶ TransactionCanceledException
 *                                      ┘                                 [TransactionConflict, None, …]
 *
 * `loseToConcurrentWrite` gives that answer, in the shape AWS returns it, to the next
 * matching call of a client, after running the concurrent write (`interpose`) for real.
 */
import { type DynamoDBClient, TransactionCanceledException, TransactionConflictException } from '@aws-sdk/client-dynamodb';

export interface ConflictRule {
  /** The SDK command to lose: a transaction, or a single-item write. */
  command: 'TransactWriteItemsCommand' | 'PutItemCommand';
  /** The partition key of the contended item (e.g. `groupStatePk('g')`). */
  pk: string;
  /** The concurrent write, run for real before the call is answered with the conflict. */
  interpose: () => Promise<unknown>;
  /** How many calls lose (default 1). */
  times?: number;
}

/** Installs the rule on `client`; `lost` counts the calls that were answered with a conflict. */
export function loseToConcurrentWrite(client: DynamoDBClient, rule: ConflictRule): { lost: number; armed: boolean } {
  const state = { lost: 0, armed: true };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!state.armed || context.commandName !== rule.command || state.lost >= (rule.times ?? 1)) return next(args);
      const input = args.input as { Item?: unknown; TransactItems?: unknown[] };
      const touches = (item: unknown) => JSON.stringify(item ?? null).includes(JSON.stringify(rule.pk));
      if (rule.command === 'PutItemCommand') {
        if (!touches(input.Item)) return next(args);
        state.lost++;
        await rule.interpose();
        throw new TransactionConflictException({ message: 'Transaction is ongoing for the item', $metadata: { httpStatusCode: 400 } });
      }
      const items = input.TransactItems ?? [];
      if (!items.some(touches)) return next(args);
      state.lost++;
      await rule.interpose();
      const reasons = items.map((item) =>
        touches(item) ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' } : { Code: 'None' },
      );
      throw new TransactionCanceledException({
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((r) => r.Code).join(', ')}]`,
        $metadata: { httpStatusCode: 400 },
        CancellationReasons: reasons,
      });
    },
    { step: 'initialize', name: `loseToConcurrentWrite-${rule.command}-${rule.pk}` },
  );
  return state;
}
