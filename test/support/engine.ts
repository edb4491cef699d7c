/**
 * A log engine on a fresh table of the shared DynamoDB Local, optionally behind a
 * fault injector, for engine-level integration tests.
 */
import { DynamoLogStore, type DynamoLogStoreOptions } from '../../lib/aws/dynamo-log-store.js';
import { S3ObjectStore } from '../../lib/aws/s3-object-store.js';
import type { Clock } from '../../lib/core/clock.js';
import { FAST_RETRY } from '../../lib/core/retry.js';
import { type EngineOptions, LogEngine } from '../../lib/engine.js';
import type { LogStore } from '../../lib/ports/log-store.js';
import type { ObjectStore } from '../../lib/ports/object-store.js';
import { freshBucket, freshTable, testClients } from './aws.js';
import type { FaultInjector } from './faults.js';
import { recordVoids } from './voids.js';

export interface TestEngine {
  engine: LogEngine;
  store: LogStore;
  /** The store without faults, for checks that must see the truth. */
  realStore: DynamoLogStore;
  /** An engine on the store without faults, for final reads. */
  verifier: LogEngine;
  tableName: string;
  bucket: string;
  objects: ObjectStore;
  realObjects: S3ObjectStore;
  /** The real store, recording the offsets it seals: what more engines on this table should use. */
  recordingStore: LogStore;
  /** Offsets sealed with voids per partition of `topic`, for History.check({ voids }). */
  voids(topic: string): Map<number, Set<number>>;
}

export async function createTestEngine(
  options: { faults?: FaultInjector; clock?: Clock; engine?: Partial<EngineOptions>; store?: DynamoLogStoreOptions } = {},
): Promise<TestEngine> {
  const [tableName, bucket] = await Promise.all([freshTable(), freshBucket()]);
  const realStore = new DynamoLogStore(testClients().dynamo, tableName, options.store);
  const realObjects = new S3ObjectStore(testClients().s3, bucket);
  const recorder = recordVoids(realStore);
  const store = options.faults ? options.faults.wrap<LogStore>(recorder.store) : recorder.store;
  const objects = options.faults ? options.faults.wrap<ObjectStore>(realObjects) : realObjects;
  const engine = new LogEngine({
    store,
    objects,
    retry: FAST_RETRY,
    ...(options.clock ? { clock: options.clock } : {}),
    ...options.engine,
  });
  const verifier = new LogEngine({ store: realStore, objects: realObjects, retry: FAST_RETRY, topicCacheTtlMs: 0 });
  return {
    engine,
    store,
    realStore,
    verifier,
    tableName,
    bucket,
    objects,
    realObjects,
    recordingStore: recorder.store,
    voids: recorder.voids,
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

export function text(data: Uint8Array | null): string | null {
  return data === null ? null : decoder.decode(data);
}

/** Reads a whole partition from `from` to its high watermark, page by page. */
export async function readAll(engine: LogEngine, topic: string, partition: number, from = 0) {
  const records = [];
  let offset = from;
  for (;;) {
    const page = await engine.reader.read(topic, partition, { offset, maxRecords: 10_000 });
    records.push(...page.records);
    if (page.nextOffset >= page.highWatermark) return records;
    offset = page.nextOffset;
  }
}
