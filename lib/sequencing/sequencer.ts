/**
 * What every sequencer shares: the appends to one partition queue in this process, and
 * one commit loop takes them in groups (group commit): the appends that arrive while a
 * commit is in flight share the next one, as many as one transaction holds.
 *
 *     append a ─┐
 *     append b ─┼─ queue ─▶ group [a b] ─▶ commitGroup ─▶ resolve a, b (or reject them)
 *     append c ─┘           group [c]   ─▶ commitGroup ─▶ …   (c came during [a b]'s commit)
 *
 * How a group commits is the subclass's: OptimisticSequencer (optimistic-sequencer.ts,
 * one conditional transaction on the head) or ReservingSequencer (reserving-sequencer.ts:
 * reserve, fill, seal). lay-out.ts lays a group's batches out at its offsets for either.
 */
import type { Clock } from '../core/clock.js';
import { MAX_TRANSACTION_BYTES, MAX_TRANSACTION_ITEMS, RETRY_AFTER_SECONDS } from '../core/constants.js';
import { RetryableError, ThrottledError } from '../core/errors.js';
import { isThrottle, type RetryPolicy } from '../core/retry.js';
import type { LogStore } from '../ports/log-store.js';
import { type PartitionHead, type PartitionRef, partitionKey, type StagedObject } from '../ports/model.js';
import type { AppendNotifier } from '../reading/notifier.js';
import { ProducerCache } from './producer-cache.js';
import type { ProducerStamp } from './producer-state.js';

/** Part of an append, encoded once as a batch starting at offset 0. */
export interface EncodedChunk {
  /** One record batch (docs/format.md) whose base offset is the chunk's position in the append. */
  batch: Uint8Array;
  /** Offset of the chunk's first record relative to the append's first record. */
  relativeOffset: number;
  recordCount: number;
  minTimestamp: number;
  maxTimestamp: number;
}

/** An append whose batches were uploaded to S3 before the commit (large appends). */
export interface StagedAppend {
  object: StagedObject;
  minTimestamp: number;
  maxTimestamp: number;
}

/** One append to one partition, ready to commit: its batches inline (chunks) or staged. */
export interface PartitionAppend {
  chunks: EncodedChunk[];
  staged?: StagedAppend;
  recordCount: number;
  bytes: number;
  producer?: ProducerStamp;
  /** Commit only if the partition's high watermark is exactly this. */
  expectedOffset?: number;
  /** Epoch ms after which the append gives up with 503 RETRY. */
  deadline: number;
}

export interface AppendResult {
  baseOffset: number;
  lastOffset: number;
  /** True when an idempotent producer's retry matched an already committed batch. */
  duplicate: boolean;
  /** This process's estimate of the partition's unflushed tail bytes after the commit. */
  tailBytes: number;
}

/** What one commit did, for metrics. */
export interface CommitStats {
  ref: PartitionRef;
  appends: number;
  records: number;
  bytes: number;
  attempts: number;
  conflicts: number;
  durationMs: number;
}

export interface SequencerOptions {
  retry: RetryPolicy;
  onCommit?: (stats: CommitStats) => void;
  /**
   * For the optimistic sequencer on a partition that reserving writers also append to
   * (a deploy switching sequencing): moves the head's committedOffset up to the end of
   * the contiguous prefix, which an optimistic commit needs to equal the counter.
   */
  catchUp?: (ref: PartitionRef, head: PartitionHead) => Promise<void>;
}

/** What a pointer to a staged object adds to a transaction, at most (keys, offsets, S3 key). */
const STAGED_POINTER_BYTES = 1024;

/** Transaction actions and bytes an append adds to a group commit. */
function footprint(p: PartitionAppend): { actions: number; bytes: number } {
  return p.staged ? { actions: 1, bytes: STAGED_POINTER_BYTES } : { actions: p.chunks.length, bytes: p.bytes };
}

export interface Pending extends PartitionAppend {
  resolve: (result: AppendResult) => void;
  reject: (err: unknown) => void;
  baseOffset?: number;
}

/**
 * Offsets of one partition, assigned by one in-process commit loop: appends queued while
 * a commit is in flight share the next one (group commit). How a group commits is the
 * subclass's: OptimisticSequencer (optimistic-sequencer.ts, one conditional transaction
 * on the head) or ReservingSequencer (reserving-sequencer.ts: reserve, fill, seal).
 */
export abstract class PartitionSequencer {
  private readonly queue: Pending[] = [];
  private draining = false;
  /** The partition's idempotent-producer states as this process last saw them. */
  protected readonly producers: ProducerCache;
  /** The notifier's key of the partition. */
  protected readonly key: string;

  constructor(
    protected readonly ref: PartitionRef,
    protected readonly store: LogStore,
    protected readonly clock: Clock,
    protected readonly notifier: AppendNotifier,
    protected readonly options: SequencerOptions,
  ) {
    this.key = partitionKey(ref);
    this.producers = new ProducerCache(ref, store, clock);
  }

  /** Queues an append; resolves once it is committed (or recognised as a duplicate). */
  append(request: PartitionAppend): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      this.queue.push({ ...request, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  /** Starts counting tail bytes afresh after this process asked for a flush. */
  abstract flushRequested(): void;

  /** Resolves once work this sequencer started beside its answers has ended (none here). */
  async idle(): Promise<void> {}

  /**
   * Fails the group at its deadline: 503 RETRY, saying whether the append may have been
   * written; 429 THROTTLED when storage throttled a write that certainly applied nothing.
   */
  protected giveUp(live: Pending[], outcomeUnknown: boolean, lastError: unknown): void {
    this.forgetProducers(live);
    const message = outcomeUnknown
      ? 'the append may or may not have been written (storage did not answer before the deadline); retry it with the same idempotent producer sequence to be sure it is written once'
      : 'the partition is contended or storage is failing and the append did not commit before the deadline; nothing was written, retry';
    const error =
      !outcomeUnknown && isThrottle(lastError)
        ? new ThrottledError('storage throttled the append until the deadline; slow down and retry', { cause: lastError })
        : new RetryableError(message, RETRY_AFTER_SECONDS, { cause: lastError });
    for (const p of live) p.reject(error);
  }

  /** After an unknown outcome, the producer states cached for these appends cannot be trusted. */
  protected forgetProducers(live: Pending[]): void {
    for (const p of live) if (p.producer) this.producers.forget(p.producer.producerId);
  }

  /** Commits one group; settles every append of it (resolve or reject), or throws to reject them all. */
  protected abstract commitGroup(group: Pending[]): Promise<void>;

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const group = this.takeGroup();
        try {
          await this.commitGroup(group);
        } catch (err) {
          for (const p of group) p.reject(err);
        }
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * The appends of the next commit: as many queued appends as one transaction holds.
   * A conditional append (expectedOffset) commits alone, and one producer appears at
   * most once (a transaction cannot write one item twice).
   */
  private takeGroup(): Pending[] {
    const first = this.queue.shift()!;
    const group = [first];
    if (first.expectedOffset !== undefined) return group;
    const producers = new Set<string>(first.producer ? [first.producer.producerId] : []);
    let { bytes, actions } = footprint(first);
    actions += 1 + producers.size;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      const pid = next.producer?.producerId;
      const more = footprint(next);
      if (next.expectedOffset !== undefined) break;
      if (pid !== undefined && producers.has(pid)) break;
      if (bytes + more.bytes > MAX_TRANSACTION_BYTES) break;
      if (actions + more.actions + (pid ? 1 : 0) > MAX_TRANSACTION_ITEMS) break;
      this.queue.shift();
      group.push(next);
      bytes += more.bytes;
      actions += more.actions + (pid ? 1 : 0);
      if (pid !== undefined) producers.add(pid);
    }
    return group;
  }
}
