/**
 * Powertools logger and metrics (EMF) for a function. The local stack disables metric
 * output (POWERTOOLS_METRICS_DISABLED) and logs at WARN unless told otherwise.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CommitStats } from '../../lib/sequencer.js';

export const METRICS_NAMESPACE = 'Strata';

export interface Observability {
  logger: Logger;
  metrics: Metrics;
}

export function createObservability(serviceName: string): Observability {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
  };
}

/** Records one group commit: how much it carried and how hard it had to try. */
export function recordCommit(metrics: Metrics, stats: CommitStats): void {
  metrics.addMetric('CommitRecords', MetricUnit.Count, stats.records);
  metrics.addMetric('CommitBytes', MetricUnit.Bytes, stats.bytes);
  metrics.addMetric('CommitAppends', MetricUnit.Count, stats.appends);
  metrics.addMetric('CommitConflicts', MetricUnit.Count, stats.conflicts);
  metrics.addMetric('CommitAttempts', MetricUnit.Count, stats.attempts);
  metrics.addMetric('CommitLatency', MetricUnit.Milliseconds, stats.durationMs);
}

export { MetricUnit };
