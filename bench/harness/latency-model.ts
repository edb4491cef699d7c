/**
 * The AWS latency model of the contention suite: an SDK middleware that makes every
 * DynamoDB call a worker sends take about as long as it would from a Lambda function in
 * the same region, instead of the ~1 ms of a DynamoDB Local on the same machine. What
 * contention costs depends on how long a writer holds a stale view of the head, so the
 * round trip has to be there for the races to look like AWS's.
 *
 * The numbers (DEFAULT_LATENCY_MODEL):
 *
 * - PER_CALL_MS = 6 ms added to every call. AWS documents "single-digit millisecond"
 *   latency for DynamoDB; GetItem and PutItem measured from Lambda in the same region
 *   have a p50 of about 4–6 ms. 6 is the top of that range.
 * - TRANSACT_WRITE_EXTRA_MS = 6 ms more for a TransactWriteItems: a transaction performs
 *   two underlying reads or writes of every item, a prepare and a commit (AWS docs,
 *   "Amazon DynamoDB Transactions: How it works"), so it takes about twice a single write.
 * - Half of each delay before the real call (the request on its way), half after it (the
 *   answer on its way back): a write reaches the item half way through its latency, and
 *   the writer learns the outcome half a latency after the item changed.
 *
 * The delays add to the local call's own time (one to a few ms here), and in the default
 * model they are constant: no tail, no variance, no throttling (DynamoDB's p99 is a
 * multiple of its p50, and a hot item is limited to ~1,000 write units per second; the
 * suite reports the hottest item's rate next to that limit instead of injecting
 * throttles). `jitter` spreads them (the dilated run uses a p99 of 2.5× the p50, an
 * assumption in the range that DynamoDB's SuccessfulRequestLatency metric shows, not a
 * measurement). It is one
 * `finalizeRequest` middleware inside the SDK's retry middleware, so every attempt the
 * SDK sends pays it, as every attempt pays the network on AWS.
 *
 * A timer fires late on a busy machine (measured here: 3 ms asked, 5 to 6 ms slept, with
 * two cores shared by other work), which would add more to a design that makes more
 * calls. So the sleep after the call is shortened by what the sleep before it overslept,
 * each process learns its timers' lateness and asks that much less (TimerCalibration), and
 * the middleware counts the delay it actually added, which the report prints next to
 * the modelled one.
 *
 *     worker          SDK middleware              DynamoDB Local
 *     send(cmd) ────▶ sleep(before) ────────────▶ real call (~1 ms)
 *                                   ◀──────────── answer
 *     ◀────────────── sleep(after)
 */
import { performance } from 'node:perf_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';

/** Added to every DynamoDB call, in ms: the in-region p50 of a GetItem or PutItem from Lambda. */
export const PER_CALL_MS = 6;
/** Added again to every TransactWriteItems, in ms: its two-phase prepare and commit. */
export const TRANSACT_WRITE_EXTRA_MS = 6;
/** Share of a call's added latency spent before the real call; the rest comes after it. */
export const BEFORE_SHARE = 0.5;

/** The SDK command names (context.commandName) of the calls that pay the transaction extra. */
const TRANSACTION_COMMANDS = new Set(['TransactWriteItemsCommand']);

export interface LatencyModel {
  /** ms added to every call. */
  perCallMs: number;
  /** ms added on top of perCallMs to every TransactWriteItems. */
  transactWriteExtraMs: number;
  /** Share of the added ms that comes before the real call (0..1). */
  beforeShare: number;
  /**
   * Spread of a call's added latency: each call's total is multiplied by e^(jitter·z), z
   * drawn from a standard normal (a log-normal with median 1). Absent or 0: constant.
   */
  jitter?: number;
}

export const DEFAULT_LATENCY_MODEL: LatencyModel = Object.freeze({
  perCallMs: PER_CALL_MS,
  transactWriteExtraMs: TRANSACT_WRITE_EXTRA_MS,
  beforeShare: BEFORE_SHARE,
});

/** No added latency: DynamoDB Local as it is. */
export const NO_LATENCY_MODEL: LatencyModel = Object.freeze({ perCallMs: 0, transactWriteExtraMs: 0, beforeShare: BEFORE_SHARE });

export interface CallDelays {
  beforeMs: number;
  afterMs: number;
}

/**
 * The delays the model adds around one call of `commandName` (the SDK's class name,
 * e.g. `PutItemCommand`).
 *
 * @example
 * modelDelays(DEFAULT_LATENCY_MODEL, 'TransactWriteItemsCommand'); // { beforeMs: 6, afterMs: 6 }
 * modelDelays(DEFAULT_LATENCY_MODEL, 'GetItemCommand');            // { beforeMs: 3, afterMs: 3 }
 */
export function modelDelays(model: LatencyModel, commandName: string | undefined, random: () => number = Math.random): CallDelays {
  const constant = model.perCallMs + (TRANSACTION_COMMANDS.has(commandName ?? '') ? model.transactWriteExtraMs : 0);
  const total = model.jitter ? constant * Math.exp(model.jitter * standardNormal(random)) : constant;
  const beforeMs = total * model.beforeShare;
  return { beforeMs, afterMs: total - beforeMs };
}

/** A draw from the standard normal distribution (Box–Muller) from uniform draws in [0, 1). */
export function standardNormal(random: () => number): number {
  const u = 1 - random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** The standard normal's 99th percentile. */
const Z_P99 = 2.326;

/** The jitter whose log-normal has the given p99 over its p50: e.g. 2.5 gives 0.394. */
export function jitterForTail(p99OverP50: number): number {
  return Math.log(p99OverP50) / Z_P99;
}

/**
 * The model with every delay `factor` times as long (the contention suite's "dilated" run,
 * bench/suites/dilated.ts): the machine's CPU then weighs `factor` times less against the
 * round trips, as if it had `factor` times the cores.
 */
export function dilateLatencyModel(model: LatencyModel, factor: number): LatencyModel {
  return { ...model, perCallMs: model.perCallMs * factor, transactWriteExtraMs: model.transactWriteExtraMs * factor };
}

/** The model as one line for the report, e.g. "+6 ms per call, +6 ms more per TransactWriteItems, half before and half after". */
export function describeLatencyModel(model: LatencyModel): string {
  if (model.perCallMs === 0 && model.transactWriteExtraMs === 0) return 'none (DynamoDB Local as it is)';
  const split =
    model.beforeShare === 0.5
      ? 'half before and half after the real call'
      : `${Math.round(model.beforeShare * 100)}% before the real call, the rest after`;
  const spread = model.jitter
    ? `, each call's delay times a log-normal of median 1 (σ ${model.jitter.toFixed(2)}: p99 ${Math.exp(Z_P99 * model.jitter).toFixed(1)}× p50)`
    : '';
  return `+${model.perCallMs} ms per call, +${model.transactWriteExtraMs} ms more per TransactWriteItems, ${split}${spread}`;
}

/** Weight of the newest observation in the running estimate of a timer's lateness. */
const LATENESS_WEIGHT = 0.1;
/** The shortest timer asked for a positive delay: a calibrated delay never drops to nothing. */
const MIN_TIMER_MS = 1;

/**
 * How late this process's timers fire, learnt from the timers themselves, so that a
 * delay asks for that much less: `request(ms)` is what to pass to setTimeout for `ms`,
 * `observe(requested, actual)` what happened.
 *
 * @example
 * const timers = new TimerCalibration();
 * timers.observe(3, 5);      // 2 ms late
 * timers.request(3);         // 2.8: 3 minus a tenth of the way to 2 ms of lateness
 */
export class TimerCalibration {
  private lateMs = 0;

  request(ms: number): number {
    return ms <= 0 ? 0 : Math.max(MIN_TIMER_MS, ms - this.lateMs);
  }

  observe(requestedMs: number, actualMs: number): void {
    this.lateMs += LATENESS_WEIGHT * (actualMs - requestedMs - this.lateMs);
  }

  get lateness(): number {
    return this.lateMs;
  }
}

/** The sleep owed after the real call: the call's total less what the sleep before it took. */
export function afterDelay(delays: CallDelays, sleptBeforeMs: number): number {
  return Math.max(0, delays.beforeMs + delays.afterMs - sleptBeforeMs);
}

/** What the model added, summed over the calls of a client. */
export interface LatencyModelStats {
  calls: number;
  /** What the model asked for. */
  modelledMs: number;
  /** What the sleeps actually took. */
  addedMs: number;
  /** What the real (local) calls took between the sleeps (counted by the S3 model; the worker reports predate it). */
  callMs?: number;
}

/**
 * Installs the model on `client`: every attempt the SDK sends is delayed as modelDelays
 * says. Returns the running totals of what it added.
 */
export function installLatencyModel(client: DynamoDBClient, model: LatencyModel): LatencyModelStats {
  return installDelays(client, (commandName) => modelDelays(model, commandName));
}

/**
 * The S3 side of the model (the staging tier's benchmark, bench/suites/staging-latency.ts): a
 * constant round trip per request, by storage class, split like DynamoDB's.
 *
 * - S3_STANDARD_REQUEST_MS = 30 ms: AWS's S3 performance guidelines describe small
 *   requests (under 512 KB) whose "median latencies are often in the range of tens of
 *   milliseconds" (whitepaper "Best Practices Design Patterns: Optimizing Amazon S3
 *   Performance", Timeouts and Retries for Latency-Sensitive Applications); 30 ms is the
 *   low end of "tens", a PUT's first byte from Lambda in the same region.
 * - S3_EXPRESS_REQUEST_MS = 5 ms: AWS documents "consistent single-digit millisecond
 *   first-byte read and write request latencies — up to 10x faster than S3 Standard"
 *   for S3 Express One Zone (S3 User Guide, "Optimizing S3 Express One Zone
 *   performance"), from compute in the bucket's zone; 5 ms is the middle of single
 *   digits and a sixth of the Standard figure. A caller in another zone adds about a
 *   millisecond or two of cross-zone round trip, not modelled.
 *
 * Constant, like the DynamoDB side: no tail and no dependence on size (a 256 KiB body
 * takes well under a millisecond at in-region bandwidth). Added to the local call's own
 * time, as on the DynamoDB side; the stats count that time (callMs), so a benchmark can
 * take the emulators' own time out (s3rver's PUT writes three files and an MD5: a few ms
 * on an idle machine, tens under load) and keep the model's. The CreateSession handshake of
 * S3 Express is not modelled either: the SDK opens a session once per bucket and renews
 * it in the background before it expires (five minutes), so an append seldom waits on it.
 */
export const S3_STANDARD_REQUEST_MS = 30;
export const S3_EXPRESS_REQUEST_MS = 5;

/** The constant S3 model of one storage class: ms per request, with the DynamoDB model's split. */
export interface S3LatencyModel {
  requestMs: number;
  beforeShare: number;
}

export const S3_STANDARD_LATENCY_MODEL: S3LatencyModel = Object.freeze({ requestMs: S3_STANDARD_REQUEST_MS, beforeShare: BEFORE_SHARE });
export const S3_EXPRESS_LATENCY_MODEL: S3LatencyModel = Object.freeze({ requestMs: S3_EXPRESS_REQUEST_MS, beforeShare: BEFORE_SHARE });

/** Installs the S3 model on `client` (one client per bucket of a storage class): every attempt pays `requestMs`. */
export function installS3LatencyModel(client: S3Client, model: S3LatencyModel): LatencyModelStats {
  const beforeMs = model.requestMs * model.beforeShare;
  return installDelays(client, () => ({ beforeMs, afterMs: model.requestMs - beforeMs }));
}

/** The middleware of both models: sleeps around every attempt the SDK sends, as `delaysFor` says. */
function installDelays(client: DynamoDBClient | S3Client, delaysFor: (commandName: string | undefined) => CallDelays): LatencyModelStats {
  const stats: LatencyModelStats = { calls: 0, modelledMs: 0, addedMs: 0, callMs: 0 };
  const timers = new TimerCalibration();
  const sleep = async (ms: number): Promise<number> => {
    if (ms <= 0) return 0;
    const requested = timers.request(ms);
    const begin = performance.now();
    await new Promise((resolve) => setTimeout(resolve, requested));
    const slept = performance.now() - begin;
    timers.observe(requested, slept);
    return slept;
  };
  // Both clients' stacks take the same middleware; their generic types differ only by the clients' inputs and outputs.
  (client.middlewareStack as DynamoDBClient['middlewareStack']).add(
    (next, context) => async (args) => {
      const delays = delaysFor(context.commandName);
      const before = await sleep(delays.beforeMs);
      const begin = performance.now();
      try {
        return await next(args);
      } finally {
        const callMs = performance.now() - begin;
        const after = await sleep(afterDelay(delays, before));
        stats.callMs = (stats.callMs ?? 0) + callMs;
        stats.calls++;
        stats.modelledMs += delays.beforeMs + delays.afterMs;
        stats.addedMs += before + after;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'benchLatencyModel', override: true },
  );
  return stats;
}
