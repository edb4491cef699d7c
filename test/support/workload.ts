/**
 * A concurrent workload against one or more engines (each one stands for a separate
 * process, e.g. a Lambda container) on the same table, recorded as a history for the
 * checker: producers append batches (some idempotent, some conditional-free plain
 * appends), readers poll every partition meanwhile, and a final read covers everything.
 */

import { StrataError } from '../../lib/core/errors.js';
import { sleep } from '../../lib/core/retry.js';
import type { LogEngine } from '../../lib/engine.js';
import type { TopicMeta } from '../../lib/ports/model.js';
import { partitionForKey } from '../../lib/topics/partitioner.js';
import { bytes, text } from './engine.js';
import { seededRandom } from './faults.js';
import { History } from './history.js';

export interface WorkloadOptions {
  /** Engines the producers and readers are spread over. */
  engines: LogEngine[];
  /** An engine without faults for the final read. */
  verifier: LogEngine;
  topic: string;
  partitions: number;
  producers: number;
  batchesPerProducer: number;
  maxRecordsPerBatch: number;
  readersPerPartition: number;
  seed?: number;
}

export interface WorkloadResult {
  history: History;
  /** Batches that ended with an unknown outcome (503 or a lost response). */
  unknownBatches: number;
  retriedBatches: number;
}

/** How many times an idempotent producer re-sends a batch whose outcome was unknown. */
const IDEMPOTENT_RESENDS = 50;

export async function runWorkload(options: WorkloadOptions): Promise<WorkloadResult> {
  const history = new History();
  const random = seededRandom(options.seed ?? 7);
  let producing = options.producers;
  let unknownBatches = 0;
  let retriedBatches = 0;

  const producer = async (index: number) => {
    const engine = options.engines[index % options.engines.length]!;
    const name = `producer-${index}`;
    // Half the producers are idempotent.
    const idempotent = index % 2 === 0;
    const byKey = index % 4 < 2;
    const sequences = new Map<number, number>();
    for (let b = 0; b < options.batchesPerProducer; b++) {
      const count = 1 + Math.floor(random() * options.maxRecordsPerBatch);
      const key = `key-${index}-${Math.floor(random() * 5)}`;
      const partition = byKey ? partitionForKey(bytes(key), options.partitions) : Math.floor(random() * options.partitions);
      const values = Array.from({ length: count }, (_, k) => `${name}/${b}/${k}`);
      const handles = values.map((value) => history.invokeSend({ process: name, partition, value }));
      const records = values.map((value) => ({ key: bytes(key), value: bytes(value) }));
      const sequence = sequences.get(partition) ?? 0;
      const send = () =>
        byKey
          ? engine.appender.append(options.topic, {
              records,
              ...(idempotent ? { producer: { producerId: name, epoch: 0, sequences: { [partition]: sequence } } } : {}),
            })
          : engine.appender.appendToPartition(options.topic, partition, {
              records,
              ...(idempotent ? { producer: { producerId: name, epoch: 0, sequence } } : {}),
            });
      const outcome = await sendWithRetries(send, idempotent ? IDEMPOTENT_RESENDS : 0, () => retriedBatches++);
      if (outcome.kind === 'ok') {
        for (const [k, offset] of outcome.offsets.entries()) handles[k]!.ok(offset);
        sequences.set(partition, sequence + count);
      } else if (outcome.kind === 'unknown') {
        unknownBatches++;
        for (const h of handles) h.info();
      } else {
        for (const h of handles) h.fail();
      }
    }
    producing--;
  };

  const reader = async (engine: LogEngine, partition: number, name: string) => {
    let offset = 0;
    for (;;) {
      const done = producing === 0;
      let page: Awaited<ReturnType<typeof engine.reader.read>>;
      try {
        page = await engine.reader.read(options.topic, partition, { offset, maxRecords: 1 + Math.floor(random() * 50), waitMs: 50 });
      } catch {
        await sleep(5);
        continue;
      }
      history.poll({
        process: name,
        partition,
        fromOffset: offset,
        records: page.records.map((r) => ({ offset: r.offset, value: text(r.value)! })),
      });
      offset = page.nextOffset;
      if (done && offset >= page.highWatermark) return;
    }
  };

  const readers: Promise<void>[] = [];
  for (let p = 0; p < options.partitions; p++) {
    for (let r = 0; r < options.readersPerPartition; r++) {
      readers.push(reader(options.engines[r % options.engines.length]!, p, `reader-${p}-${r}`));
    }
  }
  await Promise.all(Array.from({ length: options.producers }, (_, i) => producer(i)));
  await Promise.all(readers);

  for (let p = 0; p < options.partitions; p++) {
    let offset = 0;
    const records = [];
    for (;;) {
      const page = await options.verifier.reader.read(options.topic, p, { offset, maxRecords: 10_000 });
      records.push(...page.records.map((r) => ({ offset: r.offset, value: text(r.value)! })));
      offset = page.nextOffset;
      if (offset >= page.highWatermark) break;
    }
    history.finalRead(p, records);
  }
  return { history, unknownBatches, retriedBatches };
}

type SendOutcome = { kind: 'ok'; offsets: number[] } | { kind: 'failed' } | { kind: 'unknown' };

/**
 * Sends once; an idempotent producer re-sends the same batch (same sequence) after an
 * unknown outcome, which the log must deduplicate. A definite rejection (4xx) fails it.
 */
async function sendWithRetries(
  send: () => Promise<{ offsets: { offset: number }[] }>,
  resends: number,
  onRetry: () => void,
): Promise<SendOutcome> {
  for (let attempt = 0; ; attempt++) {
    try {
      const result = await send();
      return { kind: 'ok', offsets: result.offsets.map((o) => o.offset) };
    } catch (err) {
      const definite = err instanceof StrataError && err.status >= 400 && err.status < 500 && err.status !== 429;
      if (definite) return { kind: 'failed' };
      if (attempt >= resends) return { kind: 'unknown' };
      onRetry();
      await sleep(2);
    }
  }
}

/**
 * Flushes every partition of a topic over and over (forced) while a workload runs, so
 * that reads race with flushes. `stop()` ends the loop and returns the segments written.
 */
export function startFlushLoop(engine: LogEngine, meta: TopicMeta, intervalMs = 20): { stop(): Promise<number> } {
  let running = true;
  let segments = 0;
  const loop = (async () => {
    while (running) {
      for (let p = 0; p < meta.partitions; p++) segments += (await engine.flusher!.flushPartition(meta, p, { force: true })).segments;
      await sleep(intervalMs);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return segments;
    },
  };
}
