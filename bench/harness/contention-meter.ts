/**
 * What a contention worker's requests asked of DynamoDB, as AWS bills it: an SDK
 * middleware on the worker's one DynamoDB client counts the calls by operation and the
 * capacity units they consumed.
 *
 * - Every call that can report capacity is sent with `ReturnConsumedCapacity: TOTAL`,
 *   and an answered call adds the units DynamoDB reports (DynamoDB Local reports them as
 *   DynamoDB does: 1 unit per KB written, twice inside a transaction).
 * - A write that throws (a failed condition, a cancelled transaction) carries no
 *   ConsumedCapacity but is billed: it adds the units its items cost by DynamoDB's rules
 *   (bench/harness/write-units.ts), counted as failed-write units.
 * - Every write also adds its units per item key, from its items, so the hottest item's
 *   rate can be set against DynamoDB's ~1,000 write units per second per partition.
 *
 * Only the calls sent inside the measured window count: units per second over acks per
 * second is then the cost of an ack, including the lost races of requests that had not
 * ended when the window closed (a starved request can retry for its whole deadline).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DYNAMODB_OPERATIONS } from './usage-meter.js';
import { itemWrites, reportedUnits } from './write-units.js';

export interface CallUsage {
  /** Calls by operation (`TransactWriteItems`, `GetItem`, …). */
  calls: Record<string, number>;
  /** Write units as billed: reported by answered writes, counted from items for failed ones. */
  writeUnits: number;
  /** Of writeUnits, those of writes that failed (counted from their items). */
  failedWriteUnits: number;
  /** Write units counted from items for every write: a cross-check of the reported ones. */
  countedWriteUnits: number;
  readUnits: number;
  writes: number;
  failedWrites: number;
  /** Answered writes that reported no ConsumedCapacity (counted from their items instead). */
  unreportedWrites: number;
  /** Write units counted per item key (`pk|sk`). */
  items: Record<string, number>;
}

export function emptyCallUsage(): CallUsage {
  return {
    calls: {},
    writeUnits: 0,
    failedWriteUnits: 0,
    countedWriteUnits: 0,
    readUnits: 0,
    writes: 0,
    failedWrites: 0,
    unreportedWrites: 0,
    items: {},
  };
}

/** Adds `b` into `a`. */
export function addCallUsage(a: CallUsage, b: CallUsage): CallUsage {
  for (const [name, n] of Object.entries(b.calls)) a.calls[name] = (a.calls[name] ?? 0) + n;
  for (const [key, n] of Object.entries(b.items)) a.items[key] = (a.items[key] ?? 0) + n;
  a.writeUnits += b.writeUnits;
  a.failedWriteUnits += b.failedWriteUnits;
  a.countedWriteUnits += b.countedWriteUnits;
  a.readUnits += b.readUnits;
  a.writes += b.writes;
  a.failedWrites += b.failedWrites;
  a.unreportedWrites += b.unreportedWrites;
  return a;
}

/** The `top` item keys with the most write units, hottest first. */
export function hottestItems(items: Record<string, number>, top: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(items)
      .sort((x, y) => y[1] - x[1])
      .slice(0, top),
  );
}

export class CallMeterMiddleware {
  private readonly counted = emptyCallUsage();
  private window: { start: number; end: number } = { start: Number.POSITIVE_INFINITY, end: Number.POSITIVE_INFINITY };

  /** `now` gives the time the window is in (epoch ms here). */
  constructor(private readonly now: () => number) {}

  /** Counts the calls sent from `start` (inclusive) to `end` (exclusive). */
  setWindow(start: number, end: number): void {
    this.window = { start, end };
  }

  /** What the calls sent inside the window cost. */
  usage(): CallUsage {
    return this.counted;
  }

  install(client: DynamoDBClient): void {
    // Before serialization: ask for the consumed capacity.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { ReturnConsumedCapacity?: string };
        if (DYNAMODB_OPERATIONS[context.commandName ?? ''] && input.ReturnConsumedCapacity === undefined)
          input.ReturnConsumedCapacity = 'TOTAL';
        return next(args);
      },
      { step: 'initialize', name: 'benchAskCapacity', override: true },
    );
    // After marshalling (the document client's items are AttributeValues by now), outside the SDK's retries.
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const sentAt = this.now();
        if (sentAt < this.window.start || sentAt >= this.window.end) return next(args);
        const name = context.commandName ?? 'unknown';
        const kind = DYNAMODB_OPERATIONS[name];
        const usage = this.counted;
        const operation = name.replace(/Command$/, '');
        usage.calls[operation] = (usage.calls[operation] ?? 0) + 1;
        const writes = kind === 'write' ? itemWrites(name, args.input) : [];
        const counted = writes.reduce((n, w) => n + w.units, 0);
        if (kind === 'write') {
          usage.writes++;
          usage.countedWriteUnits += counted;
          for (const w of writes) usage.items[w.key] = (usage.items[w.key] ?? 0) + w.units;
        }
        let result: Awaited<ReturnType<typeof next>>;
        try {
          result = await next(args);
        } catch (err) {
          if (kind === 'write') {
            usage.failedWrites++;
            usage.failedWriteUnits += counted;
            usage.writeUnits += counted;
          }
          throw err;
        }
        const reported = reportedUnits((result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity);
        if (kind === 'read') usage.readUnits += reported ?? 0;
        else if (kind === 'write') {
          if (reported === undefined) usage.unreportedWrites++;
          usage.writeUnits += reported ?? counted;
        }
        return result;
      },
      { step: 'build', name: 'benchCallMeter', override: true },
    );
  }
}
