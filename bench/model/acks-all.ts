/**
 * What acks=all costs K writers on one partition, by a discrete-event model of the
 * round trips alone (issue 13): no CPU, no emulator, only DynamoDB calls whose times are
 * spread like the dilated suite's (a log-normal of median one round trip, half out and
 * half back). It asks what no measurement here can: how far the promise "acknowledged
 * means readable by the next read" allows a reserving writer to come to the raw
 * primitive, whatever the way it learns that the writers before it have filled, and
 * how much of that the look as built reaches.
 *
 * Every writer appends in a closed loop: reserve (its offset is the order in which the
 * reservations land), fill (the fill lands: the record is held), then acknowledge by its
 * policy:
 *
 * - raw: at the fill's answer (the primitive: no wait for anyone);
 * - oracle: at the fill's answer or once every offset below has landed plus one leg back,
 *   whichever is later, as if a read arrived the instant the last one landed (no policy
 *   that learns through DynamoDB can answer earlier);
 * - look: the engine as built (lib/sequencing/look-below.ts): none when the writer's own
 *   last append ended where this one begins; else one look at the reservation
 *   before's age `bar` if that comes before the fill's answer (an early look), else at the
 *   fill's answer; `bar` starts at 1.5 round trips, an early look that finds a gap raises
 *   it by one (at most 16), one that settles the prefix lowers it by a quarter; after the
 *   fill, a gap is looked at again at once, then a round trip apart;
 * - look, bar fixed, again at once: the same without raising the bar, and every look
 *   after a gap at once (while the fill flies too);
 * - looks every ¼ round trip: from the reservation before's age of one round trip, a
 *   look a quarter of a round trip after the last, answered or not.
 *
 * A look sees an offset held when its fill landed before the look did, and reads the
 * reservations from the writer's known prefix up to the lowest of those it already saw
 * held just below its own (as lib/sequencing/look-below.ts: one item each, whose read
 * units the look pays). The unit of time is the round trip (a call's median time), so
 * the figures hold for any round trip.
 */

/** The acknowledgement policies the model compares. */
export const ACK_POLICIES = ['raw', 'oracle', 'look', 'look-fixed', 'look-quarter'] as const;
export type AckPolicy = (typeof ACK_POLICIES)[number];

export const POLICY_TITLES: { readonly [P in AckPolicy]: string } = {
  raw: 'raw primitive (no wait)',
  oracle: 'acks=all, perfect knowledge',
  look: 'acks=all, the look as built',
  'look-fixed': 'acks=all, bar fixed at 1.5, looks again at once',
  'look-quarter': 'acks=all, a look every ¼ round trip',
};

export interface AcksModelOptions {
  writers: number;
  policy: AckPolicy;
  /** σ of the log-normal spread of a call's time (median 1 round trip). */
  sigma: number;
  /** Model time, in round trips. */
  roundTrips: number;
  random: () => number;
}

export interface AcksModelResult {
  writers: number;
  policy: AckPolicy;
  /** Acknowledgements per round trip. */
  acksPerRoundTrip: number;
  /** Median time from reservation sent to acknowledgement, in round trips. */
  p50RoundTrips: number;
  looksPerAck: number;
  /** Reservations (tail items) the looks read, per acknowledgement. */
  itemsReadPerAck: number;
  /** Read units the looks cost per acknowledgement, for items of TAIL_ITEM_BYTES. */
  readUnitsPerAck: number;
}

/**
 * The bytes of one reservation's tail item, as a look reads it: the engine's item for one
 * 1 KiB record (its encoded batch and its attributes) is 1,267–1,269 bytes by DynamoDB's
 * sizing (attribute names plus values; read back from DynamoDB Local, 2026-12-02).
 */
export const TAIL_ITEM_BYTES = 1_270;
/**
 * A consistent Query is billed the bytes of the items it read rounded up to 4 KB, at least
 * one unit; an eventually consistent one half that.
 */
const READ_UNIT_BYTES = 4_096;

/**
 * The read units of one Query over `items` tail items: an append's first look reads
 * eventually consistent, the ones after it consistent (lib/sequencing/look-below.ts, FIRST_LOOK).
 */
export function lookReadUnits(items: number, consistent: boolean): number {
  return Math.max(1, Math.ceil((items * TAIL_ITEM_BYTES) / READ_UNIT_BYTES)) * (consistent ? 1 : 0.5);
}

const EARLY_BAR = 1.5;
const EARLY_BAR_MAX = 16;
const EARLY_BAR_STEP_DOWN = 0.25;
const QUARTER = 0.25;

type Event =
  | { kind: 'send' | 'due' | 'ack'; writer: number; generation: number }
  | { kind: 'reserve-lands' | 'reserve-answers'; writer: number; generation: number; factor: number }
  | { kind: 'fill-lands' | 'fill-answers'; writer: number; generation: number; factor: number }
  | { kind: 'look'; writer: number; generation: number }
  | { kind: 'look-lands'; writer: number; generation: number; factor: number; first: boolean }
  | { kind: 'look-answers'; writer: number; generation: number; held: boolean };

interface Writer {
  generation: number;
  sentAt: number;
  offset: number;
  previousAt: number | null;
  filled: boolean;
  held: boolean;
  looksOut: number;
  /** The first look went before the fill's answer and has not answered yet. */
  early: boolean | undefined;
  bar: number;
  lookedAfterFill: number;
  /** The offset after this writer's last acknowledged one: below it, everything is held. */
  knownEnd: number;
  /** What this append's looks found held: everything below `floor`, and [top, offset). */
  floor: number;
  top: number;
}

/** A binary min-heap of timed events, ties in the order pushed. */
class Timeline {
  private readonly heap: { at: number; order: number; event: Event }[] = [];
  private order = 0;

  push(at: number, event: Event): void {
    const heap = this.heap;
    heap.push({ at, order: this.order++, event });
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  pop(): { at: number; event: Event } | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let least = i;
        if (l < heap.length && this.before(l, least)) least = l;
        if (r < heap.length && this.before(r, least)) least = r;
        if (least === i) break;
        [heap[i], heap[least]] = [heap[least]!, heap[i]!];
        i = least;
      }
    }
    return top;
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.at < y.at || (x.at === y.at && x.order < y.order);
  }
}

/** A call's time in round trips: a log-normal of median 1. */
function callFactor(sigma: number, random: () => number): number {
  const u = 1 - random();
  return Math.exp(sigma * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random()));
}

/** Runs the model for one policy and K writers. */
export function runAcksModel({ writers: k, policy, sigma, roundTrips, random }: AcksModelOptions): AcksModelResult {
  const timeline = new Timeline();
  const call = () => callFactor(sigma, random);
  const writers: Writer[] = Array.from({ length: k }, () => ({
    generation: 0,
    sentAt: 0,
    offset: 0,
    previousAt: null,
    filled: false,
    held: false,
    looksOut: 0,
    early: undefined,
    bar: EARLY_BAR,
    lookedAfterFill: 0,
    knownEnd: 0,
    floor: 0,
    top: 0,
  }));
  // Offsets in the order reservations land; when each reservation was sent; the prefix.
  const sentAtOf: number[] = [];
  const landed: boolean[] = [];
  const landedAt: number[] = [];
  let prefix = 0;
  // When every offset up to each one had landed.
  const prefixLandedAt: number[] = [];
  // The oracle's writers that do not yet know their prefix held.
  const waiting = new Set<number>();
  const latencies: number[] = [];
  let looks = 0;
  let itemsRead = 0;
  let readUnits = 0;

  const ack = (at: number, w: number) => timeline.push(at, { kind: 'ack', writer: w, generation: writers[w]!.generation });
  const look = (at: number, w: number) => timeline.push(at, { kind: 'look', writer: w, generation: writers[w]!.generation });
  // The oracle: a writer learns its prefix held by a read that arrives the instant the
  // last offset below landed, answering one leg later.
  const learnHeld = (at: number) => {
    for (const v of waiting) {
      const other = writers[v]!;
      if (prefix < other.offset) continue;
      waiting.delete(v);
      const known = (prefixLandedAt[other.offset - 1] ?? 0) + call() / 2;
      timeline.push(Math.max(at, known), { kind: 'look-answers', writer: v, generation: other.generation, held: true });
    }
  };
  const current = (event: Event) => writers[event.writer]!.generation === event.generation;

  for (let w = 0; w < k; w++) timeline.push(random() * 2, { kind: 'send', writer: w, generation: 0 });
  for (let next = timeline.pop(); next && next.at <= roundTrips; next = timeline.pop()) {
    const { at, event } = next;
    const w = event.writer;
    const writer = writers[w]!;
    if (!current(event)) continue;
    const { generation } = writer;
    switch (event.kind) {
      case 'send': {
        Object.assign(writer, {
          sentAt: at,
          filled: false,
          held: false,
          looksOut: 0,
          early: undefined,
          lookedAfterFill: 0,
          floor: writer.knownEnd,
        });
        const factor = call();
        timeline.push(at + factor / 2, { kind: 'reserve-lands', writer: w, generation, factor });
        break;
      }
      case 'reserve-lands': {
        writer.offset = sentAtOf.length;
        writer.top = writer.offset;
        writer.previousAt = sentAtOf.at(-1) ?? null;
        sentAtOf.push(writer.sentAt);
        landed.push(false);
        landedAt.push(0);
        if (policy === 'oracle') {
          waiting.add(w);
          learnHeld(at);
        }
        timeline.push(at + event.factor / 2, { kind: 'reserve-answers', writer: w, generation, factor: 0 });
        break;
      }
      case 'reserve-answers': {
        const factor = call();
        timeline.push(at + factor / 2, { kind: 'fill-lands', writer: w, generation, factor });
        if (policy === 'raw' || policy === 'oracle') break;
        if (writer.offset === writer.knownEnd) {
          // Its own last append ended where this one begins: nothing below to look at.
          writer.held = true;
          break;
        }
        const first = policy === 'look-quarter' ? 1 : writer.bar;
        const due = writer.previousAt === null ? Number.POSITIVE_INFINITY : writer.previousAt + first;
        if (due <= at) look(at, w);
        else if (Number.isFinite(due)) timeline.push(due, { kind: 'due', writer: w, generation });
        break;
      }
      case 'due':
        if (!writer.filled && writer.looksOut === 0 && !writer.held) look(at, w);
        break;
      case 'fill-lands': {
        landed[writer.offset] = true;
        landedAt[writer.offset] = at;
        while (prefix < landed.length && landed[prefix]) {
          prefixLandedAt[prefix] = Math.max(prefixLandedAt[prefix - 1] ?? 0, landedAt[prefix]!);
          prefix++;
        }
        timeline.push(at + event.factor / 2, { kind: 'fill-answers', writer: w, generation, factor: 0 });
        learnHeld(at);
        break;
      }
      case 'fill-answers':
        writer.filled = true;
        if (policy === 'raw') ack(at, w);
        else if (writer.held) ack(at, w);
        else if (policy !== 'oracle' && writer.looksOut === 0) look(at, w);
        break;
      case 'look': {
        if (writer.held) break;
        looks++;
        writer.looksOut++;
        const first = writer.early === undefined;
        writer.early ??= !writer.filled;
        const factor = call();
        timeline.push(at + factor / 2, { kind: 'look-lands', writer: w, generation, factor, first });
        if (policy === 'look-quarter') look(at + QUARTER, w);
        break;
      }
      case 'look-lands': {
        const items = Math.max(0, writer.top - writer.floor);
        itemsRead += items;
        readUnits += lookReadUnits(items, !event.first);
        writer.floor = Math.max(writer.floor, Math.min(prefix, writer.offset));
        while (writer.top > writer.floor && landed[writer.top - 1]) writer.top--;
        timeline.push(at + event.factor / 2, { kind: 'look-answers', writer: w, generation, held: prefix >= writer.offset });
        break;
      }
      case 'look-answers': {
        writer.looksOut--;
        if (writer.held) break;
        if (writer.early === true && policy === 'look') {
          writer.bar = event.held ? Math.max(EARLY_BAR, writer.bar - EARLY_BAR_STEP_DOWN) : Math.min(EARLY_BAR_MAX, writer.bar + 1);
        }
        writer.early = false;
        if (event.held) {
          writer.held = true;
          if (writer.filled) ack(at, w);
          break;
        }
        if (policy === 'look-quarter' || writer.looksOut > 0) break;
        if (policy === 'look-fixed') look(at, w);
        else if (writer.filled) look(at + (writer.lookedAfterFill++ === 0 ? 0 : 1), w);
        break;
      }
      case 'ack':
        latencies.push(at - writer.sentAt);
        writer.knownEnd = writer.offset + 1;
        writer.generation++;
        timeline.push(at, { kind: 'send', writer: w, generation: writer.generation });
        break;
    }
  }
  latencies.sort((a, b) => a - b);
  return {
    writers: k,
    policy,
    acksPerRoundTrip: latencies.length / roundTrips,
    p50RoundTrips: latencies[Math.floor(latencies.length / 2)] ?? Number.NaN,
    looksPerAck: looks / Math.max(1, latencies.length),
    itemsReadPerAck: itemsRead / Math.max(1, latencies.length),
    readUnitsPerAck: readUnits / Math.max(1, latencies.length),
  };
}
