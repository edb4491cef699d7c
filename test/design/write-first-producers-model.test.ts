/**
 * A model of idempotent producers under write-first sequencing (docs/design.md,
 * "Idempotent producers, written first"; lib/sequencing/write-first-producers.ts): the
 * rules that keep a producer's batches in the log once each and in sequence order while
 * its attempts run in separate environments, each one request at a time.
 *
 * The table is a few items, each changed atomically, as DynamoDB changes one item:
 *
 *     HEAD   nextOffset, pending {token → base}, fence
 *     I#     the index: {token → base} moved off the head (one atomic step here; the
 *            order of its two writes is test/design/write-first-model.test.ts's)
 *     D#t    data: which sequence it holds, written before it has an offset
 *     PID#   the producer's state: version, batches {sequence, base (-1 unknown), claim}
 *
 * One producer sends sequences 0, 1, 2, … (one record each), at most two at a time, and
 * sends an unacknowledged one again whenever it likes, also while an earlier attempt is
 * still running elsewhere (a timeout). Each attempt runs in a writer, step by step:
 *
 *     decide   the state (this writer's cached copy, or read) says: accept (claim it),
 *              a duplicate (answer its offsets; a claim not known numbered is looked up:
 *              found, answered; its writer still inside its deadline, wait; else raise
 *              the head's fence above it, look again, and drop it if still not found)
 *     claim    Put D#t, Put PID# with the batch claimed {token, fence, until} IF version
 *     number   UpdateItem HEAD IF token not pending AND fence ≤ claim's AND the previous
 *              batch's token pending (when this writer has not seen it numbered; missing:
 *              look in the index); the answer may be lost, applied or not (in doubt: look,
 *              then send again); refused by the fence: claim again
 *     deadline no numbering is sent after it; a claim certainly not numbered is released
 *              (best effort: the release can fail)
 *
 * Checked at every step: no sequence is numbered twice; a sequence is numbered only after
 * every lower one; every acknowledgement names the offset its sequence is numbered at.
 * At the end every sequence sent is acknowledged (the writers run out and the producer
 * sends again what is missing).
 *
 * Each rule is also broken on purpose, and the same search must find the failure: a
 * look that takes over an unnumbered claim without raising the fence first, a numbering
 * that ignores the fence, one that ignores the previous batch, and an in-doubt numbering
 * sent again without a look.
 */
import fc from 'fast-check';
import { describeDesignRules } from './design-rules.js';

const WRITERS = 3;
const DEADLINE_MS = 100;
/** Sequences the producer sends at most. */
const SEQUENCES = 6;
/** Batches a producer's state keeps (PRODUCER_DEDUP_WINDOW). */
const WINDOW = 5;

interface Variant {
  /** A look past a claim's deadline raises the fence before it looks again and drops the claim. */
  fenceBeforeTakeover: boolean;
  /** The numbering is conditioned on the head's fence. */
  numberUnderFence: boolean;
  /** The numbering is conditioned on the previous batch's entry when this writer has not seen it numbered. */
  numberAfterPrevious: boolean;
  /** An in-doubt numbering is looked up before it is sent again. */
  lookBeforeResend: boolean;
  /**
   * A claim taken back leaves the state at a new version; deleting a state the claim
   * created (the first sketch) lets the next state start at a version a stale copy has.
   */
  releaseKeepsVersion: boolean;
}

const DESIGN: Variant = {
  fenceBeforeTakeover: true,
  numberUnderFence: true,
  numberAfterPrevious: true,
  lookBeforeResend: true,
  releaseKeepsVersion: true,
};

type Outcome = 'ok' | 'lost-applied' | 'lost-not-applied';

type Action =
  /** `ahead`: how far the writer's clock is above the fence it knows (a claim's stamp, WriteFirstProducers.stamp). */
  | { kind: 'writer'; w: number; outcome: Outcome; releaseFails: boolean; ahead: number }
  | { kind: 'send'; w: number; retry: boolean }
  | { kind: 'index' }
  | { kind: 'tick'; ms: number }
  | { kind: 'kill'; w: number };

interface Claim {
  token: string;
  fence: number;
  until: number;
}

interface Batch {
  sequence: number;
  /** -1: not known to this copy of the state (a claim). */
  base: number;
  claim?: Claim;
}

interface PidState {
  version: number;
  batches: Batch[];
}

/** What an attempt decides on: kept across its steps. */
interface Attempt {
  sequence: number;
  deadline: number;
  /** Tokens of this attempt's own claims never sent for numbering (withoutOwn). */
  own: Set<string>;
  /** Tokens of claims found never numbered and fenced (cutAt). */
  voided: Set<string>;
  round: number;
}

interface Plan {
  stored: PidState | null;
  kept: Batch[];
  after?: string;
}

/** A claim written, its numbering to send ('number': the deadline checked next; 'sending': checked, about to go). */
interface NumberState {
  at: 'number' | 'sending';
  a: Attempt;
  plan: Plan;
  state: PidState;
  claim: Claim;
  after: string[];
  inDoubt: boolean;
}

type WriterState =
  | { at: 'idle' }
  | { at: 'decide'; a: Attempt }
  | { at: 'look' | 'fence' | 'look-again'; a: Attempt; batches: Batch[]; index: number }
  | { at: 'claim'; a: Attempt; plan: Plan }
  | NumberState
  | { at: 'missing'; a: Attempt; plan: Plan; state: PidState; claim: Claim; after: string[] };

interface Writer {
  s: WriterState;
  /** The process's cached copy of the producer's state (undefined: none). */
  cache: PidState | null | undefined;
  /** The head's fence as this process last saw it. */
  fence: number;
}

class Violation extends Error {}

const reached = {
  acks: 0,
  duplicateAnswers: 0,
  waits: 0,
  takeovers: 0,
  fenceRefusals: 0,
  afterMissing: 0,
  inDoubtFound: 0,
  releases: 0,
  claimRaces: 0,
};

class Model {
  now = 0;
  private serial = 0;
  // The table.
  private readonly head = { nextOffset: 0, pending: new Map<string, number>(), fence: 0 };
  private readonly index = new Map<string, number>();
  private readonly data = new Map<string, number>();
  private pid: PidState | null = null;
  // The processes.
  private readonly writers: Writer[] = Array.from({ length: WRITERS }, () => ({ s: { at: 'idle' }, cache: undefined, fence: 0 }));
  private sent = 0;
  // What the log holds and what was promised.
  private readonly sequenceAt = new Map<number, number>();
  private readonly acked = new Map<number, number>();

  constructor(private readonly v: Variant) {}

  apply(a: Action): void {
    switch (a.kind) {
      case 'tick':
        this.now += a.ms;
        return;
      case 'kill':
        this.writers[a.w] = { s: { at: 'idle' }, cache: undefined, fence: 0 };
        return;
      case 'index':
        for (const [t, b] of this.head.pending) this.index.set(t, b);
        this.head.pending.clear();
        return;
      case 'send':
        this.send(a.w, a.retry);
        return;
      case 'writer':
        this.step(a.w, a.outcome, a.releaseFails, a.ahead);
        return;
    }
  }

  /** The producer sends a new sequence (at most two unacknowledged), or again one not acknowledged. */
  private send(w: number, retry: boolean): void {
    const writer = this.writers[w]!;
    if (writer.s.at !== 'idle') return;
    let sequence: number | undefined;
    if (retry) {
      for (let q = 0; q < this.sent && sequence === undefined; q++) if (!this.acked.has(q)) sequence = q;
    } else if (this.sent < SEQUENCES && [...Array(this.sent).keys()].filter((q) => !this.acked.has(q)).length < 2) {
      sequence = this.sent++;
    }
    if (sequence === undefined) return;
    writer.s = { at: 'decide', a: { sequence, deadline: this.now + DEADLINE_MS, own: new Set(), voided: new Set(), round: 0 } };
  }

  private findNumbering(token: string): number | undefined {
    return this.head.pending.get(token) ?? this.index.get(token);
  }

  private step(w: number, outcome: Outcome, releaseFails: boolean, ahead: number): void {
    const writer = this.writers[w]!;
    const s = writer.s;
    if (s.at === 'idle') return;
    const { a } = s;
    // The deadline is checked before a numbering goes out; a writer that stalls between
    // the check and the send (a GC pause, a frozen environment) sends it after.
    if (s.at !== 'sending' && this.now >= a.deadline) {
      // 503. A claim whose numbering certainly was not applied is taken back, best effort.
      if ((s.at === 'number' && !s.inDoubt) || s.at === 'missing') this.release(writer, s.plan, s.state, releaseFails);
      writer.s = { at: 'idle' };
      return;
    }
    switch (s.at) {
      case 'decide':
        this.decide(writer, a);
        return;
      case 'look':
      case 'look-again': {
        const claim = s.batches[s.index]!.claim!;
        const found = this.findNumbering(claim.token);
        if (found !== undefined) {
          this.answerDuplicate(writer, a, found);
          return;
        }
        if (s.at === 'look' && this.now < claim.until) {
          // Its writer may still number it: look again later.
          reached.waits++;
          writer.cache = undefined;
          writer.s = { at: 'decide', a: { ...a, round: a.round + 1 } };
          return;
        }
        if (s.at === 'look' && this.v.fenceBeforeTakeover) {
          writer.s = { ...s, at: 'fence' };
          return;
        }
        reached.takeovers++;
        a.voided.add(claim.token);
        writer.s = { at: 'decide', a: { ...a, round: a.round + 1 } };
        return;
      }
      case 'fence': {
        const unnumbered = s.batches.slice(s.index).filter((b) => b.claim && b.base < 0);
        const above = Math.max(...unnumbered.map((b) => b.claim!.fence));
        this.head.fence = Math.max(this.head.fence, above + 1);
        writer.fence = Math.max(writer.fence, this.head.fence);
        writer.s = { ...s, at: 'look-again' };
        return;
      }
      case 'claim': {
        const token = `t${++this.serial}`;
        this.data.set(token, a.sequence);
        const claim: Claim = { token, fence: writer.fence + ahead, until: a.deadline };
        const state: PidState = {
          version: (s.plan.stored?.version ?? 0) + 1,
          batches: [...s.plan.kept, { sequence: a.sequence, base: -1, claim }].slice(-WINDOW),
        };
        if ((this.pid?.version ?? null) !== (s.plan.stored?.version ?? null)) {
          // The state moved since it was read: decide again on the one the refusal returned.
          reached.claimRaces++;
          writer.cache = this.pid;
          a.own.add(token);
          writer.s = { at: 'decide', a };
          return;
        }
        this.pid = state;
        writer.cache = state;
        writer.s = { at: 'number', a, plan: s.plan, state, claim, after: s.plan.after ? [s.plan.after] : [], inDoubt: false };
        return;
      }
      case 'number':
        if (s.inDoubt && this.v.lookBeforeResend) {
          this.lookInDoubt(writer, s);
          return;
        }
        writer.s = { ...s, at: 'sending' };
        return;
      case 'sending':
        this.sendNumbering(writer, s, outcome);
        return;
      case 'missing': {
        const after = s.after.filter((t) => this.findNumbering(t) === undefined);
        writer.s = { at: 'number', a, plan: s.plan, state: s.state, claim: s.claim, after, inDoubt: false };
        return;
      }
    }
  }

  /** WriteFirstProducers.decide: one round on the cached (or read) state. */
  private decide(writer: Writer, a: Attempt): void {
    if (writer.cache === undefined) writer.cache = this.pid;
    const stored = writer.cache;
    const view = cut(cut(stored, a.own), a.voided);
    const batches = view?.batches ?? [];
    const last = batches.at(-1)?.sequence ?? -1;
    if (a.sequence === last + 1) {
      const previous = batches.at(-1);
      const after = this.v.numberAfterPrevious && previous?.claim && previous.base < 0 ? previous.claim.token : undefined;
      writer.s = { at: 'claim', a, plan: { stored, kept: batches, ...(after ? { after } : {}) } };
      return;
    }
    const index = batches.findIndex((b) => b.sequence === a.sequence);
    if (index >= 0) {
      const batch = batches[index]!;
      if (batch.base >= 0 || !batch.claim) {
        this.answerDuplicate(writer, a, batch.base);
        return;
      }
      writer.s = { at: 'look', a, batches, index };
      return;
    }
    if (a.round === 0) {
      // Another process may have moved the producer on: decide again on the stored state.
      writer.cache = undefined;
      writer.s = { at: 'decide', a: { ...a, round: 1 } };
      return;
    }
    // A gap (answered: the producer sends again), or a sequence older than the state keeps.
    writer.s = { at: 'idle' };
  }

  /** A numbering whose answer was lost: the head, then the index, say whether it was applied. */
  private lookInDoubt(writer: Writer, s: NumberState): void {
    const found = this.findNumbering(s.claim.token);
    if (found !== undefined) {
      reached.inDoubtFound++;
      this.acknowledge(writer, s, found);
      return;
    }
    writer.s = { ...s, inDoubt: false };
  }

  private sendNumbering(writer: Writer, s: NumberState, outcome: Outcome): void {
    const { a, claim } = s;
    const held = this.head.pending.get(claim.token);
    if (held !== undefined) {
      this.acknowledge(writer, s, held);
      return;
    } // ALL_OLD: our own, applied before
    const fenced = this.v.numberUnderFence && this.head.fence > claim.fence;
    const missing = s.after.filter((t) => !this.head.pending.has(t));
    if (fenced) {
      reached.fenceRefusals++;
      writer.fence = Math.max(writer.fence, this.head.fence);
      a.own.add(claim.token);
      writer.s = { at: 'decide', a };
      return;
    }
    if (missing.length > 0) {
      reached.afterMissing++;
      writer.s = { at: 'missing', a, plan: s.plan, state: s.state, claim, after: s.after };
      return;
    }
    if (outcome === 'lost-not-applied') {
      writer.s = { ...s, at: 'number', inDoubt: true };
      return;
    }
    const base = this.numberData(claim.token);
    if (outcome === 'lost-applied') {
      writer.s = { ...s, at: 'number', inDoubt: true };
      return;
    }
    writer.fence = Math.max(writer.fence, this.head.fence);
    this.acknowledge(writer, s, base);
  }

  /** The numbering update: one atomic change of HEAD. */
  private numberData(token: string): number {
    const sequence = this.data.get(token)!;
    const base = this.head.nextOffset;
    if (this.sequenceAt.has(sequence)) {
      throw new Violation(`sequence ${sequence} written twice: at ${this.sequenceAt.get(sequence)} and ${base}`);
    }
    for (let q = 0; q < sequence; q++) {
      if (!this.sequenceAt.has(q)) throw new Violation(`sequence ${sequence} numbered at ${base} before sequence ${q}`);
    }
    this.sequenceAt.set(sequence, base);
    this.head.nextOffset += 1;
    this.head.pending.set(token, base);
    return base;
  }

  private acknowledge(writer: Writer, s: NumberState, base: number): void {
    // This process has seen its claim numbered: its cached state says where.
    writer.cache = { ...s.state, batches: s.state.batches.map((b) => (b.claim?.token === s.claim.token ? { ...b, base } : b)) };
    this.promise(s.a.sequence, base);
    writer.s = { at: 'idle' };
  }

  private answerDuplicate(writer: Writer, a: Attempt, base: number): void {
    reached.duplicateAnswers++;
    this.promise(a.sequence, base);
    writer.s = { at: 'idle' };
  }

  private promise(sequence: number, base: number): void {
    reached.acks++;
    const at = this.sequenceAt.get(sequence);
    if (at !== base) throw new Violation(`sequence ${sequence} acknowledged at ${base}, but the log has it at ${at}`);
    const before = this.acked.get(sequence);
    if (before !== undefined && before !== base) throw new Violation(`sequence ${sequence} acknowledged at ${before} and at ${base}`);
    this.acked.set(sequence, base);
  }

  /** WriteFirstProducers.release: the state as it was, IF it is still the claim's. */
  private release(writer: Writer, plan: Plan, state: PidState, fails: boolean): void {
    writer.cache = undefined;
    if (fails || this.pid?.version !== state.version) return;
    reached.releases++;
    this.pid = plan.stored === null && !this.v.releaseKeepsVersion ? null : { version: state.version + 1, batches: plan.kept };
  }

  /** The writers run out (time passes their deadlines), then the producer sends again what is missing until all is acknowledged. */
  finish(): void {
    for (let round = 0; round < 40 && this.acked.size < this.sent; round++) {
      for (let w = 0; w < WRITERS; w++) {
        if (this.writers[w]!.s.at === 'idle') this.send(w, true);
        for (let i = 0; i < 20 && this.writers[w]!.s.at !== 'idle'; i++) this.step(w, 'ok', false, 0);
      }
      this.now += DEADLINE_MS;
    }
    if (this.acked.size < this.sent) {
      const missing = [...Array(this.sent).keys()].filter((q) => !this.acked.has(q));
      throw new Violation(`sequences ${missing.join(', ')} were never acknowledged`);
    }
  }
}

/** The state without the batches from the first claim whose token is in `tokens` on (withoutOwn, cutAt). */
function cut(state: PidState | null, tokens: ReadonlySet<string>): PidState | null {
  if (!state || tokens.size === 0) return state;
  const first = state.batches.findIndex((b) => b.claim !== undefined && tokens.has(b.claim.token));
  return first < 0 ? state : { ...state, batches: state.batches.slice(0, first) };
}

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('writer' as const),
      w: fc.integer({ min: 0, max: WRITERS - 1 }),
      outcome: fc.constantFrom<Outcome>('ok', 'ok', 'lost-applied', 'lost-not-applied'),
      releaseFails: fc.boolean(),
      // Clocks in step with the fence, ahead of it, or far ahead: safety must not rest on them.
      ahead: fc.constantFrom(0, 0, 1, 7),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant('send' as const), w: fc.integer({ min: 0, max: WRITERS - 1 }), retry: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'index' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 1, max: 120 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const), w: fc.integer({ min: 0, max: WRITERS - 1 }) }) },
);

describeDesignRules<Variant, Action>({
  title: 'idempotent producers written first: the design rules (a model)',
  promise: 'write each sequence once, in order, at the offset acknowledged, while attempts race, lose answers, die and time out',
  design: DESIGN,
  broken: [
    ['a claim past its deadline taken over without raising the fence is numbered too', { fenceBeforeTakeover: false }, /written twice/],
    ['a numbering that ignores the fence numbers a claim taken over', { numberUnderFence: false }, /written twice/],
    ['a numbering that ignores the previous batch numbers out of order', { numberAfterPrevious: false }, /before sequence/],
    ['an in-doubt numbering sent again without a look is written twice', { lookBeforeResend: false }, /written twice/],
    [
      'a claim taken back by deleting the state it created lets a stale copy claim over the next state',
      { releaseKeepsVersion: false },
      /written twice|never acknowledged/,
    ],
  ],
  model: (variant) => new Model(variant),
  actions: actionArb,
  maxActions: 100,
  reached,
});
