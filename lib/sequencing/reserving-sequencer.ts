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
import type { PartitionRef } from '../ports/model.js';
import type { AppendNotifier } from '../reading/notifier.js';
import type { FillCommit, LogStore, ReserveOutcome } from '../ports/log-store.js';
import type { PartitionHead, TailExtent } from '../ports/model.js';
import { backoffDelay, isRetryable, mayHaveApplied, sleep } from '../core/retry.js';
import { committedFloor, type Prefix, type Sealer } from './sealer.js';
import { layOut, PartitionSequencer, type Pending, type SequencerOptions } from './sequencer.js';

/**
 * How long a writer waits between two looks at a gap below its range, at first and at
 * most (ms): about one DynamoDB round trip, in which the writer of the gap fills it.
 */
const PREFIX_POLL_MIN_MS = 8;
const PREFIX_POLL_MAX_MS = 100;

/**
 * A look below the range goes with the fill (rather than after it) when the reservation
 * before it was made at least this many round trips earlier (at first, and at least):
 * its writer had the time to fill (its reservation's answer, then its fill), and the
 * writers before it more. Each early look that finds a gap after all (a call wasted: the
 * writer looks again after its fill) raises the bar by one round trip, up to the most;
 * each that settles it lowers it by a quarter. On a busy DynamoDB (or a busy machine)
 * writers fill late, and early looks stop; on a quiet one they save a round trip.
 */
const EARLY_LOOK_ROUND_TRIPS = 1.5;
const EARLY_LOOK_MAX_ROUND_TRIPS = 16;
const EARLY_LOOK_STEP_DOWN = 0.25;

/** A reservation: offsets [base, end), the head it left, the token that names it, when the one before it was made. */
type Reserved = { base: number; end: number; head: PartitionHead; token: string; previousAt: number | null };

export class ReservingSequencer extends PartitionSequencer {
  /**
   * Every offset below this is held (an item, a void, a segment): learnt from this
   * process's own acknowledgements and looks. A writer looks at its predecessors from
   * here rather than from committedOffset, which lags: one environment's appends follow
   * each other, so it reads the few ranges reserved since its last.
   */
  private knownPrefix = 0;
  /** Groups this process acknowledged since it last moved committedOffset up. */
  private sinceAdvance = 0;
  private tailBytes = 0;
  /** How many round trips old the reservation before a writer's must be for an early look. */
  private earlyLookRoundTrips = EARLY_LOOK_ROUND_TRIPS;

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
    const started = this.clock.now();
    const deadline = Math.min(...group.map((p) => p.deadline));
    let live = group;
    let attempts = 0;
    let conflicts = 0;
    let lastError: unknown;

    while (live.length > 0) {
      if (attempts > 0 && this.clock.now() >= deadline) return this.giveUp(live, false, lastError);
      attempts++;
      let reserved: Reserved | { mismatch: PartitionHead };
      try {
        live = await this.producers.settle(live, this.tailBytes);
        if (live.length === 0) return;
        reserved = await this.reserve(live);
      } catch (err) {
        lastError = err;
        if (!isRetryable(err)) throw err;
        await sleep(backoffDelay(this.options.retry, attempts));
        continue;
      }
      if ('mismatch' in reserved) {
        // A conditional append whose producer's state this process has stale may be the
        // retry of a batch another process committed: a duplicate, not a mismatch.
        const conditional = live[0]!;
        if (conditional.producer) {
          this.producers.forget(conditional.producer.producerId);
          if ((await this.producers.settle([conditional], this.tailBytes).catch(() => [conditional])).length === 0) return;
        }
        conditional.reject(new OffsetMismatchError(conditional.expectedOffset!, reserved.mismatch.nextOffset));
        return;
      }
      const { base, end, head } = reserved;
      if (this.clock.now() >= deadline) {
        // Too late to fill: a fill sent now could land after the appends were answered
        // (in a Lambda, after the environment thawed). Close the range for the writers behind it.
        await this.sealer.close(this.ref, base, end).catch(() => undefined);
        return this.giveUp(live, false, lastError);
      }
      const laid = layOut(live, base, this.clock.now(), reserved.token, (id) => this.producers.cached(id));
      const commit: FillCommit = { ref: this.ref, items: laid.items, producers: laid.producers, requestToken: reserved.token };
      const floor = committedFloor(head);
      const from = Math.max(floor, Math.min(this.knownPrefix, base));
      // Readers and writers scan from committedOffset, so each process moves it up once
      // every COMMIT_ADVANCE_EVERY of its groups (all together: once every that many
      // appends, whatever the number of writers): with the fill when the prefix below is
      // already known (no round trip added), else after waiting for it.
      const due = ++this.sinceAdvance >= COMMIT_ADVANCE_EVERY;
      const advance = due && from >= base && base > floor;
      if (advance) this.sinceAdvance = 0;
      // The look below the range usually comes after the fill: by then the writers that
      // reserved before this one have filled too, so one Query usually settles it (sent
      // with the fill, it found them still filling, and polled: 4.0 DynamoDB calls per ack
      // at 8 writers against 3.2 after it, docs/design.md). But when the reservation just
      // before this one is old enough that its writer has filled, the look goes with the
      // fill and costs no round trip of latency; if it finds a gap after all, the writer
      // looks again after the fill, from where it stopped.
      const early =
        from < base &&
        reserved.previousAt !== null &&
        this.clock.now() - reserved.previousAt >= this.earlyLookRoundTrips * this.sealer.roundTrip;
      const [fill, , look] = await Promise.all([
        this.fill(commit, deadline),
        advance ? this.store.advanceCommitted(this.ref, base).catch(() => false) : false,
        early ? this.sealer.extent(this.ref, from, base, head.lastAppendAt, { trustGaps: true }).catch(() => undefined) : undefined,
      ]);
      if (fill === 'timeout') return this.giveUp(live, true, lastError);
      if (fill !== 'ok') {
        conflicts++;
        // Our own range, given up: void it now rather than leave a gap to wait for.
        if (fill === 'producer-moved') await this.sealer.close(this.ref, base, end).catch(() => undefined);
        continue;
      }
      if (look) {
        this.knownPrefix = Math.max(this.knownPrefix, look.end);
        this.earlyLookRoundTrips =
          look.end >= base
            ? Math.max(EARLY_LOOK_ROUND_TRIPS, this.earlyLookRoundTrips - EARLY_LOOK_STEP_DOWN)
            : Math.min(EARLY_LOOK_MAX_ROUND_TRIPS, this.earlyLookRoundTrips + 1);
      }
      const known = Math.max(from, look?.end ?? from);
      if (known < base && !(await this.waitForPrefix(known, base, head, deadline, look))) return this.giveUp(live, true, lastError);
      if (due && !advance && end > floor) {
        // Before the answer: a Lambda freezes once it has answered.
        this.sinceAdvance = 0;
        await this.store.advanceCommitted(this.ref, end).catch(() => undefined);
      }
      this.options.onCommit?.({
        ref: this.ref,
        appends: live.length,
        records: laid.records,
        bytes: laid.bytes,
        attempts,
        conflicts,
        durationMs: this.clock.now() - started,
      });
      this.acknowledge(live, laid.producers, base, end);
      return;
    }
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
      outcome = { ok: true, base: head.lastReservation.base, head, previousAt: null };
    }
    this.sealer.observeRoundTrip(this.clock.now() - asked);
    if (!outcome.ok) return { mismatch: outcome.head };
    this.tailBytes = outcome.head.tailBytes;
    return { base: outcome.base, end: outcome.base + count, head: outcome.head, token, previousAt: outcome.previousAt };
  }

  /**
   * Sends the fill until it is answered. 'lost': a sealer's void holds one of its keys
   * (nothing of it was written); 'producer-moved': a producer's state changed since it
   * was read (nothing written); 'timeout': the deadline passed while the outcome was
   * unknown. An answer lost in between is settled by what the keys hold.
   */
  private async fill(commit: FillCommit, deadline: number): Promise<'ok' | 'lost' | 'producer-moved' | 'timeout'> {
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

  /**
   * Waits until every offset below `base` is held, from `from` (known held below it),
   * sealing gaps once they are stale. False when the deadline passed first.
   */
  private async waitForPrefix(
    from: number,
    base: number,
    head: PartitionHead,
    deadline: number,
    earlier?: Prefix<TailExtent>,
  ): Promise<boolean> {
    let known = from;
    // Items seen held above a gap are not read again: the next look ends where they begin.
    let top = heldBelow(base, earlier);
    // About one round trip: the time the writer of the gap takes to fill it.
    let pause = Math.max(PREFIX_POLL_MIN_MS, this.sealer.roundTrip);
    while (known < base) {
      try {
        const scan = await this.sealer.extent(this.ref, known, top, head.lastAppendAt, { trustGaps: true });
        known = scan.end >= top ? base : scan.end;
        this.knownPrefix = Math.max(this.knownPrefix, known);
        if (known >= base) return true;
        top = heldBelow(top, scan);
        if (scan.gap && this.sealer.isStale(scan.gap)) {
          await this.sealer.seal(this.ref, scan.gap);
          continue;
        }
      } catch (err) {
        if (!isRetryable(err)) throw err;
      }
      if (this.clock.now() >= deadline) return false;
      await sleep(pause);
      pause = Math.min(pause * 2, Math.max(PREFIX_POLL_MAX_MS, this.sealer.roundTrip));
    }
    return true;
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
