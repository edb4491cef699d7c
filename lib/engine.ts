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

import { type Clock, systemClock } from './core/clock.js';
import { MAX_APPEND_DEADLINE_MS, SEAL_AFTER_MS } from './core/constants.js';
import { DEFAULT_RETRY, type RetryPolicy } from './core/retry.js';
import { GroupMembership } from './groups/membership.js';
import { GroupOffsets } from './groups/offsets.js';
import { Flusher } from './maintenance/flusher.js';
import { Maintenance, type MaintenanceOptions } from './maintenance/maintenance.js';
import type { LogStore } from './ports/log-store.js';
import type { PartitionHead } from './ports/model.js';
import { type PartitionRef, partitionKey } from './ports/model.js';
import type { ObjectStore } from './ports/object-store.js';
import { AppendNotifier } from './reading/notifier.js';
import { Reader } from './reading/reader.js';
import { SegmentReader } from './reading/segment-reader.js';
import { type Announce, Appender } from './sequencing/appender.js';
import { OptimisticSequencer } from './sequencing/optimistic-sequencer.js';
import { ReservingSequencer } from './sequencing/reserving-sequencer.js';
import { committedFloor, Sealer } from './sequencing/sealer.js';
import type { CommitStats, PartitionSequencer } from './sequencing/sequencer.js';
import { WriteFirstSequencer } from './sequencing/write-first-sequencer.js';
import { StagedStores, type StagingOptions } from './staging/tier.js';
import type { TopicConfigPatch } from './topics/topic-config.js';
import { TopicService } from './topics/topic-service.js';

export interface EngineOptions {
  store: LogStore;
  /** S3: segments (and staged batches). Without it nothing is ever flushed. */
  objects?: ObjectStore;
  /**
   * The staging tier (lib/staging/tier.ts): a second store (S3 Express One Zone on AWS) for
   * the batches of staged appends, which topics' `stageBytes` chooses; segments stay in
   * `objects`. Needs `objects`: the flushes copy what is staged there into segments.
   */
  staging?: StagingOptions;
  clock?: Clock;
  retry?: RetryPolicy;
  /** How long an append keeps retrying before 503 RETRY. */
  appendDeadlineMs?: number;
  topicCacheTtlMs?: number;
  /**
   * How old a cached copy of a topic an append may start on, confirming the topic while
   * it commits (TOPIC_STALE_APPEND_MS; 0 when topicCacheTtlMs is 0).
   */
  topicStaleAppendMs?: number;
  /**
   * How old a cached copy of a topic an append uses without re-reading it: by default
   * TOPIC_APPEND_REFRESH_MS where the commit refuses a deleted topic itself (optimistic,
   * write-first), the cache TTL under `reserve` (and when topicCacheTtlMs is 0).
   */
  topicAppendRefreshMs?: number;
  /** Defaults for new topics' config (a deployment's retention, say); a request's own settings win. */
  topicDefaults?: TopicConfigPatch;
  onCommit?: (stats: CommitStats) => void;
  /** Asks for a flush of a partition whose tail passed flushBytes (e.g. invoke the compact function). */
  onFlushDue?: (ref: PartitionRef) => Promise<void> | void;
  /**
   * Called as an append to a partition starts; what it returns is called once the append
   * committed and before it is acknowledged, with the offset after its last record
   * (readable from then on) and the records. Where the append function announces the
   * move to push subscribers (lib/push/fanout.ts), looking them up while the append
   * commits. Failures are swallowed: a lost announcement costs a consumer latency, never
   * a record.
   */
  announcer?: (ref: PartitionRef) => Announce;
  /** Grace period and bounds of retention, compaction and garbage collection. */
  maintenance?: MaintenanceOptions;
  /**
   * Bytes of batches per index region of the segments flushes and compactions write
   * (Kafka's `index.interval.bytes`; SEGMENT_INDEX_INTERVAL_BYTES by default). Smaller
   * makes a read fetch less before its offset and the footer's index larger; the manifest
   * item holds at most MAX_MANIFEST_INDEX_ENTRIES entries whatever it is.
   */
  segmentIndexIntervalBytes?: number;
  /**
   * How appends get their offsets (docs/design.md): `optimistic` (the default: one
   * long-lived process, such as the local server, whose group commit coalesces its
   * appends) commits each group with one transaction conditioned on the head, which
   * collapses under writers in separate processes; `write-first` (what the CDK
   * construct deploys: Lambda environments each serving one request) writes each group's
   * data before it has offsets and numbers it in one head update ("Write first, number
   * after"): two round trips, no writer waits for another; `reserve` reserves a range
   * with the head's atomic counter and fills it, sealing what a dead writer left.
   */
  sequencing?: 'reserve' | 'optimistic' | 'write-first';
  /** Reserved offsets left unfilled this long are sealed (SEAL_AFTER_MS by default). */
  sealAfterMs?: number;
}

export class LogEngine {
  /** The store the engine was built with (the push endpoint reads heads through it). */
  readonly store: LogStore;
  readonly topics: TopicService;
  readonly appender: Appender;
  readonly reader: Reader;
  readonly groups: GroupOffsets;
  readonly membership: GroupMembership;
  /** Moves tails into S3 segments; absent without an object store. */
  readonly flusher: Flusher | undefined;
  /** The compact function's passes (flush, retention, compaction, GC); absent without an object store. */
  readonly maintenance: Maintenance | undefined;
  private readonly sequencers = new Map<string, PartitionSequencer>();
  /** Finds the contiguous prefix of a tail and seals its stale gaps (reads, flushes, appends). */
  readonly sealer: Sealer;

  constructor(options: EngineOptions) {
    this.store = options.store;
    const clock = options.clock ?? systemClock;
    const notifier = new AppendNotifier();
    const retry = options.retry ?? DEFAULT_RETRY;
    const deadlineMs = options.appendDeadlineMs ?? retry.deadlineMs;
    if (!Number.isSafeInteger(deadlineMs) || deadlineMs <= 0 || deadlineMs > MAX_APPEND_DEADLINE_MS) {
      throw new RangeError(
        `the append deadline must be a whole number of ms from 1 to ${MAX_APPEND_DEADLINE_MS} (a commit in doubt is re-sent only inside DynamoDB's 10-minute idempotency window); got ${deadlineMs}`,
      );
    }
    this.sealer = new Sealer(options.store, clock, { sealAfterMs: options.sealAfterMs ?? SEAL_AFTER_MS });
    this.topics = new TopicService(options.store, clock, {
      cacheTtlMs: options.topicCacheTtlMs,
      configDefaults: options.topicDefaults,
      highWatermark: (ref, head) => this.sealer.highWatermark(ref, head),
      staleAppendMs: options.topicStaleAppendMs,
      commitsRefuseDeleted: options.sequencing !== 'reserve',
      appendRefreshMs: options.topicAppendRefreshMs,
    });
    const sequencer = (ref: PartitionRef) => {
      const key = partitionKey(ref);
      let s = this.sequencers.get(key);
      if (!s) {
        const sequencerOptions = {
          retry,
          ...(options.onCommit ? { onCommit: options.onCommit } : {}),
          catchUp: async (r: PartitionRef, head: PartitionHead) => {
            const prefix = await this.sealer.settle(r, committedFloor(head), head);
            if (prefix.end > head.committedOffset) await options.store.advanceCommitted(r, prefix.end);
          },
        };
        s =
          options.sequencing === 'reserve'
            ? new ReservingSequencer(ref, options.store, clock, notifier, this.sealer, sequencerOptions)
            : options.sequencing === 'write-first'
              ? new WriteFirstSequencer(ref, options.store, clock, notifier, sequencerOptions)
              : new OptimisticSequencer(ref, options.store, clock, notifier, sequencerOptions);
        this.sequencers.set(key, s);
      }
      return s;
    };
    if (options.staging && !options.objects) {
      throw new Error('a staging store needs the main object store (objects): flushes copy what is staged into segments there');
    }
    const staged = new StagedStores(options.objects, options.staging);
    this.appender = new Appender(
      this.topics,
      sequencer,
      clock,
      {
        deadlineMs,
        ...(options.onFlushDue ? { onFlushDue: options.onFlushDue } : {}),
        ...(options.announcer ? { announcer: options.announcer } : {}),
      },
      staged,
    );
    const segments = options.objects ? new SegmentReader(options.store, options.objects) : undefined;
    this.reader = new Reader(this.topics, options.store, clock, notifier, this.sealer, segments, staged);
    const indexIntervalBytes = options.segmentIndexIntervalBytes;
    this.flusher = options.objects
      ? new Flusher(
          options.store,
          options.objects,
          clock,
          { indexIntervalBytes, graceMs: options.maintenance?.graceMs },
          this.sealer,
          options.staging,
        )
      : undefined;
    this.maintenance =
      this.flusher && options.objects
        ? new Maintenance(
            this.topics,
            options.store,
            options.objects,
            this.flusher,
            clock,
            { indexIntervalBytes, ...options.maintenance },
            options.staging,
          )
        : undefined;
    this.groups = new GroupOffsets(this.topics, options.store, clock, retry);
    this.membership = new GroupMembership(this.topics, options.store, clock, retry);
  }

  /**
   * Resolves once work started beside answers has ended: the write-first index steps
   * (lib/sequencing/write-first-sequencer.ts, INDEX_AWAIT_ENTRIES). For tests, and for a
   * process about to stop: a step it abandons is left to the next one.
   */
  async idle(): Promise<void> {
    await Promise.all([...this.sequencers.values()].map((s) => s.idle()));
  }
}
