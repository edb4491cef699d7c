/**
 * What the multi-process checker (./multi-process.ts) and its append workers
 * (./append-worker.ts) say to each other: the worker's configuration, passed in the
 * STRATA_MP_WORKER environment variable, and the JSON lines the worker writes to its
 * stdout, one per event, each written (synchronously: stdout is a pipe) before the
 * worker goes on. A line therefore reaches the parent even when the worker is SIGKILLed
 * right after it, which is what lets a kill leave the in-flight request `unknown`.
 *
 *     parent                                   worker (one request at a time)
 *     spawn(env STRATA_MP_WORKER, STRATA_CHAOS)
 *                 ◀──────────────────────────── {"t":"ready"}
 *                 ◀──────────────────────────── {"t":"send","id":0,…}   before the request
 *                 ◀──────────────────────────── {"t":"result","id":0,…} what it was told
 *                 ◀──────────────────────────── {"t":"send","id":1,…}
 *     SIGKILL ─────────────────────────────────▶ ✗   send 1 stays unknown
 *
 *     stdin closed ────────────────────────────▶ finishes its request, then
 *                 ◀──────────────────────────── {"t":"bye",…} and exits 0
 */

import type { LogStore } from '../../lib/ports/log-store.js';

/** The environment variable that carries a worker's {@link WorkerConfig}. */
export const WORKER_CONFIG_ENV = 'STRATA_MP_WORKER';

/** Shares of the three kinds of append a worker sends (any scale; they are normalised). */
export interface AppendMix {
  /** No producer id: a lost answer stays unknown (never re-sent). */
  plain: number;
  /** Idempotent producer (per-process id, per-partition sequences): re-sent after an unknown outcome. */
  idempotent: number;
  /** `expectedOffset` on one partition, half of them idempotent too: re-sent unchanged after an unknown outcome. */
  conditional: number;
}

/** A pause injected at a named point (see {@link WorkerConfig.stallPoints}). */
export interface StallSpec {
  probability: number;
  /** Uniform in [min, max] ms. */
  ms: [number, number];
}

export interface WorkerConfig {
  /** The process name in the history; a replacement gets a new one. */
  name: string;
  seed: number;
  dynamoEndpoint: string;
  s3Endpoint: string;
  tableName: string;
  bucket: string;
  /** The staging tier's bucket (lib/staging/tier.ts), when the run stages batches there. */
  stagingBucket?: string;
  topic: string;
  partitions: number;
  /** Partitions one append writes to: 1 to this many (at most `partitions`). */
  maxPartitionsPerAppend: number;
  /** Records per append, over all its partitions: 1 to this many (at least one per partition). */
  maxRecordsPerAppend: number;
  mix: AppendMix;
  /** Share of records whose key is one of `hotKeys` keys (compaction removes all but the latest). */
  hotKeyShare: number;
  hotKeys: number;
  /** Bytes of padding in each value, so that flushes, retention and compaction have work. */
  padBytes: number;
  /** Share of appends with one record padded past the topic's stageBytes (staged in S3). */
  largeShare: number;
  largePadBytes: number;
  /** The engine's append deadline (503 RETRY after it). */
  appendDeadlineMs: number;
  /** How many times an idempotent or conditional append is re-sent after an unknown outcome. */
  resends: number;
  /** Pause between two requests, uniform in [min, max] ms. */
  thinkMs: [number, number];
  /** AWS's round trip, added to every SDK attempt (half before the request, half after the answer). */
  latencyMs: [number, number];
  /**
   * Where the worker SIGKILLs itself, by point name → probability per passage:
   * - `worker:afterSend`: the request was announced but not made;
   * - `worker:beforeResult`: the engine answered but the worker dies before saying so;
   * - `sdk:<Command>:before` / `sdk:<Command>:after`: around one SDK attempt of that
   *   command (e.g. `sdk:TransactWriteItemsCommand:after`: the commit is applied and the
   *   process dies before the engine hears of it; `sdk:UpdateItemCommand:after` is the
   *   death between reservation and fill of reserve/fill/seal, whose reservation is an
   *   UpdateItem on the head);
   * - `engine:<hook>`: a hook the engine calls by name (see `engineHookOption`).
   */
  crashPoints: Record<string, number>;
  /** Where the worker pauses (a GC pause, a frozen Lambda), by the same point names. */
  stallPoints: Record<string, StallSpec>;
  /**
   * The EngineOptions field through which `engine:<hook>` points reach the engine: the
   * worker passes `{ [engineHookOption]: { <hook>: () => Promise<void> } }` with one
   * function per `engine:` point configured. Today's engine has no such field and ignores
   * it; an engine that calls `options.testHooks?.afterReserve?.()` between its
   * reservation and its fill gets killed or stalled there with
   * `crashPoints: { 'engine:afterReserve': 0.05 }`.
   */
  engineHookOption: string;
  /** How the worker's engine sequences appends (EngineOptions.sequencing, sealAfterMs). */
  engine: EngineChoice;
  /** Where the worker traces its DynamoDB calls (./worker-trace.ts); none when absent. */
  traceFile?: string;
}

/** The EngineOptions a run sets alike in every process (workers, readers, maintenance). */
export interface EngineChoice {
  sequencing?: 'optimistic' | 'reserve' | 'write-first';
  sealAfterMs?: number;
}

/** One record of an announced request, in request order. */
export interface SentRecord {
  partition: number;
  /** The value's id (the part before '#'); unique across the run. */
  id: string;
}

export type AppendKind = 'plain' | 'idempotent' | 'conditional';

/** The outcome of one partition of a request, over all its attempts. */
export interface PartitionResult {
  partition: number;
  /**
   * `ok`: some attempt was acknowledged (offsets in the partition's record order);
   * `fail`: every attempt was definitely refused (4xx but 429);
   * `unknown`: some attempt may have been applied and none was acknowledged.
   */
  status: 'ok' | 'fail' | 'unknown';
  offsets?: number[];
  /** The error code of the last attempt that was not acknowledged. */
  code?: string;
  /** Its message, when the code is one no correct run answers (INTERNAL, a raw SDK error). */
  message?: string;
  /** An idempotent append answered as a duplicate of a committed batch. */
  duplicate?: boolean;
  /** Two attempts acknowledged different offsets (each attempt's first offset). */
  conflictingAcks?: number[];
}

export type WorkerEvent =
  | { t: 'ready'; pid: number }
  | {
      t: 'send';
      id: number;
      kind: AppendKind;
      /** `partition`: the single-partition route; `topic`: the topic-level route with explicit partitions. */
      route: 'partition' | 'topic';
      records: SentRecord[];
      expectedOffset?: number;
      producerId?: string;
    }
  | { t: 'attempt'; id: number; attempt: number }
  | { t: 'result'; id: number; attempts: number; ms: number; partitions: PartitionResult[] }
  | { t: 'flushDue'; partition: number }
  /** Written before a seal is sent: those offsets may hold voids from now on (reserve/fill/seal). */
  | { t: 'seal'; partition: number; offsets: number[] }
  | { t: 'crash'; point: string }
  | { t: 'stall'; point: string; ms: number }
  | { t: 'bye'; requests: number }
  | { t: 'error'; message: string };

/**
 * Wraps a store so that every seal is announced before it is sent: the offsets of a seal
 * whose outcome nobody learns (a kill, a lost answer) are announced all the same, so the
 * checker knows every offset that may hold a void and takes no other gap for one.
 */
export function announceSeals(store: LogStore, announce: (partition: number, offsets: number[]) => void): LogStore {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'sealOffsets') return typeof value === 'function' ? value.bind(target) : value;
      return (...args: Parameters<LogStore['sealOffsets']>) => {
        announce(args[0].partition, [...args[1]]);
        return target.sealOffsets(...args);
      };
    },
  });
}

/** The id of a value as the worker wrote it: `<id>#<padding>`. */
export function valueId(value: string): string {
  const hash = value.indexOf('#');
  return hash < 0 ? value : value.slice(0, hash);
}

/** The key of a record from its value id: a hot key after '@', else the id itself (unique). */
export function keyOfId(id: string): string {
  const at = id.indexOf('@');
  return at < 0 ? id : id.slice(at + 1);
}

/** True when the record's key is a hot key, which later records of the same key may compact away. */
export function isHotId(id: string): boolean {
  return id.includes('@');
}
