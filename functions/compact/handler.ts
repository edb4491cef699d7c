/**
 * The compact function, invoked by the EventBridge schedule (and, from the segments
 * issue on, asynchronously by append for one partition). Flush, retention, compaction
 * and garbage collection arrive with the segments and compaction issues; until then it
 * only logs what it was asked to do, so the schedule and its wiring can be deployed.
 */
import type { ScheduledEvent } from 'aws-lambda';
import { createObservability } from '../shared/observability.js';

/** An async invocation for one partition (from append) or a scheduled pass over all. */
export type CompactEvent = ScheduledEvent | { partition: { topic: string; topicId: string; partition: number } };

const obs = createObservability('compact');

export async function handler(event: CompactEvent): Promise<{ status: 'noop' }> {
  obs.logger.info('compaction is not implemented yet; nothing to do', { event });
  return { status: 'noop' };
}
