/**
 * The sequencer assigns offsets to one partition's appends by conditional writes to
 * DynamoDB, and coalesces the appends that arrive while a commit is in flight into the
 * next commit (group commit).
 *
 * One commit is one TransactWriteItems:
 *
 *     Update HEAD  SET nextOffset = N + n   CONDITION nextOffset = N
 *     Put    B#…   (the batches, offsets N … N+n-1)   CONDITION attribute_not_exists
 *     Put    PID#… (idempotent producers)   CONDITION version = v seen
 *
 * Timeline of a lost race and of a lost response:
 *
 *     writer A                         DynamoDB                      writer B
 *     commit(N=7, token a) ──────────▶ head 7 → 9  ✓
 *                                      ◀────────────────────────── commit(N=7, token b)
 *                                      ✗ ConditionalCheckFailed, ALL_OLD: head = 9
 *                                      ◀────────────────────────── commit(N=9, token b') ✓
 *     commit(N=9, token c) ─────────▶ head 9 → 12 ✓
 *     ✗ response lost (timeout)
 *     commit(N=9, token c) again ────▶ same token: already applied, success, not re-applied
 *
 * An append is acknowledged only after its commit succeeded. A commit whose outcome is
 * unknown is re-sent unchanged with its ClientRequestToken; a commit that definitely
 * failed is rebuilt at the head that the failure reported. If the deadline passes
 * first, every append of the commit fails with 503 RETRY (outcome unknown if the last
 * attempt's was), and the cached head is forgotten.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { MAX_TAIL_ITEM_BYTES, MAX_TRANSACTION_BYTES, MAX_TRANSACTION_ITEMS, RETRY_AFTER_SECONDS } from '../core/constants.js';
import { OffsetMismatchError, RetryableError, ThrottledError } from '../core/errors.js';
import { partitionKey, type PartitionRef } from '../ports/model.js';
import type { AppendNotifier } from '../reading/notifier.js';
import type { AppendCommit, LogStore } from '../ports/log-store.js';
import type { PartitionHead, ProducerState, StagedObject, TailItem } from '../ports/model.js';
import { ProducerCache } from './producer-cache.js';
import { nextProducerState, type ProducerStamp } from './producer-state.js';
import { withBaseOffset } from '../format/record-batch-encoder.js';
import { backoffDelay, isRetryable, isThrottle, mayHaveApplied, sleep, type RetryPolicy } from '../core/retry.js';

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
 * subclass's: {@link OptimisticSequencer} (one conditional transaction on the head) or
 * ReservingSequencer (lib/sequencing/reserving-sequencer.ts: reserve, fill, seal).
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
    this.producers = new ProducerCache(ref, store);
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

  /**
   * Fails the group at its deadline: 503 RETRY, saying whether the append may have been
   * written; 429 THROTTLED when storage throttled a write that certainly applied nothing.
   */
  protected giveUp(live: Pending[], outcomeUnknown: boolean, lastError: unknown): void {
    this.forgetProducers(live);
    const message = outcomeUnknown
      ? 'the append may or may not have been written (storage did not answer before the deadline); retry it with the same idempotent producer sequence to be sure it is written once'
      : 'the partition is contended or storage is failing and the append did not commit before the deadline; nothing was written, retry';
    const error = !outcomeUnknown && isThrottle(lastError)
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

/** The optimistic sequencer: each group is one transaction conditioned on the head's counter. */
export class OptimisticSequencer extends PartitionSequencer {
  /** The head as last seen; undefined when unknown (first use, or after an unknown outcome). */
  private nextOffset: number | undefined;
  /** Unflushed tail bytes as last seen plus what this process appended since (flushes not seen). */
  private tailBytes = 0;

  protected async commitGroup(group: Pending[]): Promise<void> {
    const started = this.clock.now();
    let live = group;
    let attempt = 0;
    let conflicts = 0;
    /** The commit last sent when its outcome is unknown: it must be re-sent unchanged. */
    let inDoubt: AppendCommit | undefined;
    let lastError: unknown;

    while (live.length > 0) {
      const now = this.clock.now();
      const deadline = Math.min(...live.map((p) => p.deadline));
      if (attempt > 0 && now >= deadline) {
        this.giveUp(live, inDoubt !== undefined, lastError);
        return;
      }
      let commit: AppendCommit | undefined;
      let outcome;
      let applied = false;
      try {
        if (inDoubt) {
          commit = inDoubt;
        } else {
          live = await this.producers.settle(live, this.tailBytes);
          if (live.length === 0) return;
          commit = await this.buildCommit(live, now);
        }
        attempt++;
        outcome = await this.store.commitAppend(commit);
        applied = outcome.ok || (inDoubt !== undefined && outcome.head !== undefined && (await this.appliedEarlier(inDoubt)));
      } catch (err) {
        lastError = err;
        if (!isRetryable(err)) {
          this.forget(live);
          throw err;
        }
        // Reads (head, producer state, the in-doubt check) change nothing, and a throttle
        // of the SDK's only attempt (DynamoDB refused the request) applied nothing; a
        // commit that failed otherwise may have applied (a throttle after the SDK's own
        // retries may follow an attempt that was applied and timed out), so it is re-sent
        // unchanged. A commit in doubt stays in doubt.
        if (commit && !inDoubt && mayHaveApplied(err)) inDoubt = commit;
        attempt = Math.max(attempt, 1);
        await sleep(backoffDelay(this.options.retry, attempt));
        continue;
      }
      if (applied || outcome.ok) {
        this.committed(live, commit);
        this.options.onCommit?.({
          ref: this.ref,
          appends: live.length,
          records: commit.nextOffset - commit.expectedNextOffset,
          bytes: commit.appendedBytes,
          attempts: attempt,
          conflicts,
          durationMs: this.clock.now() - started,
        });
        return;
      }
      // Definitely not applied: learn the real head and producer states, rebuild, retry.
      // The producer states come first: a conditional append whose producer state moved
      // may be the retry of a batch another process committed (this process's cache was
      // stale), and is then a duplicate to answer with its offsets, not a mismatch.
      inDoubt = undefined;
      conflicts++;
      for (const [producerId, state] of outcome.producers) this.producers.remember(producerId, state);
      if (outcome.head) {
        this.nextOffset = outcome.head.nextOffset;
        this.tailBytes = outcome.head.tailBytes;
        const conditional = live[0]?.expectedOffset;
        const producerMoved = live[0]?.producer !== undefined && outcome.producers.has(live[0].producer.producerId);
        if (conditional !== undefined && conditional !== outcome.head.nextOffset && !producerMoved) {
          live[0]!.reject(new OffsetMismatchError(conditional, outcome.head.nextOffset));
          return;
        }
      }
      if (outcome.head && outcome.head.committedOffset < outcome.head.nextOffset && this.options.catchUp) {
        // Reservations below the counter: the commit waits for them to be filled or sealed.
        await this.options.catchUp(this.ref, outcome.head);
      }
      if (outcome.transactionConflict || conflicts > 1) await sleep(backoffDelay(this.options.retry, conflicts));
    }
  }

  /**
   * A re-sent commit found the head moved past its base. Its ClientRequestToken makes
   * DynamoDB answer success if the first send was applied; this double-checks through
   * the commit id stamped on the first tail item, in case the token window has passed.
   */
  private async appliedEarlier(commit: AppendCommit): Promise<boolean> {
    const first = commit.items[0];
    if (!first) return false;
    const stored = await this.store.getTailItem(commit.ref, first.lastOffset);
    return stored?.commitId === commit.requestToken;
  }

  /** Lays the appends out from the head: offsets, tail items and producer states. */
  private async buildCommit(live: Pending[], now: number): Promise<AppendCommit> {
    const conditional = live[0]!.expectedOffset;
    let base = conditional ?? this.nextOffset;
    if (base === undefined) {
      const head = await this.store.getHead(this.ref);
      base = head.nextOffset;
      this.tailBytes = head.tailBytes;
    }
    this.nextOffset ??= base;
    const requestToken = randomUUID();
    const laid = layOut(live, base, now, requestToken, (id) => this.producers.cached(id));
    return {
      ref: this.ref,
      expectedNextOffset: base,
      nextOffset: base + laid.records,
      items: laid.items,
      producers: laid.producers,
      appendedBytes: laid.bytes,
      now,
      requestToken,
    };
  }

  private committed(live: Pending[], commit: AppendCommit): void {
    this.nextOffset = commit.nextOffset;
    this.tailBytes += commit.appendedBytes;
    for (const { state } of commit.producers) this.producers.remember(state.producerId, state);
    let cursor = commit.expectedNextOffset;
    for (const p of live) {
      p.resolve({ baseOffset: cursor, lastOffset: cursor + p.recordCount - 1, duplicate: false, tailBytes: this.tailBytes });
      cursor += p.recordCount;
    }
    this.notifier.notify(this.key, commit.nextOffset);
  }

  flushRequested(): void {
    this.tailBytes = 0;
  }

  /** After an unknown outcome, nothing cached about this partition can be trusted. */
  private forget(live: Pending[]): void {
    this.nextOffset = undefined;
    this.forgetProducers(live);
  }

  protected override giveUp(live: Pending[], outcomeUnknown: boolean, lastError: unknown): void {
    this.nextOffset = undefined;
    super.giveUp(live, outcomeUnknown, lastError);
  }
}

/** An append as laid out in tail items: its offsets are set on it (`baseOffset`). */
export interface LaidOutAppend extends PartitionAppend {
  baseOffset?: number;
}

/**
 * Lays appends out from `base`, in order: their batches re-stamped at their offsets and
 * packed into tail items of at most MAX_TAIL_ITEM_BYTES (a staged append is one pointer
 * item), and the producer states they move to. Sets each append's `baseOffset`.
 */
export function layOut(
  live: LaidOutAppend[],
  base: number,
  now: number,
  requestToken: string,
  producerState: (producerId: string) => ProducerState | null,
): { items: TailItem[]; producers: AppendCommit['producers']; records: number; bytes: number } {
  const items: TailItem[] = [];
  const producers: AppendCommit['producers'] = [];
  let cursor = base;
  let bytes = 0;
  let current: { parts: Uint8Array[]; size: number; item: TailItem } | undefined;
  const close = () => {
    if (!current) return;
    current.item.data = concat(current.parts, current.size);
    items.push(current.item);
    current = undefined;
  };
  for (const p of live) {
    p.baseOffset = cursor;
    if (p.staged) {
      close();
      items.push({
        baseOffset: cursor,
        lastOffset: cursor + p.recordCount - 1,
        recordCount: p.recordCount,
        data: new Uint8Array(0),
        staged: p.staged.object,
        minTimestamp: p.staged.minTimestamp,
        maxTimestamp: p.staged.maxTimestamp,
        appendedAt: now,
        commitId: requestToken,
      });
      bytes += p.staged.object.bytes;
    }
    for (const chunk of p.chunks) {
      const offset = cursor + chunk.relativeOffset;
      const batch = withBaseOffset(chunk.batch, offset);
      if (current && current.size + batch.byteLength > MAX_TAIL_ITEM_BYTES) close();
      current ??= {
        parts: [],
        size: 0,
        item: {
          baseOffset: offset,
          lastOffset: offset,
          recordCount: 0,
          data: new Uint8Array(0),
          minTimestamp: chunk.minTimestamp,
          maxTimestamp: chunk.maxTimestamp,
          appendedAt: now,
          commitId: requestToken,
        },
      };
      current.parts.push(batch);
      current.size += batch.byteLength;
      current.item.lastOffset = offset + chunk.recordCount - 1;
      current.item.recordCount += chunk.recordCount;
      current.item.minTimestamp = Math.min(current.item.minTimestamp, chunk.minTimestamp);
      current.item.maxTimestamp = Math.max(current.item.maxTimestamp, chunk.maxTimestamp);
      bytes += batch.byteLength;
    }
    if (p.producer) {
      const state = producerState(p.producer.producerId);
      producers.push({
        state: nextProducerState(state, p.producer, p.recordCount, cursor, now),
        expectedVersion: state ? state.version : null,
      });
    }
    cursor += p.recordCount;
  }
  close();
  return { items, producers, records: cursor - base, bytes };
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.byteLength;
  }
  return out;
}
