/**
 * The reserving sequencer: offsets come from the head's atomic counter, so independent
 * writers (one per Lambda environment) never cancel each other (docs/design.md,
 * "reserve, fill, seal").
 *
 *     writer                          DynamoDB
 *     UpdateItem HEAD ADD n ────────▶ range [R-n, R), head (committedOffset C) ALL_NEW
 *     Put B#{last} (+ producer) ────▶ item, CONDITION the key is free
 *     Query [known, base) ──────────▶ every offset below base held? (offsets only; none
 *                                     when this process's last append ended at base)
 *     (a gap older than the seal age: seal it; a younger one: wait a round trip, look again)
 *     ack: the range is filled and everything before it is readable
 *
 * What can go wrong, and what the writer answers:
 *
 * - the fill finds a void on one of its keys: a sealer closed the range (the writer was
 *   too slow); nothing of it was written, the writer reserves again inside its deadline;
 * - the fill finds its own item (a re-send after a lost answer): applied;
 * - the fill loses a producer condition (a concurrent retry of the same batch, on
 *   another engine, filled first): the writer voids its own range and decides again on
 *   the stored state (a duplicate answers the original offsets);
 * - the reservation's answer is lost: the head's lastReservation names it while no
 *   other reservation came since; otherwise the range is a gap that gets sealed, and the
 *   writer reserves again (a gap costs latency, never a duplicate: nothing was filled).
 *
 * A writer never acknowledges before its range is filled and everything below it is
 * held by an item or a void, so an acknowledged record is readable by the next read.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { COMMIT_ADVANCE_EVERY } from '../core/constants.js';
import { OffsetMismatchError } from '../core/errors.js';
import { backoffDelay, isRetryable, mayHaveApplied, settlesWithin, sleep } from '../core/retry.js';
import type { StateHandlers } from '../core/state-machine.js';
import type { FillCommit, LogStore, ReserveOutcome } from '../ports/log-store.js';
import type { PartitionHead, PartitionRef, TailExtent } from '../ports/model.js';
import type { AppendNotifier } from '../reading/notifier.js';
import { layOut } from './lay-out.js';
import { EARLY_LOOK_ROUND_TRIPS, FIRST_LOOK, nextEarlyLookRoundTrips, waitForPrefix } from './look-below.js';
import { FILL, FILL_ANSWER, type FillAnswer, type FillState, type GroupFill, type Reserved } from './reserve-states.js';
import { committedFloor, type Prefix, type Sealer } from './sealer.js';
import { PartitionSequencer, type Pending, type SequencerOptions } from './sequencer.js';

export class ReservingSequencer extends PartitionSequencer {
  /**
   * Every offset below this is held (an item, a void, a segment): learnt from this
   * process's own acknowledgements and looks. A writer looks at its predecessors from
   * here rather than from committedOffset, which lags: one environment's appends follow
   * each other, so it reads the few ranges reserved since its last.
   */
  private knownPrefix = 0;
  private tailBytes = 0;
  /** How many round trips old the reservation before a writer's must be for an early look. */
  private earlyLookRoundTrips = EARLY_LOOK_ROUND_TRIPS;
  /** Told each offset below which a look found everything held. */
  private readonly learnPrefix = (known: number): void => {
    this.knownPrefix = Math.max(this.knownPrefix, known);
  };

  private readonly states: StateHandlers<FillState, GroupFill> = {
    reserving: (c) => this.reserving(c),
    backoff: (c) => this.backoff(c),
    mismatch: (c) => this.mismatch(c),
    reserved: (c) => this.reserved(c),
    lost: (c) => this.lost(c),
    'producer moved': (c) => this.producerMoved(c),
    expired: (c) => this.expired(c),
    filled: (c) => this.filled(c),
    waiting: (c) => this.waiting(c),
    acknowledged: (c) => this.acknowledged(c),
    settled: () => undefined,
    'in doubt': (c) => {
      this.giveUp(c.live, true, c.lastError);
      return undefined;
    },
    'given up': (c) => {
      this.giveUp(c.live, false, c.lastError);
      return undefined;
    },
  };

  constructor(
    ref: PartitionRef,
    store: LogStore,
    clock: Clock,
    notifier: AppendNotifier,
    private readonly sealer: Sealer,
    options: SequencerOptions,
  ) {
    super(ref, store, clock, notifier, options);
  }

  flushRequested(): void {
    this.tailBytes = 0;
  }

  protected async commitGroup(group: Pending[]): Promise<void> {
    const c: GroupFill = {
      live: group,
      started: this.clock.now(),
      deadline: Math.min(...group.map((p) => p.deadline)),
      attempts: 0,
      conflicts: 0,
      lastError: undefined,
      reserved: undefined,
      mismatch: undefined,
      laid: undefined,
      floor: 0,
      from: 0,
      due: false,
      advance: false,
      look: undefined,
    };
    await FILL.run('reserving', c, this.states);
  }

  private async reserving(c: GroupFill): Promise<FillState> {
    if (c.attempts > 0 && this.clock.now() >= c.deadline) return 'given up';
    c.attempts++;
    try {
      c.live = await this.producers.settle(c.live, this.tailBytes);
      if (c.live.length === 0) return 'settled';
      const reserved = await this.reserve(c.live);
      if ('mismatch' in reserved) {
        c.mismatch = reserved.mismatch;
        return 'mismatch';
      }
      c.reserved = reserved;
      return 'reserved';
    } catch (err) {
      c.lastError = err;
      if (!isRetryable(err)) throw err;
      return 'backoff';
    }
  }

  private async backoff(c: GroupFill): Promise<FillState> {
    await sleep(backoffDelay(this.options.retry, c.attempts));
    return 'reserving';
  }

  /**
   * A conditional append whose producer's state this process has stale may be the
   * retry of a batch another process committed: a duplicate, not a mismatch.
   */
  private async mismatch(c: GroupFill): Promise<undefined> {
    const conditional = c.live[0]!;
    if (conditional.producer) {
      this.producers.forget(conditional.producer.producerId);
      if ((await this.producers.settle([conditional], this.tailBytes).catch(() => [conditional])).length === 0) return undefined;
    }
    conditional.reject(new OffsetMismatchError(conditional.expectedOffset!, c.mismatch!.nextOffset));
    return undefined;
  }

  /** Fills the range, and with the fill moves committedOffset up or looks below when due. */
  private async reserved(c: GroupFill): Promise<FillState> {
    const reserved = c.reserved!;
    const { base, head } = reserved;
    if (this.clock.now() >= c.deadline) return 'expired';
    const laid = layOut(c.live, base, this.clock.now(), reserved.token, (id) => this.producers.cached(id));
    c.laid = laid;
    const commit: FillCommit = { ref: this.ref, items: laid.items, producers: laid.producers, requestToken: reserved.token };
    const floor = committedFloor(head);
    const from = Math.max(floor, Math.min(this.knownPrefix, base));
    // Readers and writers scan from committedOffset, so the writer of every
    // COMMIT_ADVANCE_EVERY-th reservation on the partition moves it up, whichever process
    // that is (counted per process, a fleet of environments that each append fewer times
    // than that never moved it, and every look read from the last flush): with the fill
    // when the prefix below is already known (no round trip added), else after waiting
    // for it.
    const due = reserved.sequence > 0 && reserved.sequence % COMMIT_ADVANCE_EVERY === 0;
    const advance = due && from >= base && base > floor;
    c.floor = floor;
    c.from = from;
    c.due = due;
    c.advance = advance;
    // The look below the range goes out while the fill is in flight, once the
    // reservation just before this one is old enough that its writer has filled (its
    // reservation's answer, then its fill: earlyLookRoundTrips of this process's round
    // trips), and costs no round trip of latency. Sent at once, it found the writers
    // that reserved just before still filling and had to poll (4.0 DynamoDB calls per
    // ack at 8 writers against 3.2 after the fill, docs/design.md); sent after the
    // fill's answer, it costs a round trip. When the fill answers first, the look goes
    // after it (the waiting state); when it finds a gap after all, the writer looks
    // again after the fill, from where it stopped.
    const fill = this.fill(commit, c.deadline);
    const lookAt = reserved.previousAt === null ? null : reserved.previousAt + this.earlyLookRoundTrips * this.sealer.roundTrip;
    const [answer, , look] = await Promise.all([
      fill,
      advance ? this.store.advanceCommitted(this.ref, base).catch(() => false) : false,
      from < base && lookAt !== null ? this.lookDuringFill(fill, from, base, head, lookAt) : undefined,
    ]);
    c.look = look;
    return FILL_ANSWER[answer];
  }

  /**
   * The look below [from, base) sent at `at` (this process's clock) unless the fill has
   * answered by then: undefined when it did not go (or failed; the writer looks after
   * the fill).
   */
  private async lookDuringFill(
    fill: Promise<FillAnswer>,
    from: number,
    base: number,
    head: PartitionHead,
    at: number,
  ): Promise<Prefix<TailExtent> | undefined> {
    const wait = at - this.clock.now();
    if (wait > 0 && (await settlesWithin(fill, wait))) return undefined;
    return this.sealer.extent(this.ref, from, base, head.lastAppendAt, FIRST_LOOK).catch(() => undefined);
  }

  /** A sealer's void took the range: nothing of it was written; reserve again. */
  private lost(c: GroupFill): FillState {
    c.conflicts++;
    return 'reserving';
  }

  /** Our own range, given up: void it now rather than leave a gap to wait for. */
  private async producerMoved(c: GroupFill): Promise<FillState> {
    c.conflicts++;
    const { base, end } = c.reserved!;
    await this.sealer.close(this.ref, base, end).catch(() => undefined);
    return 'reserving';
  }

  /**
   * Too late to fill: a fill sent now could land after the appends were answered (in a
   * Lambda, after the environment thawed). Close the range for the writers behind it.
   */
  private async expired(c: GroupFill): Promise<undefined> {
    const { base, end } = c.reserved!;
    await this.sealer.close(this.ref, base, end).catch(() => undefined);
    this.giveUp(c.live, false, c.lastError);
    return undefined;
  }

  /** The fill is in: learn from an early look, and wait for a gap below if one is left. */
  private filled(c: GroupFill): FillState {
    const { base } = c.reserved!;
    const look = c.look;
    if (look) {
      this.knownPrefix = Math.max(this.knownPrefix, look.end);
      this.earlyLookRoundTrips = nextEarlyLookRoundTrips(this.earlyLookRoundTrips, look.end, base);
    }
    return Math.max(c.from, look?.end ?? c.from) < base ? 'waiting' : 'acknowledged';
  }

  private async waiting(c: GroupFill): Promise<FillState> {
    const { base, head } = c.reserved!;
    const known = Math.max(c.from, c.look?.end ?? c.from);
    const held = await waitForPrefix(this.sealer, this.clock, this.ref, known, base, head, c.deadline, c.look, this.learnPrefix);
    return held ? 'acknowledged' : 'in doubt';
  }

  private async acknowledged(c: GroupFill): Promise<undefined> {
    const { base, end } = c.reserved!;
    const laid = c.laid!;
    if (c.due && !c.advance && end > c.floor) {
      // Before the answer: a Lambda freezes once it has answered.
      await this.store.advanceCommitted(this.ref, end).catch(() => undefined);
    }
    this.options.onCommit?.({
      ref: this.ref,
      appends: c.live.length,
      records: laid.records,
      bytes: laid.bytes,
      attempts: c.attempts,
      conflicts: c.conflicts,
      durationMs: this.clock.now() - c.started,
    });
    this.acknowledge(c.live, laid.producers, base, end);
    return undefined;
  }

  /**
   * Reserves the group's offsets; `mismatch` (with the head) when a conditional append's
   * expected offset is not the counter. A reservation whose answer was lost is found
   * through the head's lastReservation, or left as a gap for a sealer (throws to retry).
   */
  private async reserve(live: Pending[]): Promise<Reserved | { mismatch: PartitionHead }> {
    const count = live.reduce((n, p) => n + p.recordCount, 0);
    const bytes = live.reduce((n, p) => n + p.bytes, 0);
    const token = randomUUID();
    const expectedOffset = live[0]!.expectedOffset;
    let outcome: ReserveOutcome;
    const asked = this.clock.now();
    try {
      outcome = await this.store.reserve({
        ref: this.ref,
        count,
        bytes,
        now: this.clock.now(),
        token,
        ...(expectedOffset !== undefined ? { expectedOffset } : {}),
      });
    } catch (err) {
      if (!isRetryable(err) || !mayHaveApplied(err)) throw err;
      const head = await this.store.getHead(this.ref);
      if (head.lastReservation?.token !== token) throw err;
      outcome = { ok: true, base: head.lastReservation.base, head, previousAt: null, sequence: 0 };
    }
    this.sealer.observeRoundTrip(this.clock.now() - asked);
    if (!outcome.ok) return { mismatch: outcome.head };
    this.tailBytes = outcome.head.tailBytes;
    return {
      base: outcome.base,
      end: outcome.base + count,
      head: outcome.head,
      token,
      previousAt: outcome.previousAt,
      sequence: outcome.sequence,
    };
  }

  /**
   * Sends the fill until it is answered. 'lost': a sealer's void holds one of its keys
   * (nothing of it was written); 'producer-moved': a producer's state changed since it
   * was read (nothing written); 'timeout': the deadline passed while the outcome was
   * unknown. An answer lost in between is settled by what the keys hold.
   */
  private async fill(commit: FillCommit, deadline: number): Promise<FillAnswer> {
    for (let attempt = 0; ; attempt++) {
      try {
        const outcome = await this.store.fill(commit);
        if (outcome.ok) return 'ok';
        if (outcome.taken.length > 0) {
          // Our own items: an earlier send of this fill was applied. A void: a sealer won.
          return outcome.taken.every((item) => item.commitId === commit.requestToken) ? 'ok' : 'lost';
        }
        if (outcome.producers.size > 0) {
          for (const [producerId, state] of outcome.producers) this.producers.remember(producerId, state);
          return 'producer-moved';
        }
        // A transaction conflict: nothing was written; send it again.
      } catch (err) {
        if (!isRetryable(err)) throw err;
      }
      if (this.clock.now() >= deadline) return 'timeout';
      await sleep(backoffDelay(this.options.retry, attempt));
    }
  }

  private acknowledge(live: Pending[], producers: FillCommit['producers'], base: number, end: number): void {
    this.knownPrefix = Math.max(this.knownPrefix, end);
    for (const { state } of producers) this.producers.remember(state.producerId, state);
    let cursor = base;
    for (const p of live) {
      p.resolve({ baseOffset: cursor, lastOffset: cursor + p.recordCount - 1, duplicate: false, tailBytes: this.tailBytes });
      cursor += p.recordCount;
    }
    this.notifier.notify(this.key, end);
  }
}
