/**
 * A history recorder and anomaly checker for the partitioned log, after Jepsen's queue
 * analysis of Kafka. Concurrency, fault-injection and chaos tests record what producers
 * sent (and what they were told), what consumers polled, and a final full read of every
 * partition; `check()` then looks for the ways a log can betray its clients: lost or
 * phantom writes, duplicates, offsets that disagree, consumers that skip or rewind.
 *
 * Values are unique across a test, so a value identifies one send. Everything is keyed
 * by Maps (partition, offset, value) so a history of 100,000+ operations checks in
 * roughly linear time.
 */

/** Every kind of anomaly the checker reports. */
export type AnomalyType =
  | 'lost-write'
  | 'inconsistent-offsets'
  | 'duplicate'
  | 'poll-skip'
  | 'nonmonotonic-poll'
  | 'nonmonotonic-send'
  | 'unseen'
  | 'phantom';

/** All anomaly types, in the order reports list them. */
export const ANOMALY_TYPES: readonly AnomalyType[] = [
  'lost-write',
  'inconsistent-offsets',
  'duplicate',
  'poll-skip',
  'nonmonotonic-poll',
  'nonmonotonic-send',
  'unseen',
  'phantom',
];

/** One record as a consumer or the final read saw it. */
export interface ObservedRecord {
  offset: number;
  value: string;
}

/**
 * One violation found by `check()`. `detail` is the human-readable explanation; the
 * optional fields carry the same facts for assertions.
 */
export interface Anomaly {
  type: AnomalyType;
  partition: number;
  detail: string;
  /** The producer or consumer process involved, when one is. */
  process?: string;
  /** The value involved, when the anomaly is about one value. */
  value?: string;
  /** The offset involved, when the anomaly is about one offset. */
  offset?: number;
  /** The values involved, when several are (e.g. one offset read with different values). */
  values?: string[];
  /** The offsets involved, when several are (e.g. one value read at several offsets). */
  offsets?: number[];
}

/** Operation counts of a history, reported with the anomalies for context. */
export interface HistoryCounts {
  sends: number;
  acked: number;
  failed: number;
  /** Sends completed with `info()` plus sends never completed: either may have been written. */
  unknown: number;
  polls: number;
  polledRecords: number;
}

/** What `check()` found. */
export interface CheckResult {
  /** True when no anomaly was found. */
  valid: boolean;
  counts: HistoryCounts;
  anomalies: Anomaly[];
  /** Number of anomalies of each type (zero for the types not found). */
  anomalyCounts: Record<AnomalyType, number>;
  /** A readable multi-line report: counts and up to `maxPerType` anomalies of each type. */
  summary(maxPerType?: number): string;
}

/** Options of `check()`. */
export interface CheckOptions {
  /**
   * The log may legitimately have offset gaps (compaction removed records). Poll skips
   * are then judged against the offsets present in the final read rather than against
   * contiguity, and gaps in the final read itself are not reported.
   */
  allowGaps?: boolean;
  /**
   * Offsets that hold a void, per partition: reserved and sealed, never filled
   * (docs/design.md, "reserve, fill, seal"). They are legitimate gaps, and only they:
   * any other gap is still a lost write, and a poll that skips one is not a skip.
   */
  voids?: ReadonlyMap<number, ReadonlySet<number>>;
}

/**
 * Completes one recorded send. Exactly one of the three must be called, once: the
 * outcome the producer was told is what the checker holds the log to.
 */
export interface SendHandle {
  /** The log acknowledged the write at `offset`: it must be durable there. */
  ok(offset: number): void;
  /** The write was definitely rejected (e.g. a 4xx): it must never appear. */
  fail(): void;
  /** The outcome is unknown (timeout, 503): it may appear, at most once. */
  info(): void;
}

type SendStatus = 'pending' | 'ok' | 'fail' | 'info';

interface SendRecord {
  process: string;
  partition: number;
  value: string;
  status: SendStatus;
  offset: number | undefined;
}

type ConsumerEvent = { kind: 'poll'; fromOffset: number; records: ObservedRecord[] } | { kind: 'reset' };

interface PartitionHistory {
  /** Sends to this partition, in invocation order. */
  sends: SendRecord[];
  /** Each consumer process's polls and resets on this partition, in recording order. */
  consumers: Map<string, ConsumerEvent[]>;
  /** The final read, when one was recorded (pages appended in call order). */
  finalRead: ObservedRecord[] | undefined;
}

/** The consumer name used when the final read itself reads out of order. */
const FINAL_READ_PROCESS = 'final-read';
/** How many offsets or values an anomaly's detail text lists before eliding the rest. */
const DETAIL_LIST_LIMIT = 10;
const DEFAULT_SUMMARY_PER_TYPE = 10;

/**
 * Records a test's operations against the log, then checks them. Recording methods are
 * synchronous and cheap so they can sit on every request of a load test.
 */
export class History {
  private readonly partitions = new Map<number, PartitionHistory>();
  private readonly sendsByValue = new Map<string, SendRecord>();
  private pollCount = 0;
  private polledRecordCount = 0;

  /**
   * Records a producer's send; call it before issuing the request and complete the
   * returned handle with what the producer was told. Sends left uncompleted count as
   * unknown outcomes. Throws if the value was already sent: values must identify sends.
   */
  invokeSend(op: { process: string; partition: number; value: string }): SendHandle {
    if (this.sendsByValue.has(op.value)) {
      throw new Error(`History: value ${JSON.stringify(op.value)} was already sent; values must be unique`);
    }
    const send: SendRecord = {
      process: op.process,
      partition: op.partition,
      value: op.value,
      status: 'pending',
      offset: undefined,
    };
    this.sendsByValue.set(op.value, send);
    this.partition(op.partition).sends.push(send);
    const complete = (status: SendStatus, offset?: number): void => {
      if (send.status !== 'pending') {
        throw new Error(`History: send of ${JSON.stringify(send.value)} already completed as ${send.status}`);
      }
      send.status = status;
      send.offset = offset;
    };
    return {
      ok: (offset: number) => {
        if (!Number.isSafeInteger(offset) || offset < 0) {
          throw new Error(`History: acknowledged offset must be a non-negative integer, got ${offset}`);
        }
        complete('ok', offset);
      },
      fail: () => complete('fail'),
      info: () => complete('info'),
    };
  }

  /** Sends and polls recorded so far, as check().counts will give them (cheap, for a run that watches its volume). */
  get operations(): number {
    return this.sendsByValue.size + this.pollCount;
  }

  /** Records one consumer read: the records a single request starting at `fromOffset` returned. */
  poll(op: { process: string; partition: number; fromOffset: number; records: readonly ObservedRecord[] }): void {
    const records = op.records.map((r) => ({ offset: r.offset, value: r.value }));
    this.consumerEvents(op.partition, op.process).push({ kind: 'poll', fromOffset: op.fromOffset, records });
    this.pollCount += 1;
    this.polledRecordCount += records.length;
  }

  /**
   * Records that a consumer restarted (e.g. from a committed offset) or seeked: its next
   * poll may legitimately re-read, so monotonicity and skips are not judged across it.
   */
  resetConsumer(process: string, partition: number): void {
    this.consumerEvents(partition, process).push({ kind: 'reset' });
  }

  /**
   * Records the final full read of a partition (log start to high watermark) taken after
   * all writers stopped. Repeated calls append, so a paged final read can be recorded page
   * by page in order.
   */
  finalRead(partition: number, records: readonly ObservedRecord[]): void {
    const p = this.partition(partition);
    const copy = records.map((r) => ({ offset: r.offset, value: r.value }));
    if (p.finalRead === undefined) p.finalRead = copy;
    else for (const r of copy) p.finalRead.push(r);
  }

  /** Checks the recorded history; pure, so it may be called more than once. */
  check(options: CheckOptions = {}): CheckResult {
    const allowGaps = options.allowGaps ?? false;
    const anomalies: Anomaly[] = [];
    const ids = [...this.partitions.keys()].sort((a, b) => a - b);
    for (const id of ids) {
      const p = this.partitions.get(id);
      if (p !== undefined) checkPartition(id, p, this.sendsByValue, allowGaps, anomalies, options.voids?.get(id));
    }
    const counts = this.counts();
    const anomalyCounts = Object.fromEntries(ANOMALY_TYPES.map((t) => [t, 0])) as Record<AnomalyType, number>;
    for (const a of anomalies) anomalyCounts[a.type] += 1;
    return {
      valid: anomalies.length === 0,
      counts,
      anomalies,
      anomalyCounts,
      summary: (maxPerType = DEFAULT_SUMMARY_PER_TYPE) => summarize(counts, anomalies, anomalyCounts, maxPerType),
    };
  }

  private counts(): HistoryCounts {
    let acked = 0;
    let failed = 0;
    let unknown = 0;
    for (const s of this.sendsByValue.values()) {
      if (s.status === 'ok') acked += 1;
      else if (s.status === 'fail') failed += 1;
      else unknown += 1;
    }
    return {
      sends: this.sendsByValue.size,
      acked,
      failed,
      unknown,
      polls: this.pollCount,
      polledRecords: this.polledRecordCount,
    };
  }

  private partition(id: number): PartitionHistory {
    let p = this.partitions.get(id);
    if (p === undefined) {
      p = { sends: [], consumers: new Map(), finalRead: undefined };
      this.partitions.set(id, p);
    }
    return p;
  }

  private consumerEvents(partition: number, process: string): ConsumerEvent[] {
    const consumers = this.partition(partition).consumers;
    let events = consumers.get(process);
    if (events === undefined) {
      events = [];
      consumers.set(process, events);
    }
    return events;
  }
}

/**
 * The offsets a poll is expected to return. Under contiguity every offset between the
 * lowest and highest ever seen exists; with gaps allowed, exactly the final read's do.
 */
interface OffsetUniverse {
  /** The offsets in `[lo, hi)` that exist: how many, and the first of them. */
  existingIn(lo: number, hi: number): { count: number; first: number };
}

/** Every offset in [min, max] exists, but the voids. */
function contiguousUniverse(min: number, max: number, voids: ReadonlySet<number> = new Set()): OffsetUniverse {
  return {
    existingIn(lo, hi) {
      let from = Math.max(lo, min);
      const to = Math.min(hi, max + 1);
      let count = Math.max(0, to - from);
      if (voids.size > 0) {
        for (let o = from; o < to; o++) if (voids.has(o)) count--;
        while (from < to && voids.has(from)) from++;
      }
      return { count, first: from };
    },
  };
}

/** True when every offset of [lo, hi) is a void. */
function allVoid(voids: ReadonlySet<number>, lo: number, hi: number): boolean {
  for (let o = lo; o < hi; o++) if (!voids.has(o)) return false;
  return true;
}

function sortedUniverse(sorted: readonly number[]): OffsetUniverse {
  return {
    existingIn(lo, hi) {
      const start = lowerBound(sorted, lo);
      const end = lowerBound(sorted, hi);
      return { count: Math.max(0, end - start), first: sorted[start] ?? lo };
    },
  };
}

const EMPTY_UNIVERSE: OffsetUniverse = { existingIn: (lo) => ({ count: 0, first: lo }) };

/** Index of the first element of `sorted` that is `>= x`. */
function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Adds `item` to the small list under `key`, once. Lists are almost always of length 1. */
function addUnique<K, V>(map: Map<K, V[]>, key: K, item: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [item]);
  else if (!list.includes(item)) list.push(item);
}

function listText(items: readonly (string | number)[]): string {
  const shown = items.slice(0, DETAIL_LIST_LIMIT).map((x) => (typeof x === 'string' ? JSON.stringify(x) : String(x)));
  const more = items.length > DETAIL_LIST_LIMIT ? `, … (${items.length - DETAIL_LIST_LIMIT} more)` : '';
  return `[${shown.join(', ')}${more}]`;
}

function rangeText(first: number, last: number): string {
  return first === last ? `offset ${first}` : `offsets ${first}..${last}`;
}

function checkPartition(
  partition: number,
  p: PartitionHistory,
  sendsByValue: ReadonlyMap<string, SendRecord>,
  allowGaps: boolean,
  out: Anomaly[],
  voids: ReadonlySet<number> = new Set(),
): void {
  const final = p.finalRead;
  /** offset → every value observed there (polls, final read) or acknowledged there. */
  const offsetValues = new Map<number, string[]>();
  /** value → every offset it was observed at (polls, final read); acks excluded. */
  const valueOffsets = new Map<string, number[]>();
  const finalByValue = new Map<string, number>();
  const finalOffsets = new Set<number>();
  let minSeen = Infinity;
  let maxSeen = -Infinity;
  let maxFinal = -Infinity;

  const observe = (r: ObservedRecord): void => {
    addUnique(offsetValues, r.offset, r.value);
    addUnique(valueOffsets, r.value, r.offset);
    if (r.offset < minSeen) minSeen = r.offset;
    if (r.offset > maxSeen) maxSeen = r.offset;
  };

  if (final !== undefined) {
    let prev: number | undefined;
    for (const r of final) {
      observe(r);
      finalOffsets.add(r.offset);
      if (!finalByValue.has(r.value)) finalByValue.set(r.value, r.offset);
      if (r.offset > maxFinal) maxFinal = r.offset;
      if (prev !== undefined && r.offset <= prev) {
        out.push({
          type: 'nonmonotonic-poll',
          partition,
          process: FINAL_READ_PROCESS,
          offset: r.offset,
          offsets: [prev, r.offset],
          detail: `final read went from offset ${prev} to ${r.offset}`,
        });
      } else if (!allowGaps && prev !== undefined && r.offset > prev + 1 && !allVoid(voids, prev + 1, r.offset)) {
        out.push({
          type: 'lost-write',
          partition,
          offset: prev + 1,
          offsets: [prev + 1, r.offset - 1],
          detail: `final read lacks ${rangeText(prev + 1, r.offset - 1)} between ${prev} and ${r.offset}`,
        });
      }
      prev = r.offset;
    }
  }

  for (const events of p.consumers.values()) {
    for (const e of events) if (e.kind === 'poll') for (const r of e.records) observe(r);
  }

  // An acknowledged offset exists too, which matters when no final read was recorded.
  for (const s of p.sends) {
    if (s.status !== 'ok' || s.offset === undefined) continue;
    if (s.offset < minSeen) minSeen = s.offset;
    if (s.offset > maxSeen) maxSeen = s.offset;
  }
  let universe: OffsetUniverse;
  if (allowGaps) {
    universe = final === undefined ? EMPTY_UNIVERSE : sortedUniverse([...finalOffsets].sort((a, b) => a - b));
  } else {
    universe = minSeen <= maxSeen ? contiguousUniverse(minSeen, maxSeen, voids) : EMPTY_UNIVERSE;
  }
  for (const [process, events] of p.consumers) checkConsumer(partition, process, events, universe, out);

  checkSends(partition, p.sends, valueOffsets, offsetValues, final !== undefined, finalByValue, finalOffsets, maxFinal, out);

  // A write of unknown outcome that a consumer saw is as committed as an acked one; acked
  // and phantom values are reported by their own rules. Compaction may remove it legitimately.
  if (final !== undefined && !allowGaps) {
    for (const [value, offsets] of valueOffsets) {
      const send = sendsByValue.get(value);
      const unknownOutcome = send !== undefined && (send.status === 'info' || send.status === 'pending');
      if (finalByValue.has(value) || !unknownOutcome || send.partition !== partition) continue;
      out.push({
        type: 'lost-write',
        partition,
        value,
        offsets,
        detail: `value ${JSON.stringify(value)} was polled at ${listText(offsets)} but is missing from the final read`,
      });
    }
  }

  for (const [offset, values] of offsetValues) {
    if (values.length > 1) {
      out.push({
        type: 'inconsistent-offsets',
        partition,
        offset,
        values,
        detail: `offset ${offset} was observed or acknowledged with different values ${listText(values)}`,
      });
    }
  }

  for (const [value, offsets] of valueOffsets) {
    if (offsets.length > 1) {
      out.push({
        type: 'duplicate',
        partition,
        value,
        offsets,
        detail: `value ${JSON.stringify(value)} was observed at ${offsets.length} offsets ${listText(offsets)}`,
      });
    }
    const send = sendsByValue.get(value);
    let why: string | undefined;
    if (send === undefined) why = 'no send produced it';
    else if (send.partition !== partition) why = `it was sent to partition ${send.partition}`;
    else if (send.status === 'fail') why = `its send by ${send.process} was reported failed`;
    if (why !== undefined) {
      out.push({
        type: 'phantom',
        partition,
        value,
        offsets,
        ...(send !== undefined ? { process: send.process } : {}),
        detail: `value ${JSON.stringify(value)} was observed at ${listText(offsets)} but ${why}`,
      });
    }
  }
}

function checkSends(
  partition: number,
  sends: readonly SendRecord[],
  valueOffsets: ReadonlyMap<string, number[]>,
  offsetValues: Map<number, string[]>,
  hasFinal: boolean,
  finalByValue: ReadonlyMap<string, number>,
  finalOffsets: ReadonlySet<number>,
  maxFinal: number,
  out: Anomaly[],
): void {
  const lastAckByProcess = new Map<string, SendRecord>();
  for (const s of sends) {
    if (s.status !== 'ok' || s.offset === undefined) continue;
    const o = s.offset;
    addUnique(offsetValues, o, s.value);

    const prev = lastAckByProcess.get(s.process);
    if (prev !== undefined && prev.offset !== undefined && o <= prev.offset) {
      out.push({
        type: 'nonmonotonic-send',
        partition,
        process: s.process,
        value: s.value,
        offset: o,
        offsets: [prev.offset, o],
        values: [prev.value, s.value],
        detail: `${s.process} sent ${JSON.stringify(prev.value)} (acked at ${prev.offset}) then ${JSON.stringify(s.value)} (acked at ${o})`,
      });
    }
    lastAckByProcess.set(s.process, s);

    const observedAt = valueOffsets.get(s.value);
    if (observedAt === undefined) {
      out.push({
        type: 'unseen',
        partition,
        process: s.process,
        value: s.value,
        offset: o,
        detail: `value ${JSON.stringify(s.value)} acked at offset ${o} was never read`,
      });
    } else {
      const elsewhere = observedAt.filter((x) => x !== o);
      if (elsewhere.length > 0) {
        out.push({
          type: 'inconsistent-offsets',
          partition,
          process: s.process,
          value: s.value,
          offset: o,
          offsets: elsewhere,
          detail: `value ${JSON.stringify(s.value)} acked at offset ${o} was observed at ${listText(elsewhere)}`,
        });
      }
    }

    if (hasFinal) {
      const inFinal = finalByValue.has(s.value);
      const offsetMissing = !finalOffsets.has(o) && maxFinal > o;
      if (!inFinal || offsetMissing) {
        out.push({
          type: 'lost-write',
          partition,
          process: s.process,
          value: s.value,
          offset: o,
          detail: inFinal
            ? `final read lacks offset ${o}, acked for ${JSON.stringify(s.value)}, though it reads up to ${maxFinal}`
            : `value ${JSON.stringify(s.value)} acked at offset ${o} is missing from the final read`,
        });
      }
    }
  }
}

/**
 * Walks one consumer's polls on one partition. `lastSeen` is the last offset it observed
 * (for monotonicity); `cursor` is the next offset it is accountable for (for skips). A
 * reset clears both.
 */
function checkConsumer(
  partition: number,
  process: string,
  events: readonly ConsumerEvent[],
  universe: OffsetUniverse,
  out: Anomaly[],
): void {
  let lastSeen: number | undefined;
  let cursor: number | undefined;

  const skip = (lo: number, hi: number, how: string): void => {
    if (hi <= lo) return;
    const { count, first } = universe.existingIn(lo, hi);
    if (count === 0) return;
    out.push({
      type: 'poll-skip',
      partition,
      process,
      offset: first,
      offsets: [lo, hi - 1],
      detail: `${process} ${how}, skipping ${count} existing offset(s) in ${lo}..${hi - 1} (first ${first})`,
    });
  };
  const backwards = (from: number, to: number, how: string): void => {
    out.push({
      type: 'nonmonotonic-poll',
      partition,
      process,
      offset: to,
      offsets: [from, to],
      detail: `${process} ${how}`,
    });
  };

  for (const e of events) {
    if (e.kind === 'reset') {
      lastSeen = undefined;
      cursor = undefined;
      continue;
    }
    const { fromOffset, records } = e;
    const first = records[0];
    if (first === undefined) {
      if (cursor !== undefined) skip(cursor, fromOffset, `polled from ${fromOffset} after reaching ${cursor - 1}`);
      cursor = cursor === undefined ? fromOffset : Math.max(cursor, fromOffset);
      continue;
    }

    if (lastSeen !== undefined && first.offset <= lastSeen) {
      backwards(lastSeen, first.offset, `read offset ${lastSeen} then ${first.offset} (poll from ${fromOffset})`);
    } else if (first.offset < fromOffset) {
      backwards(fromOffset, first.offset, `polled from ${fromOffset} but got offset ${first.offset} first`);
    }
    const start = cursor === undefined ? fromOffset : Math.min(cursor, fromOffset);
    skip(start, first.offset, `polled from ${fromOffset} and got offset ${first.offset} first`);

    let prev = first.offset;
    for (let i = 1; i < records.length; i++) {
      const offset = (records[i] as ObservedRecord).offset;
      if (offset <= prev) backwards(prev, offset, `read offset ${prev} then ${offset} within one poll from ${fromOffset}`);
      else skip(prev + 1, offset, `read offset ${prev} then ${offset} within one poll`);
      prev = offset;
    }
    lastSeen = prev;
    cursor = prev + 1;
  }
}

function summarize(
  counts: HistoryCounts,
  anomalies: readonly Anomaly[],
  anomalyCounts: Record<AnomalyType, number>,
  maxPerType: number,
): string {
  const lines: string[] = [];
  lines.push(`History check: ${anomalies.length === 0 ? 'VALID' : `INVALID (${anomalies.length} anomalies)`}`);
  lines.push(
    `  sends: ${counts.sends} (acked ${counts.acked}, failed ${counts.failed}, unknown ${counts.unknown}); ` +
      `polls: ${counts.polls} (${counts.polledRecords} records)`,
  );
  const found = ANOMALY_TYPES.filter((t) => anomalyCounts[t] > 0);
  if (found.length > 0) lines.push(`  by type: ${found.map((t) => `${t}: ${anomalyCounts[t]}`).join(', ')}`);
  for (const type of found) {
    lines.push(`  ${type} (${anomalyCounts[type]}):`);
    let shown = 0;
    for (const a of anomalies) {
      if (a.type !== type) continue;
      if (shown >= maxPerType) break;
      lines.push(`    [partition ${a.partition}] ${a.detail}`);
      shown += 1;
    }
    if (anomalyCounts[type] > shown) lines.push(`    … and ${anomalyCounts[type] - shown} more`);
  }
  return lines.join('\n');
}
