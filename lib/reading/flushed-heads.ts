/**
 * The reader's memory of catch-ups below the flushed offset: per partition, the head the
 * last read from below its flushed offset was made with, when, and the offsets its
 * answers told consumers to continue from. A continuation of such a read, while that head
 * is younger than SEGMENT_CACHE_TTL_MS, is answered from the segments without reading
 * the head again (Reader.readFlushed in lib/reading/reader.ts says why that is safe).
 */
import { type PartitionHead, type PartitionRef, partitionKey } from '../ports/model.js';
import { SEGMENT_CACHE_TTL_MS } from './segment-reader.js';

/** Partitions whose last head below the flushed offset one process remembers. */
const FLUSHED_HEADS = 1024;
/** Continuation offsets remembered per partition: one per consumer catching up on it. */
const CONTINUATIONS_PER_PARTITION = 16;

/** A head read for a read below its flushed offset, when, and the offsets answers told consumers to continue from. */
interface FlushedHead {
  head: PartitionHead;
  at: number;
  continuations: number[];
}

export class FlushedHeads {
  /** The head each partition was last read with from below its flushed offset, when, and where its answers continue (see Reader.readFlushed). */
  private readonly flushedHeads = new Map<string, FlushedHead>();

  /**
   * The head kept for the partition `key` when `offset` is one of its continuations, at
   * or above its log start and below its flushed offset, and it was read less than
   * SEGMENT_CACHE_TTL_MS before `now`; else undefined.
   */
  continuation(key: string, offset: number, now: number): PartitionHead | undefined {
    const known = this.flushedHeads.get(key);
    if (!known || now < known.at || now - known.at >= SEGMENT_CACHE_TTL_MS) return undefined;
    const { head } = known;
    if (!known.continuations.includes(offset) || offset < head.logStartOffset || offset >= head.flushedOffset) return undefined;
    return head;
  }

  /** Forgets the partition's head: the segments moved under a read from it. */
  forget(key: string): void {
    this.flushedHeads.delete(key);
  }

  /**
   * Keeps `head` (read at `at`) for continuations of reads below its flushed offset, and
   * `next` as one: where an answer just told its consumer to continue.
   */
  remember(ref: PartitionRef, head: PartitionHead, at: number, next: number): void {
    const key = partitionKey(ref);
    const known = this.flushedHeads.get(key);
    // A read that read its head before the one kept (reads run concurrently) keeps the newer.
    if (known && known.at > at) {
      this.continueAt(key, undefined, next);
      return;
    }
    this.flushedHeads.delete(key);
    const entry = { head, at, continuations: known && at - known.at < SEGMENT_CACHE_TTL_MS ? known.continuations : [] };
    this.flushedHeads.set(key, entry);
    if (this.flushedHeads.size > FLUSHED_HEADS) this.flushedHeads.delete(this.flushedHeads.keys().next().value!);
    this.continueAt(key, undefined, next);
  }

  /** Records `next` as a continuation of the partition's kept head (and `from` as used), when it is below its flushed offset. */
  continueAt(key: string, from: number | undefined, next: number): void {
    const entry = this.flushedHeads.get(key);
    if (!entry) return;
    if (from !== undefined) entry.continuations = entry.continuations.filter((o) => o !== from);
    if (next >= entry.head.flushedOffset || entry.continuations.includes(next)) return;
    entry.continuations.push(next);
    if (entry.continuations.length > CONTINUATIONS_PER_PARTITION) entry.continuations.shift();
  }
}
