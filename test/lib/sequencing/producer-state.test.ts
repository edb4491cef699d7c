import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRODUCER_DEDUP_WINDOW } from '../../../lib/core/constants.js';
import { DuplicateSequenceError, ProducerFencedError, SequenceGapError, type StrataError } from '../../../lib/core/errors.js';
import type { ProducerBatch, ProducerState } from '../../../lib/ports/model.js';
import { checkSequence, nextProducerState, type ProducerStamp, type SequenceDecision } from '../../../lib/sequencing/producer-state.js';

const PID = 'producer-1';
const NOW = 1_700_000_000_000;

const stamp = (epoch: number, sequence: number): ProducerStamp => ({ producerId: PID, epoch, sequence });

/**
 * Epoch 3, five remembered batches of sequences [0-1] [2-4] [5-5] [6-9] [10-11],
 * committed at offsets 100.., with other writers' records in between.
 */
const batches: ProducerBatch[] = [
  { firstSequence: 0, lastSequence: 1, baseOffset: 100, lastOffset: 101 },
  { firstSequence: 2, lastSequence: 4, baseOffset: 110, lastOffset: 112 },
  { firstSequence: 5, lastSequence: 5, baseOffset: 120, lastOffset: 120 },
  { firstSequence: 6, lastSequence: 9, baseOffset: 130, lastOffset: 133 },
  { firstSequence: 10, lastSequence: 11, baseOffset: 140, lastOffset: 141 },
];
const state: ProducerState = { producerId: PID, epoch: 3, batches, version: 7, updatedAt: NOW - 1000 };

function rejection(decision: SequenceDecision): StrataError {
  if (decision.kind !== 'reject') throw new Error(`expected a rejection, got ${JSON.stringify(decision)}`);
  return decision.error;
}

describe('checkSequence', () => {
  describe('with no state for the producer', () => {
    it('accepts a first batch at sequence 0', () => {
      expect(checkSequence(null, stamp(0, 0), 3)).toEqual({ kind: 'accept' });
    });

    it('accepts a first batch at any sequence (state expired or never written)', () => {
      expect(checkSequence(null, stamp(0, 42), 1)).toEqual({ kind: 'accept' });
      expect(checkSequence(null, stamp(9, 1_000_000), 10)).toEqual({ kind: 'accept' });
    });
  });

  describe('with an older epoch than the state', () => {
    it('rejects an older epoch with PRODUCER_FENCED', () => {
      const error = rejection(checkSequence(state, stamp(2, 12), 1));

      expect(error).toBeInstanceOf(ProducerFencedError);
      expect(error.code).toBe('PRODUCER_FENCED');
      expect(error.status).toBe(409);
      expect(error.retryable).toBe(false);
      expect(error.details).toEqual({ epoch: 2, currentEpoch: 3 });
    });

    it('fences an older epoch even when its batch repeats a remembered one exactly', () => {
      const error = rejection(checkSequence(state, stamp(2, 2), 3));

      expect(error.code).toBe('PRODUCER_FENCED');
    });

    it('fences an older epoch starting a fresh sequence at 0', () => {
      expect(rejection(checkSequence(state, stamp(0, 0), 1)).code).toBe('PRODUCER_FENCED');
    });
  });

  describe('with a newer epoch than the state', () => {
    it('accepts a newer epoch starting at sequence 0', () => {
      expect(checkSequence(state, stamp(4, 0), 5)).toEqual({ kind: 'accept' });
    });

    it('accepts an epoch that skips ahead, as long as it starts at 0', () => {
      expect(checkSequence(state, stamp(100, 0), 1)).toEqual({ kind: 'accept' });
    });

    it('rejects a newer epoch not starting at 0 with OUT_OF_ORDER_SEQUENCE expecting 0', () => {
      const error = rejection(checkSequence(state, stamp(4, 12), 1));

      expect(error).toBeInstanceOf(SequenceGapError);
      expect(error.code).toBe('OUT_OF_ORDER_SEQUENCE');
      expect(error.status).toBe(409);
      expect(error.details).toEqual({ sequence: 12, expectedSequence: 0 });
    });

    it('does not treat a newer-epoch batch matching an old remembered range as a duplicate', () => {
      const error = rejection(checkSequence(state, stamp(4, 2), 3));

      expect(error.code).toBe('OUT_OF_ORDER_SEQUENCE');
      expect(error.details).toEqual({ sequence: 2, expectedSequence: 0 });
    });
  });

  describe('with the same epoch as the state', () => {
    it('accepts the batch starting at the last sequence + 1', () => {
      expect(checkSequence(state, stamp(3, 12), 1)).toEqual({ kind: 'accept' });
      expect(checkSequence(state, stamp(3, 12), 500)).toEqual({ kind: 'accept' });
    });

    it('answers a re-sent latest batch as a duplicate with its original offsets', () => {
      const decision = checkSequence(state, stamp(3, 10), 2);

      expect(decision).toEqual({
        kind: 'duplicate',
        batch: { firstSequence: 10, lastSequence: 11, baseOffset: 140, lastOffset: 141 },
      });
    });

    it('answers a re-sent oldest remembered batch as a duplicate with its original offsets', () => {
      const decision = checkSequence(state, stamp(3, 0), 2);

      expect(decision).toEqual({
        kind: 'duplicate',
        batch: { firstSequence: 0, lastSequence: 1, baseOffset: 100, lastOffset: 101 },
      });
    });

    it('answers every remembered batch re-sent exactly as a duplicate of that batch', () => {
      for (const b of batches) {
        const decision = checkSequence(state, stamp(3, b.firstSequence), b.lastSequence - b.firstSequence + 1);
        expect(decision).toEqual({ kind: 'duplicate', batch: b });
      }
    });

    it('rejects a batch that starts like a remembered one but has more records with DUPLICATE_SEQUENCE', () => {
      const error = rejection(checkSequence(state, stamp(3, 2), 4));

      expect(error).toBeInstanceOf(DuplicateSequenceError);
      expect(error.code).toBe('DUPLICATE_SEQUENCE');
      expect(error.status).toBe(409);
      expect(error.details).toEqual({ sequence: 2, lastSequence: 11 });
    });

    it('rejects a batch that starts like a remembered one but has fewer records with DUPLICATE_SEQUENCE', () => {
      const error = rejection(checkSequence(state, stamp(3, 6), 2));

      expect(error.code).toBe('DUPLICATE_SEQUENCE');
      expect(error.details).toEqual({ sequence: 6, lastSequence: 11 });
    });

    it('rejects a batch starting inside a remembered batch with DUPLICATE_SEQUENCE', () => {
      const error = rejection(checkSequence(state, stamp(3, 7), 3));

      expect(error.code).toBe('DUPLICATE_SEQUENCE');
      expect(error.details).toEqual({ sequence: 7, lastSequence: 11 });
    });

    it('rejects a batch starting at the last sequence that overruns it with DUPLICATE_SEQUENCE', () => {
      const error = rejection(checkSequence(state, stamp(3, 11), 5));

      expect(error.code).toBe('DUPLICATE_SEQUENCE');
      expect(error.details).toEqual({ sequence: 11, lastSequence: 11 });
    });

    it('rejects a batch older than the remembered window with DUPLICATE_SEQUENCE', () => {
      const windowed: ProducerState = {
        ...state,
        batches: [
          { firstSequence: 20, lastSequence: 21, baseOffset: 200, lastOffset: 201 },
          { firstSequence: 22, lastSequence: 22, baseOffset: 202, lastOffset: 202 },
        ],
      };

      const error = rejection(checkSequence(windowed, stamp(3, 0), 2));

      expect(error.code).toBe('DUPLICATE_SEQUENCE');
      expect(error.details).toEqual({ sequence: 0, lastSequence: 22 });
    });

    it('rejects a batch beyond the last sequence + 1 with OUT_OF_ORDER_SEQUENCE', () => {
      const error = rejection(checkSequence(state, stamp(3, 13), 1));

      expect(error).toBeInstanceOf(SequenceGapError);
      expect(error.code).toBe('OUT_OF_ORDER_SEQUENCE');
      expect(error.details).toEqual({ sequence: 13, expectedSequence: 12 });
    });

    it('rejects a far-ahead batch with OUT_OF_ORDER_SEQUENCE naming the expected sequence', () => {
      const error = rejection(checkSequence(state, stamp(3, 1_000), 1));

      expect(error.details).toEqual({ sequence: 1_000, expectedSequence: 12 });
      expect(error.message).toContain(`'${PID}'`);
      expect(error.message).toContain('expects 12');
    });

    it('expects sequence 0 when the state remembers no batches', () => {
      const empty: ProducerState = { ...state, batches: [] };

      expect(checkSequence(empty, stamp(3, 0), 1)).toEqual({ kind: 'accept' });
      expect(rejection(checkSequence(empty, stamp(3, 1), 1)).details).toEqual({ sequence: 1, expectedSequence: 0 });
    });
  });
});

describe('nextProducerState', () => {
  it('creates the first state with one batch, the given time, and that time as its version', () => {
    const next = nextProducerState(null, stamp(0, 0), 3, 50, NOW);

    expect(next).toEqual({
      producerId: PID,
      epoch: 0,
      batches: [{ firstSequence: 0, lastSequence: 2, baseOffset: 50, lastOffset: 52 }],
      version: NOW,
      updatedAt: NOW,
    });
  });

  it('computes the last sequence and last offset of a batch from its record count', () => {
    const next = nextProducerState(null, stamp(1, 40), 10, 1_000, NOW);

    expect(next.batches).toEqual([{ firstSequence: 40, lastSequence: 49, baseOffset: 1_000, lastOffset: 1_009 }]);
  });

  it('computes a single-record batch as one sequence at one offset', () => {
    const next = nextProducerState(null, stamp(1, 7), 1, 9, NOW);

    expect(next.batches).toEqual([{ firstSequence: 7, lastSequence: 7, baseOffset: 9, lastOffset: 9 }]);
  });

  it('appends the batch after the remembered ones in the same epoch and increments the version', () => {
    const small: ProducerState = { ...state, batches: batches.slice(0, 2) };

    const next = nextProducerState(small, stamp(3, 5), 2, 150, NOW);

    expect(next.epoch).toBe(3);
    expect(next.version).toBe(8);
    expect(next.updatedAt).toBe(NOW);
    expect(next.batches).toEqual([batches[0], batches[1], { firstSequence: 5, lastSequence: 6, baseOffset: 150, lastOffset: 151 }]);
  });

  it(`keeps only the ${PRODUCER_DEDUP_WINDOW} most recent batches, dropping the oldest`, () => {
    expect(PRODUCER_DEDUP_WINDOW).toBe(5);

    const next = nextProducerState(state, stamp(3, 12), 3, 150, NOW);

    expect(next.batches).toHaveLength(5);
    expect(next.batches).toEqual([
      batches[1],
      batches[2],
      batches[3],
      batches[4],
      { firstSequence: 12, lastSequence: 14, baseOffset: 150, lastOffset: 152 },
    ]);
  });

  it('forgets the dropped batch so that re-sending it is no longer a duplicate', () => {
    const next = nextProducerState(state, stamp(3, 12), 3, 150, NOW);

    expect(rejection(checkSequence(next, stamp(3, 0), 2)).code).toBe('DUPLICATE_SEQUENCE');
    expect(checkSequence(next, stamp(3, 2), 3)).toEqual({ kind: 'duplicate', batch: batches[1] });
  });

  it('resets the remembered batches when a new epoch starts, but keeps counting versions', () => {
    const next = nextProducerState(state, stamp(4, 0), 2, 300, NOW);

    expect(next).toEqual({
      producerId: PID,
      epoch: 4,
      batches: [{ firstSequence: 0, lastSequence: 1, baseOffset: 300, lastOffset: 301 }],
      version: 8,
      updatedAt: NOW,
    });
  });

  it('does not modify the state it was given', () => {
    const before = structuredClone(state);

    nextProducerState(state, stamp(3, 12), 3, 150, NOW);
    nextProducerState(state, stamp(4, 0), 3, 150, NOW);

    expect(state).toEqual(before);
  });

  it('builds states that grow up to the window and then slide, one version per batch', () => {
    let s: ProducerState | null = null;
    for (let i = 0; i < 12; i++) s = nextProducerState(s, stamp(0, i * 2), 2, i * 10, NOW + i);

    // A state created takes the time as its first version (nextVersion), then one per batch.
    expect(s!.version).toBe(NOW + 11);
    expect(s!.updatedAt).toBe(NOW + 11);
    expect(s!.batches.map((b) => b.firstSequence)).toEqual([14, 16, 18, 20, 22]);
    expect(s!.batches.map((b) => b.baseOffset)).toEqual([70, 80, 90, 100, 110]);
  });
});

describe('checkSequence and nextProducerState together (property)', () => {
  const scenario = fc.record({
    epoch: fc.nat({ max: 1_000 }),
    firstSequence: fc.nat({ max: 1_000_000 }),
    firstOffset: fc.nat({ max: 1_000_000_000 }),
    /** Each batch: its record count and how many other writers' records precede it. */
    batches: fc.array(fc.record({ count: fc.integer({ min: 1, max: 50 }), gap: fc.nat({ max: 20 }) }), {
      minLength: 1,
      maxLength: 30,
    }),
  });

  it('re-sending any of the last 5 accepted batches is a duplicate with its exact offsets, and last + 1 is accepted', () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 1, max: 100 }), (sc, nextCount) => {
        let s: ProducerState | null = null;
        let sequence = sc.firstSequence;
        let offset = sc.firstOffset;
        const committed: ProducerBatch[] = [];

        for (const { count, gap } of sc.batches) {
          offset += gap;
          const st = stamp(sc.epoch, sequence);
          expect(checkSequence(s, st, count)).toEqual({ kind: 'accept' });
          s = nextProducerState(s, st, count, offset, NOW);
          committed.push({
            firstSequence: sequence,
            lastSequence: sequence + count - 1,
            baseOffset: offset,
            lastOffset: offset + count - 1,
          });
          sequence += count;
          offset += count;
        }

        const remembered = committed.slice(-PRODUCER_DEDUP_WINDOW);
        expect(s!.batches).toEqual(remembered);
        expect(s!.version).toBe(NOW + committed.length - 1);
        for (const b of remembered) {
          const resend = checkSequence(s, stamp(sc.epoch, b.firstSequence), b.lastSequence - b.firstSequence + 1);
          expect(resend).toEqual({ kind: 'duplicate', batch: b });
        }
        for (const b of committed.slice(0, -PRODUCER_DEDUP_WINDOW)) {
          const resend = checkSequence(s, stamp(sc.epoch, b.firstSequence), b.lastSequence - b.firstSequence + 1);
          expect(rejection(resend).code).toBe('DUPLICATE_SEQUENCE');
        }
        expect(checkSequence(s, stamp(sc.epoch, sequence), nextCount)).toEqual({ kind: 'accept' });
        expect(rejection(checkSequence(s, stamp(sc.epoch, sequence + 1), nextCount)).code).toBe('OUT_OF_ORDER_SEQUENCE');
      }),
      { numRuns: 300 },
    );
  });
});
