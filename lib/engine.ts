/**
 * The log engine: one object that wires the topic service, the per-partition
 * sequencers, the reader and group offsets to the storage ports. Handlers and the local
 * stack create one per process and keep it warm (sequencers hold the group-commit
 * queues and the cached heads).
 *
 * @example
 * const engine = new LogEngine({ store: new DynamoLogStore(client, 'strata') });
 * await engine.topics.create({ name: 'orders', partitions: 3 });
 * await engine.appender.append('orders', { records: [{ key: null, value: bytes }] });
 */
import { Appender } from './appender.js';
import { systemClock, type Clock } from './clock.js';
import { GroupOffsets } from './group-offsets.js';
import { partitionKey, type PartitionRef } from './keys.js';
import { AppendNotifier } from './notifier.js';
import type { LogStore, ObjectStore } from './ports.js';
import { Reader } from './reader.js';
import { DEFAULT_RETRY, type RetryPolicy } from './retry.js';
import { PartitionSequencer, type CommitStats } from './sequencer.js';
import { TopicService } from './topics.js';

export interface EngineOptions {
  store: LogStore;
  /** S3 (segments, staged batches): used from the segments issue on. */
  objects?: ObjectStore;
  clock?: Clock;
  retry?: RetryPolicy;
  /** How long an append keeps retrying before 503 RETRY. */
  appendDeadlineMs?: number;
  topicCacheTtlMs?: number;
  onCommit?: (stats: CommitStats) => void;
}

export class LogEngine {
  readonly topics: TopicService;
  readonly appender: Appender;
  readonly reader: Reader;
  readonly groups: GroupOffsets;
  private readonly sequencers = new Map<string, PartitionSequencer>();

  constructor(options: EngineOptions) {
    const clock = options.clock ?? systemClock;
    const notifier = new AppendNotifier();
    const retry = options.retry ?? DEFAULT_RETRY;
    this.topics = new TopicService(options.store, clock, options.topicCacheTtlMs);
    const sequencer = (ref: PartitionRef) => {
      const key = partitionKey(ref);
      let s = this.sequencers.get(key);
      if (!s) {
        s = new PartitionSequencer(ref, options.store, clock, notifier, {
          retry,
          ...(options.onCommit ? { onCommit: options.onCommit } : {}),
        });
        this.sequencers.set(key, s);
      }
      return s;
    };
    this.appender = new Appender(this.topics, sequencer, clock, {
      deadlineMs: options.appendDeadlineMs ?? retry.deadlineMs,
    });
    this.reader = new Reader(this.topics, options.store, clock, notifier);
    this.groups = new GroupOffsets(this.topics, options.store, clock);
  }
}
