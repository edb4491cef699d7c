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
 *     go to an index item I#{last offset}, then off the head (before the answer: a Lambda
 *     freezes once it has answered)
 *
 * What can go wrong, and what the writer answers:
 *
 * - the data write fails: nothing has an offset; it is sent again until the deadline, then
 *   503 (data items no offset points to expire with the tail TTL);
 * - the numbering's answer is lost: the head's pending entry, then the index, say whether
 *   it was applied (found: acknowledged at that base); if neither holds it, it was not,
 *   and it is sent again, never after the deadline (a numbering sent later could reach
 *   data the TTL removed). Nothing is sent again before such a look has answered, and the
 *   SDK makes one attempt of it (firstAttemptOnly): a repeat after an index step took the
 *   applied entry off the head would pass the condition and number the data twice
 *   (found by the multi-process checker's long run, 2026-12-02);
 * - `expectedOffset` is not the counter: 409 OFFSET_MISMATCH, nothing numbered.
 *
 * Not yet: idempotent producers (answered 400 VALIDATION), a partition written by the
 * reserving sequencer with ranges still being filled (its numbering waits until they are
 * committed), the construct's and `npm start`'s settings.
 */
import { randomBytes } from 'node:crypto';
import { OffsetMismatchError, ValidationError } from '../core/errors.js';
import { backoffDelay, isRetryable, mayHaveApplied, sleep } from '../core/retry.js';
import type { NumberOutcome } from '../ports/log-store.js';
import { layOut } from './lay-out.js';
import { PartitionSequencer, type Pending } from './sequencer.js';

/** The writer of every this-many-th numbered group moves the head's pending entries to an index item. */
export const INDEX_EVERY = 16;
/** Random bytes of a data item's token: unique among a partition's live data items. */
const TOKEN_BYTES = 6;

export class WriteFirstSequencer extends PartitionSequencer {
  private tailBytes = 0;

  flushRequested(): void {
    this.tailBytes = 0;
  }

  protected async commitGroup(group: Pending[]): Promise<void> {
    const live: Pending[] = [];
    for (const p of group) {
      if (p.producer) {
        p.reject(
          new ValidationError(
            "this engine's sequencing (write-first) does not take idempotent producers yet; append without a producer id, or use sequencing reserve",
          ),
        );
      } else live.push(p);
    }
    if (live.length === 0) return;
    const started = this.clock.now();
    const deadline = Math.min(...live.map((p) => p.deadline));
    // Offsets from 0: each append's place in the group (`baseOffset`), its batches at offsets relative to it.
    const laid = layOut(live, 0, started, randomBytes(TOKEN_BYTES).toString('base64url'), () => null);
    const writes = laid.items.map((item) => ({ token: randomBytes(TOKEN_BYTES).toString('base64url'), item }));
    let attempts = 0;
    let lastError: unknown;
    for (;;) {
      attempts++;
      try {
        await this.store.writeData({ ref: this.ref, items: writes });
        break;
      } catch (err) {
        if (!isRetryable(err)) throw err;
        lastError = err;
        if (this.clock.now() >= deadline) return this.giveUp(live, false, err);
        await sleep(backoffDelay(this.options.retry, attempts));
      }
    }
    const ranges = writes.map((w) => ({ token: w.token, count: w.item.recordCount }));
    const expectedOffset = live[0]!.expectedOffset;
    let outcome: NumberOutcome | undefined;
    /** A numbering went out whose outcome is not known yet: nothing may be sent before a look settles it. */
    let inDoubt = false;
    for (let tries = 0; outcome === undefined; tries++) {
      if (this.clock.now() >= deadline) return this.giveUp(live, inDoubt, lastError);
      if (inDoubt) {
        // The head, then the index: where an applied numbering is. Found: acknowledged there.
        // Neither: it was not applied, and may be sent again. A look that fails settles
        // nothing: sent again then, a numbering an index step took off the head meanwhile
        // would number the same data twice.
        try {
          const base = await this.store.findNumbering(this.ref, ranges[0]!.token);
          if (base !== undefined) outcome = { ok: true, base, numbered: 0, tailBytes: this.tailBytes };
          else inDoubt = false;
        } catch (err) {
          if (!isRetryable(err)) throw err;
          lastError = err;
        }
        if (outcome === undefined) await sleep(backoffDelay(this.options.retry, tries));
        continue;
      }
      attempts++;
      try {
        outcome = await this.store.numberData({
          ref: this.ref,
          ranges,
          bytes: laid.bytes,
          now: this.clock.now(),
          ...(expectedOffset !== undefined ? { expectedOffset } : {}),
        });
      } catch (err) {
        if (!isRetryable(err)) throw err;
        lastError = err;
        // The look goes at once; only a refusal that certainly applied nothing waits a backoff.
        if (mayHaveApplied(err)) inDoubt = true;
        else await sleep(backoffDelay(this.options.retry, tries));
      }
    }
    if (!outcome.ok) {
      live[0]!.reject(new OffsetMismatchError(expectedOffset!, outcome.head.nextOffset));
      return;
    }
    const { base } = outcome;
    const end = base + laid.records;
    this.tailBytes = Math.max(this.tailBytes, outcome.tailBytes);
    if (outcome.numbered > 0 && outcome.numbered % INDEX_EVERY === 0) {
      const lastBase = base + laid.items.at(-1)!.baseOffset;
      // A failed index step leaves the entries on the head for the next one.
      await this.store.indexPending(this.ref, lastBase, end - 1).catch(() => undefined);
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
