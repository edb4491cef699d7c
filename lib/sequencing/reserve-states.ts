/**
 * The reserving sequencer's commit of one group as a state machine: its states, the
 * transitions allowed between them, and what each state's handler reads and leaves for
 * the next (the handlers are ReservingSequencer's methods, reserving-sequencer.ts).
 */
import { StateMachine } from '../core/state-machine.js';
import type { PartitionHead, TailExtent } from '../ports/model.js';
import type { LaidOut } from './lay-out.js';
import type { Prefix } from './sealer.js';
import type { Pending } from './sequencer.js';

/** A reservation: offsets [base, end), the head it left, the token that names it, when the one before it was made. */
export type Reserved = { base: number; end: number; head: PartitionHead; token: string; previousAt: number | null; sequence: number };

/**
 * The states of one group's reserve, fill and look:
 *
 *     reserving ──▶ reserved ──▶ filled ──▶ acknowledged
 *       ▲  │           │   │        └──▶ waiting ──▶ acknowledged | in doubt
 *       │  │           │   └──▶ lost | producer moved ──▶ reserving
 *       │  │           └──▶ in doubt (the fill timed out) | expired
 *       │  └──▶ backoff ──▶ reserving
 *       └───── settled | mismatch | given up
 *
 * - reserving: past the deadline (after a first try), give up; else settle the
 *   producers' batches and reserve the rest's offsets (a conditional append whose
 *   expected offset is not the counter: mismatch). A failure that may succeed backs off.
 * - reserved: past the deadline, expired (the range is sealed, nothing written); else
 *   fill the range, with committedOffset moved up or an early look below when due.
 *   The fill's answer: filled, lost (a sealer's void won), producer moved (voids the
 *   range), or in doubt (the deadline passed with its outcome unknown).
 * - lost, producer moved: count a conflict and reserve again.
 * - filled: learn from the early look; a gap still below the range: waiting.
 * - waiting: look below until everything is held (sealing stale gaps): acknowledged;
 *   the deadline first: in doubt.
 * - acknowledged, settled, mismatch, expired, in doubt, given up: final; each settles
 *   the group's appends (in doubt: 503 saying the append may have been written).
 *
 * A failure that is not retryable rejects the whole group (thrown).
 */
export type FillState =
  | 'reserving'
  | 'backoff'
  | 'reserved'
  | 'lost'
  | 'producer moved'
  | 'filled'
  | 'waiting'
  | 'acknowledged'
  | 'settled'
  | 'mismatch'
  | 'expired'
  | 'in doubt'
  | 'given up';

export const FILL = new StateMachine<FillState>('reserving commit', {
  reserving: ['reserved', 'mismatch', 'settled', 'backoff', 'given up'],
  backoff: ['reserving'],
  reserved: ['filled', 'lost', 'producer moved', 'in doubt', 'expired'],
  lost: ['reserving'],
  'producer moved': ['reserving'],
  filled: ['waiting', 'acknowledged'],
  waiting: ['acknowledged', 'in doubt'],
  acknowledged: [],
  settled: [],
  mismatch: [],
  expired: [],
  'in doubt': [],
  'given up': [],
});

/** The state a fill's answer leads to (ReservingSequencer.fill). */
export type FillAnswer = 'ok' | 'lost' | 'producer-moved' | 'timeout';
export const FILL_ANSWER: { readonly [A in FillAnswer]: FillState } = {
  ok: 'filled',
  lost: 'lost',
  'producer-moved': 'producer moved',
  timeout: 'in doubt',
};

/** One group's commit as it goes: what each state's handler reads and leaves for the next. */
export interface GroupFill {
  live: Pending[];
  started: number;
  /** The group's earliest deadline. */
  deadline: number;
  attempts: number;
  conflicts: number;
  lastError: unknown;
  reserved: Reserved | undefined;
  /** The head a conditional append's reservation found at another offset. */
  mismatch: PartitionHead | undefined;
  laid: LaidOut | undefined;
  /** committedOffset as the reservation saw it (committedFloor). */
  floor: number;
  /** Every offset below it is known held when the fill is sent. */
  from: number;
  /** This group made the partition's COMMIT_ADVANCE_EVERY-th reservation: it moves committedOffset up … */
  due: boolean;
  /** … and did with its fill. */
  advance: boolean;
  /** The look below the range sent while the fill was in flight (none when the fill answered first). */
  look: Prefix<TailExtent> | undefined;
}
