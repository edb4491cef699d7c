/**
 * Fault injection at a port: wraps any adapter (LogStore, ObjectStore) so that chosen
 * calls fail *before* reaching storage (nothing happened) or *after* the real call
 * succeeded (the work is done but the response is lost, as in a timeout). The engine
 * must keep every guarantee under both. The fault is an error in the SDK's shape, thrown
 * as the AWS adapter's translation of it (lib/aws/errors.ts), which is what the engine
 * sees of a real one. A few answers a port cannot fake are given at the SDK client
 * instead, in the shape AWS returns them (loseFlushCommits, failObjectDeletes), and go
 * through the adapters' own translation.
 */
import { type DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { translate } from '../../lib/aws/errors.js';
import { seededRandom } from '../../local/chaos.js';

export type FaultMode = 'before' | 'after';

export interface FaultRule {
  method: string;
  mode: FaultMode;
  /** Chance that a call of `method` fails (default 1). */
  probability?: number;
  /** Fail at most this many calls (default unlimited). */
  times?: number;
  /** The SDK's error to translate and throw instead of an InjectedFault (e.g. a throttle). */
  error?: () => Error;
}

/** The SDK's error of an injected fault: a timeout, which the AWS adapter translates to StorageUnavailableError. */
export class InjectedFault extends Error {
  readonly $retryable = { throttling: false };
  constructor(
    readonly method: string,
    readonly mode: FaultMode,
  ) {
    super(`injected fault ${mode} ${method}`);
    this.name = 'TimeoutError';
  }
}

/** A small seeded PRNG (mulberry32) so that a failing run can be replayed (local/chaos.ts). */
export { seededRandom };

export class FaultInjector {
  readonly injected: { method: string; mode: FaultMode }[] = [];
  private readonly remaining = new Map<FaultRule, number>();
  enabled = true;

  constructor(
    private readonly rules: FaultRule[],
    private readonly random: () => number = seededRandom(1),
  ) {
    for (const rule of rules) this.remaining.set(rule, rule.times ?? Infinity);
  }

  /** A proxy of `target` whose methods fail according to the rules. */
  wrap<T extends object>(target: T): T {
    return new Proxy(target, {
      get: (obj, prop, receiver) => {
        const value = Reflect.get(obj, prop, receiver);
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        return async (...args: unknown[]) => {
          const rule = this.pick(prop);
          if (rule?.mode === 'before') throw this.record(rule, prop);
          const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(obj, args);
          if (rule?.mode === 'after') throw this.record(rule, prop);
          return result;
        };
      },
    });
  }

  count(method?: string, mode?: FaultMode): number {
    return this.injected.filter((f) => (!method || f.method === method) && (!mode || f.mode === mode)).length;
  }

  private pick(method: string): FaultRule | undefined {
    if (!this.enabled) return undefined;
    for (const rule of this.rules) {
      if (rule.method !== method) continue;
      const left = this.remaining.get(rule)!;
      if (left <= 0) continue;
      if (this.random() < (rule.probability ?? 1)) {
        this.remaining.set(rule, left - 1);
        return rule;
      }
    }
    return undefined;
  }

  private record(rule: FaultRule, method: string): Error {
    this.injected.push({ method, mode: rule.mode });
    return translate(rule.error ? rule.error() : new InjectedFault(method, rule.mode), `${method} (fault injected ${rule.mode})`);
  }
}

/** A DynamoDB throttle, as the SDK reports it once its own retries gave up. */
export function throttleError(): Error {
  return Object.assign(new Error('Rate of requests exceeds the allowed throughput'), {
    name: 'ProvisionedThroughputExceededException',
    $retryable: { throttling: true },
  });
}

/**
 * Makes `client`'s flush commits (the TransactWriteItems that moves a head's
 * flushedOffset) lose to a concurrent append, `times` times: `interpose` runs first (an
 * append through another client), then the commit is cancelled with TransactionConflict
 * without reaching DynamoDB, as DynamoDB cancels a transaction that meets another one on
 * the head item. DynamoDB Local serializes transactions and never answers
 * TransactionConflict (0 conflicts at 16 contended writers in docs/benchmarks.md), so the
 * cancellation is given here in the shape AWS returns.
 */
export function loseFlushCommits(client: DynamoDBClient, options: { times: number; interpose: () => Promise<void> }): { lost: number } {
  const state = { lost: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { TransactItems?: { Update?: { UpdateExpression?: string } }[] };
      const isFlush = input.TransactItems?.some((i) => i.Update?.UpdateExpression?.includes('flushedOffset = :new')) ?? false;
      if (!isFlush || state.lost >= options.times) return next(args);
      state.lost++;
      await options.interpose();
      throw new TransactionCanceledException({
        message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]',
        $metadata: { httpStatusCode: 400 },
        CancellationReasons: input.TransactItems!.map((_, i) =>
          i === 0 ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' } : { Code: 'None' },
        ),
      });
    },
    { step: 'initialize', name: 'loseFlushCommits' },
  );
  return state;
}

/**
 * Makes `client`'s DeleteObjects leave the keys `failing` picks in place and report them
 * in the response's per-key `Errors`, as S3 does for a key it could not delete (the
 * request as a whole succeeds with 200). Returns the keys it kept.
 */
export function failObjectDeletes(client: S3Client, failing: (key: string) => boolean): { kept: string[] } {
  const state = { kept: [] as string[] };
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { Delete?: { Objects?: { Key: string }[] } };
      const objects = input.Delete?.Objects;
      if (!objects) return next(args);
      const kept = objects.filter((o) => failing(o.Key)).map((o) => o.Key);
      if (kept.length === 0) return next(args);
      state.kept.push(...kept);
      const rest = objects.filter((o) => !failing(o.Key));
      const result =
        rest.length > 0
          ? await next({ ...args, input: { ...input, Delete: { ...input.Delete, Objects: rest } } as typeof args.input })
          : { output: { $metadata: { httpStatusCode: 200 } }, response: {} };
      const output = result.output as { Errors?: { Key?: string; Code?: string; Message?: string }[] };
      output.Errors = [...(output.Errors ?? []), ...kept.map((Key) => ({ Key, Code: 'AccessDenied', Message: 'Access Denied' }))];
      return result;
    },
    { step: 'initialize', name: 'failObjectDeletes' },
  );
  return state;
}
