/**
 * The compact function's work for one partition, in one bounded pass: flush the tail
 * when due, retention, key compaction, garbage collection, then the partition's stats.
 * Every step is conditioned on what it read, so a duplicated or retried invocation
 * (Lambda's asynchronous delivery is at least once) or two passes at once lose nothing:
 * the loser of a race finds its condition failed and leaves the work to the next pass.
 *
 * The scheduled run lists the partitions with work to do and, given a `dispatch`, fans
 * out one asynchronous invocation per partition (the compact function invokes itself);
 * without one (tests, `npm run compact`) it runs them inline. A pass that stopped at its
 * bound reports `more`, and the handler invokes itself again for that partition.
 */
import type { Clock } from '../core/clock.js';
import {
  DEFAULT_DISPATCH_CONCURRENCY,
  DEFAULT_OBJECT_GRACE_MS,
  FANOUT_TOPICS_READ_AT_ONCE,
  MAX_DISPATCHES_PER_RUN,
  ORPHAN_SCAN_INTERVAL_MS,
} from '../core/constants.js';
import { TopicNotFoundError } from '../core/errors.js';
import type { LogStore } from '../ports/log-store.js';
import type { PartitionHead, PartitionRef, PartitionStats, SegmentManifest, TopicMeta } from '../ports/model.js';
import type { ObjectStore } from '../ports/object-store.js';
import type { StagingOptions } from '../staging/tier.js';
import { refsOf, type TopicService } from '../topics/topic-service.js';
import { type CompactionOptions, type CompactionResult, Compactor } from './compactor.js';
import { DEFAULT_MAX_SEGMENTS_PER_FLUSH, type Flusher, type FlushResult } from './flusher.js';
import { type DeletedTopicsResult, GarbageCollector, type GcResult } from './garbage-collector.js';
import { Retention, type RetentionResult } from './retention.js';

/**
 * The grace period for a recovery window: how long an object that left the log (a
 * replaced or retained segment, a flushed staged batch) is kept. A table restored to a
 * point T of the window references objects that left the log after T, at U ≥ T; GC
 * deletes them at U + grace ≥ T + window + DEFAULT_OBJECT_GRACE_MS, after the last moment
 * T can be restored to, with the reader's grace on top.
 *
 *     T (restore point)   U (object leaves the log)          U + grace (deleted)
 *     ──┼──────────────────┼───────────────────────────────────┼──▶
 *       └─ window ≤ ─────────────────────┘ (restores to T end here)
 */
export function objectGraceMs(recoveryWindowMs: number): number {
  return recoveryWindowMs + DEFAULT_OBJECT_GRACE_MS;
}

export interface PartitionPass {
  topic: string;
  partition: number;
  flush: FlushResult;
  retention: RetentionResult;
  compaction: CompactionResult;
  gc: GcResult;
  /** True when some step stopped at its bound or lost a race: run the partition again. */
  more: boolean;
}

export interface MaintenanceOptions {
  /** How long objects that left the log, and orphans, are kept before deletion. */
  graceMs?: number;
  compaction?: CompactionOptions;
  /** Bytes of batches per index region of the segments compaction writes (the engine's segmentIndexIntervalBytes). */
  indexIntervalBytes?: number;
}

export interface ScheduledRun {
  /** Partitions run inline (no dispatch) or handed to `dispatch`. */
  passes: PartitionPass[];
  dispatched: PartitionRef[];
  /** Partitions with records and nothing due until a later run. */
  skipped: number;
  deletedTopics: DeletedTopicsResult;
  /**
   * Where the run stopped at its budget (FanOutBudget): the next run of the same pass
   * starts there. Absent when every partition was looked at.
   */
  cursor?: FanOutCursor;
}

/**
 * A place in the scheduled pass: topics in name order (the order of TopicService.list),
 * partitions in number order. The pass resumes at this partition of this topic, or at
 * the first topic after it if this one is gone.
 */
export interface FanOutCursor {
  topic: string;
  partition: number;
}

/** How much one scheduled run may do before it hands the rest on through its cursor. */
export interface FanOutBudget {
  /** Stop looking at partitions once this long has passed since the run started (ms). */
  budgetMs?: number;
  /** Stop after dispatching this many partitions. @default MAX_DISPATCHES_PER_RUN */
  maxDispatches?: number;
  /** Asynchronous invocations sent at once. @default DEFAULT_DISPATCH_CONCURRENCY */
  concurrency?: number;
}

/** Where a scheduled run starts, and what it may spend. */
export interface FanOutOptions extends FanOutBudget {
  /** Resume here (the cursor a previous run of the pass returned); absent: from the start. */
  cursor?: FanOutCursor;
}

export class Maintenance {
  readonly retention: Retention;
  readonly compactor: Compactor;
  readonly gc: GarbageCollector;

  constructor(
    private readonly topics: TopicService,
    private readonly store: LogStore,
    objects: ObjectStore,
    private readonly flusher: Flusher,
    private readonly clock: Clock,
    private readonly options: MaintenanceOptions = {},
    /** The staging tier's store, whose orphans and leftovers GC collects too (lib/staging/tier.ts). */
    staging?: StagingOptions,
  ) {
    const graceMs = options.graceMs ?? DEFAULT_OBJECT_GRACE_MS;
    this.retention = new Retention(store, clock, graceMs);
    this.compactor = new Compactor(store, objects, clock, graceMs, { indexIntervalBytes: options.indexIntervalBytes });
    this.gc = new GarbageCollector(store, objects, clock, graceMs, staging);
  }

  /** One bounded pass over one partition. A topic deleted meanwhile is nothing to do. */
  async runPartition(topic: string, partition: number): Promise<PartitionPass | undefined> {
    let meta: TopicMeta;
    try {
      meta = (await this.topics.partition(topic, partition)).meta;
    } catch (err) {
      if (err instanceof TopicNotFoundError) return undefined;
      throw err;
    }
    const ref: PartitionRef = { topic: meta.name, topicId: meta.topicId, partition };
    const [previous] = await this.store.getPartitionStats([ref]);
    const flush = await this.flusher.flushPartition(meta, partition);
    let head = await this.store.getHead(ref);
    let manifests = await this.store.listSegments(ref, 0, Infinity);
    const retention = await this.retention.apply(meta, ref, head, manifests);
    if (retention.segments > 0) manifests = manifests.filter((m) => m.baseOffset >= retention.logStartOffset);
    const compaction = await this.compactor.compact(meta, ref, manifests, {
      ...this.options.compaction,
      cursor: previous?.compactionCursor ?? null,
    });
    if (compaction.segmentsIn > 0 || retention.segments > 0) {
      head = await this.store.getHead(ref);
      manifests = await this.store.listSegments(ref, 0, Infinity);
    }
    const writeStats = (more: boolean, nextGarbageAt: number | null) => {
      const now = this.clock.now();
      return this.store.putPartitionStats(ref, {
        segments: manifests.length,
        segmentBytes: manifests.reduce((n, m) => n + m.bytes, 0),
        lastCompactionAt: compaction.ran ? now : (previous?.lastCompactionAt ?? null),
        lastRetentionAt: retention.segments > 0 ? now : (previous?.lastRetentionAt ?? null),
        updatedAt: now,
        compactionCursor: compaction.cursor,
        nextDueAt: more ? now : nextDueAt(meta, manifests, nextGarbageAt, now),
      });
    };
    let gc: GcResult;
    try {
      gc = await this.gc.collectPartition(ref, head);
    } catch (err) {
      // What the pass did before garbage collection failed still shows; the next run is due at once.
      await writeStats(true, null).catch(() => undefined);
      throw err;
    }
    const more =
      flush.reason === 'fenced' ||
      flush.reason === 'conflict' ||
      flush.reason === 'stalled' ||
      flush.segments >= DEFAULT_MAX_SEGMENTS_PER_FLUSH ||
      retention.fenced ||
      compaction.more ||
      gc.more;
    await writeStats(more, gc.nextGarbageAt);
    return { topic, partition, flush, retention, compaction, gc, more };
  }

  /**
   * The scheduled run: every partition with records (something to flush, retain, compact
   * or collect), dispatched or run inline, and a bounded step of deleted-topic cleanup.
   *
   * With `dispatch`, partitions are handed out DEFAULT_DISPATCH_CONCURRENCY at a time
   * (an asynchronous Lambda invoke takes 10 to 30 ms: one at a time, 10,000 partitions
   * took minutes), and the run stops at its budget (a time, a number of dispatches)
   * with a cursor where the next run continues; the compact function invokes itself with
   * it. A run that fails is retried from its own cursor, not from the first topic, so the
   * last partitions are reached however many there are:
   *
   *     schedule ─▶ run 1: topics a…f, deadline ─▶ cursor {f, 700} ─▶ invoke self
   *                 run 2: f/700…m, deadline   ─▶ cursor {m, 12}  ─▶ invoke self
   *                 run 3: m/12…z              ─▶ no cursor: the pass is over
   *
   * A dispatch that fails (the invoke was refused) fails the run after the ones in flight
   * settle; its cursor is not moved, so the retry sends that batch again (a duplicate
   * pass is harmless: every step is conditioned on what it read).
   */
  async runAll(dispatch?: (ref: PartitionRef) => Promise<void>, options: FanOutOptions = {}): Promise<ScheduledRun> {
    const start = options.cursor;
    // Deleted topics are cleaned once per pass, by its first run.
    const deletedTopics = start ? { topics: 0, items: 0, objects: 0, more: false } : await this.gc.collectDeletedTopics();
    const run: ScheduledRun = { passes: [], dispatched: [], skipped: 0, deletedTopics };
    const maxDispatches = options.maxDispatches ?? MAX_DISPATCHES_PER_RUN;
    const concurrency = Math.max(1, options.concurrency ?? DEFAULT_DISPATCH_CONCURRENCY);
    const now = this.clock.now();
    const deadline = now + (options.budgetMs ?? Infinity);
    const outOfBudget = () => run.dispatched.length >= maxDispatches || this.clock.now() >= deadline;
    const fromOf = (meta: TopicMeta) => (start && meta.name === start.topic ? start.partition : 0);
    const topics = (await this.topics.list())
      .filter((meta) => !start || meta.name >= start.topic)
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    // Due partitions of the topics read so far, in pass order, not dispatched yet: batches
    // fill across topics, so a thousand one-partition topics still go 32 at a time.
    const pending: PartitionRef[] = [];
    const send = async () => {
      const batch = pending.slice(0, Math.min(concurrency, maxDispatches - run.dispatched.length));
      const sent = await Promise.allSettled(batch.map((ref) => dispatch!(ref)));
      const failed = sent.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      pending.splice(0, batch.length);
      run.dispatched.push(...batch);
    };
    const stop = (next: FanOutCursor) => {
      const first = pending[0];
      run.cursor = first ? { topic: first.topic, partition: first.partition } : next;
      return run;
    };
    for (let t = 0; t < topics.length; t += FANOUT_TOPICS_READ_AT_ONCE) {
      const window = topics.slice(t, t + FANOUT_TOPICS_READ_AT_ONCE);
      if (dispatch && outOfBudget()) return stop({ topic: window[0]!.name, partition: fromOf(window[0]!) });
      const dues = await Promise.all(window.map((meta) => this.duePartitions(meta, fromOf(meta), now, run)));
      for (const [k, meta] of window.entries()) {
        if (dispatch) {
          pending.push(...dues[k]!);
          continue;
        }
        for (const ref of dues[k]!) {
          const pass = await this.runPartition(meta.name, ref.partition);
          if (pass) run.passes.push(pass);
        }
      }
      while (dispatch && pending.length >= concurrency) {
        if (outOfBudget()) return stop(pending[0]!);
        await send();
      }
    }
    while (dispatch && pending.length > 0) {
      if (outOfBudget()) return stop(pending[0]!);
      await send();
    }
    return run;
  }

  /** The partitions of `meta` from `from` on with records and work due; counts the settled ones in `run.skipped`. */
  private async duePartitions(meta: TopicMeta, from: number, now: number, run: ScheduledRun): Promise<PartitionRef[]> {
    const refs = refsOf(meta).slice(from);
    if (refs.length === 0) return [];
    const [heads, stats] = await Promise.all([this.store.getHeads(refs), this.store.getPartitionStats(refs)]);
    const due: PartitionRef[] = [];
    for (const [i, head] of heads.entries()) {
      if (!hasRecords(head)) continue;
      if (isSettled(meta, head, stats[i], now)) {
        run.skipped++;
        continue;
      }
      due.push(refs[i]!);
    }
    return due;
  }
}

/** A partition that never took an append has nothing to maintain. */
function hasRecords(head: PartitionHead): boolean {
  return head.nextOffset > head.logStartOffset || head.flushedOffset > 0;
}

/**
 * Nothing to do until the last pass's `nextDueAt`: no append since that pass, nothing
 * unflushed, no config change. Such a partition is skipped by the schedule, so an idle
 * partition costs one pass an hour (the orphan scan) instead of one every 5 minutes.
 */
function isSettled(meta: TopicMeta, head: PartitionHead, stats: PartitionStats | undefined, now: number): boolean {
  if (!stats || stats.nextDueAt === null || now >= stats.nextDueAt) return false;
  if (head.flushedOffset < head.nextOffset) return false;
  return (head.lastAppendAt ?? 0) <= stats.updatedAt && meta.updatedAt <= stats.updatedAt;
}

/**
 * When the partition next has time-based work, if nothing is appended meanwhile: a
 * segment past retention, a dirty segment past the compaction lag, a tombstone past
 * deleteRetentionMs, garbage past its grace period, or the hourly orphan scan.
 */
export function nextDueAt(meta: TopicMeta, manifests: SegmentManifest[], nextGarbageAt: number | null, now: number): number {
  const { cleanupPolicy, retentionMs, minCompactionLagMs, deleteRetentionMs } = meta.config;
  const due = [now + ORPHAN_SCAN_INTERVAL_MS];
  if (nextGarbageAt !== null) due.push(nextGarbageAt);
  const policies = cleanupPolicy.split(',');
  if (policies.includes('delete') && retentionMs >= 0 && manifests[0]) due.push(manifests[0].maxTimestamp + retentionMs + 1);
  if (policies.includes('compact')) {
    for (const m of manifests) {
      if (m.generation === 0 && m.recordCount > 0) due.push(m.maxTimestamp + minCompactionLagMs);
      if (m.oldestTombstone != null) due.push(m.oldestTombstone + deleteRetentionMs);
    }
  }
  return Math.max(now, Math.min(...due));
}
