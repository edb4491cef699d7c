/**
 * Idempotent producers: the pure rules that decide what to do with a batch from
 * `{producerId, epoch, sequence}` given the state last committed for that producer on
 * the partition (Kafka's ProducerStateManager, reduced to what a log without
 * transactions needs).
 *
 * | state / batch                          | decision                               |
 * | -------------------------------------- | -------------------------------------- |
 * | no state                               | accept (any first sequence)            |
 * | epoch < state.epoch                    | PRODUCER_FENCED                        |
 * | epoch > state.epoch, sequence = 0      | accept, remembered batches reset       |
 * | epoch > state.epoch, sequence ≠ 0      | OUT_OF_ORDER_SEQUENCE (expects 0)      |
 * | same epoch, sequence = last + 1        | accept                                 |
 * | same epoch, same range as a remembered | duplicate: answer its original offsets |
 * | same epoch, sequence ≤ last otherwise  | DUPLICATE_SEQUENCE                     |
 * | same epoch, sequence > last + 1        | OUT_OF_ORDER_SEQUENCE                  |
 */
import { PRODUCER_DEDUP_WINDOW } from '../core/constants.js';
import { DuplicateSequenceError, ProducerFencedError, SequenceGapError, type StrataError } from '../core/errors.js';
import type { ProducerBatch, ProducerState } from '../ports/model.js';

/** The producer fields of an append request. `sequence` numbers the batch's first record. */
export interface ProducerStamp {
  producerId: string;
  epoch: number;
  sequence: number;
}

export type SequenceDecision = { kind: 'accept' } | { kind: 'duplicate'; batch: ProducerBatch } | { kind: 'reject'; error: StrataError };

/** Decides what to do with a batch of `recordCount` records stamped `stamp`. */
export function checkSequence(state: ProducerState | null, stamp: ProducerStamp, recordCount: number): SequenceDecision {
  if (!state) return { kind: 'accept' };
  if (stamp.epoch < state.epoch) {
    return { kind: 'reject', error: new ProducerFencedError(stamp.producerId, stamp.epoch, state.epoch) };
  }
  if (stamp.epoch > state.epoch) {
    return stamp.sequence === 0 ? { kind: 'accept' } : { kind: 'reject', error: new SequenceGapError(stamp.producerId, stamp.sequence, 0) };
  }
  const last = state.batches.at(-1);
  const lastSequence = last ? last.lastSequence : -1;
  if (stamp.sequence === lastSequence + 1) return { kind: 'accept' };
  const lastOfBatch = stamp.sequence + recordCount - 1;
  const remembered = state.batches.find((b) => b.firstSequence === stamp.sequence && b.lastSequence === lastOfBatch);
  if (remembered) return { kind: 'duplicate', batch: remembered };
  if (stamp.sequence <= lastSequence) {
    return { kind: 'reject', error: new DuplicateSequenceError(stamp.producerId, stamp.sequence, lastSequence) };
  }
  return { kind: 'reject', error: new SequenceGapError(stamp.producerId, stamp.sequence, lastSequence + 1) };
}

/**
 * The version of the next write of a producer's state: one above the stored state's, or
 * for a state created (none stored, or one past its TTL), the time of the write (ms).
 * Writes are conditioned on the version they were decided on; a state that expired and
 * was created again must never reuse a version its earlier life had, or a process that
 * remembers that earlier state would write over the new one (its condition passes). The
 * old life's versions are below its creation time plus its writes, at most one per ms
 * (a partition's head takes about 1,000 writes a second), and the new life begins a
 * PRODUCER_STATE_TTL_MS after the old one's last write: later than any of them.
 */
export function nextVersion(state: Pick<ProducerState, 'version'> | null, now: number): number {
  return state ? state.version + 1 : Math.max(1, Math.floor(now));
}

/** The state after an accepted batch committed at [baseOffset, baseOffset + recordCount). */
export function nextProducerState(
  state: ProducerState | null,
  stamp: ProducerStamp,
  recordCount: number,
  baseOffset: number,
  now: number,
): ProducerState {
  const batch: ProducerBatch = {
    firstSequence: stamp.sequence,
    lastSequence: stamp.sequence + recordCount - 1,
    baseOffset,
    lastOffset: baseOffset + recordCount - 1,
  };
  const kept = state && state.epoch === stamp.epoch ? state.batches : [];
  return {
    producerId: stamp.producerId,
    epoch: stamp.epoch,
    batches: [...kept, batch].slice(-PRODUCER_DEDUP_WINDOW),
    version: nextVersion(state, now),
    updatedAt: now,
  };
}
