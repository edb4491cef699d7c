/**
 * Powertools logger and metrics (EMF) for a function. The local stack disables metric
 * output (POWERTOOLS_METRICS_DISABLED) and logs at WARN unless told otherwise.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { CommitStats } from '../../lib/sequencing/sequencer.js';

export const METRICS_NAMESPACE = 'Strata';

export interface Observability {
  /** The function: append, read, compact (the logs' and metrics' `service`). */
  service: string;
  logger: Logger;
  metrics: Metrics;
  /** Per-topic counters (dimension `topic`), unless turned off (STRATA_TOPIC_METRICS=false). */
  topics?: TopicMetrics;
}

export interface ObservabilityOptions {
  /** Per-topic metrics (TOPIC_METRICS). @default true */
  topicMetrics?: boolean;
}

export function createObservability(serviceName: string, options: ObservabilityOptions = {}): Observability {
  return {
    service: serviceName,
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
    ...(options.topicMetrics === false ? {} : { topics: new TopicMetrics(serviceName) }),
  };
}

/**
 * The metrics with dimensions `service` and `topic`, which the dashboard graphs per
 * topic. Five names per topic ($0.30 a month each while published: about $1.50 per busy
 * topic); the construct's `topicMetrics: false` turns them off.
 */
export const TOPIC_METRICS = {
  /** Records and bytes committed to the topic (summed from each group commit; append function). */
  appendedRecords: 'TopicAppendedRecords',
  appendedBytes: 'TopicAppendedBytes',
  /** Records answered by record reads of the topic, and the bytes of those answers (read function). */
  readRecords: 'TopicReadRecords',
  readBytes: 'TopicReadBytes',
  /**
   * After each record read, how far its reader is behind: highWatermark - nextOffset
   * (graphed as the Maximum over readers). A consumer that stops reading stops
   * reporting: pair it with the group's committed offsets (`strata groups describe`).
   */
  consumerLag: 'TopicConsumerLag',
} as const;
export type TopicMetricName = (typeof TOPIC_METRICS)[keyof typeof TOPIC_METRICS];

const TOPIC_METRIC_UNITS: Record<TopicMetricName, (typeof MetricUnit)[keyof typeof MetricUnit]> = {
  TopicAppendedRecords: MetricUnit.Count,
  TopicAppendedBytes: MetricUnit.Bytes,
  TopicReadRecords: MetricUnit.Count,
  TopicReadBytes: MetricUnit.Bytes,
  TopicConsumerLag: MetricUnit.Count,
};

/**
 * Per-topic counters of one invocation, summed in memory and published as one EMF
 * record per topic (`publish`, at the end of a request): not a log line per commit.
 */
export class TopicMetrics {
  private readonly metrics: Metrics;
  private readonly pending = new Map<string, Map<TopicMetricName, number>>();

  constructor(serviceName: string) {
    this.metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
  }

  /** Adds to a counter of this invocation. */
  add(topic: string, name: TopicMetricName, value: number): void {
    const counters = this.countersOf(topic);
    counters.set(name, (counters.get(name) ?? 0) + value);
  }

  /** Keeps the largest value seen in this invocation (a gauge such as the consumer lag). */
  max(topic: string, name: TopicMetricName, value: number): void {
    const counters = this.countersOf(topic);
    counters.set(name, Math.max(counters.get(name) ?? value, value));
  }

  publish(): void {
    for (const [topic, counters] of this.pending) {
      this.metrics.addDimension('topic', topic);
      for (const [name, value] of counters) this.metrics.addMetric(name, TOPIC_METRIC_UNITS[name], value);
      this.metrics.publishStoredMetrics();
    }
    this.pending.clear();
  }

  private countersOf(topic: string): Map<TopicMetricName, number> {
    let counters = this.pending.get(topic);
    if (!counters) this.pending.set(topic, (counters = new Map()));
    return counters;
  }
}

/** Where a record read left its reader: attached to the answer (not serialized) for the per-topic metrics. */
export interface ReadPosition {
  records: number;
  nextOffset: number;
  highWatermark: number;
}

const READ_POSITION = Symbol('strata.readPosition');

/** `response`, carrying `position` for the dispatcher's per-topic metrics (a symbol key: never sent). */
export function withReadPosition<T extends object>(response: T, position: ReadPosition): T {
  Object.defineProperty(response, READ_POSITION, { value: position, enumerable: false });
  return response;
}

export function readPosition(response: object): ReadPosition | undefined {
  return (response as { [READ_POSITION]?: ReadPosition })[READ_POSITION];
}

/** Records one group commit: how much it carried and how hard it had to try, and what its topic received. */
export function recordCommit(obs: Observability, stats: CommitStats): void {
  const { metrics } = obs;
  metrics.addMetric('CommitRecords', MetricUnit.Count, stats.records);
  metrics.addMetric('CommitBytes', MetricUnit.Bytes, stats.bytes);
  metrics.addMetric('CommitAppends', MetricUnit.Count, stats.appends);
  metrics.addMetric('CommitConflicts', MetricUnit.Count, stats.conflicts);
  metrics.addMetric('CommitAttempts', MetricUnit.Count, stats.attempts);
  metrics.addMetric('CommitLatency', MetricUnit.Milliseconds, stats.durationMs);
  obs.topics?.add(stats.ref.topic, TOPIC_METRICS.appendedRecords, stats.records);
  obs.topics?.add(stats.ref.topic, TOPIC_METRICS.appendedBytes, stats.bytes);
}

export { MetricUnit };
