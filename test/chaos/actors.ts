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
import { Strata } from '../../client/index.js';
import type { Consumer } from '../../client/consumer.js';
import { partitionForKey } from '../../lib/partitioner.js';
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

export function bump(counts: OutcomeCounts, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

const REQUEST_TIMEOUT_MS = 15_000;

export type RawResult =
  | { kind: 'ok'; status: number; body: any }
  | { kind: 'error'; status: number; body: any }
  | { kind: 'refused' }
  | { kind: 'lost'; why: string };

/** One HTTP request; never throws. */
export async function rawRequest(url: string, method: string, path: string, body?: unknown, timeoutMs = REQUEST_TIMEOUT_MS): Promise<RawResult> {
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
export async function mustRequest(url: string, method: string, path: string, body?: unknown, accept: number[] = []): Promise<RawResult & { kind: 'ok' | 'error' }> {
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
export async function rawAppender(opts: {
  url: string;
  name: string;
  topic: TopicSpec;
  history: History;
  flags: RunFlags;
  outcomes: OutcomeCounts;
  anomalies: OutcomeCounts;
  random: () => number;
  /** Share of requests that are topic-level keyed appends (compacted topics: all). */
  keyedShare: number;
  maxBatch: number;
}): Promise<void> {
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
export async function idempotentProducer(opts: {
  url: string;
  name: string;
  topic: TopicSpec;
  history: History;
  flags: RunFlags;
  outcomes: OutcomeCounts;
  anomalies: OutcomeCounts;
  random: () => number;
  window: number;
}): Promise<void> {
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
    bump(opts.outcomes, r.kind === 'error' ? `read ${r.status} ${r.body?.error?.code ?? ''}` : `read ${r.kind === 'lost' ? r.why : 'connection refused'}`);
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
      }
    }
  }

  /** Commits what was delivered (fenced by the generation; a refusal is counted, not thrown). */
  async commit(): Promise<void> {
    await this.consumer?.commit().catch((err: unknown) => bump(this.opts.outcomes, `group commit refused ${(err as { code?: string }).code ?? ''}`));
  }

  /** Commits what was delivered and leaves the group. */
  async close(): Promise<void> {
    this.closed = true;
    await this.consumer?.close();
    await this.running;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
