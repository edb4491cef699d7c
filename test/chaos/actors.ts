/**
 * The clients of the chaos workload, each recording what it did in a History:
 *
 * - raw appenders: plain HTTP appends without a producer id, never retried. An answer
 *   is `ok` (200), `fail` (a 4xx, or a connection refused: the request never arrived),
 *   or `info` (a 5xx, a broken connection, a timeout: it may have been written);
 * - idempotent producers: the client library's producer, which retries every in-doubt
 *   batch with its sequence number, so a retry must never write twice;
 * - raw long-poll readers: one per partition, each read recorded as a poll;
 * - consumer-group members: the client library's consumer in a group, each delivered
 *   record recorded as a poll from the offset the member should be at.
 */

import type { Consumer } from '../../client/consumer.js';
import { Strata } from '../../client/index.js';
import { idempotentKeylessPartition, partitionForKey } from '../../lib/topics/partitioner.js';
import type { History, SendHandle } from '../support/history.js';

/** Stops every actor's loop when set. */
export interface RunFlags {
  /** Appenders and producers stop sending. */
  stopSending: boolean;
  /** Readers stop once they reach these offsets (per topic and partition); set after sending stopped. */
  readTargets: Map<string, number> | undefined;
  /** Hard stop for readers (drain timeout). */
  stopReading: boolean;
}

/** Client-visible outcomes, by kind, counted over all actors. */
export type OutcomeCounts = Record<string, number>;

/** What every sending actor is given: where to send, what to record, when to stop. */
export interface SenderOptions {
  url: string;
  name: string;
  topic: TopicSpec;
  history: History;
  flags: RunFlags;
  outcomes: OutcomeCounts;
  anomalies: OutcomeCounts;
  random: () => number;
}

export function bump(counts: OutcomeCounts, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

const REQUEST_TIMEOUT_MS = 15_000;
/** The outcome counter of records whose request found no server listening. */
export const REFUSED_RECORDS = 'records refused (server down)';

export type RawResult =
  | { kind: 'ok'; status: number; body: any }
  | { kind: 'error'; status: number; body: any }
  | { kind: 'refused' }
  | { kind: 'lost'; why: string };

/** One HTTP request; never throws. */
export async function rawRequest(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<RawResult> {
  try {
    const res = await fetch(url + path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return res.ok ? { kind: 'ok', status: res.status, body: parsed } : { kind: 'error', status: res.status, body: parsed };
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED') return { kind: 'refused' };
    return { kind: 'lost', why: (err as Error).name === 'TimeoutError' ? 'timeout' : (code ?? (err as Error).message) };
  }
}

/** Retries a request that must eventually succeed (setup, final reads) across restarts. */
export async function mustRequest(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  accept: number[] = [],
): Promise<RawResult & { kind: 'ok' | 'error' }> {
  const deadline = Date.now() + 180_000;
  for (;;) {
    const r = await rawRequest(url, method, path, body);
    if (r.kind === 'ok' || (r.kind === 'error' && accept.includes(r.status))) return r;
    if (Date.now() > deadline) throw new Error(`${method} ${path} kept failing: ${JSON.stringify(r)}`);
    await sleep(200);
  }
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Keys per topic (compacted topics need keys). */
  keys: number;
  /** Bytes of padding in each value, so that tails grow and flushes run. */
  padBytes: number;
}

/** A value that identifies one send; compacted topics carry the key in front. */
function makeValue(topic: TopicSpec, key: string | undefined, id: string): string {
  return `${key ?? '-'}|${id}|${'x'.repeat(topic.padBytes)}`;
}

export function keyOfValue(value: string): string {
  return value.slice(0, value.indexOf('|'));
}

/**
 * Non-idempotent appends over plain HTTP, one request at a time: to one partition, or
 * topic-level with keys (murmur2 decides the partition, which the answer must confirm).
 */
export async function rawAppender(
  opts: SenderOptions & {
    /** Share of requests that are topic-level keyed appends (compacted topics: all). */
    keyedShare: number;
    maxBatch: number;
  },
): Promise<void> {
  const { topic, history, random } = opts;
  let n = 0;
  while (!opts.flags.stopSending) {
    const count = 1 + Math.floor(random() * opts.maxBatch);
    const keyed = random() < opts.keyedShare;
    const fixedPartition = Math.floor(random() * topic.partitions);
    const sends: { partition: number; value: string; key: string | undefined; handle: SendHandle }[] = [];
    for (let i = 0; i < count; i++) {
      const key = keyed ? `k${Math.floor(random() * topic.keys)}` : undefined;
      const partition = key === undefined ? fixedPartition : partitionForKey(Buffer.from(key), topic.partitions);
      const value = makeValue(topic, key, `${opts.name}:${n++}`);
      sends.push({ partition, value, key, handle: history.invokeSend({ process: opts.name, partition, value }) });
    }
    const path = keyed ? `/v1/topics/${topic.name}/records` : `/v1/topics/${topic.name}/partitions/${fixedPartition}/records`;
    const records = sends.map((s) => (s.key === undefined ? { value: s.value } : { key: s.key, value: s.value }));
    const r = await rawRequest(opts.url, 'POST', path, { records });
    settleRaw(r, sends, opts.outcomes, opts.anomalies);
    if (r.kind === 'refused' || r.kind === 'lost') await sleep(100);
  }
}

function settleRaw(
  r: RawResult,
  sends: { partition: number; handle: SendHandle }[],
  outcomes: OutcomeCounts,
  anomalies: OutcomeCounts,
): void {
  if (r.kind === 'ok') {
    bump(outcomes, 'raw 200');
    const offsets = r.body.offsets as { partition: number; offset: number }[];
    sends.forEach((s, i) => {
      if (offsets[i]!.partition !== s.partition) bump(anomalies, 'wrong-partition');
      s.handle.ok(offsets[i]!.offset);
    });
    return;
  }
  if (r.kind === 'refused') {
    bump(outcomes, 'raw connection refused');
    // Sends that never reached a server (it was down): the workload's sanity check leaves them out.
    bump(outcomes, REFUSED_RECORDS, sends.length);
    for (const s of sends) s.handle.fail();
    return;
  }
  if (r.kind === 'lost') {
    bump(outcomes, `raw ${r.why}`);
    for (const s of sends) s.handle.info();
    return;
  }
  const code = r.body?.error?.code ?? 'none';
  bump(outcomes, `raw ${r.status} ${code}`);
  // A multi-partition append that failed in some partitions says which ones committed.
  type PartOutcome = { partition: number; baseOffset?: number; error?: { code: string } };
  const parts = new Map<number, PartOutcome>(((r.body?.error?.partitions ?? []) as PartOutcome[]).map((p) => [p.partition, p]));
  const next = new Map<number, number>();
  for (const s of sends) {
    const part = parts.get(s.partition);
    if (part?.baseOffset !== undefined) {
      const i = next.get(s.partition) ?? 0;
      next.set(s.partition, i + 1);
      s.handle.ok(part.baseOffset + i);
      continue;
    }
    const partCode = part?.error?.code ?? code;
    // A 4xx (throttle included) is a rejection that wrote nothing; anything else may have.
    if (r.status < 500 && partCode !== 'RETRY' && partCode !== 'INTERNAL') s.handle.fail();
    else s.handle.info();
  }
}

/**
 * The client library's idempotent producer: sends `window` records (keyed, so murmur2
 * picks the partition) and waits for them, over and over. Every send it was told failed
 * is `info`: its batch may have been written before the producer gave up.
 */
export async function idempotentProducer(
  opts: SenderOptions & {
    window: number;
  },
): Promise<void> {
  const { topic, history, random } = opts;
  const strata = new Strata({ url: opts.url, requestTimeoutMs: REQUEST_TIMEOUT_MS });
  const producer = strata.producer({ lingerMs: 5, deliveryTimeoutMs: 120_000, retryMaxDelayMs: 1_000 });
  let n = 0;
  while (!opts.flags.stopSending) {
    const pending: Promise<void>[] = [];
    for (let i = 0; i < opts.window; i++) {
      const key = `k${Math.floor(random() * topic.keys)}`;
      const partition = partitionForKey(Buffer.from(key), topic.partitions);
      const value = makeValue(topic, key, `${opts.name}:${n++}`);
      const handle = history.invokeSend({ process: opts.name, partition, value });
      pending.push(
        producer.send(topic.name, { key, value }).then(
          ([meta]) => {
            bump(opts.outcomes, 'producer ok');
            if (meta!.partition !== partition) bump(opts.anomalies, 'wrong-partition');
            handle.ok(meta!.offset);
          },
          (err: unknown) => {
            bump(opts.outcomes, `producer error ${(err as { code?: string }).code ?? (err as Error).name}`);
            handle.info();
          },
        ),
      );
    }
    await Promise.all(pending);
  }
  await producer.close();
}

/**
 * Until a request gets a definitive answer (200 or a 4xx), sends it again unchanged, as
 * an idempotent client retries: 5xx, lost connections and refused connections (the
 * server is down) are retried. Gives up with the last answer when sending stops and
 * `maxTries` is spent.
 */
async function sendUntilAnswered(
  url: string,
  path: string,
  body: unknown,
  flags: RunFlags,
  outcomes: OutcomeCounts,
  label: string,
): Promise<RawResult> {
  for (let tries = 0; ; tries++) {
    const r = await rawRequest(url, 'POST', path, body);
    // A 429 is no answer either: an earlier attempt may have been applied (its answer lost),
    // and this one was throttled before it could find out; taken as a refusal, the next
    // batch reused the sequence and was answered as a duplicate of this one.
    if (r.kind === 'ok' || (r.kind === 'error' && r.status < 500 && r.status !== 429)) return r;
    bump(
      outcomes,
      `${label} retried ${r.kind === 'error' ? `${r.status} ${r.body?.error?.code ?? ''}` : r.kind === 'lost' ? r.why : 'connection refused'}`,
    );
    if (flags.stopSending && tries >= 20) return r;
    await sleep(r.kind === 'refused' ? 200 : 50);
  }
}

/**
 * Idempotent topic-level appends of keyless records over plain HTTP (no client library):
 * one sequence per partition in every request, and every request retried unchanged
 * until it is answered. The server picks the partition from what the request repeats, so
 * each retry must land where the first attempt did and be answered as a duplicate.
 */
export async function keylessIdempotentAppender(
  opts: SenderOptions & {
    maxBatch: number;
  },
): Promise<void> {
  const { topic, history, random } = opts;
  const producerId = `${opts.name}-${Date.now()}`;
  const sequences: Record<string, number> = Object.fromEntries(Array.from({ length: topic.partitions }, (_, p) => [String(p), 0]));
  let n = 0;
  while (!opts.flags.stopSending) {
    const count = 1 + Math.floor(random() * opts.maxBatch);
    const partition = idempotentKeylessPartition(producerId, 0, sequences, topic.partitions)!;
    const sends = Array.from({ length: count }, () => {
      const value = makeValue(topic, undefined, `${opts.name}:${n++}`);
      return { partition, value, handle: history.invokeSend({ process: opts.name, partition, value }) };
    });
    const body = { records: sends.map((s) => ({ value: s.value })), producer: { producerId, epoch: 0, sequences: { ...sequences } } };
    const r = await sendUntilAnswered(opts.url, `/v1/topics/${topic.name}/records`, body, opts.flags, opts.outcomes, 'keyless-idem');
    const answer = settleAnswered(r, sends, 'keyless-idem', opts.outcomes);
    if (answer.kind === 'unknown') return;
    if (answer.kind === 'ok') {
      if (answer.offsets.some((o) => o.partition !== partition)) bump(opts.anomalies, 'wrong-partition');
      sequences[String(partition)]! += count;
    }
    // Refused: nothing was written, and the partition's sequence is where it was.
  }
}

/**
 * Settles the sends of a request that was retried until answered: a 200 acknowledges
 * each at its offset, a 4xx fails them all (nothing written), anything else (sending
 * stopped first) leaves them unknown.
 */
function settleAnswered(
  r: RawResult,
  sends: { handle: SendHandle }[],
  label: string,
  outcomes: OutcomeCounts,
): { kind: 'ok'; offsets: { partition: number; offset: number }[] } | { kind: 'refused'; code: string } | { kind: 'unknown' } {
  if (r.kind === 'ok') {
    bump(outcomes, `${label} 200${r.body.partitions?.[0]?.duplicate ? ' duplicate' : ''}`);
    const offsets = r.body.offsets as { partition: number; offset: number }[];
    for (const [i, s] of sends.entries()) s.handle.ok(offsets[i]!.offset);
    return { kind: 'ok', offsets };
  }
  if (r.kind === 'error' && r.status < 500) {
    const code = r.body?.error?.code ?? '';
    bump(outcomes, `${label} ${r.status} ${code}`);
    for (const s of sends) s.handle.fail();
    return { kind: 'refused', code };
  }
  for (const s of sends) s.handle.info();
  return { kind: 'unknown' };
}

/**
 * Event-sourcing writers: idempotent conditional appends to one partition. Each reads the
 * high watermark, appends with `expectedOffset` set to it and its producer's next
 * sequence, and retries the same request until it is answered: a 200 must put the batch
 * exactly at `expectedOffset` (a duplicate answers the original offsets, which were
 * there too); 409 OFFSET_MISMATCH wrote nothing, and the writer reads the head again.
 * Several writers on separate engines make the retries meet stale producer caches.
 */
export async function conditionalWriter(
  opts: SenderOptions & {
    partition: number;
    maxBatch: number;
  },
): Promise<void> {
  const { topic, history, random, partition } = opts;
  const producerId = `${opts.name}-${Date.now()}`;
  let sequence = 0;
  let n = 0;
  while (!opts.flags.stopSending) {
    const head = await rawRequest(opts.url, 'GET', `/v1/topics/${topic.name}/partitions/${partition}/offsets?at=latest`);
    if (head.kind !== 'ok') {
      await sleep(100);
      continue;
    }
    const expectedOffset = head.body.offset as number;
    const count = 1 + Math.floor(random() * opts.maxBatch);
    const sends = Array.from({ length: count }, () => {
      const value = makeValue(topic, undefined, `${opts.name}:${n++}`);
      return { value, handle: history.invokeSend({ process: opts.name, partition, value }) };
    });
    const body = { records: sends.map((s) => ({ value: s.value })), expectedOffset, producer: { producerId, epoch: 0, sequence } };
    const r = await sendUntilAnswered(
      opts.url,
      `/v1/topics/${topic.name}/partitions/${partition}/records`,
      body,
      opts.flags,
      opts.outcomes,
      'conditional',
    );
    const answer = settleAnswered(r, sends, 'conditional', opts.outcomes);
    if (answer.kind === 'unknown') return;
    if (answer.kind === 'ok') {
      if (answer.offsets[0]!.offset !== expectedOffset) bump(opts.anomalies, 'conditional-wrong-offset');
      sequence += count;
    } else if (answer.code !== 'OFFSET_MISMATCH' && answer.code !== 'THROTTLED') {
      // Any refusal but the expected one (another writer won the offset) is a protocol error.
      bump(opts.anomalies, 'conditional-refused');
    }
  }
}

/**
 * Timestamp lookups racing flushes, compaction and retention: reads one record at a
 * random offset, then asks for the first offset whose timestamp is at least that
 * record's. The answer must not be past the record (that would skip it), and the record
 * it names must exist with a timestamp at least the one asked for.
 */
export async function timestampLooker(opts: {
  url: string;
  name: string;
  topic: TopicSpec;
  flags: RunFlags;
  outcomes: OutcomeCounts;
  anomalies: OutcomeCounts;
  random: () => number;
}): Promise<void> {
  const { topic, random } = opts;
  const base = `/v1/topics/${topic.name}/partitions`;
  while (!opts.flags.stopSending) {
    const partition = Math.floor(random() * topic.partitions);
    const start = await rawRequest(opts.url, 'GET', `${base}/${partition}/records?maxRecords=1`);
    if (start.kind !== 'ok' || start.body.highWatermark <= start.body.logStartOffset) {
      await sleep(200);
      continue;
    }
    const { logStartOffset, highWatermark } = start.body as { logStartOffset: number; highWatermark: number };
    const at = logStartOffset + Math.floor(random() * (highWatermark - logStartOffset));
    const probe = await rawRequest(opts.url, 'GET', `${base}/${partition}/records?offset=${at}&maxRecords=1`);
    const record = probe.kind === 'ok' ? (probe.body.records[0] as { offset: number; timestamp: number } | undefined) : undefined;
    if (!record) {
      await sleep(50);
      continue;
    }
    const lookup = await rawRequest(opts.url, 'GET', `${base}/${partition}/offsets?at=${record.timestamp}`);
    if (lookup.kind !== 'ok') {
      bump(opts.outcomes, `lookup ${lookup.kind === 'error' ? `${lookup.status} ${lookup.body?.error?.code ?? ''}` : lookup.kind}`);
      await sleep(100);
      continue;
    }
    bump(opts.outcomes, 'lookup 200');
    const found = lookup.body as { offset: number; timestamp: number | null };
    if (found.offset > record.offset) {
      bump(opts.anomalies, 'timestamp-lookup-skip');
      continue;
    }
    if (found.timestamp === null || found.timestamp < record.timestamp) bump(opts.anomalies, 'timestamp-lookup-wrong');
    await sleep(20);
  }
}

/**
 * Long-polls one partition from offset 0 (or the log start), recording each answer as a
 * poll. After an OFFSET_OUT_OF_RANGE (retention passed it) it starts again at the log
 * start, recorded as a reset.
 */
export async function rawReader(opts: {
  url: string;
  name: string;
  topic: string;
  partition: number;
  history: History;
  flags: RunFlags;
  outcomes: OutcomeCounts;
  random: () => number;
  waitMs: number;
}): Promise<void> {
  let offset = 0;
  const target = () => opts.flags.readTargets?.get(`${opts.topic}/${opts.partition}`);
  for (;;) {
    if (opts.flags.stopReading) return;
    const t = target();
    if (t !== undefined && offset >= t) return;
    const maxRecords = 1 + Math.floor(opts.random() * 300);
    const wait = t === undefined ? opts.waitMs : 0;
    const r = await rawRequest(
      opts.url,
      'GET',
      `/v1/topics/${opts.topic}/partitions/${opts.partition}/records?offset=${offset}&maxRecords=${maxRecords}&waitMs=${wait}`,
      undefined,
      REQUEST_TIMEOUT_MS + wait,
    );
    if (r.kind === 'ok') {
      bump(opts.outcomes, 'read 200');
      const records = (r.body.records as { offset: number; value: string }[]).map((x) => ({ offset: x.offset, value: x.value }));
      opts.history.poll({ process: opts.name, partition: opts.partition, fromOffset: offset, records });
      offset = r.body.nextOffset;
      continue;
    }
    if (r.kind === 'error' && r.body?.error?.code === 'OFFSET_OUT_OF_RANGE') {
      bump(opts.outcomes, 'read 416');
      opts.history.resetConsumer(opts.name, opts.partition);
      offset = r.body.error.logStartOffset;
      continue;
    }
    bump(
      opts.outcomes,
      r.kind === 'error' ? `read ${r.status} ${r.body?.error?.code ?? ''}` : `read ${r.kind === 'lost' ? r.why : 'connection refused'}`,
    );
    await sleep(100);
  }
}

/**
 * One member of a consumer group, through the client library's consumer. Each delivered
 * record is recorded as a one-record poll from the offset the member should be at: the
 * offset it was assigned the partition at, then one past the last record delivered. An
 * assignment is a reset (a new owner may re-read what the old one did not commit).
 * A consumer that fails is replaced by a new one (a new process in the history).
 */
export class GroupMember {
  private consumer: Consumer | undefined;
  private closed = false;
  private incarnation = 0;
  /** Every offset any incarnation delivered, per partition. */
  readonly delivered = new Map<number, Set<number>>();
  readonly running: Promise<void>;
  /** Why consumers failed (the client surfaced an error to the application). */
  readonly failures: string[] = [];

  constructor(
    private readonly opts: {
      url: string;
      name: string;
      group: string;
      topic: string;
      history: History;
      outcomes: OutcomeCounts;
      anomalies: OutcomeCounts;
    },
  ) {
    this.running = this.run();
  }

  private async run(): Promise<void> {
    const strata = new Strata({ url: this.opts.url, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    while (!this.closed) {
      const process = `${this.opts.name}#${this.incarnation++}`;
      const expected = new Map<number, number>();
      const consumer = strata.subscribe(this.opts.topic, {
        group: this.opts.group,
        clientId: process,
        waitMs: 1_000,
        sessionTimeoutMs: 6_000,
        autoCommitIntervalMs: 1_000,
        maxRetryTimeMs: 180_000,
        onPartitionsAssigned: (partitions, starts) => {
          bump(this.opts.outcomes, 'group assignments');
          for (const p of partitions) {
            this.opts.history.resetConsumer(process, p);
            expected.set(p, starts[p]!);
          }
        },
        onPartitionsRevoked: (partitions) => {
          bump(this.opts.outcomes, 'group revocations');
          for (const p of partitions) expected.delete(p);
        },
      });
      this.consumer = consumer;
      try {
        for await (const r of consumer) {
          const from = expected.get(r.partition);
          if (from === undefined) bump(this.opts.anomalies, 'group-delivery-unassigned');
          this.opts.history.poll({
            process,
            partition: r.partition,
            fromOffset: from ?? r.offset,
            records: [{ offset: r.offset, value: r.value!.toString('utf8') }],
          });
          let seen = this.delivered.get(r.partition);
          if (!seen) this.delivered.set(r.partition, (seen = new Set()));
          seen.add(r.offset);
          expected.set(r.partition, r.offset + 1);
        }
      } catch (err) {
        bump(this.opts.outcomes, `group consumer failed ${(err as { code?: string }).code ?? (err as Error).name}`);
        this.failures.push(`${process}: ${(err as Error).stack?.split('\n').slice(0, 4).join(' | ')}`);
        await consumer.close({ commit: false }).catch(() => undefined);
        if (!this.closed) await sleep(500);
      } finally {
        countPush(this.opts.outcomes, consumer);
      }
    }
  }

  /** Commits what was delivered (fenced by the generation; a refusal is counted, not thrown). */
  async commit(): Promise<void> {
    await this.consumer
      ?.commit()
      .catch((err: unknown) => bump(this.opts.outcomes, `group commit refused ${(err as { code?: string }).code ?? ''}`));
  }

  /** Commits what was delivered and leaves the group. */
  async close(): Promise<void> {
    this.closed = true;
    await this.consumer?.close();
    await this.running;
  }
}

/** How a group member's consumer used the push path: notifications, pongs, connections. */
function countPush(outcomes: OutcomeCounts, consumer: Consumer): void {
  const channel = consumer.pushChannel;
  if (!channel) {
    bump(outcomes, 'group consumers without push');
    return;
  }
  bump(outcomes, 'group push notifications', channel.received.moved);
  bump(outcomes, 'group push pongs', channel.received.pong);
  bump(outcomes, 'group push connections', channel.connects);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A topic deleted and re-created under a live consumer group: every `everyMs` the topic
 * goes and comes back as a new incarnation, which then takes appends, while one group
 * member consumes and commits throughout. Values carry their incarnation. A position
 * committed in an old incarnation must never be applied to a new one: in the final
 * incarnation the group must deliver every acknowledged record, and commit only below
 * what it delivered there.
 */
export class RecreatedTopic {
  /** Incarnation number → partition → offset → value, acknowledged by the server. */
  readonly acked = new Map<number, Map<number, Map<number, string>>>();
  /** Incarnation number (from the value) → partition → offset → value, delivered by the consumer. */
  readonly delivered = new Map<number, Map<number, Map<number, string>>>();
  incarnation = 0;
  private closed = false;
  private consumer: Consumer | undefined;
  readonly writing: Promise<void>;
  readonly consuming: Promise<void>;

  constructor(
    private readonly opts: {
      url: string;
      topic: TopicSpec;
      config: Record<string, unknown>;
      group: string;
      flags: RunFlags;
      outcomes: OutcomeCounts;
      random: () => number;
      everyMs: number;
    },
  ) {
    this.writing = this.write();
    this.consuming = this.consume();
  }

  private static slot(map: Map<number, Map<number, Map<number, string>>>, inc: number, partition: number): Map<number, string> {
    let byPartition = map.get(inc);
    if (!byPartition) map.set(inc, (byPartition = new Map()));
    let offsets = byPartition.get(partition);
    if (!offsets) byPartition.set(partition, (offsets = new Map()));
    return offsets;
  }

  private async write(): Promise<void> {
    const { url, topic, random } = this.opts;
    let n = 0;
    for (;;) {
      await mustRequest(url, 'POST', '/v1/topics', { name: topic.name, partitions: topic.partitions, config: this.opts.config }, [409]);
      bump(this.opts.outcomes, 'recreate created');
      // Past every engine's topic cache (1 s): an append now goes to this incarnation.
      await sleep(2_000);
      const until = Date.now() + this.opts.everyMs;
      while (Date.now() < until && !this.opts.flags.stopSending) {
        const partition = Math.floor(random() * topic.partitions);
        const values = Array.from(
          { length: 1 + Math.floor(random() * 4) },
          () => `${this.incarnation}|recreate:${n++}|${'x'.repeat(topic.padBytes)}`,
        );
        const r = await rawRequest(url, 'POST', `/v1/topics/${topic.name}/partitions/${partition}/records`, {
          records: values.map((value) => ({ value })),
        });
        if (r.kind === 'ok') {
          const slot = RecreatedTopic.slot(this.acked, this.incarnation, partition);
          for (const [i, o] of (r.body.offsets as { offset: number }[]).entries()) slot.set(o.offset, values[i]!);
        } else await sleep(100);
      }
      if (this.opts.flags.stopSending) return;
      await mustRequest(url, 'DELETE', `/v1/topics/${topic.name}`, undefined, [404]);
      bump(this.opts.outcomes, 'recreate deleted');
      this.incarnation += 1;
    }
  }

  private async consume(): Promise<void> {
    const strata = new Strata({ url: this.opts.url, requestTimeoutMs: REQUEST_TIMEOUT_MS });
    while (!this.closed) {
      const consumer = strata.subscribe(this.opts.topic.name, {
        group: this.opts.group,
        waitMs: 1_000,
        sessionTimeoutMs: 6_000,
        autoCommitIntervalMs: 1_000,
        maxRetryTimeMs: 180_000,
      });
      this.consumer = consumer;
      try {
        for await (const r of consumer) {
          const value = r.value!.toString('utf8');
          RecreatedTopic.slot(this.delivered, Number(keyOfValue(value)), r.partition).set(r.offset, value);
        }
      } catch (err) {
        bump(this.opts.outcomes, `recreate consumer failed ${(err as { code?: string }).code ?? (err as Error).name}`);
        await consumer.close({ commit: false }).catch(() => undefined);
        if (!this.closed) await sleep(500);
      }
    }
  }

  /** Acknowledged records of the current incarnation that the consumer has not delivered. */
  undelivered(): number {
    let missing = 0;
    for (const [partition, offsets] of this.acked.get(this.incarnation) ?? []) {
      const seen = this.delivered.get(this.incarnation)?.get(partition);
      for (const [offset, value] of offsets) if (seen?.get(offset) !== value) missing += 1;
    }
    return missing;
  }

  /**
   * Offsets the group committed in the current incarnation that are past its high
   * watermark or below which something was not delivered in this incarnation: a position
   * carried over from an old one.
   */
  async badCommits(): Promise<number> {
    await this.consumer?.commit().catch(() => undefined);
    const described = await mustRequest(this.opts.url, 'GET', `/v1/topics/${this.opts.topic.name}`);
    const highWatermarks = new Map(
      (described.body.partitionStates as { partition: number; highWatermark: number }[]).map((s) => [s.partition, s.highWatermark]),
    );
    const committed = await mustRequest(this.opts.url, 'GET', `/v1/groups/${this.opts.group}/offsets?topic=${this.opts.topic.name}`);
    let bad = 0;
    for (const o of committed.body.offsets as { partition: number; offset: number }[]) {
      if (o.offset > (highWatermarks.get(o.partition) ?? 0)) bad += 1;
      const seen = this.delivered.get(this.incarnation)?.get(o.partition);
      for (let offset = 0; offset < Math.min(o.offset, highWatermarks.get(o.partition) ?? 0); offset++) if (!seen?.has(offset)) bad += 1;
    }
    return bad;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.writing.catch(() => undefined);
    await this.consumer?.close().catch(() => undefined);
    await this.consuming.catch(() => undefined);
  }
}
