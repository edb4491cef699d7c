/**
 * Wrappers of the engine's storage ports that time every call while a measurement is
 * on. A flush or a catch-up read runs its storage calls one after another, so the time
 * each kind of call took, next to the wall time of the whole operation, says where the
 * operation spends it; what is left over is the engine's own CPU (encoding, copying).
 * The object store also logs the ranged GETs a read made, so the raw primitive can
 * replay exactly the same requests.
 */
import { performance } from 'node:perf_hooks';
import type { LogStore } from '../../lib/ports/log-store.js';
import type { TailItem } from '../../lib/ports/model.js';
import type { ObjectStore } from '../../lib/ports/object-store.js';

export interface CallStats {
  calls: number;
  /** Sum of the calls' durations (wall time of overlapping calls counts twice). */
  ms: number;
  /** Bytes moved: PUT bodies, GET answers, tail items queried. */
  bytes: number;
}

/** One GET the engine made, as the raw replay needs it. */
export interface ObjectGet {
  key: string;
  range?: { start: number; end: number };
  bytes: number;
}

export type CallBreakdown = Record<string, CallStats>;

export class CallMeter {
  private active = false;
  private stats = new Map<string, CallStats>();
  private gets: ObjectGet[] = [];

  start(): void {
    this.stats = new Map();
    this.gets = [];
    this.active = true;
  }

  stop(): { calls: CallBreakdown; gets: ObjectGet[] } {
    this.active = false;
    return { calls: Object.fromEntries(this.stats), gets: this.gets };
  }

  /** Runs `call` and, while measuring, adds its duration and bytes under `name`. */
  async time<T>(name: string, call: () => Promise<T>, bytesOf: (result: T) => number = () => 0): Promise<T> {
    if (!this.active) return call();
    const begin = performance.now();
    const result = await call();
    const stats = this.stats.get(name) ?? { calls: 0, ms: 0, bytes: 0 };
    stats.calls++;
    stats.ms += performance.now() - begin;
    stats.bytes += bytesOf(result);
    this.stats.set(name, stats);
    return result;
  }

  logGet(get: ObjectGet): void {
    if (this.active) this.gets.push(get);
  }
}

export class MeteredObjectStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    private readonly meter: CallMeter,
  ) {}

  put(key: string, body: Uint8Array): Promise<void> {
    return this.meter.time(
      'S3 PUT',
      () => this.inner.put(key, body),
      () => body.byteLength,
    );
  }

  async get(key: string, range?: { start: number; end: number }): Promise<Uint8Array> {
    const data = await this.meter.time(
      'S3 GET',
      () => this.inner.get(key, range),
      (d) => d.byteLength,
    );
    this.meter.logGet({ key, ...(range ? { range } : {}), bytes: data.byteLength });
    return data;
  }

  list(prefix: string): Promise<{ key: string; size: number; lastModified: number }[]> {
    return this.meter.time('S3 LIST', () => this.inner.list(prefix));
  }

  delete(keys: string[]): Promise<string[]> {
    return this.meter.time('S3 DELETE', () => this.inner.delete(keys));
  }
}

/**
 * Times every method of a LogStore under the DynamoDB call it makes (`DDB queryTail`, …).
 * A Proxy rather than a class: the port has a dozen methods and only their timing differs.
 */
export function meteredLogStore(inner: LogStore, meter: CallMeter): LogStore {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function' || typeof property !== 'string') return value;
      const method = value as (...args: unknown[]) => Promise<unknown>;
      return (...args: unknown[]) =>
        meter.time(`DDB ${property}`, () => method.apply(target, args), property === 'queryTail' ? tailBytes : undefined);
    },
  });
}

function tailBytes(result: unknown): number {
  return (result as TailItem[]).reduce((sum, item) => sum + item.data.byteLength, 0);
}
