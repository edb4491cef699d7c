/**
 * Idempotent producers for the write-first sequencer (docs/design.md, "Idempotent
 * producers, written first"). The producer's state item (PID#) is not hot, so a batch's
 * sequence is decided there, beside the data write, and the head only numbers:
 *
 *     writer                                   DynamoDB
 *     Put D#{token} ∥ Put PID#{producer} ────▶ the data; the state with the batch claimed:
 *                                               {sequences, token, within, fence f, until}
 *                                               CONDITION version = the one read
 *     UpdateItem HEAD ─────────────────────▶ numbered, CONDITION fence ≤ f
 *                                               AND the previous batch's token pending
 *
 * A batch's offsets are what the numbering of its claim's token gave. A retry of a
 * claimed batch looks that numbering up (head, then index): found, it answers those
 * offsets; not found, the claim's writer may still number it until its deadline, so the
 * retry waits. Past it, the retry raises the head's fence above the claim's, after which
 * no numbering of the claim can be applied, looks once more, and only then claims the
 * batch afresh (fencing: the claim's writer, had it sent a numbering late, is refused).
 *
 * A producer's batches are numbered in sequence order: a batch whose predecessor is a
 * claim this process did not see numbered is numbered only while the predecessor's entry
 * is pending on the head, or once a look has found it in the index.
 */
import type { Clock } from '../core/clock.js';
import { PRODUCER_DEDUP_WINDOW, RETRY_AFTER_SECONDS } from '../core/constants.js';
import { DuplicateSequenceError, RetryableError } from '../core/errors.js';
import { backoffDelay, type RetryPolicy, sleep } from '../core/retry.js';
import type { LogStore } from '../ports/log-store.js';
import type { PartitionRef, ProducerBatch, ProducerClaim, ProducerState } from '../ports/model.js';
import type { ProducerCache } from './producer-cache.js';
import { checkSequence, nextVersion, type ProducerStamp } from './producer-state.js';
import type { Pending } from './sequencer.js';

/** A producer's state as a group found it, and the batch the group will claim for it. */
export interface ProducerPlan {
  append: Pending & { producer: ProducerStamp };
  /** The stored state (null: none), whose version the claim is conditioned on. */
  stored: ProducerState | null;
  /** The batches the new state keeps before the claimed one. */
  kept: ProducerBatch[];
  /** The previous batch's claim, when this process has not seen it numbered (its token; its floor, where a look starts). */
  after?: ProducerClaim;
}

/** A claim written for a group: the state it wrote and what it replaced. */
export interface WrittenClaim {
  plan: ProducerPlan;
  state: ProducerState;
}

/** What a look at a claimed batch found: its base, or that its writer may still number it, or that it never will be. */
type ClaimLook = { base: number } | 'wait' | 'void';

export class WriteFirstProducers {
  /** The head's fence as this process last saw it (stamp() goes at or above it). */
  fence = 0;
  /** The head's counter as this process last saw it (0: not yet): the floor of its claims. */
  floor = 0;

  constructor(
    private readonly ref: PartitionRef,
    private readonly store: LogStore,
    private readonly cache: ProducerCache,
    private readonly clock: Clock,
    private readonly retry: RetryPolicy,
  ) {}

  /**
   * The fence a claim made now, or a numbering sent now, goes under: the head's fence as
   * last seen, or the clock in ms if later. A raise puts the fence just above the fence of
   * the numbering (or claims) it shuts out, so with clocks in step a numbering another
   * writer sends after a raise is above it already and is not refused: only a writer whose
   * clock is behind the raiser's by more than the time since is, once, and learns the
   * fence from the refusal. Safety does not rest on the clocks: a raise is above the stamp
   * of the very numbering it fences, whatever any clock says. Kept at the fence as last
   * seen, the stamp made every raise refuse every other writer's next numbering once
   * (docs/design.md, "A raise that refuses only what it fences").
   */
  stamp(): number {
    return Math.max(this.fence, this.clock.now());
  }

  /**
   * Decides each idempotent append of `live` on its producer's state: duplicates are
   * answered (with their offsets, once found), refusals rejected. Answers the appends to
   * commit and a plan per producer. `own`: tokens of this group's earlier claims, never
   * sent for numbering, which the new claims replace.
   */
  async settle(live: Pending[], own: ReadonlySet<string>, deadline: number): Promise<{ live: Pending[]; plans: ProducerPlan[] }> {
    const kept: Pending[] = [];
    const plans: ProducerPlan[] = [];
    for (const p of live) {
      if (!p.producer) {
        kept.push(p);
        continue;
      }
      const plan = await this.decide(p as ProducerPlan['append'], own, deadline);
      if (plan) {
        kept.push(p);
        plans.push(plan);
      }
    }
    return { live: kept, plans };
  }

  /**
   * The plan for an append to claim, or undefined once the append is answered. A claim
   * the decision stands on that was never numbered (its writer gave up, or died) is
   * waited for until its writer's deadline, then fenced and dropped: a producer told
   * "nothing written" may send that sequence again, with other records.
   */
  private async decide(p: ProducerPlan['append'], own: ReadonlySet<string>, deadline: number): Promise<ProducerPlan | undefined> {
    const { producerId } = p.producer;
    /** Tokens of claims found never numbered, and fenced: the view ends before the first of them. */
    const voided = new Set<string>();
    for (let round = 0; ; round++) {
      const stored = await this.cache.get(producerId);
      const view = cutAt(withoutOwn(stored, own), voided);
      const decision = checkSequence(view, p.producer, p.recordCount);
      if (decision.kind === 'accept') {
        const newEpoch = view !== null && p.producer.epoch !== view.epoch;
        // A new epoch fences the old one's claims still unnumbered: none is numbered after this batch.
        if (newEpoch) await this.fenceUnnumbered(view.batches);
        const previous = newEpoch ? undefined : view?.batches.at(-1);
        return {
          append: p,
          stored,
          kept: newEpoch ? [] : (view?.batches ?? []),
          ...(previous?.claim && previous.baseOffset < 0 ? { after: previous.claim } : {}),
        };
      }
      if (decision.kind === 'duplicate' && (decision.batch.baseOffset >= 0 || !decision.batch.claim)) {
        const { baseOffset, lastOffset } = decision.batch;
        p.resolve({ baseOffset, lastOffset, duplicate: true, tailBytes: 0 });
        return undefined;
      }
      if (decision.kind === 'reject' && round === 0) {
        // Another process may have moved the producer on: decide again on the stored state.
        this.cache.forget(producerId);
        continue;
      }
      // The claim the decision stands on: the duplicate's, or the first unnumbered one holding a refused sequence.
      const batches = view?.batches ?? [];
      const index =
        decision.kind === 'duplicate'
          ? batches.indexOf(decision.batch)
          : decision.error instanceof DuplicateSequenceError
            ? batches.findIndex((b) => b.claim && b.baseOffset < 0 && b.lastSequence >= p.producer.sequence)
            : -1;
      if (index < 0) {
        if (decision.kind === 'reject') p.reject(decision.error);
        return undefined;
      }
      const look = await this.look(batches, index);
      if (look === 'void') {
        voided.add(batches[index]!.claim!.token);
        continue;
      }
      if (look !== 'wait') {
        if (decision.kind === 'reject') p.reject(decision.error);
        else p.resolve({ baseOffset: look.base, lastOffset: look.base + p.recordCount - 1, duplicate: true, tailBytes: 0 });
        return undefined;
      }
      // Its writer may still number it: look again after a while, up to this append's deadline.
      if (this.clock.now() >= deadline) {
        p.reject(
          new RetryableError(
            `an earlier attempt of producer '${producerId}' sequence ${p.producer.sequence} may still be numbered; retry it`,
            RETRY_AFTER_SECONDS,
          ),
        );
        return undefined;
      }
      this.cache.forget(producerId);
      await sleep(backoffDelay(this.retry, round));
    }
  }

  /**
   * Where the claimed batch `batches[index]` was numbered; 'wait' while its writer may
   * still number it; 'void' when it was not and no longer can be (the fence is raised
   * above its claim and every later one's).
   */
  private async look(batches: ProducerBatch[], index: number): Promise<ClaimLook> {
    const claim = batches[index]!.claim!;
    const found = await this.store.findNumbering(this.ref, claim.token, claim.floor);
    if (found !== undefined) return { base: found + claim.within };
    if (this.clock.now() < claim.until) return 'wait';
    // Fenced first, looked up after: a numbering applied before the fence is found, none can be applied after it.
    await this.fenceUnnumbered(batches.slice(index));
    const again = await this.store.findNumbering(this.ref, claim.token, claim.floor);
    return again === undefined ? 'void' : { base: again + claim.within };
  }

  /** Raises the head's fence above every claim of `batches` not known to be numbered: none of them can be numbered from now on. */
  private async fenceUnnumbered(batches: ProducerBatch[]): Promise<void> {
    const unnumbered = batches.filter((b) => b.claim && b.baseOffset < 0);
    if (unnumbered.length === 0) return;
    const above = Math.max(...unnumbered.map((b) => b.claim!.fence));
    this.fence = Math.max(this.fence, await this.store.raiseFence(this.ref, above));
  }

  /** The state a plan claims: the kept batches and the append's, at `token` + `within`. */
  claimState(plan: ProducerPlan, token: string, within: number, until: number): ProducerState {
    const { producer, recordCount } = plan.append;
    const batch: ProducerBatch = {
      firstSequence: producer.sequence,
      lastSequence: producer.sequence + recordCount - 1,
      baseOffset: -1,
      lastOffset: -1,
      claim: { token, within, fence: this.stamp(), until, ...(this.floor > 0 ? { floor: this.floor } : {}) },
    };
    return {
      producerId: producer.producerId,
      epoch: producer.epoch,
      batches: [...plan.kept, batch].slice(-PRODUCER_DEDUP_WINDOW),
      version: nextVersion(plan.stored, this.clock.now()),
      updatedAt: this.clock.now(),
    };
  }

  /**
   * Writes a claim; false when the state moved since it was read (the stored state is
   * remembered). A re-send of a claim that was written answers true.
   */
  async claim(plan: ProducerPlan, state: ProducerState): Promise<boolean> {
    const out = await this.store.putProducerState(this.ref, state, plan.stored?.version ?? null);
    if (out.written || (out.state && sameClaim(out.state, state))) {
      this.cache.remember(state.producerId, state);
      return true;
    }
    this.cache.remember(state.producerId, out.state);
    return false;
  }

  /**
   * Takes back claims whose numbering was certainly not applied and will not be sent, so
   * that the producer's retry need not wait for their deadline. Best effort: a claim left
   * is taken over after its deadline.
   *
   * The state goes back to the kept batches under a new version, never away, even when
   * the claim created it: a state deleted and created again starts at version 1 again,
   * and a process whose cached copy of the deleted state was at that version would write
   * over the new one (its condition passes). Found by the model of these rules
   * (test/design/write-first-producers-model.test.ts): a stale claim dropped another
   * writer's numbered claim of the same sequence and wrote the sequence a second time.
   */
  async release(claims: WrittenClaim[]): Promise<void> {
    await Promise.all(
      claims.map(async ({ plan, state }) => {
        this.cache.forget(state.producerId);
        const back = { ...state, batches: plan.kept, version: state.version + 1, updatedAt: this.clock.now() };
        await this.store.putProducerState(this.ref, back, state.version).catch(() => undefined);
      }),
    );
  }
}

/** The state without the batches from the first claim in `voided` on (its epoch kept: it still fences older ones). */
function cutAt(state: ProducerState | null, voided: ReadonlySet<string>): ProducerState | null {
  if (!state || voided.size === 0) return state;
  const first = state.batches.findIndex((b) => b.claim !== undefined && voided.has(b.claim.token));
  return first < 0 ? state : { ...state, batches: state.batches.slice(0, first) };
}

/** The state without the batches of this group's own earlier claims (never numbered) and those after them. */
function withoutOwn(state: ProducerState | null, own: ReadonlySet<string>): ProducerState | null {
  if (!state || own.size === 0) return state;
  const first = state.batches.findIndex((b) => b.claim !== undefined && own.has(b.claim.token));
  return first < 0 ? state : { ...state, batches: state.batches.slice(0, first) };
}

/** Whether `stored` is the state `mine` wrote (a re-sent claim whose first send was applied). */
function sameClaim(stored: ProducerState, mine: ProducerState): boolean {
  const a = stored.batches.at(-1)?.claim;
  const b = mine.batches.at(-1)?.claim;
  return stored.version === mine.version && a !== undefined && b !== undefined && a.token === b.token;
}
