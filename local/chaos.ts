/**
 * Chaos for the local stack: AWS SDK middleware that makes real DynamoDB and S3 calls
 * fail, hang or throttle, so that the engine meets the faults it meets on AWS without any
 * service being mocked. `npm start` installs it on its clients when STRATA_CHAOS holds a
 * spec (the chaos suite, test/chaos/, sets it); nothing else uses it.
 *
 * Faults are injected at two points of the SDK's middleware stack:
 *
 *     send() ─▶ [call faults: initialize] ─▶ SDK retry loop ─┬─▶ [attempt faults: inside
 *                                                           │    the retries] ─▶ HTTP
 *                                                           └── up to maxAttempts times
 *
 * Call faults sit outside the SDK's retries, so the engine's own retry and in-doubt logic
 * sees every one. Each call draws once from a seeded PRNG and gets at most one:
 *
 *     before    ──▶ throw a 500 (InternalServerError / InternalError)      nothing happened
 *     throttle  ──▶ throw ThrottlingException / SlowDown (throttling)     nothing happened
 *     after     ──▶ next(args) ✓ then throw TimeoutError or a 500         it happened, the
 *                                                                         caller cannot tell
 *     latency   ──▶ sleep, then next(args); or next(args), then sleep     it happened, late
 *     lostThenThrottled ──▶ attempt 1 applied ✓, its answer lost (TimeoutError); every
 *                           later attempt of the call throttled: the caller gets a
 *                           throttle ($metadata.attempts > 1) for a write that happened
 *
 * Attempt faults sit inside the SDK's retry loop (one draw per attempt), so the SDK
 * retries them itself, with the same ClientRequestToken, and throws only the last one:
 *
 *     attemptBefore / attemptThrottle ──▶ this attempt fails before it is sent
 *     attemptAfter                    ──▶ this attempt is applied, its answer lost
 *
 * A read fault changes what an eventually consistent DynamoDB read (`ConsistentRead:
 * false`) answers, as a replica that lags behind the writes would (DynamoDB Local
 * answers every read from its one copy). It is drawn once per such read that got no
 * call fault:
 *
 *     staleRead ──▶ next(args) ✓, then the answer leaves out every item whose
 *                   `appendedAt` is younger than a lag drawn from staleReadMs
 *
 * Every injected fault is appended at once to `logFile` (one line each, written
 * synchronously), so the counts survive the SIGKILLs of the chaos schedule; the call
 * totals are appended every second.
 *
 * @example
 * STRATA_CHAOS='{"seed":7,"before":0.02,"after":0.02,"throttle":0.01,"latency":0.05,"attemptAfter":0.02,"logFile":"/tmp/faults.log"}' npm start
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';

export type ChaosService = 'dynamodb' | 's3';
/** Faults drawn once per call, outside the SDK's retries. */
export type CallKind = 'before' | 'after' | 'throttle' | 'latency' | 'lostThenThrottled';
/** Faults drawn once per attempt, inside the SDK's retries. */
export type AttemptKind = 'attemptBefore' | 'attemptAfter' | 'attemptThrottle';
/** Faults drawn once per eventually consistent DynamoDB read, on its answer. */
export type ReadKind = 'staleRead';
export type ChaosKind = CallKind | AttemptKind | ReadKind;
export const CALL_KINDS: readonly CallKind[] = ['before', 'after', 'throttle', 'latency', 'lostThenThrottled'];
export const ATTEMPT_KINDS: readonly AttemptKind[] = ['attemptBefore', 'attemptAfter', 'attemptThrottle'];
export const READ_KINDS: readonly ReadKind[] = ['staleRead'];
export const CHAOS_KINDS: readonly ChaosKind[] = [...CALL_KINDS, ...ATTEMPT_KINDS, ...READ_KINDS];

const probability = z.number().min(0).max(1);
/** A range of milliseconds [min, max] a delay is drawn from uniformly. */
const msRange = z
  .tuple([z.number().int().min(0), z.number().int().min(0)])
  .refine(([min, max]) => min <= max, 'is [min, max] with min ≤ max');

/** The STRATA_CHAOS spec: per-call and per-attempt probabilities of each fault kind. */
export const chaosSpecSchema = z
  .object({
    /** Seeds the PRNG, so a run's fault sequence per call order is reproducible. */
    seed: z.number().int().default(1),
    before: probability.default(0),
    after: probability.default(0),
    throttle: probability.default(0),
    latency: probability.default(0),
    lostThenThrottled: probability.default(0),
    attemptBefore: probability.default(0),
    attemptAfter: probability.default(0),
    attemptThrottle: probability.default(0),
    staleRead: probability.default(0),
    /** A stale read's replica lags by a time drawn uniformly from [min, max] ms. */
    staleReadMs: msRange.default([20, 300]),
    /** Injected latency is drawn uniformly from [min, max] ms. */
    latencyMs: msRange.default([20, 500]),
    /** Services to inject into (default both). */
    services: z.array(z.enum(['dynamodb', 's3'])).default(['dynamodb', 's3']),
    /** Only these SDK commands (e.g. "TransactWriteItemsCommand"); default every command. */
    commands: z.array(z.string().min(1)).optional(),
    /** Injects at most this many faults in all (default no limit): a scripted fault in tests. */
    limit: z.number().int().min(0).optional(),
    /** Where each injected fault is logged, one line each: `<ms> <pid> <service> <kind> <command>`. */
    logFile: z.string().optional(),
  })
  .strict()
  .refine(
    (s) => CALL_KINDS.reduce((sum, k) => sum + s[k], 0) <= 1,
    'before + after + throttle + latency + lostThenThrottled must be at most 1',
  )
  .refine((s) => ATTEMPT_KINDS.reduce((sum, k) => sum + s[k], 0) <= 1, 'attemptBefore + attemptAfter + attemptThrottle must be at most 1');

export type ChaosSpec = z.infer<typeof chaosSpecSchema>;

/** Reads STRATA_CHAOS; undefined when unset or empty. Throws a clear message when malformed. */
export function chaosSpecFromEnv(value: string | undefined): ChaosSpec | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (err) {
    throw new Error(`STRATA_CHAOS must be a JSON object (${(err as Error).message})`);
  }
  const parsed = chaosSpecSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(
      `STRATA_CHAOS is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(spec)'}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/** What the middleware did, as counters of this process. */
export interface ChaosCounters {
  calls: Record<ChaosService, number>;
  injected: Record<ChaosService, Record<ChaosKind, number>>;
}

export interface Chaos {
  counters: ChaosCounters;
  /** Stops logging (the middleware stays, injecting nothing more once disabled). */
  close(): void;
  enabled: boolean;
}

/** How often the running call totals are appended to the log file. */
const CALLS_LOG_INTERVAL_MS = 1_000;

/** Marks a call chosen for `lostThenThrottled`, for the attempt middleware of the same call. */
const LOST_THEN_THROTTLED = Symbol('strataChaosLostThenThrottled');

/** The faults both points inject (an attempt's are the call's, played inside the SDK's retries). */
type Fault = 'before' | 'throttle' | 'after';
const ATTEMPT_FAULT: Record<AttemptKind, Fault> = { attemptBefore: 'before', attemptThrottle: 'throttle', attemptAfter: 'after' };

type Stack = DynamoDBClient['middlewareStack'];
type ChaosContext = { commandName?: string; [LOST_THEN_THROTTLED]?: { attempts: number } };

/** Installs the fault middleware on the clients given (a process without S3 passes none); returns its counters. */
export function installChaos(clients: { dynamo: DynamoDBClient; s3?: S3Client }, spec: ChaosSpec): Chaos {
  const random = seededRandom(spec.seed);
  const fd = spec.logFile === undefined ? undefined : openSync(spec.logFile, 'a');
  const zero = () => Object.fromEntries(CHAOS_KINDS.map((k) => [k, 0])) as Record<ChaosKind, number>;
  const counters: ChaosCounters = { calls: { dynamodb: 0, s3: 0 }, injected: { dynamodb: zero(), s3: zero() } };
  let injectedTotal = 0;
  const log = (line: string) => {
    if (fd !== undefined) writeSync(fd, `${Date.now()} ${process.pid} ${line}\n`);
  };
  const chaos: Chaos = {
    counters,
    enabled: true,
    close: () => {
      clearInterval(timer);
      logCalls();
      if (fd !== undefined) closeSync(fd);
    },
  };
  const logCalls = () => log(`calls dynamodb=${counters.calls.dynamodb} s3=${counters.calls.s3}`);
  const timer = setInterval(logCalls, CALLS_LOG_INTERVAL_MS);
  timer.unref();

  const pick = <K extends ChaosKind>(kinds: readonly K[]): K | undefined => {
    const r = random();
    let acc = 0;
    for (const kind of kinds) {
      acc += spec[kind];
      if (r < acc) return kind;
    }
    return undefined;
  };
  const eligible = (service: ChaosService, command: string) =>
    chaos.enabled &&
    spec.services.includes(service) &&
    (spec.commands === undefined || spec.commands.includes(command)) &&
    (spec.limit === undefined || injectedTotal < spec.limit);
  /** This call's or attempt's fault, drawn from `kinds`, and counted; undefined for none. */
  const draw = <K extends ChaosKind>(service: ChaosService, command: string, kinds: readonly K[]): K | undefined => {
    const kind = eligible(service, command) ? pick(kinds) : undefined;
    if (kind === undefined) return undefined;
    injectedTotal += 1;
    counters.injected[service][kind] += 1;
    log(`${service} ${kind} ${command}`);
    return kind;
  };
  /**
   * The faults of both points: `before` and `throttle` fail the request before it is
   * sent; `after` sends it (`send`), then loses its answer to a timeout or a 500.
   */
  const fail = async (service: ChaosService, command: string, fault: Fault, send: () => Promise<{ output?: unknown }>): Promise<never> => {
    if (fault === 'before') throw serverError(service, command);
    if (fault === 'throttle') throw throttleError(service, command);
    discardBody((await send()).output);
    throw random() < 0.5 ? timeoutError(command) : serverError(service, command);
  };

  /**
   * An eventually consistent DynamoDB read's answer, as a replica lagging behind the
   * writes by staleReadMs would give it (when staleRead is drawn): without the items
   * appended within the lag.
   */
  const maybeStale = <T extends { output?: unknown }>(service: ChaosService, command: string, input: unknown, answer: T): T => {
    if (service !== 'dynamodb' || (input as { ConsistentRead?: unknown }).ConsistentRead !== false) return answer;
    if (draw(service, command, READ_KINDS) === undefined) return answer;
    const lagMs = spec.staleReadMs[0] + Math.floor(random() * (spec.staleReadMs[1] - spec.staleReadMs[0] + 1));
    const output = answer.output as { Items?: Record<string, unknown>[] } | undefined;
    if (output?.Items) output.Items = output.Items.filter((item) => !(appendedAtOf(item) > Date.now() - lagMs));
    return answer;
  };

  const install = (service: ChaosService, stack: Stack) => {
    stack.add(
      (next, context) => async (args) => {
        counters.calls[service] += 1;
        const command = context.commandName ?? 'unknown';
        const kind = draw(service, command, CALL_KINDS);
        switch (kind) {
          case undefined:
            return maybeStale(service, command, args.input, await next(args));
          case 'before':
          case 'throttle':
          case 'after':
            return fail(service, command, kind, () => next(args));
          case 'latency': {
            const ms = spec.latencyMs[0] + Math.floor(random() * (spec.latencyMs[1] - spec.latencyMs[0] + 1));
            if (random() < 0.5) {
              await sleep(ms);
              return next(args);
            }
            const result = await next(args);
            await sleep(ms);
            return result;
          }
          case 'lostThenThrottled':
            // The attempt middleware below plays the script on each attempt of this call.
            (context as ChaosContext)[LOST_THEN_THROTTLED] = { attempts: 0 };
            return next(args);
        }
      },
      { step: 'initialize', name: 'strataChaosMiddleware', priority: 'high' },
    );
    // Inside the SDK's retry loop (finalizeRequest, high) and outside the deserializer:
    // once per attempt, seeing the service's answer as the caller would.
    stack.add(
      (next, context) => async (args) => {
        const command = context.commandName ?? 'unknown';
        const script = (context as ChaosContext)[LOST_THEN_THROTTLED];
        if (script) {
          script.attempts += 1;
          if (script.attempts > 1) throw throttleError(service, command);
          const result = await next(args).catch((err: unknown) => ({ output: undefined, err }));
          discardBody(result.output);
          throw timeoutError(command);
        }
        const kind = draw(service, command, ATTEMPT_KINDS);
        if (kind === undefined) return next(args);
        // An attempt that fails of itself loses its answer all the same.
        return fail(service, command, ATTEMPT_FAULT[kind], () => next(args).catch((err: unknown) => ({ output: undefined, err })));
      },
      { step: 'deserialize', name: 'strataChaosAttemptMiddleware', priority: 'high' },
    );
  };
  install('dynamodb', clients.dynamo.middlewareStack);
  if (clients.s3) install('s3', clients.s3.middlewareStack as unknown as Stack);
  return chaos;
}

/** An item's `appendedAt` (ms), marshalled or not; NaN when it has none. */
function appendedAtOf(item: Record<string, unknown>): number {
  const value = item.appendedAt as { N?: string } | number | undefined;
  return Number(typeof value === 'object' && value !== null ? value.N : value);
}

/** A streamed body (S3 GetObject) nobody will read must not hold its socket. */
function discardBody(output: unknown): void {
  (output as { Body?: { destroy?: () => void } } | undefined)?.Body?.destroy?.();
}

/** A 5xx as the service answers it: the SDK marks it retryable. */
function serverError(service: ChaosService, command: string): Error {
  const name = service === 'dynamodb' ? 'InternalServerError' : 'InternalError';
  return Object.assign(new Error(`chaos: injected ${name} on ${command}`), {
    name,
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
    $retryable: {},
  });
}

/** A throttle as the service answers it: DynamoDB's 400 ThrottlingException, S3's 503 SlowDown. */
function throttleError(service: ChaosService, command: string): Error {
  const [name, status] = service === 'dynamodb' ? ['ThrottlingException', 400] : ['SlowDown', 503];
  return Object.assign(new Error(`chaos: injected ${name} on ${command}`), {
    name,
    $fault: 'client',
    $metadata: { httpStatusCode: status },
    $retryable: { throttling: true },
  });
}

/** What the SDK throws when a socket times out after the request went out. */
function timeoutError(command: string): Error {
  return Object.assign(new Error(`chaos: injected timeout after ${command} was sent`), { name: 'TimeoutError' });
}

/**
 * A small seeded PRNG (mulberry32): the same sequence for the same seed, so a run can be
 * replayed. Shared by the fault injectors (here and test/support/faults.ts) and the
 * benchmarks' simulations.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
