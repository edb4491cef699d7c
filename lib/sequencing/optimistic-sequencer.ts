/**
 * The sequencer assigns offsets to one partition's appends by conditional writes to
 * DynamoDB, and coalesces the appends that arrive while a commit is in flight into the
 * next commit (group commit).
 *
 * One commit is one TransactWriteItems:
 *
 *     Update HEAD  SET nextOffset = N + n   CONDITION nextOffset = N
 *     Put    B#…   (the batches, offsets N … N+n-1)   CONDITION attribute_not_exists
 *     Put    PID#… (idempotent producers)   CONDITION version = v seen
 *
 * Timeline of a lost race and of a lost response:
 *
 *     writer A                         DynamoDB                      writer B
 *     commit(N=7, token a) ──────────▶ head 7 → 9  ✓
 *                                      ◀────────────────────────── commit(N=7, token b)
 *                                      ✗ ConditionalCheckFailed, ALL_OLD: head = 9
 *                                      ◀────────────────────────── commit(N=9, token b') ✓
 *     commit(N=9, token c) ─────────▶ head 9 → 12 ✓
 *     ✗ response lost (timeout)
 *     commit(N=9, token c) again ────▶ same token: already applied, success, not re-applied
 *
 * An append is acknowledged only after its commit succeeded. A commit whose outcome is
 * unknown is re-sent unchanged with its ClientRequestToken; a commit that definitely
 * failed is rebuilt at the head that the failure reported. If the deadline passes
 * first, every append of the commit fails with 503 RETRY (outcome unknown if the last
 * attempt's was), and the cached head is forgotten.
 */
import { randomUUID } from 'node:crypto';
import { OffsetMismatchError } from '../core/errors.js';
import { backoffDelay, isRetryable, mayHaveApplied, sleep } from '../core/retry.js';
import { type StateHandlers, StateMachine } from '../core/state-machine.js';
import type { AppendCommit, AppendOutcome } from '../ports/log-store.js';
import { layOut } from './lay-out.js';
import { PartitionSequencer, type Pending } from './sequencer.js';

/**
 * The states of one group's commit:
 *
 *     fresh ──▶ sent ──┬──▶ committed
 *       │              ├──▶ conflict ──▶ fresh (rebuilt at the head it reported) | mismatch
 *       │              ├──▶ in doubt ──▶ resent ──▶ committed | conflict | in doubt
 *       │              │        └──────▶ given up (at the deadline: outcome unknown)
 *       │              └──▶ backoff ───▶ fresh (the failure applied nothing: a throttle, …)
 *       └──▶ settled (every append a duplicate or refused) | backoff | given up
 *
 * - fresh: no commit in flight; past the deadline (after a first try), give up; else
 *   settle the producers' batches and lay the rest out at the head as last seen (read
 *   when unknown) in a new commit with a new token. A read that fails backs off.
 * - sent: the new commit is sent. Applied: committed; definitely not: conflict; a
 *   failure that may have applied it: in doubt; one that certainly did not: backoff.
 * - in doubt: wait, then past the deadline give up (outcome unknown); else resend.
 * - resent: the commit in doubt is sent again unchanged (same token). Applied now or
 *   before (the head moved past it and its first item is ours): committed; definitely
 *   not: conflict; unknown again: in doubt.
 * - conflict: learn the head and the producers' states; a conditional append whose
 *   expected offset is not the head is a mismatch; else wait for reservations below the
 *   counter (catchUp), back off on a transaction conflict or a repeated one, rebuild.
 * - backoff: wait, then build afresh.
 * - committed, settled, mismatch, given up: final; each settles the group's appends.
 *
 * A failure that is not retryable, in fresh, sent or resent, forgets what this process
 * cached about the partition and rejects the whole group (thrown).
 */
type CommitState = 'fresh' | 'sent' | 'in doubt' | 'resent' | 'conflict' | 'backoff' | 'committed' | 'settled' | 'mismatch' | 'given up';

const COMMIT = new StateMachine<CommitState>('optimistic commit', {
  fresh: ['sent', 'settled', 'backoff', 'given up'],
  sent: ['committed', 'conflict', 'in doubt', 'backoff'],
  'in doubt': ['resent', 'given up'],
  resent: ['committed', 'conflict', 'in doubt'],
  conflict: ['fresh', 'mismatch'],
  backoff: ['fresh'],
  committed: [],
  settled: [],
  mismatch: [],
  'given up': [],
});

/** One group's commit as it goes: what each state's handler reads and leaves for the next. */
interface GroupCommit {
  /** The group's appends still to commit (settling answers duplicates and refusals). */
  live: Pending[];
  started: number;
  /** Sends so far (a failed read before the first send counts as one, for the backoff). */
  attempt: number;
  conflicts: number;
  /** The commit built by `fresh`, or the one in doubt being re-sent. */
  commit: AppendCommit | undefined;
  /** The commit last sent when its outcome is unknown: it must be re-sent unchanged. */
  inDoubt: AppendCommit | undefined;
  /** What the last send learned when it definitely did not apply. */
  refused: Extract<AppendOutcome, { ok: false }> | undefined;
  lastError: unknown;
}

/** The optimistic sequencer: each group is one transaction conditioned on the head's counter. */
export class OptimisticSequencer extends PartitionSequencer {
  /** The head as last seen; undefined when unknown (first use, or after an unknown outcome). */
  private nextOffset: number | undefined;
  /** Unflushed tail bytes as last seen plus what this process appended since (flushes not seen). */
  private tailBytes = 0;

  private readonly states: StateHandlers<CommitState, GroupCommit> = {
    fresh: (c) => this.fresh(c),
    sent: (c) => this.sent(c),
    'in doubt': (c) => this.inDoubt(c),
    resent: (c) => this.resent(c),
    conflict: (c) => this.conflict(c),
    backoff: (c) => this.backoff(c),
    committed: (c) => this.committed(c),
    settled: () => undefined,
    mismatch: (c) => this.mismatch(c),
    'given up': (c) => {
      this.giveUp(c.live, c.inDoubt !== undefined, c.lastError);
      return undefined;
    },
  };

  protected async commitGroup(group: Pending[]): Promise<void> {
    const c: GroupCommit = {
      live: group,
      started: this.clock.now(),
      attempt: 0,
      conflicts: 0,
      commit: undefined,
      inDoubt: undefined,
      refused: undefined,
      lastError: undefined,
    };
    await COMMIT.run('fresh', c, this.states);
  }

  private async fresh(c: GroupCommit): Promise<CommitState> {
    const now = this.clock.now();
    if (c.attempt > 0 && now >= deadlineOf(c.live)) return 'given up';
    try {
      c.live = await this.producers.settle(c.live, this.tailBytes);
      if (c.live.length === 0) return 'settled';
      c.commit = await this.buildCommit(c.live, now);
      return 'sent';
    } catch (err) {
      return this.failed(c, err, 'backoff');
    }
  }

  private async sent(c: GroupCommit): Promise<CommitState> {
    const commit = c.commit!;
    c.attempt++;
    try {
      const outcome = await this.store.commitAppend(commit);
      if (outcome.ok) return 'committed';
      c.refused = outcome;
      return 'conflict';
    } catch (err) {
      // Reads (head, producer state, the in-doubt check) change nothing, and a throttle
      // of the SDK's only attempt (DynamoDB refused the request) applied nothing; a
      // commit that failed otherwise may have applied (a throttle after the SDK's own
      // retries may follow an attempt that was applied and timed out), so it is re-sent
      // unchanged. A commit in doubt stays in doubt.
      const next = this.failed(c, err, mayHaveApplied(err) ? 'in doubt' : 'backoff');
      if (next === 'in doubt') c.inDoubt = commit;
      return next;
    }
  }

  private async inDoubt(c: GroupCommit): Promise<CommitState> {
    await this.pause(c);
    if (this.clock.now() >= deadlineOf(c.live)) return 'given up';
    c.commit = c.inDoubt;
    return 'resent';
  }

  private async resent(c: GroupCommit): Promise<CommitState> {
    const commit = c.commit!;
    c.attempt++;
    try {
      const outcome = await this.store.commitAppend(commit);
      if (outcome.ok || (outcome.head !== undefined && (await this.appliedEarlier(commit)))) return 'committed';
      c.refused = outcome;
      return 'conflict';
    } catch (err) {
      return this.failed(c, err, 'in doubt');
    }
  }

  /**
   * Definitely not applied: learn the real head and producer states, rebuild, retry.
   * The producer states come first: a conditional append whose producer state moved
   * may be the retry of a batch another process committed (this process's cache was
   * stale), and is then a duplicate to answer with its offsets, not a mismatch.
   */
  private async conflict(c: GroupCommit): Promise<CommitState> {
    const outcome = c.refused!;
    c.inDoubt = undefined;
    c.conflicts++;
    for (const [producerId, state] of outcome.producers) this.producers.remember(producerId, state);
    if (outcome.head) {
      this.nextOffset = outcome.head.nextOffset;
      this.tailBytes = outcome.head.tailBytes;
      const conditional = c.live[0]?.expectedOffset;
      const producerMoved = c.live[0]?.producer !== undefined && outcome.producers.has(c.live[0].producer.producerId);
      if (conditional !== undefined && conditional !== outcome.head.nextOffset && !producerMoved) return 'mismatch';
    }
    if (outcome.head && outcome.head.committedOffset < outcome.head.nextOffset && this.options.catchUp) {
      // Reservations below the counter: the commit waits for them to be filled or sealed.
      await this.options.catchUp(this.ref, outcome.head);
    }
    if (outcome.transactionConflict || c.conflicts > 1) await sleep(backoffDelay(this.options.retry, c.conflicts));
    return 'fresh';
  }

  private async backoff(c: GroupCommit): Promise<CommitState> {
    await this.pause(c);
    return 'fresh';
  }

  /** The wait after a failed call: the retry policy's backoff for the attempts so far. */
  private async pause(c: GroupCommit): Promise<void> {
    c.attempt = Math.max(c.attempt, 1);
    await sleep(backoffDelay(this.options.retry, c.attempt));
  }

  /** A call failed: retried (through `next`) when it may succeed, else the group is rejected. */
  private failed(c: GroupCommit, err: unknown, next: CommitState): CommitState {
    c.lastError = err;
    if (!isRetryable(err)) {
      this.forget(c.live);
      throw err;
    }
    return next;
  }

  private mismatch(c: GroupCommit): undefined {
    const conditional = c.live[0]!;
    conditional.reject(new OffsetMismatchError(conditional.expectedOffset!, c.refused!.head!.nextOffset));
    return undefined;
  }

  /**
   * A re-sent commit found the head moved past its base. Its ClientRequestToken makes
   * DynamoDB answer success if the first send was applied; this double-checks through
   * the commit id stamped on the first tail item, in case the token window has passed.
   */
  private async appliedEarlier(commit: AppendCommit): Promise<boolean> {
    const first = commit.items[0];
    if (!first) return false;
    const stored = await this.store.getTailItem(commit.ref, first.lastOffset);
    return stored?.commitId === commit.requestToken;
  }

  /** Lays the appends out from the head: offsets, tail items and producer states. */
  private async buildCommit(live: Pending[], now: number): Promise<AppendCommit> {
    const conditional = live[0]!.expectedOffset;
    let base = conditional ?? this.nextOffset;
    if (base === undefined) {
      const head = await this.store.getHead(this.ref);
      base = head.nextOffset;
      this.tailBytes = head.tailBytes;
    }
    this.nextOffset ??= base;
    const requestToken = randomUUID();
    const laid = layOut(live, base, now, requestToken, (id) => this.producers.cached(id));
    return {
      ref: this.ref,
      expectedNextOffset: base,
      nextOffset: base + laid.records,
      items: laid.items,
      producers: laid.producers,
      appendedBytes: laid.bytes,
      now,
      requestToken,
    };
  }

  private committed(c: GroupCommit): undefined {
    const { live } = c;
    const commit = c.commit!;
    this.nextOffset = commit.nextOffset;
    this.tailBytes += commit.appendedBytes;
    for (const { state } of commit.producers) this.producers.remember(state.producerId, state);
    let cursor = commit.expectedNextOffset;
    for (const p of live) {
      p.resolve({ baseOffset: cursor, lastOffset: cursor + p.recordCount - 1, duplicate: false, tailBytes: this.tailBytes });
      cursor += p.recordCount;
    }
    this.notifier.notify(this.key, commit.nextOffset);
    this.options.onCommit?.({
      ref: this.ref,
      appends: live.length,
      records: commit.nextOffset - commit.expectedNextOffset,
      bytes: commit.appendedBytes,
      attempts: c.attempt,
      conflicts: c.conflicts,
      durationMs: this.clock.now() - c.started,
    });
    return undefined;
  }

  flushRequested(): void {
    this.tailBytes = 0;
  }

  /** After an unknown outcome, nothing cached about this partition can be trusted. */
  private forget(live: Pending[]): void {
    this.nextOffset = undefined;
    this.forgetProducers(live);
  }

  protected override giveUp(live: Pending[], outcomeUnknown: boolean, lastError: unknown): void {
    this.nextOffset = undefined;
    super.giveUp(live, outcomeUnknown, lastError);
  }
}

/** The earliest deadline of the group's appends: the group gives up at it. */
function deadlineOf(live: Pending[]): number {
  return Math.min(...live.map((p) => p.deadline));
}
