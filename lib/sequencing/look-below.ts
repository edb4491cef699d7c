/**
 * The look below a reserved range (docs/design.md, "reserve, fill, seal"): a writer
 * acknowledges its filled range only once every offset below it is held (an item, a
 * void, a segment). When the look goes during the fill (early) or after it, and how a
 * writer waits for a gap that is still below its range: looking again about once a round
 * trip, sealing the gap once it is stale.
 *
 *     … [7,8] ✓ · 9 · 10 · [11,12] ✓ │ [13,15] filled by this writer
 *     look [known, 13): gap 9–10, items above it held from 11: the next look reads [known, 11)
 *     the gap's writer fills it (or a sealer voids it once stale): held, acknowledge
 */
import type { Clock } from '../core/clock.js';
import { isRetryable, sleep } from '../core/retry.js';
import type { PartitionHead, PartitionRef, TailExtent } from '../ports/model.js';
import type { Prefix, ScanOptions, Sealer } from './sealer.js';

/**
 * How long a writer waits between two looks at a gap below its range, at first and at
 * most (ms): about one DynamoDB round trip, in which the writer of the gap fills it.
 */
const PREFIX_POLL_MIN_MS = 8;
const PREFIX_POLL_MAX_MS = 100;

/**
 * A look below the range goes out while the fill is in flight (rather than after its
 * answer) once the reservation before it is this many round trips old (at first, and at
 * least): its writer had the time to fill (its reservation's answer, then its fill), and
 * the writers before it more. When the fill answers before that time, the look goes after
 * it. Each such early look that finds a gap after all (a call wasted: the writer looks
 * again after its fill) raises the bar by one round trip, up to the most; each that
 * settles it lowers it by a quarter. On a busy DynamoDB (or a busy machine) writers fill
 * late, and early looks stop; on a quiet one they save a round trip.
 */
export const EARLY_LOOK_ROUND_TRIPS = 1.5;

/**
 * An append's first look at its predecessors, early or after the fill: eventually
 * consistent, at half the read units (the looks' reads are what bound a partition at
 * high K, docs/design.md, "Partition limits on AWS"). It is safe: what it shows held is
 * held, since DynamoDB never answers an item that was not written and a held offset
 * stays held (a flush moves it to a segment, still held). An item a lagging replica has
 * not applied yet reads as a gap: the look after it is consistent (LOOK_AGAIN), so a lag
 * costs at most that look, never an acknowledgement early, nor a seal (a void is
 * conditioned on its key being free).
 */
export const FIRST_LOOK: ScanOptions = { trustGaps: true, consistent: false };
/** A look after one that found a gap: strongly consistent. */
const LOOK_AGAIN: ScanOptions = { trustGaps: true };
const EARLY_LOOK_MAX_ROUND_TRIPS = 16;
const EARLY_LOOK_STEP_DOWN = 0.25;

/**
 * The bar for the next early look after one that ended at `end`, below a range from
 * `base`: lowered when it settled the prefix, raised when it found a gap after all.
 */
export function nextEarlyLookRoundTrips(current: number, end: number, base: number): number {
  return end >= base ? Math.max(EARLY_LOOK_ROUND_TRIPS, current - EARLY_LOOK_STEP_DOWN) : Math.min(EARLY_LOOK_MAX_ROUND_TRIPS, current + 1);
}

/**
 * Waits until every offset below `base` is held, from `from` (known held below it),
 * sealing gaps once they are stale; tells `learn` each offset it finds everything
 * below held. False when the deadline passed first. The append's first look (none went
 * before: `earlier` undefined) reads eventually consistent, the ones after a gap
 * consistent (FIRST_LOOK).
 */
export async function waitForPrefix(
  sealer: Sealer,
  clock: Clock,
  ref: PartitionRef,
  from: number,
  base: number,
  head: PartitionHead,
  deadline: number,
  earlier: Prefix<TailExtent> | undefined,
  learn: (known: number) => void,
): Promise<boolean> {
  let known = from;
  // Items seen held above a gap are not read again: the next look ends where they begin.
  let top = heldBelow(base, earlier);
  // About one round trip: the time the writer of the gap takes to fill it.
  let pause = Math.max(PREFIX_POLL_MIN_MS, sealer.roundTrip);
  let options = earlier === undefined ? FIRST_LOOK : LOOK_AGAIN;
  while (known < base) {
    try {
      const scan = await sealer.extent(ref, known, top, head.lastAppendAt, options);
      options = LOOK_AGAIN;
      known = scan.end >= top ? base : scan.end;
      learn(known);
      if (known >= base) return true;
      top = heldBelow(top, scan);
      if (scan.gap && sealer.isStale(scan.gap)) {
        await sealer.seal(ref, scan.gap);
        continue;
      }
    } catch (err) {
      if (!isRetryable(err)) throw err;
    }
    if (clock.now() >= deadline) return false;
    await sleep(pause);
    pause = Math.min(pause * 2, Math.max(PREFIX_POLL_MAX_MS, sealer.roundTrip));
  }
  return true;
}

/**
 * The lowest offset from which a look found every offset up to `top` held, in the items
 * it saw above its gap (`top` when it saw none reaching it): a later look need only read
 * below it.
 */
export function heldBelow(top: number, scan: Prefix<TailExtent> | undefined): number {
  let low = top;
  const above = scan?.above ?? [];
  for (let i = above.length - 1; i >= 0; i--) {
    const item = above[i]!;
    if (item.baseOffset >= low) continue;
    if (item.lastOffset + 1 < low) break;
    low = item.baseOffset;
  }
  return low;
}
