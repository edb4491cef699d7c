/**
 * The contiguous prefix of a partition's tail, and the sealing of gaps in it
 * (docs/design.md, "reserve, fill, seal").
 *
 * Offsets are reserved by a counter and filled by the writers that reserved them, so the
 * tail may have gaps: ranges reserved but not (yet) filled. The high watermark is the end
 * of the contiguous prefix; nothing above a gap is readable or acknowledged. A gap older
 * than `sealAfterMs` is closed with voids on every one of its offset keys, top-down, each
 * conditioned on the key being free:
 *
 *     tail:   [7,8] ✓   ·  9  ·  10 ·  11 ·   [12] ✓        gap 9–11, item 12 appended 2 s ago
 *     seal:   void 11, void 10, void 9 (one transaction)      a dead writer's range ends at one
 *                                                             of these keys: it or the sealer wins
 *     a writer of [9,11] that filled first: the transaction fails, its ALL_OLD names the
 *     item, the next scan sees [9,11] and nothing is left to seal
 *
 * The keys are sealed from the top because a writer's range ends at its key: once every
 * key above `o` is sealed, no range that covers `o` can still be filled, since its key
 * (its last offset) is at or above `o` and either taken by the void or below the chunk.
 */
import type { Clock } from '../core/clock.js';
import { MAX_TRANSACTION_ITEMS, VOID_KEEP_MS } from '../core/constants.js';
import type { LogStore } from '../ports/log-store.js';
import type { PartitionHead, PartitionRef, TailExtent, TailItem } from '../ports/model.js';

/** A gap in the tail: offsets [start, end) reserved but held by no item. */
export interface Gap {
  start: number;
  end: number;
  /** The gap was reserved no later than this (ms): the time of the item after it, or of the last reservation. */
  reservedBy: number;
}

/** What a scan of the tail found from `from` on. */
export interface Prefix<T extends TailExtent> {
  /** Every offset in [from, end) is held by an item, a void, or a segment. */
  end: number;
  /**
   * The tail items of the prefix, in offset order (voids included), from the flushed
   * offset when a flush moved the start of the range to a segment during the scan.
   */
  items: T[];
  /** The first gap below `until`, if the prefix stops short of it. */
  gap?: Gap;
  /**
   * Items the same page found above the gap, in offset order: held, so a writer waiting
   * for the gap need not read them again.
   */
  above?: T[];
}

/** A scan with the items' records. */
export type PrefixScan = Prefix<TailItem>;

export interface ScanOptions {
  /**
   * Take a young gap for one without asking the head whether a flush moved its items (a
   * writer polling for its predecessors; readers must ask, or they would answer from a
   * stale high watermark).
   */
  trustGaps?: boolean;
  /**
   * false: read the items eventually consistent, at half the read units (extent only). A
   * writer's first look at its predecessors: what it shows held is held (a read never
   * shows an item that was not written, and a held offset stays held), and an item it
   * misses reads as a gap, which the next, consistent look settles.
   */
  consistent?: boolean;
}

export interface SealerOptions {
  /** A gap is sealed once it is at least this old (ms). */
  sealAfterMs: number;
}

/**
 * Offsets below this are known held: the head's committedOffset, or its flushedOffset
 * (a flush moves only the contiguous prefix to S3).
 */
export function committedFloor(head: Pick<PartitionHead, 'committedOffset' | 'flushedOffset'>): number {
  return Math.max(head.committedOffset, head.flushedOffset);
}

/**
 * When a void below flushedOffset may go: no late fill of its key can come any more
 * (VOID_KEEP_MS after it was written).
 */
export function voidExpiresAt(item: Pick<TailItem, 'appendedAt'>): number {
  return item.appendedAt + VOID_KEEP_MS;
}

/** Bytes a prefix scan reads per Query at most (the items are read for their offsets). */
const SCAN_PAGE_BYTES = 1024 * 1024;

/**
 * A gap is stale once it is older than this many of this process's recent DynamoDB round
 * trips, if that is more than `sealAfterMs`. When DynamoDB answers slowly (throttling,
 * the SDK's retries, an overloaded emulator), a live writer's reserve and fill take as
 * long: sealing it on a fixed clock would make it reserve again, adding load exactly
 * when there is too much (measured: at 32 writers on one saturated DynamoDB Local, fills
 * of 1–2.6 s, sealed at 2 s, appends gave up at their deadline).
 */
const SEAL_AFTER_ROUND_TRIPS = 10;
/** Weight of the newest round trip in the running estimate. */
const ROUND_TRIP_WEIGHT = 0.2;

export class Sealer {
  /** A running estimate of this process's DynamoDB round trip (ms). */
  private roundTripMs = 0;

  constructor(
    private readonly store: LogStore,
    private readonly clock: Clock,
    private readonly options: SealerOptions,
  ) {}

  /**
   * The contiguous prefix from `from` (an offset known to be covered below, e.g. the
   * committed or flushed offset) up to at most `until` (the reservation counter), with
   * its items. `lastReservedAt` dates a gap with no item after it.
   */
  scan(ref: PartitionRef, from: number, until: number, lastReservedAt: number | null, options: ScanOptions = {}): Promise<PrefixScan> {
    return this.walk(ref, from, until, lastReservedAt, options, async (end) => ({
      items: await this.store.queryTail(ref, end, { maxRecords: until - end, maxBytes: SCAN_PAGE_BYTES }),
      complete: false,
    }));
  }

  /**
   * The same prefix, from the items' offsets alone (TailExtent): what a writer waiting
   * for its predecessors, or a high watermark, needs. One Query reads a few bytes per
   * item, whatever their batches hold.
   */
  extent(
    ref: PartitionRef,
    from: number,
    until: number,
    lastReservedAt: number | null,
    options: ScanOptions = {},
  ): Promise<Prefix<TailExtent>> {
    const consistency = options.consistent === false ? { consistent: false } : undefined;
    return this.walk(ref, from, until, lastReservedAt, options, async (end) => ({
      items: await this.store.tailExtents(ref, end, until, consistency),
      complete: true,
    }));
  }

  /**
   * Follows the items from `from`: `fetch(end)` answers the items from `end` on, and
   * whether they are all there are below `until`.
   */
  private async walk<T extends TailExtent>(
    ref: PartitionRef,
    from: number,
    until: number,
    lastReservedAt: number | null,
    options: ScanOptions,
    fetch: (end: number) => Promise<{ items: T[]; complete: boolean }>,
  ): Promise<Prefix<T>> {
    const items: T[] = [];
    let end = from;
    while (end < until) {
      const asked = this.clock.now();
      const page = await fetch(end);
      this.observeRoundTrip(this.clock.now() - asked);
      let gap: Gap | undefined;
      let above: T[] | undefined;
      for (const [i, item] of page.items.entries()) {
        if (item.lastOffset < end) continue;
        if (item.baseOffset > end) {
          gap = { start: end, end: Math.min(item.baseOffset, until), reservedBy: item.appendedAt };
          above = page.items.slice(i);
          break;
        }
        items.push(item);
        end = item.lastOffset + 1;
        if (end >= until) break;
      }
      if (end >= until) break;
      if (!gap && !page.complete && page.items.length > 0) continue;
      gap ??= { start: end, end: until, reservedBy: lastReservedAt ?? 0 };
      // Not every gap is one: a flush may have moved the items to a segment (and deleted
      // them) since the head was read. Offsets below the flushed offset are all held.
      // A writer waiting for its predecessors sees gaps all the time: it asks only before
      // sealing one (a flush racing it costs it latency, never a wrong answer).
      if (options.trustGaps && !this.isStale(gap)) return { end, items, gap, ...(above ? { above } : {}) };
      const { flushedOffset } = await this.store.getHead(ref);
      if (flushedOffset > end) {
        items.length = 0;
        end = flushedOffset;
        continue;
      }
      return { end, items, gap, ...(above ? { above } : {}) };
    }
    return { end, items };
  }

  /** The high watermark: the end of the contiguous prefix (scanned from the committed floor; seals nothing). */
  async highWatermark(ref: PartitionRef, head: PartitionHead): Promise<number> {
    const from = committedFloor(head);
    if (from >= head.nextOffset) return from;
    return (await this.extent(ref, from, head.nextOffset, head.lastAppendAt)).end;
  }

  /** True when the gap has waited long enough to be sealed. */
  isStale(gap: Gap): boolean {
    return this.clock.now() - gap.reservedBy >= Math.max(this.options.sealAfterMs, SEAL_AFTER_ROUND_TRIPS * this.roundTripMs);
  }

  /** A DynamoDB call of this process took `ms`: what a live writer's calls take too. */
  observeRoundTrip(ms: number): void {
    this.roundTripMs += ROUND_TRIP_WEIGHT * (ms - this.roundTripMs);
  }

  /** The running estimate of a round trip (ms). */
  get roundTrip(): number {
    return this.roundTripMs;
  }

  /**
   * Puts voids on the gap's offsets, top-down, at most MAX_TRANSACTION_ITEMS keys per
   * transaction. Stops at the first transaction that finds a key taken (a writer filled
   * part of the gap after it was scanned): scan again and seal what is left.
   * Returns the offsets sealed.
   */
  async seal(ref: PartitionRef, gap: Pick<Gap, 'start' | 'end'>): Promise<number> {
    let sealed = 0;
    for (let top = gap.end; top > gap.start; ) {
      const bottom = Math.max(gap.start, top - MAX_TRANSACTION_ITEMS);
      const offsets: number[] = [];
      for (let o = top - 1; o >= bottom; o--) offsets.push(o);
      const outcome = await this.store.sealOffsets(ref, offsets, this.clock.now());
      if (!outcome.sealed) return sealed;
      sealed += offsets.length;
      top = bottom;
    }
    return sealed;
  }

  /**
   * Voids every offset of [start, end) that no item holds, whatever its age: a writer
   * giving up a range it reserved and will not fill.
   */
  async close(ref: PartitionRef, start: number, end: number): Promise<void> {
    for (let from = start; from < end; ) {
      const scan = await this.extent(ref, from, end, null);
      if (!scan.gap) return;
      await this.seal(ref, scan.gap);
      from = scan.end;
    }
  }

  /**
   * Scans from `from` and seals every stale gap it meets, until the prefix reaches
   * `head.nextOffset` or stops at a gap too young to seal.
   */
  async settle(ref: PartitionRef, from: number, head: Pick<PartitionHead, 'nextOffset' | 'lastAppendAt'>): Promise<PrefixScan> {
    const items: TailItem[] = [];
    let start = from;
    for (;;) {
      const scan = await this.scan(ref, start, head.nextOffset, head.lastAppendAt);
      items.push(...scan.items);
      if (!scan.gap || !this.isStale(scan.gap)) return { ...scan, items };
      await this.seal(ref, scan.gap);
      start = scan.end;
    }
  }
}
