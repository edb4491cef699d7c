/**
 * Tail items removed by DynamoDB TTL instead of deletes (docs/design.md, "Flushed items
 * expire"). A store built with a tail TTL writes every tail item (batch, pointer, void)
 * with `ttl` = its append time + the TTL. A flush then leaves the items it moved to S3
 * where they are: readers never look below flushedOffset, and DynamoDB removes expired
 * items without billing a write, where a delete costs as many write units as the item's
 * size. What this module guards is the other side: an item must never expire before it
 * is flushed.
 *
 *     append ─▶ item, ttl = t + TTL
 *     flush  ─▶ segment; flushedOffset moves past the item; the item stays (no delete)
 *     t + TTL ─▶ DynamoDB removes it (within a few days; until then readers skip it)
 *
 *     flushes failing for TTL/2 (S3 refusing PUTs, say; the flush-lag alarm fired after
 *     FLUSH_LAG_ALARM_MS): each flush attempt first moves the unflushed items' ttl to
 *     now + TTL, so they outlive the outage however long it lasts.
 *
 * The keep-alive costs nothing while flushes work: the flusher already holds the oldest
 * unflushed item and looks at its expiry. Only when that one is due does it read the
 * unflushed extents, window by window, and rewrite the TTL of those due (billed like a
 * write of each item), stopping at the first window whose newest item is not due. A
 * partition written first and numbered after (docs/design.md) keeps its data items and the
 * index items that locate them alive the same way (the store's keepNumberedAlive).
 */
import { TAIL_TTL_EXTEND_SHARE, TAIL_TTL_REFRESH_SHARE, TAIL_TTL_REFRESH_WINDOW } from '../core/constants.js';
import type { LogStore } from '../ports/log-store.js';
import type { PartitionRef, TailItem } from '../ports/model.js';

/** True when an item written with a TTL has less than `share` of it left (TAIL_TTL_REFRESH_SHARE: the keep-alive is due). */
export function expiresSoon(
  store: Pick<LogStore, 'tailTtlMs'>,
  item: Pick<TailItem, 'expiresAt'> | undefined,
  now: number,
  share = TAIL_TTL_REFRESH_SHARE,
): boolean {
  if (store.tailTtlMs === undefined || item?.expiresAt === undefined) return false;
  return item.expiresAt < now + store.tailTtlMs * share;
}

/**
 * Moves the TTL of the unflushed items in [from, until) that expire soon to now + TTL.
 * Returns how many items it extended.
 */
export async function keepUnflushedAlive(
  store: Pick<LogStore, 'tailTtlMs' | 'tailExtents' | 'extendTailExpiry' | 'keepNumberedAlive'>,
  ref: PartitionRef,
  from: number,
  until: number,
  now: number,
): Promise<number> {
  const ttl = store.tailTtlMs;
  if (ttl === undefined) return 0;
  // A partition written first and numbered after: its data and index items (none elsewhere).
  let extended = await store.keepNumberedAlive(ref, from, now + ttl, now + ttl * TAIL_TTL_EXTEND_SHARE);
  for (let start = from; start < until; start += TAIL_TTL_REFRESH_WINDOW) {
    const extents = await store.tailExtents(ref, start, Math.min(until, start + TAIL_TTL_REFRESH_WINDOW));
    const due = extents.filter((e) => expiresSoon(store, e, now, TAIL_TTL_EXTEND_SHARE));
    if (due.length > 0)
      await store.extendTailExpiry(
        ref,
        due.map((e) => e.lastOffset),
        now + ttl,
      );
    extended += due.length;
    // Items are appended in about offset order: past the first one not due, none are.
    const newest = extents.at(-1);
    if (newest && !expiresSoon(store, newest, now, TAIL_TTL_EXTEND_SHARE)) break;
  }
  return extended;
}
