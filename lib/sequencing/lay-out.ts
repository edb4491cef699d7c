/**
 * A group's appends laid out at their offsets, for either sequencer's commit: each
 * batch re-stamped with its base offset, packed into tail items (one DynamoDB item each),
 * and each idempotent producer's next state.
 */
import { MAX_TAIL_ITEM_BYTES } from '../core/constants.js';
import { withBaseOffset } from '../format/record-batch-encoder.js';
import type { AppendCommit } from '../ports/log-store.js';
import type { ProducerState, TailItem } from '../ports/model.js';
import { nextProducerState } from './producer-state.js';
import type { PartitionAppend } from './sequencer.js';

/** An append as laid out in tail items: its offsets are set on it (`baseOffset`). */
export interface LaidOutAppend extends PartitionAppend {
  baseOffset?: number;
}

/** A group laid out: its tail items, its producers' next states, its records and bytes. */
export interface LaidOut {
  items: TailItem[];
  producers: AppendCommit['producers'];
  records: number;
  bytes: number;
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
): LaidOut {
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
