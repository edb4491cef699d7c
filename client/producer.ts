/**
 * The producer: batches records per partition, sends each batch with one request, and
 * retries what may be retried. Idempotent by default, so that a retry after a lost
 * answer never writes a record twice.
 *
 * How a record travels:
 *
 *     send() ─▶ partition (explicit > murmur2(key) > sticky) ─▶ that partition's queue
 *     queue  ─▶ a batch when the batching policy says so (below)
 *     batch  ─▶ POST …/partitions/{p}/records with producer {producerId, epoch, sequence}
 *
 * When a batch goes. Every request is billed on AWS (API Gateway, a Lambda invocation,
 * DynamoDB writes, an S3 PUT when staged), so the producer makes batches as large as
 * the latency the user accepts allows. Two policies:
 *
 * - **Latency budget** (the default; `latencyBudgetMs`, `targetBatchBytes`): a partition's
 *   batch goes as soon as it holds `targetBatchBytes` (or `batchRecords`), or when its
 *   oldest record has waited `latencyBudgetMs` less the expected request time, a moving
 *   estimate of recent round trips (RoundTripEstimate). So the oldest record is
 *   acknowledged about `latencyBudgetMs` after its send(), and a batch grows toward the
 *   target for as long as that allows: at a high rate it fills to the target early; at a
 *   low rate it goes when the budget runs out. The peers' knobs: Kafka's `linger.ms` +
 *   `batch.size` (5 ms, 16 KiB), the KPL's `RecordMaxBufferedTime` (100 ms), WarpStream's
 *   agent `batchTimeout` (250 ms), S2's `linger` (5 ms); none of them counts the request
 *   time in the wait.
 *
 *       send(r1)        r2 … rn queue            due = r1's send + budget − expected RTT
 *       ├──────────────────────────────────────────┤ POST (one request) ──────▶ ack
 *       │◀────────────────────── latencyBudgetMs ─────────────────────────────────▶│
 *
 *   While the partition's in-flight limit is reached, records keep queueing and the
 *   next batch grows for free; when a slot frees it goes at once if it is full or due.
 * - **Fixed linger** (`lingerMs` given): the batch goes when it holds `batchRecords` /
 *   `batchBytes`, or `lingerMs` after its first record was queued (the policy before
 *   the budget existed; `lingerMs: 0` sends at once).
 *
 * Either way `flush()` and `close()` send everything at once, and a batch never holds
 * more than `batchRecords` records or `batchBytes` bytes.
 *
 * Ordering and idempotence: each batch gets the partition's next sequence number when it
 * is sent, and keeps it across retries, so the server answers a retry of a batch it
 * already committed with the original offsets (DUPLICATE, not a second write). With
 * up to `maxInFlightPerPartition` batches in flight, a batch whose answer is an error
 * waits until the batch before it has settled, then:
 *
 * | previous batch | this batch's error                      | then                          |
 * | -------------- | --------------------------------------- | ----------------------------- |
 * | failed         | any                                     | fail (never land after a gap) |
 * | ok             | OUT_OF_ORDER_SEQUENCE (it arrived first)| retry                         |
 * | ok             | retryable (503, 429, timeout, network)  | retry until deliveryTimeoutMs |
 * | ok             | anything else (4xx)                     | fail                          |
 *
 * After a failure the partition starts a new epoch at sequence 0 once nothing is in
 * flight, so later sends are accepted again.
 */
import { randomUUID } from 'node:crypto';
import { StrataError } from '../lib/core/errors.js';
import { partitionForKey } from '../lib/topics/partitioner.js';
import type { AppendResult } from '../lib/wire/api.js';
import { ClientClosedError, ConnectionError, PreviousBatchFailedError } from './errors.js';
import type { AppendApi } from './ports.js';
import { type ProducerRecord, type RecordMetadata, recordSize, toBytes } from './records.js';
import { type Backoff, backoffDelay, PRODUCER_BACKOFF, sleep } from './retry.js';

export interface ProducerOptions {
  /**
   * The latency budget, in ms: how long after its send() the oldest record of a batch
   * should be acknowledged, its wait in the queue plus the request that carries it. A
   * partial batch goes when its oldest record has waited this long less the expected
   * request time (a moving estimate of recent round trips); a full one
   * (`targetBatchBytes`) goes at once. Default 500 (DEFAULT_LATENCY_BUDGET_MS); 0 sends
   * at once. A whole number up to 60 000. Not with `lingerMs`.
   *
   * @example
   * strata.producer({ latencyBudgetMs: 250 }); // fewer, larger requests; ~250 ms to ack
   */
  latencyBudgetMs?: number;
  /**
   * The batch size, in bytes, at which a partition's batch goes without waiting for the
   * budget to run out. Default 256 KiB (DEFAULT_TARGET_BATCH_BYTES), or `batchBytes` if
   * smaller; at most `batchBytes`. A batch that grew past it while a request was in
   * flight goes whole, up to `batchBytes`. Not with `lingerMs`.
   */
  targetBatchBytes?: number;
  /**
   * The fixed-linger policy instead of the latency budget: a partial batch goes this long
   * after its first record was queued, a batch of `batchRecords` / `batchBytes` at once;
   * 0 sends every record at once. Given, `latencyBudgetMs` and `targetBatchBytes` may not
   * be. Up to 60 000 ms.
   */
  lingerMs?: number;
  /** Most records in one request. Default 1000 (the server takes up to 10 000). */
  batchRecords?: number;
  /** Most bytes of records in one request. Default 1 MiB (requests are at most 6 MB). */
  batchBytes?: number;
  /** Requests in flight per partition; order is kept for any value. Default 1, at most 5. */
  maxInFlightPerPartition?: number;
  /** Deduplicate retries with producer id, epoch and sequence numbers. Default true. */
  idempotent?: boolean;
  /** Producer id; default a random UUID per producer. */
  producerId?: string;
  /**
   * First epoch. Default 0 for a random id; for a given `producerId`, the current time in
   * ms, so that a restarted producer with the same id fences its previous instance.
   */
  epoch?: number;
  /** A send fails once its batch has been retried for this long. Default 120 000 ms. */
  deliveryTimeoutMs?: number;
  /** Backoff between retries (full jitter, client/retry.ts). Defaults 50 and 2000 ms (PRODUCER_BACKOFF). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** send() waits while this many bytes are queued or in flight. Default 32 MiB. */
  maxBufferedBytes?: number;
  /**
   * The producer's time and timers. Default the process's (performance.now, setTimeout).
   * @internal for simulations (bench/cost/producer-batching.ts) that run in virtual time.
   */
  clock?: ProducerClock;
}

/**
 * The batching policy's defaults, in one place: the cost model (`npm run cost`, with
 * bench/cost/producer-batching.ts) weighs them against requests per second, so changing the
 * default is an edit here.
 *
 * - 500 ms budget: every request is billed (API Gateway, Lambda, DynamoDB, an S3 PUT
 *   when staged), so the budget is the bill's biggest lever. At 1 MiB/s of 1 KiB records
 *   on 4 partitions (docs/cost.md) it makes ~120 KiB batches, 8 requests/s: the default
 *   config then costs under Kinesis on-demand, where 100 ms (18 KiB, 58 requests/s) costs
 *   about 9×. It is a ceiling, not a delay: a partition whose batch reaches the target sooner
 *   sends it sooner (at 16 MiB/s acks come in ~100 ms). Peers: the Kinesis Producer
 *   Library's RecordMaxBufferedTime 100 ms
 *   (docs.aws.amazon.com/streams/latest/dev/kinesis-kpl-config.html), WarpStream's agent
 *   batchTimeout 250 ms (docs.warpstream.com, "Low Latency Clusters"), Kafka 4.0 and S2
 *   linger 5 ms (KIP-1030; s2.dev/docs/concepts/tuning), but they do not pay per
 *   request. Latency-sensitive producers set a smaller budget (0 sends at once).
 * - 256 KiB target: API Gateway's $1 per million requests becomes ~$0.004 per GiB; the
 *   body stays inside one 512 KB metering unit of an HTTP API request. Above the topic's
 *   default stageBytes (64 KiB), such a batch is staged: one S3 PUT and a pointer item.
 */
export const DEFAULT_LATENCY_BUDGET_MS = 500;
export const DEFAULT_TARGET_BATCH_BYTES = 256 * 1024;
export const DEFAULT_BATCH_RECORDS = 1000;
export const DEFAULT_BATCH_BYTES = 1024 * 1024;
/** What the round-trip estimate starts from, before the first answer: an in-region append on AWS. */
export const INITIAL_ROUND_TRIP_MS = 30;

const MAX_IN_FLIGHT = 5;
const MAX_BATCH_RECORDS = 10_000;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
const MAX_WAIT_MS = 60_000;

/** Time and timers, injectable so that a simulation can run the producer in virtual time. */
export interface ProducerClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const processClock: ProducerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

type BatchingPolicy = { kind: 'linger'; lingerMs: number } | { kind: 'budget'; latencyBudgetMs: number; targetBatchBytes: number };

/**
 * The expected time of an append request, from the round trips of recent successful
 * attempts: a smoothed mean plus one smoothed mean deviation, as TCP estimates its round
 * trip (RFC 6298: gains 1/8 and 1/4, the first sample sets the mean and half of it the
 * deviation). One estimate per producer: every partition's requests go to the same API.
 *
 * @example
 * const rtt = new RoundTripEstimate(30);
 * rtt.expectedMs;   // 30, before any answer
 * rtt.observe(20);  // mean 20, deviation 10
 * rtt.expectedMs;   // 30
 */
export class RoundTripEstimate {
  private meanMs: number | undefined;
  private deviationMs = 0;

  constructor(private readonly initialMs: number) {}

  observe(ms: number): void {
    if (this.meanMs === undefined) {
      this.meanMs = ms;
      this.deviationMs = ms / 2;
      return;
    }
    this.deviationMs += (Math.abs(ms - this.meanMs) - this.deviationMs) / 4;
    this.meanMs += (ms - this.meanMs) / 8;
  }

  get expectedMs(): number {
    return this.meanMs === undefined ? this.initialMs : this.meanMs + this.deviationMs;
  }
}

interface Pending {
  record: ProducerRecord;
  size: number;
  /** When send() was called (clock ms): the latency budget counts from here. */
  sentAt: number;
  resolve: (m: RecordMetadata) => void;
  reject: (e: unknown) => void;
}

interface Batch {
  items: Pending[];
  bytes: number;
  epoch: number;
  sequence: number;
  /** Resolves true when the batch committed, false when it failed. Never rejects. */
  settled: Promise<boolean>;
}

interface PartitionQueue {
  topic: string;
  partition: number;
  pending: Pending[];
  pendingBytes: number;
  timer: unknown;
  /** When `timer` fires (latency budget only). */
  timerAt: number;
  lingerDue: boolean;
  inFlight: number;
  epoch: number;
  nextSequence: number;
  /** A batch failed: start a new epoch before the next send. */
  needsNewEpoch: boolean;
  /**
   * A batch of this epoch was acknowledged. Until then one batch at a time: the server
   * takes any first sequence from a producer it has no state for, so a second batch
   * overtaking the first would be accepted ahead of it.
   */
  acked: boolean;
  lastSettled: Promise<boolean>;
}

export class Producer {
  readonly producerId: string;
  private readonly idempotent: boolean;
  private readonly policy: BatchingPolicy;
  private readonly batchRecords: number;
  private readonly batchBytes: number;
  /** A batch of this many bytes goes without waiting: batchBytes, or the budget's target. */
  private readonly readyBytes: number;
  private readonly maxInFlight: number;
  private readonly deliveryTimeoutMs: number;
  private readonly backoff: Backoff;
  private readonly maxBufferedBytes: number;
  private readonly firstEpoch: number;
  private readonly clock: ProducerClock;
  private readonly roundTrip = new RoundTripEstimate(INITIAL_ROUND_TRIP_MS);
  private readonly queues = new Map<string, PartitionQueue>();
  private readonly partitionCounts = new Map<string, Promise<number>>();
  private readonly sticky = new Map<string, number>();
  private readonly knownCounts = new Map<string, number>();
  private readonly idleWaiters: (() => void)[] = [];
  private bufferedBytes = 0;
  /** Bytes of sends let in by grantSpace that have not enqueued yet. */
  private reservedBytes = 0;
  private spaceWaiters: { bytes: number; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private flushing = 0;
  private closed = false;

  constructor(
    private readonly api: AppendApi,
    options: ProducerOptions = {},
  ) {
    this.idempotent = options.idempotent ?? true;
    this.producerId = options.producerId ?? randomUUID();
    this.firstEpoch = options.epoch ?? (options.producerId !== undefined ? Date.now() : 0);
    this.clock = options.clock ?? processClock;
    this.batchRecords = clamp(options.batchRecords ?? DEFAULT_BATCH_RECORDS, 1, MAX_BATCH_RECORDS, 'batchRecords');
    this.batchBytes = clamp(options.batchBytes ?? DEFAULT_BATCH_BYTES, 1, MAX_BATCH_BYTES, 'batchBytes');
    this.policy = batchingPolicy(options, this.batchBytes);
    this.readyBytes = this.policy.kind === 'budget' ? this.policy.targetBatchBytes : this.batchBytes;
    this.maxInFlight = clamp(options.maxInFlightPerPartition ?? 1, 1, MAX_IN_FLIGHT, 'maxInFlightPerPartition');
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 120_000;
    this.backoff = {
      baseDelayMs: options.retryBaseDelayMs ?? PRODUCER_BACKOFF.baseDelayMs,
      maxDelayMs: options.retryMaxDelayMs ?? PRODUCER_BACKOFF.maxDelayMs,
    };
    this.maxBufferedBytes = options.maxBufferedBytes ?? 32 * 1024 * 1024;
  }

  /**
   * Queues records for `topic`; resolves, in the order given, with where each landed once
   * all are acknowledged. Rejects with the engine's error if a record could not be
   * written (then none of the records after it in the same partition were written either).
   */
  send(topic: string, records: ProducerRecord | ProducerRecord[]): Promise<RecordMetadata[]> {
    return this.submit(topic, Array.isArray(records) ? records : [records], this.clock.now());
  }

  private submit(topic: string, list: ProducerRecord[], sentAt: number): Promise<RecordMetadata[]> {
    if (this.closed) return Promise.reject(new ClientClosedError('producer'));
    const count = this.knownCounts.get(topic);
    // While the topic's partition count is being fetched, every send to it waits, so
    // that a later send cannot overtake an earlier one.
    if (count === undefined && (this.partitionCounts.has(topic) || list.some((r) => r.partition === undefined))) {
      return this.partitionCount(topic).then(() => this.submit(topic, list, sentAt));
    }
    const sizes = list.map(recordSize);
    const bytes = sizes.reduce((a, b) => a + b, 0);
    const enqueueAll = (granted = 0) => {
      this.reservedBytes -= granted;
      const promises = list.map((record, i) => this.enqueue(topic, this.choosePartition(topic, record, count), record, sizes[i]!, sentAt));
      return promises.length === 1 ? promises[0]!.then((m) => [m]) : Promise.all(promises);
    };
    // Backpressure: wait, in call order, while the buffer is full (one call may overshoot it).
    const used = this.bufferedBytes + this.reservedBytes;
    if (this.spaceWaiters.length > 0 || (used > 0 && used + bytes > this.maxBufferedBytes)) {
      return new Promise<void>((resolve, reject) => this.spaceWaiters.push({ bytes, resolve, reject })).then(() => enqueueAll(bytes));
    }
    return enqueueAll();
  }

  /** Sends every queued record now and waits until all are acknowledged or failed. */
  async flush(): Promise<void> {
    this.flushing += 1;
    try {
      for (const q of this.queues.values()) this.drain(q);
      while (!this.isIdle()) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    } finally {
      this.flushing -= 1;
    }
  }

  /** Flushes, then refuses further sends. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    for (const q of this.queues.values()) {
      if (q.timer !== undefined) this.clock.clearTimeout(q.timer);
      q.timer = undefined;
    }
    for (const w of this.spaceWaiters.splice(0)) w.reject(new ClientClosedError('producer'));
  }

  private isIdle(): boolean {
    if (this.spaceWaiters.length > 0 || this.reservedBytes > 0) return false;
    for (const q of this.queues.values()) if (q.pending.length > 0 || q.inFlight > 0) return false;
    return true;
  }

  /** Lets waiting sends in, oldest first, as far as the freed space goes. */
  private grantSpace(): void {
    let granted = 0;
    while (this.spaceWaiters.length > granted) {
      const w = this.spaceWaiters[granted]!;
      // Granted bytes count at once (reservedBytes), before the woken send enqueues them.
      const used = this.bufferedBytes + this.reservedBytes;
      if (used > 0 && used + w.bytes > this.maxBufferedBytes) break;
      this.reservedBytes += w.bytes;
      w.resolve();
      granted += 1;
    }
    if (granted > 0) this.spaceWaiters.splice(0, granted);
  }

  private choosePartition(topic: string, r: ProducerRecord, count: number | undefined): number {
    if (r.partition !== undefined) return r.partition;
    if (r.key !== undefined && r.key !== null) return partitionForKey(toBytes(r.key), count!);
    // Kafka's sticky partitioner: keyless records fill one partition's batch, then move on.
    let p = this.sticky.get(topic);
    if (p === undefined || p >= count!) {
      p = Math.floor(Math.random() * count!);
      this.sticky.set(topic, p);
    }
    return p;
  }

  private partitionCount(topic: string): Promise<number> {
    let p = this.partitionCounts.get(topic);
    if (!p) {
      p = this.api.describeTopic(topic).then((d) => {
        this.knownCounts.set(topic, d.partitions);
        return d.partitions;
      });
      p.catch(() => this.partitionCounts.delete(topic));
      this.partitionCounts.set(topic, p);
    }
    return p;
  }

  private enqueue(topic: string, partition: number, record: ProducerRecord, size: number, sentAt: number): Promise<RecordMetadata> {
    const q = this.queue(topic, partition);
    return new Promise<RecordMetadata>((resolve, reject) => {
      q.pending.push({ record, size, sentAt, resolve, reject });
      q.pendingBytes += size;
      this.bufferedBytes += size;
      const policy = this.policy;
      // The budget's drain decides and sets its own timer; the fixed linger's timer runs
      // from the first record queued, whatever is in flight.
      if (
        policy.kind === 'budget' ||
        q.pending.length >= this.batchRecords ||
        q.pendingBytes >= this.batchBytes ||
        this.flushing > 0 ||
        policy.lingerMs === 0
      )
        this.drain(q);
      else this.armTimer(q);
    });
  }

  private lingerTimerFired(q: PartitionQueue): void {
    q.timer = undefined;
    q.lingerDue = q.pending.length > 0;
    this.drain(q);
  }

  private queue(topic: string, partition: number): PartitionQueue {
    const key = `${topic}\u0000${partition}`;
    let q = this.queues.get(key);
    if (!q) {
      q = {
        topic,
        partition,
        pending: [],
        pendingBytes: 0,
        timer: undefined,
        timerAt: 0,
        lingerDue: false,
        inFlight: 0,
        epoch: this.firstEpoch,
        nextSequence: 0,
        needsNewEpoch: false,
        acked: false,
        lastSettled: Promise.resolve(true),
      };
      this.queues.set(key, q);
    }
    return q;
  }

  /** Sends as many batches of `q` as its in-flight limit and the batching rules allow. */
  private drain(q: PartitionQueue): void {
    const limit = () => (q.acked || !this.idempotent ? this.maxInFlight : 1);
    while (q.pending.length > 0 && q.inFlight < limit()) {
      if (this.flushing === 0 && !this.batchDue(q)) break;
      if (q.needsNewEpoch) {
        if (q.inFlight > 0) break;
        q.epoch += 1;
        q.nextSequence = 0;
        q.needsNewEpoch = false;
        q.acked = false;
        q.lastSettled = Promise.resolve(true);
      }
      // One splice per batch: shift() per record is quadratic on a long queue.
      let n = 0;
      let bytes = 0;
      while (n < q.pending.length && n < this.batchRecords && (n === 0 || bytes + q.pending[n]!.size <= this.batchBytes)) {
        bytes += q.pending[n]!.size;
        n += 1;
      }
      const items = q.pending.splice(0, n);
      q.pendingBytes -= bytes;
      q.lingerDue = false;
      if (this.sticky.get(q.topic) === q.partition) this.sticky.delete(q.topic);
      this.dispatch(q, items, bytes);
    }
    // At the in-flight limit no timer is needed: the batch that settles drains again.
    if (q.pending.length > 0 && q.inFlight < limit()) this.armTimer(q);
  }

  /** Whether `q`'s queue should go now (flushes aside). */
  private batchDue(q: PartitionQueue): boolean {
    if (q.pending.length >= this.batchRecords || q.pendingBytes >= this.readyBytes) return true;
    if (this.policy.kind === 'linger') return q.lingerDue || this.policy.lingerMs === 0;
    return this.clock.now() >= this.budgetDueAt(q, this.policy.latencyBudgetMs);
  }

  /** When the oldest queued record's batch must go to be acknowledged within the budget. */
  private budgetDueAt(q: PartitionQueue, latencyBudgetMs: number): number {
    return q.pending[0]!.sentAt + Math.max(0, latencyBudgetMs - this.roundTrip.expectedMs);
  }

  /** Wakes `q` when its partial batch falls due. */
  private armTimer(q: PartitionQueue): void {
    const policy = this.policy;
    if (policy.kind === 'linger') {
      q.timer ??= this.clock.setTimeout(() => this.lingerTimerFired(q), policy.lingerMs);
      return;
    }
    const at = this.budgetDueAt(q, policy.latencyBudgetMs);
    // A wake-up already set for this time or earlier will do: an early one drains and
    // arms again. A later one (the estimate grew, or its record went) is replaced.
    if (q.timer !== undefined) {
      if (q.timerAt <= at) return;
      this.clock.clearTimeout(q.timer);
    }
    q.timerAt = at;
    q.timer = this.clock.setTimeout(
      () => {
        q.timer = undefined;
        this.drain(q);
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  private dispatch(q: PartitionQueue, items: Pending[], bytes: number): void {
    const previous = q.lastSettled;
    let settle!: (ok: boolean) => void;
    const batch: Batch = {
      items,
      bytes,
      epoch: q.epoch,
      sequence: q.nextSequence,
      settled: new Promise<boolean>((resolve) => (settle = resolve)),
    };
    q.nextSequence += items.length;
    q.lastSettled = batch.settled;
    q.inFlight += 1;
    // A batch completes (and frees its in-flight slot) only after the one before it: so
    // at most maxInFlight batches are ever unsettled, all within the server's window of
    // PRODUCER_DEDUP_WINDOW remembered batches, and sends resolve in order.
    void this.deliver(q, batch, previous)
      .then(async (result) => {
        await previous;
        return result;
      })
      .then(
        (result) => {
          for (const [i, p] of batch.items.entries())
            p.resolve({ topic: q.topic, partition: q.partition, offset: result.offsets[i]!.offset });
          if (batch.epoch === q.epoch) q.acked = true;
          settle(true);
        },
        (err: unknown) => {
          for (const p of batch.items) p.reject(err);
          q.needsNewEpoch = this.idempotent;
          settle(false);
        },
      )
      .finally(() => {
        q.inFlight -= 1;
        this.bufferedBytes -= bytes;
        this.grantSpace();
        this.drain(q);
        if (this.isIdle()) for (const w of this.idleWaiters.splice(0)) w();
      });
  }

  private async deliver(q: PartitionQueue, batch: Batch, previous: Promise<boolean>): Promise<AppendResult> {
    const deadline = this.clock.now() + this.deliveryTimeoutMs;
    const records = batch.items.map((p) => p.record);
    const options = {
      partition: q.partition,
      ...(this.idempotent ? { producer: { producerId: this.producerId, epoch: batch.epoch, sequence: batch.sequence } } : {}),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        const begin = this.clock.now();
        const result = await this.api.append(q.topic, records, options);
        this.roundTrip.observe(this.clock.now() - begin);
        // A batch that committed after its predecessor failed would break order; with
        // sequence numbers the server refuses it, this only guards the non-idempotent path.
        return result;
      } catch (err) {
        const previousOk = await previous;
        if (!previousOk) {
          throw new PreviousBatchFailedError(q.topic, q.partition, err);
        }
        if (!this.mayRetry(err) || this.clock.now() >= deadline) throw err;
        const retryAfterMs = ((err as { retryAfterSeconds?: number }).retryAfterSeconds ?? 0) * 1000;
        await sleep(Math.max(backoffDelay(this.backoff, attempt), Math.min(retryAfterMs, this.backoff.maxDelayMs)), (fn, ms) =>
          this.clock.setTimeout(fn, ms),
        );
      }
    }
  }

  /** Idempotent: anything that may succeed later. Otherwise only what surely wrote nothing. */
  private mayRetry(err: unknown): boolean {
    if (!(err instanceof StrataError)) return false;
    if (this.idempotent) return err.retryable || err.code === 'OUT_OF_ORDER_SEQUENCE';
    if (err.code === 'THROTTLED') return true;
    return err instanceof ConnectionError && (err.cause as { cause?: { code?: string } })?.cause?.code === 'ECONNREFUSED';
  }
}

function clamp(value: number, min: number, max: number, name: string): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`${name} must be a whole number from ${min} to ${max}; got ${value}`);
  return value;
}

/**
 * The batching policy the options ask for: the fixed linger when `lingerMs` is given,
 * else the latency budget. Throws a RangeError that names the option at fault.
 */
function batchingPolicy(options: ProducerOptions, batchBytes: number): BatchingPolicy {
  if (options.lingerMs !== undefined) {
    if (options.latencyBudgetMs !== undefined || options.targetBatchBytes !== undefined) {
      throw new RangeError(
        'lingerMs chooses the fixed-linger policy, latencyBudgetMs and targetBatchBytes the latency budget: give one or the other',
      );
    }
    const lingerMs = options.lingerMs;
    if (typeof lingerMs !== 'number' || !(lingerMs >= 0 && lingerMs <= MAX_WAIT_MS))
      throw new RangeError(`lingerMs must be a number of ms from 0 to ${MAX_WAIT_MS}; got ${lingerMs}`);
    return { kind: 'linger', lingerMs };
  }
  const latencyBudgetMs = clamp(options.latencyBudgetMs ?? DEFAULT_LATENCY_BUDGET_MS, 0, MAX_WAIT_MS, 'latencyBudgetMs');
  const targetBatchBytes = options.targetBatchBytes ?? Math.min(DEFAULT_TARGET_BATCH_BYTES, batchBytes);
  if (!Number.isInteger(targetBatchBytes) || targetBatchBytes < 1 || targetBatchBytes > batchBytes) {
    throw new RangeError(`targetBatchBytes must be a whole number from 1 to batchBytes (${batchBytes}); got ${targetBatchBytes}`);
  }
  return { kind: 'budget', latencyBudgetMs, targetBatchBytes };
}
