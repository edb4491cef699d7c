/**
 * A worker's DynamoDB calls, one line each, for reading a run after an anomaly: which
 * request made the call, what it asked (the head's expected and next offsets, the tail
 * items' sort keys, the ClientRequestToken) and how it ended. Written synchronously to
 * one file that every worker of a run appends to, so the lines survive a SIGKILL.
 *
 *     <ms> <worker> r<request> <Command> [tok=<8 hex>] <what> -> <told> [(storage: <answered>)] <ms>ms
 *
 * <told> is what the caller was told, <answered> what storage answered when an injected
 * fault (local/chaos.ts) told otherwise: ok, cancel[<codes>] or an error's name, each
 * with the SDK's attempts (a<n>).
 *
 * For example, a commit that lost its race, and the next one, applied but told a timeout:
 *
 *     1764650858393 proc-1.3 r52 TransactWriteItemsCommand tok=3f2a9c1e HEAD:3 expected=189 next=190 put=B#…189 -> cancel[ConditionalCheckFailed,None] a1 9ms
 *     1764650858402 proc-1.3 r52 TransactWriteItemsCommand tok=77d0e4b2 HEAD:3 expected=190 next=191 put=B#…190 -> TimeoutError a? (storage: ok a1) 8ms
 *
 * `traceLinesFor` picks a request's lines back out of the file for the run's report.
 */
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Where the trace is (WorkerConfig.traceFile), and which request the worker is serving. */
export interface WorkerTrace {
  /** The request the next calls belong to (one at a time in a worker). */
  request: number;
  close(): void;
}

/** A marshalled or plain attribute value as text. */
function text(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value !== 'object') return String(value);
  const v = value as { N?: string; S?: string };
  return v.N ?? v.S ?? JSON.stringify(value);
}

interface Action {
  Update?: { Key?: Record<string, unknown>; ExpressionAttributeValues?: Record<string, unknown> };
  Put?: { Item?: Record<string, unknown> };
}

/** What a call asked, briefly: the head's offsets and the sort keys it writes. */
function describe(command: string, input: Record<string, unknown>): string {
  const parts: string[] = [];
  if (typeof input.ClientRequestToken === 'string') parts.push(`tok=${input.ClientRequestToken.slice(0, 8)}`);
  const actions: Action[] =
    command === 'TransactWriteItemsCommand'
      ? ((input.TransactItems as Action[] | undefined) ?? [])
      : [{ Update: input as Action['Update'], Put: input as Action['Put'] }];
  for (const a of actions) {
    const values = a.Update?.ExpressionAttributeValues;
    if (a.Update?.Key && values) {
      const sk = text(a.Update.Key.sk);
      const fields = [':expected', ':next', ':n', ':offset']
        .filter((k) => values[k] !== undefined)
        .map((k) => `${k.slice(1)}=${text(values[k])}`);
      parts.push(`${sk}:${text(a.Update.Key.pk).split('#').at(-1)} ${fields.join(' ')}`);
    } else if (a.Put?.Item) {
      parts.push(`put=${text(a.Put.Item.sk)}`);
    }
  }
  const key = input.Key as Record<string, unknown> | undefined;
  if (command === 'GetItemCommand' && key) parts.push(`get=${text(key.sk)}`);
  return parts.join(' ');
}

/** Marks the context of a traced call with storage's own answer. */
const REAL = Symbol('strataWorkerTraceReal');

/** A successful answer: "ok", with the head's nextOffset when the answer carries the head. */
function answer(output: unknown): string {
  const out = output as { $metadata?: { attempts?: number }; Item?: Record<string, unknown>; Attributes?: Record<string, unknown> };
  const head = out?.Item ?? out?.Attributes;
  return `ok${head?.nextOffset !== undefined ? ` nextOffset=${text(head.nextOffset)}` : ''} a${out?.$metadata?.attempts ?? '?'}`;
}

/** A failure: the cancellation reasons of a transaction, else the error's name, and the SDK's attempts. */
function failure(err: unknown): string {
  const e = err as { name?: string; CancellationReasons?: { Code?: string }[]; $metadata?: { attempts?: number } };
  const what = e?.CancellationReasons ? `cancel[${e.CancellationReasons.map((r) => r.Code ?? 'None').join(',')}]` : (e?.name ?? 'error');
  return `${what} a${e?.$metadata?.attempts ?? '?'}`;
}

/**
 * Traces every write (and every read of an item) the client makes, outside the SDK's
 * retries, to `file`; the worker sets `request` before each request it serves.
 */
export function installWorkerTrace(dynamo: DynamoDBClient, file: string, worker: string): WorkerTrace {
  const fd = openSync(file, 'a');
  const trace: WorkerTrace = { request: -1, close: () => closeSync(fd) };
  const traced = new Set(['TransactWriteItemsCommand', 'UpdateItemCommand', 'PutItemCommand', 'GetItemCommand']);
  type Traced = { [REAL]?: string };
  // Outer (added before local/chaos.ts's call faults): what the caller is told.
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName ?? 'unknown';
      if (!traced.has(command)) return next(args);
      const request = trace.request;
      const what = describe(command, args.input as Record<string, unknown>);
      const started = Date.now();
      const line = (told: string) => {
        const real = (context as Traced)[REAL];
        writeSync(
          fd,
          `${started} ${worker} r${request} ${command} ${what} -> ${told}${real !== undefined && real !== told ? ` (storage: ${real})` : ''} ${Date.now() - started}ms\n`,
        );
      };
      try {
        const result = await next(args);
        line(answer(result.output));
        return result;
      } catch (err) {
        line(failure(err));
        throw err;
      }
    },
    { step: 'initialize', name: 'strataWorkerTrace', priority: 'high' },
  );
  // Inner (after the call faults, outside the SDK's retries): what storage answered.
  dynamo.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        const result = await next(args);
        (context as Traced)[REAL] = answer(result.output);
        return result;
      } catch (err) {
        (context as Traced)[REAL] = failure(err);
        throw err;
      }
    },
    { step: 'initialize', name: 'strataWorkerTraceStorage', priority: 'low' },
  );
  return trace;
}

/** The trace lines of one worker's request, in the order written (none when there is no trace). */
export function traceLinesFor(file: string, worker: string, request: number): string[] {
  if (!existsSync(file)) return [];
  const marker = ` ${worker} r${request} `;
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.includes(marker));
}
