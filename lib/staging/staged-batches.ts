/**
 * Large appends are staged: their batches go to S3 before the commit, with offsets
 * relative to 0 (the offsets are not known until the commit wins its condition), and the
 * tail item that the commit writes points at the object. The batch CRC does not cover
 * the base offset, so re-stamping offsets on the way out keeps every CRC valid.
 */

import { iterateBatches } from '../format/record-batch.js';
import type { TailItem } from '../ports/model.js';
import type { StagedStores } from './tier.js';

/** A copy of concatenated batches with every base offset moved by `delta`. */
export function shiftBatches(bytes: Uint8Array, delta: number): Uint8Array {
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (const batch of iterateBatches(bytes)) {
    const base = batch.baseOffset + delta;
    view.setUint32(batch.position, Math.floor(base / 2 ** 32));
    view.setUint32(batch.position + 4, base >>> 0);
  }
  return out;
}

/** The item's batches at their real offsets, from the item or from its staged object (in the store the item names). */
export async function tailItemData(item: TailItem, stores: StagedStores | undefined): Promise<Uint8Array> {
  if (!item.staged) return item.data;
  if (!stores) throw new Error(`tail item ${item.baseOffset} is staged in S3 but no object store is configured`);
  return shiftBatches(await stores.of(item.staged).get(item.staged.key), item.baseOffset);
}

/** Bytes of batches an item stands for, whether held inline or staged. */
export function tailItemBytes(item: TailItem): number {
  return item.staged ? item.staged.bytes : item.data.byteLength;
}
