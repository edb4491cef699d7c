/**
 * The compact function. The EventBridge schedule invokes it with a scheduled event: it
 * flushes every partition whose tail is due. The append function invokes it
 * asynchronously with `{ topic, partition }` when one partition's tail passed its flush
 * threshold. Retention, compaction and garbage collection join these passes in the
 * compaction issue.
 */
import * as z from 'zod';
import type { LogEngine } from '../../lib/engine.js';
import { InternalError } from '../../lib/errors.js';
import type { PartitionPass } from '../../lib/maintenance.js';
import { readEnv } from '../shared/env.js';
import { createObservability, MetricUnit, type Observability } from '../shared/observability.js';
import { createEngine } from '../shared/runtime.js';

/** An asynchronous invocation for one partition. */
export const partitionEventSchema = z.object({ topic: z.string().min(1), partition: z.number().int().min(0) });
export type PartitionEvent = z.infer<typeof partitionEventSchema>;

export interface CompactResult {
  partitions: number;
  segments: number;
  records: number;
  bytes: number;
}

export function createCompactHandler(engine: LogEngine, obs: Observability) {
  return async (event: unknown): Promise<CompactResult> => {
    const maintenance = engine.maintenance;
    if (!maintenance) throw new InternalError('the compact function needs an object store (STRATA_BUCKET_NAME)');
    const one = partitionEventSchema.safeParse(event);
    const passes: PartitionPass[] = one.success
      ? [await maintenance.runPartition(one.data.topic, one.data.partition)]
      : await maintenance.runAll();
    const result = {
      partitions: passes.length,
      segments: passes.reduce((n, p) => n + p.flush.segments, 0),
      records: passes.reduce((n, p) => n + p.flush.records, 0),
      bytes: passes.reduce((n, p) => n + p.flush.bytes, 0),
    };
    obs.metrics.addMetric('FlushSegments', MetricUnit.Count, result.segments);
    obs.metrics.addMetric('FlushRecords', MetricUnit.Count, result.records);
    obs.metrics.addMetric('FlushBytes', MetricUnit.Bytes, result.bytes);
    obs.metrics.publishStoredMetrics();
    obs.logger.info('compact pass', { trigger: one.success ? 'partition' : 'schedule', ...result });
    return result;
  };
}

let instance: ReturnType<typeof createCompactHandler> | undefined;

/** Lambda entry point: builds the engine once per cold start from the environment. */
export async function handler(event: unknown): Promise<CompactResult> {
  instance ??= createCompactHandler(createEngine(readEnv()), createObservability('compact'));
  return instance(event);
}
