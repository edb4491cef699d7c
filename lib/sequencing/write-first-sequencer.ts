/**
 * The write-first sequencer (docs/design.md, "Write first, number after"): a group's data
 * is written before it has offsets, under keys no other writer uses, and one update of
 * the head numbers it. Every offset the head hands out belongs to data already durable,
 * so a writer waits for no other writer, nothing is left to seal, and the acknowledgement
 * comes after two round trips.
 *
 *     writer                                 DynamoDB
 *     Put D#{token} per item ──────────────▶ the group's data, batches from offset 0
 *     UpdateItem HEAD ─────────────────────▶ nextOffset += n, pending.{token} = base,
 *                                            committedOffset = nextOffset (no gap can exist)
 *     ack [base, base + n)
 *     every INDEX_EVERY-th numbering: the head's pending entries up to this group's ranges
 *     go to an index item I#{last offset}, then off the head: beside the answer, or before
 *     it once the head holds INDEX_AWAIT_ENTRIES (steps lost or lagging)
 *
 * What can go wrong, and what the writer answers:
 *
 * - the data write fails: nothing has an offset; it is sent again until the deadline, then
 *   503 (data items no offset points to expire with the tail TTL);
 * - the numbering's answer is lost: the head's pending entry, then the index, say whether
 *   it was applied (found: acknowledged at that base); if neither holds it, the writer
 *   raises the head's fence above its numbering's (every numbering goes under a fence)
 *   and looks once more, since DynamoDB may still apply a request its client gave up on;
 *   not found then, it never will be, and it is sent again under the new fence, never
 *   after the deadline (a numbering sent later could reach data the TTL removed).
 *   Nothing is sent again before such a look has answered, and the SDK makes one attempt
 *   of it (firstAttemptOnly): a repeat after an index step took the applied entry off the
 *   head would pass the condition and number the data twice (found by the multi-process
 *   checker's long run, 2026-12-02; the late apply by review, 2026-12-03);
 * - `expectedOffset` is not the counter: 409 OFFSET_MISMATCH, nothing numbered.
 *
 * Idempotent producers claim their batches in their state item beside the data write,
 * and number under the head's fence (write-first-producers.ts): a claim whose numbering
 * was fenced, or whose state moved meanwhile, is written again with the group's data
 * under fresh tokens (the first data items expire unnumbered).
 *
 * A partition the reserving sequencer wrote takes numberings once its reserved ranges are
 * all committed: the writer moves committedOffset up over them (the engine's catchUp,
 * which seals ranges their writers left unfilled past the seal age), or answers 503 at
 * its deadline.
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { OffsetMismatchError } from '../core/errors.js';
import { backoffDelay, isRetryable, mayHaveApplied, sleep } from '../core/retry.js';
import type { LogStore, NumberOutcome } from '../ports/log-store.js';
import type { PartitionHead, PartitionRef, ProducerClaim } from '../ports/model.js';
import type { AppendNotifier } from '../reading/notifier.js';
import { type LaidOut, layOut } from './lay-out.js';
import { PartitionSequencer, type Pending, type SequencerOptions } from './sequencer.js';
import { WriteFirstProducers, type WrittenClaim } from './write-first-producers.js';

/** The writer of every this-many-th numbered group moves the head's pending entries to an index item. */
export const INDEX_EVERY = 16;
/**
 * An INDEX_EVERY-th writer whose numbering left at least this many entries on the head
 * makes its index step before it answers; below, the step runs beside the answer, off
 * the append's latency (two round trips, every INDEX_EVERY-th append: the p99 at low
 * concurrency). Steps are lost when a Lambda environment freezes after answering and is
 * recycled before its next request, and lag when round trips are long against the rate of
 * numberings; either way the head then grows to this bound and the next step is awaited,
 * so the head holds at most about this many entries plus the numberings during one step.
 */
export const INDEX_AWAIT_ENTRIES = 2 * INDEX_EVERY;
/** Random bytes of a data item's token: unique among a partition's live data items. */
const TOKEN_BYTES = 6;

export class WriteFirstSequencer extends PartitionSequencer {
  private tailBytes = 0;
  private readonly claims: WriteFirstProducers;
  /** The index steps started beside an answer and not finished yet. */
  private readonly indexing = new Set<Promise<void>>();

  constructor(ref: PartitionRef, store: LogStore, clock: Clock, notifier: AppendNotifier, options: SequencerOptions) {
    super(ref, store, clock, notifier, options);
    this.claims = new WriteFirstProducers(ref, store, this.producers, clock, options.retry);
  }

  flushRequested(): void {
    this.tailBytes = 0;
  }

  /** Resolves once the index steps started beside answers so far have ended. */
  override async idle(): Promise<void> {
    await Promise.all([...this.indexing]);
  }

  protected async commitGroup(group: Pending[]): Promise<void> {
    const started = this.clock.now();
    const deadline = Math.min(...group.map((p) => p.deadline));
    const progress: Progress = { attempts: 0, lastError: undefined };
    /** First tokens of this group's earlier attempts, whose claims were never sent for numbering. */
    const own = new Set<string>();
    let live = group;
    for (;;) {
      if (this.clock.now() >= deadline) return this.giveUp(live, false, progress.lastError);
      const settled = await this.retrying(() => this.claims.settle(live, own, deadline), deadline, progress);
      if (settled === undefined) return this.giveUp(live, false, progress.lastError);
      live = settled.live;
      if (live.length === 0) return;
      // Offsets from 0: each append's place in the group (`baseOffset`), its batches at offsets relative to it.
      const laid = layOut(live, 0, this.clock.now(), randomBytes(TOKEN_BYTES).toString('base64url'), () => null);
      const writes = laid.items.map((item) => ({ token: randomBytes(TOKEN_BYTES).toString('base64url'), item }));
      const first = writes[0]!.token;
      const claims: WrittenClaim[] = settled.plans.map((plan) => ({
        plan,
        state: this.claims.claimState(plan, first, plan.append.baseOffset!, deadline),
      }));
      const written = await this.retrying(
        () =>
          Promise.all([this.store.writeData({ ref: this.ref, items: writes }), ...claims.map((c) => this.claims.claim(c.plan, c.state))]),
        deadline,
        progress,
      );
      if (written === undefined) return this.giveUp(live, false, progress.lastError);
      if (written.slice(1).some((ok) => !ok)) {
        // A producer's state moved since it was read: decide again (the data written is left to expire).
        own.add(first);
        continue;
      }
      const numbered = await this.number(live, writes, laid, claims, deadline, progress);
      if (numbered === 'again') {
        own.add(first);
        continue;
      }
      if (numbered === undefined) return;
      return this.acknowledge(live, laid, claims, numbered, started, progress.attempts);
    }
  }

  /**
   * Runs `step` until it answers or the deadline passes (undefined), backing off after
   * each retryable failure.
   */
  private async retrying<T>(step: () => Promise<T>, deadline: number, progress: Progress): Promise<T | undefined> {
    for (let tries = 0; ; tries++) {
      progress.attempts++;
      try {
        return await step();
      } catch (err) {
        if (!isRetryable(err)) throw err;
        progress.lastError = err;
        if (this.clock.now() >= deadline) return undefined;
        await sleep(backoffDelay(this.options.retry, tries + 1));
      }
    }
  }

  /**
   * Numbers the group's data: the outcome; 'again' when the numbering was certainly not
   * applied and the group is to be claimed and written afresh (a fence above its claims);
   * undefined once the appends are answered otherwise.
   */
  private async number(
    live: Pending[],
    writes: { token: string }[],
    laid: LaidOut,
    claims: WrittenClaim[],
    deadline: number,
    progress: Progress,
  ): Promise<Extract<NumberOutcome, { ok: true }> | 'again' | undefined> {
    const ranges = writes.map((w, i) => ({ token: w.token, count: laid.items[i]!.recordCount }));
    const expectedOffset = live[0]!.expectedOffset;
    // Every numbering goes under a fence: its claims', or the stamp of now (at or above the head's as this process knows it).
    let fence = claims.length > 0 ? claims[0]!.state.batches.at(-1)!.claim!.fence : this.claims.stamp();
    /** The producers' previous batches' claims, until found numbered. */
    let after = claims.flatMap((c) => (c.plan.after ? [c.plan.after] : []));
    /** The counter as this process saw it before numbering: a look for this numbering starts there. */
    const floor = this.claims.floor;
    let outcome: NumberOutcome | undefined;
    /** A numbering went out whose outcome is not known yet: nothing may be sent before a look settles it. */
    let inDoubt = false;
    for (let tries = 0; ; tries++) {
      if (this.clock.now() >= deadline) {
        if (!inDoubt) await this.claims.release(claims);
        this.giveUp(live, inDoubt, progress.lastError);
        return undefined;
      }
      if (inDoubt) {
        // The head, then the index: where an applied numbering is. Found: acknowledged there.
        // Neither: not applied yet, but DynamoDB may still apply a request its writer gave up
        // on (the client's requestTimeout): the fence goes above this numbering's first, and
        // a second look then settles it, since none can be applied after the raise. Sent
        // again otherwise, a numbering applied late, after an index step took its entry off
        // the head, would number the same data twice; so would one sent after a look that
        // failed (which settles nothing).
        try {
          let base = await this.store.findNumbering(this.ref, ranges[0]!.token, floor);
          if (base === undefined) {
            this.claims.fence = Math.max(this.claims.fence, await this.store.raiseFence(this.ref, fence));
            base = await this.store.findNumbering(this.ref, ranges[0]!.token, floor);
          }
          if (base !== undefined) return { ok: true, base, numbered: 0, tailBytes: this.tailBytes, fence: this.claims.fence };
          // Claims carry the fence they were made under: claimed afresh, above it.
          if (claims.length > 0) return 'again';
          fence = this.claims.stamp();
          inDoubt = false;
          continue;
        } catch (err) {
          if (!isRetryable(err)) throw err;
          progress.lastError = err;
        }
        await sleep(backoffDelay(this.options.retry, tries));
        continue;
      }
      progress.attempts++;
      try {
        outcome = await this.store.numberData({
          ref: this.ref,
          ranges,
          bytes: laid.bytes,
          now: this.clock.now(),
          ...(expectedOffset !== undefined ? { expectedOffset } : {}),
          fence,
          ...(after.length > 0 ? { after: after.map((claim) => claim.token) } : {}),
        });
      } catch (err) {
        if (!isRetryable(err)) throw err;
        progress.lastError = err;
        // The look goes at once; only a refusal that certainly applied nothing waits a backoff.
        if (mayHaveApplied(err)) inDoubt = true;
        else await sleep(backoffDelay(this.options.retry, tries));
        continue;
      }
      if (outcome.ok) return outcome;
      if (outcome.unsettled) {
        // Ranges the reserving sequencer reserved are below: the head numbers once they are all filled or sealed.
        await this.catchUp(outcome.head, progress);
        continue;
      }
      // Refused: nothing was numbered. Why, in order: fenced, a producer's previous batch not numbered yet, the offset.
      this.claims.fence = Math.max(this.claims.fence, outcome.fence);
      this.claims.floor = Math.max(this.claims.floor, outcome.head.nextOffset);
      if (outcome.fence > fence) {
        // Claims are numbered under their own fence: claimed afresh. Other groups take the new one.
        if (claims.length > 0) return 'again';
        fence = this.claims.stamp();
        continue;
      }
      if (outcome.missing.length > 0) {
        const { missing } = outcome;
        const stillMissing: ProducerClaim[] = [];
        for (const claim of after.filter((c) => missing.includes(c.token)))
          if ((await this.lookUp(claim, progress)) === undefined) stillMissing.push(claim);
        after = stillMissing;
        // The previous batch's writer may still number it: wait for it, up to the deadline.
        if (after.length > 0) await sleep(backoffDelay(this.options.retry, tries));
        continue;
      }
      await this.claims.release(claims);
      live[0]!.reject(new OffsetMismatchError(expectedOffset!, outcome.head.nextOffset));
      return undefined;
    }
  }

  /**
   * Moves the head's committedOffset up to the end of the contiguous prefix, sealing gaps
   * old enough (the engine's catchUp); waits a backoff when nothing moved.
   */
  private async catchUp(head: PartitionHead, progress: Progress): Promise<void> {
    try {
      await this.options.catchUp?.(this.ref, head);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      progress.lastError = err;
    }
    await sleep(backoffDelay(this.options.retry, 1));
  }

  /** Where a claim was numbered (undefined: not found, or the look failed). */
  private async lookUp(claim: ProducerClaim, progress: Progress): Promise<number | undefined> {
    try {
      return await this.store.findNumbering(this.ref, claim.token, claim.floor);
    } catch (err) {
      if (!isRetryable(err)) throw err;
      progress.lastError = err;
      return undefined;
    }
  }

  private async acknowledge(
    live: Pending[],
    laid: LaidOut,
    claims: WrittenClaim[],
    outcome: Extract<NumberOutcome, { ok: true }>,
    started: number,
    attempts: number,
  ): Promise<void> {
    const { base } = outcome;
    const end = base + laid.records;
    this.tailBytes = Math.max(this.tailBytes, outcome.tailBytes);
    this.claims.fence = Math.max(this.claims.fence, outcome.fence);
    this.claims.floor = Math.max(this.claims.floor, end);
    if (outcome.numbered > 0 && outcome.numbered % INDEX_EVERY === 0) {
      const lastBase = base + laid.items.at(-1)!.baseOffset;
      // A failed (or lost) index step leaves the entries on the head for the next one.
      const step = this.store.indexPending(this.ref, lastBase, end - 1, this.clock.now(), outcome.pending).catch(() => undefined);
      if (Object.keys(outcome.pending ?? {}).length >= INDEX_AWAIT_ENTRIES) await step;
      else {
        this.indexing.add(step);
        void step.finally(() => this.indexing.delete(step));
      }
    }
    // This process has seen its claims numbered: its next batches need not look for them.
    for (const { state } of claims) {
      const batch = state.batches.at(-1)!;
      const first = base + batch.claim!.within;
      const numbered = { ...batch, baseOffset: first, lastOffset: first + batch.lastSequence - batch.firstSequence };
      this.producers.remember(state.producerId, { ...state, batches: [...state.batches.slice(0, -1), numbered] });
    }
    this.options.onCommit?.({
      ref: this.ref,
      appends: live.length,
      records: laid.records,
      bytes: laid.bytes,
      attempts,
      conflicts: 0,
      durationMs: this.clock.now() - started,
    });
    for (const p of live) {
      const first = base + p.baseOffset!;
      p.resolve({ baseOffset: first, lastOffset: first + p.recordCount - 1, duplicate: false, tailBytes: this.tailBytes });
    }
    this.notifier.notify(this.key, end);
  }
}

/** Calls made and the last retryable error, across the steps of one group's commit. */
interface Progress {
  attempts: number;
  lastError: unknown;
}
