/**
 * The consumer: an async iterator over a topic's records, fed by one long-poll read
 * loop per partition. Alone it reads the partitions it is given from a start position;
 * in a group it reads the partitions the group assigns it and commits its progress.
 *
 * @example
 * const consumer = strata.subscribe('orders', { group: 'billing' });
 * for await (const record of consumer) {
 *   await bill(record.value);            // committed automatically after this returns
 * }
 *
 * Delivery is at-least-once. A record counts as processed once the loop asks for the
 * next one (or calls `commit()`), and positions are committed every
 * `autoCommitIntervalMs` and on close. What can repeat:
 * - records processed since the last commit, after a crash: the next owner starts from
 *   the committed offset;
 * - records a member read of a partition the group has just moved, between the
 *   rebalance and its next heartbeat (at most one heartbeat interval): its commits of
 *   that partition are refused (STALE_GENERATION), the new owner reads from the
 *   committed offset.
 * Nothing is skipped: a committed offset is always one past a record that was processed.
 *
 * A topic deleted and re-created under the consumer is a new log (a new `topicId`): a
 * position in the old one means nothing there. When a read answers from a new
 * incarnation, or a commit is refused with TOPIC_INCARNATION_MISMATCH, the partition
 * starts again from `fromOffset`/`fromTimestamp` (the reset policy) in the new topic, and
 * what was processed of the old one is not committed.
 *
 * Backpressure: a partition's loop stops reading while `maxBufferedRecords` records wait
 * to be consumed. Reads continue from each response's `nextOffset` (a compacted topic has
 * gaps; segments and the DynamoDB tail are paged through by the server).
 */
import { randomUUID } from 'node:crypto';
import {
  OffsetOutOfRangeError,
  StaleGenerationError,
  StrataError,
  TopicIncarnationMismatchError,
  UnknownMemberError,
} from '../lib/core/errors.js';
import type { Membership } from '../lib/wire/api.js';
import { ClientClosedError } from './errors.js';
import type { GroupApi, ReadApi, ReadResult } from './ports.js';
import { PushChannel } from './push.js';
import type { ConsumedRecord } from './records.js';
import { backoffDelay, CONSUMER_BACKOFF, sleep } from './retry.js';

export interface SubscribeOptions {
  /** Consume as a member of this consumer group (shared partitions, committed offsets). */
  group?: string;
  /**
   * Where to start: an offset, `earliest` or `latest`. In a group it applies only to
   * partitions the group has no committed offset for. Default `earliest`. It is also where
   * a partition starts again when its topic was deleted and re-created.
   */
  fromOffset?: number | 'earliest' | 'latest';
  /** Start at the first record with a timestamp ≥ this (ms); instead of `fromOffset`. */
  fromTimestamp?: number;
  /** Without a group: only these partitions (default all). */
  partitions?: number[];
  /**
   * false: end the iteration once every partition reached the high watermark seen when
   * its reading started (in a group: the partitions assigned so far). Default true.
   */
  follow?: boolean;
  /** Long-poll wait of each read, ms (max 20 000). Default 10 000. */
  waitMs?: number;
  /**
   * Wait for the push endpoint's notifications instead of long-polling once caught up,
   * when the deployment offers one (`GET /v1/push`; docs/push.md). Default true. A
   * caught-up partition then costs no request (on AWS: no Lambda held) until its high
   * watermark moves; whenever the channel is down the loops long-poll.
   */
  push?: boolean;
  /** Records per read. Default 500. */
  maxRecords?: number;
  /** Reads pause while this many records wait to be consumed. Default 1000. */
  maxBufferedRecords?: number;
  /** Commit processed positions every autoCommitIntervalMs and on close (group only). Default true. */
  autoCommit?: boolean;
  autoCommitIntervalMs?: number;
  /** Group lease: heartbeats every third of it; a silent member is removed after it. Default 10 000. */
  sessionTimeoutMs?: number;
  /** Shown by `describeGroup`. */
  clientId?: string;
  /**
   * A retryable failure (network, timeout, 503, throttling) of a read, a group join or an
   * offset lookup surfaces after being retried this long. Default 60 000.
   */
  maxRetryTimeMs?: number;
  /** Called when partitions are given to this consumer (also the first time), with the offset each starts from. */
  onPartitionsAssigned?: (partitions: number[], startOffsets: Record<number, number>) => void;
  /** Called when partitions are taken away; their unconsumed buffered records are dropped. */
  onPartitionsRevoked?: (partitions: number[]) => void;
}

interface Fetcher {
  partition: number;
  position: number;
  /** The incarnation of the topic `position` belongs to; unknown until the first read answers. */
  topicId: string | undefined;
  /** Start again from the reset policy before the next read (the topic was re-created). */
  restart: boolean;
  /** Stop when the position reaches it (follow: false). */
  endOffset: number | undefined;
  abort: AbortController;
  stopped: boolean;
  done: boolean;
}

const DEFAULT_WAIT_MS = 10_000;

export class Consumer implements AsyncIterableIterator<ConsumedRecord> {
  private readonly fetchers = new Map<number, Fetcher>();
  private readonly queue: ConsumedRecord[] = [];
  private readonly dataWaiters: (() => void)[] = [];
  private readonly spaceWaiters: (() => void)[] = [];
  /** partition → offset of the next record to process (uncommitted progress) and the topic incarnation it is in. */
  private readonly consumed = new Map<number, { offset: number; topicId: string | undefined }>();
  /** The incarnation each queued record was read from. */
  private readonly incarnation = new WeakMap<ConsumedRecord, string>();
  private lastDelivered: ConsumedRecord | undefined;
  private failure: unknown;
  private started: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;
  private membership: Membership | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private lastCommitAt = 0;
  private groupTask: Promise<void> = Promise.resolve();
  /** The current generation's new partitions could not be started yet (a retryable error): the next heartbeat tries again. */
  private assignmentPending = false;
  private readonly follow: boolean;
  private push: PushChannel | undefined;
  private pushStarting: Promise<void> | undefined;
  private readonly opts: Required<
    Pick<SubscribeOptions, 'waitMs' | 'maxRecords' | 'maxBufferedRecords' | 'autoCommitIntervalMs' | 'maxRetryTimeMs'>
  >;

  constructor(
    private readonly api: ReadApi & GroupApi,
    readonly topic: string,
    private readonly options: SubscribeOptions = {},
  ) {
    this.follow = options.follow ?? true;
    this.opts = {
      waitMs: options.waitMs ?? DEFAULT_WAIT_MS,
      maxRecords: options.maxRecords ?? 500,
      maxBufferedRecords: options.maxBufferedRecords ?? 1000,
      autoCommitIntervalMs: options.autoCommitIntervalMs ?? 5000,
      maxRetryTimeMs: options.maxRetryTimeMs ?? 60_000,
    };
    if (options.group === undefined && options.autoCommit) throw new RangeError('autoCommit needs a group');
    if (options.group !== undefined && options.partitions)
      throw new RangeError('partitions are chosen by the group; drop partitions or group');
  }

  /** The group member id, once joined. */
  get memberId(): string | undefined {
    return this.membership?.memberId;
  }

  get generation(): number | undefined {
    return this.membership?.generation;
  }

  /** The partitions this consumer reads now. */
  get assignment(): number[] {
    return [...this.fetchers.keys()].sort((a, b) => a - b);
  }

  /** Records read and waiting to be consumed (bounded by maxBufferedRecords plus one read). */
  get bufferedRecords(): number {
    return this.queue.length;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ConsumedRecord>> {
    this.markProcessed();
    this.started ??= this.start();
    try {
      await this.started;
    } catch (err) {
      await this.close({ commit: false });
      throw err;
    }
    for (;;) {
      if (this.failure !== undefined) {
        const err = this.failure;
        await this.close({ commit: false });
        throw err;
      }
      const record = this.queue.shift();
      if (record) {
        for (const w of this.spaceWaiters.splice(0)) w();
        this.lastDelivered = record;
        return { value: record, done: false };
      }
      if (this.closed) return { value: undefined, done: true };
      if (!this.follow && this.fetchers.size > 0 && [...this.fetchers.values()].every((f) => f.done)) {
        await this.close();
        return { value: undefined, done: true };
      }
      await new Promise<void>((resolve) => this.dataWaiters.push(resolve));
    }
  }

  /** `break` out of a for-await loop ends here: commit (group) and leave. */
  async return(): Promise<IteratorResult<ConsumedRecord>> {
    await this.close();
    return { value: undefined, done: true };
  }

  /**
   * Commits the group's position after every record handed out so far, including the
   * one being processed. In a group the commit is fenced by the generation: after a
   * rebalance it throws StaleGenerationError and progress on moved partitions is lost
   * (those records will be delivered again to their new owner). Progress in a topic that
   * has since been deleted and re-created is not committed: those partitions start again
   * from the reset policy, and the rest is committed.
   */
  async commit(): Promise<void> {
    this.markProcessed();
    await this.commitConsumed(true);
  }

  /**
   * Moves a partition this consumer reads to `offset`: records of it already buffered
   * are dropped and the next one delivered is the first at or after `offset`. In a group
   * the new position is committed like any other progress once a record is processed.
   */
  seek(partition: number, offset: number): void {
    const f = this.fetchers.get(partition);
    if (!f)
      throw new RangeError(`partition ${partition} is not read by this consumer (it reads ${this.assignment.join(', ') || 'none yet'})`);
    this.stopFetcher(f);
    this.dropQueued(new Set([partition]));
    this.consumed.delete(partition);
    const next: Fetcher = { ...this.newFetcher(partition, offset, f.endOffset), topicId: f.topicId };
    this.fetchers.set(partition, next);
    void this.fetchLoop(next);
  }

  /**
   * Stops reading. By default commits processed positions and leaves the group, so its
   * partitions move to the other members at once. `{ commit: false, leave: false }`
   * stops as a crash would (tests use it to kill a member).
   */
  async close(options: { commit?: boolean; leave?: boolean } = {}): Promise<void> {
    this.closing ??= this.shutdown(options.commit ?? true, options.leave ?? true);
    return this.closing;
  }

  private async shutdown(commit: boolean, leave: boolean): Promise<void> {
    if (this.heartbeatTimer) clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.closed = true;
    for (const f of this.fetchers.values()) this.stopFetcher(f);
    await this.pushStarting;
    this.push?.close();
    for (const w of this.dataWaiters.splice(0)) w();
    for (const w of this.spaceWaiters.splice(0)) w();
    await this.groupTask.catch(() => undefined);
    // A join still in flight would leave a member behind until its lease ran out.
    await this.started?.catch(() => undefined);
    if (this.options.group !== undefined && this.membership) {
      if (commit && (this.options.autoCommit ?? true)) {
        this.markProcessed();
        await this.commitConsumed(false).catch(() => undefined);
      }
      if (leave) await this.api.leaveGroup(this.options.group, this.membership.memberId).catch(() => undefined);
    }
  }

  private markProcessed(): void {
    const r = this.lastDelivered;
    if (!r) return;
    this.lastDelivered = undefined;
    if (this.fetchers.has(r.partition)) this.consumed.set(r.partition, { offset: r.offset + 1, topicId: this.incarnation.get(r) });
  }

  /** The push channel, once the endpoint offered one (tests and tools look at its counters). */
  get pushChannel(): PushChannel | undefined {
    return this.push;
  }

  private async start(): Promise<void> {
    // Found before the first reads, so a caught-up partition never starts with a long-poll.
    await this.startPush();
    if (this.options.group === undefined) {
      const partitions = this.options.partitions ?? range((await this.retrying(() => this.api.describeTopic(this.topic))).partitions);
      await this.retrying(() => this.assign(partitions, new Map()));
      return;
    }
    const membership = await this.retrying(this.joiner());
    await this.retrying(() => this.applyMembership(membership));
    this.scheduleHeartbeat();
  }

  /**
   * Opens the push channel in the background when the deployment offers one; until it is
   * subscribed (and whenever it is down) the loops long-poll as before.
   */
  private startPush(): Promise<void> {
    if (!this.follow || this.options.push === false) return Promise.resolve();
    return (this.pushStarting ??= (async () => {
      const discovery = await this.api.pushDiscovery().catch(() => undefined);
      if (!discovery || this.closed) return;
      const presign = discovery.signed ? this.api.webSocketPresigner(new URL(discovery.url)) : undefined;
      this.push = new PushChannel(discovery, this.topic, presign ? { presign } : {});
      this.push.start(this.assignment);
    })().catch(() => undefined));
  }

  /**
   * A join under a member id chosen here, so that retrying it after a lost answer renews
   * the same member instead of adding a second one that would hold partitions until its
   * lease ran out.
   */
  private joiner(): () => Promise<Membership> {
    const memberId = randomUUID();
    return () =>
      this.api.joinGroup(this.options.group!, {
        topics: [this.topic],
        memberId,
        ...(this.options.clientId !== undefined ? { clientId: this.options.clientId } : {}),
        ...(this.options.sessionTimeoutMs !== undefined ? { sessionTimeoutMs: this.options.sessionTimeoutMs } : {}),
      });
  }

  /**
   * Runs `call` again on retryable errors (throttling, 503, network) with full-jitter
   * backoff until it has failed for maxRetryTimeMs, or the consumer closes.
   */
  private async retrying<T>(call: () => Promise<T>): Promise<T> {
    const since = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (err) {
        if (this.closed || !(err instanceof StrataError && err.retryable) || Date.now() - since > this.opts.maxRetryTimeMs) throw err;
        await sleep(backoffDelay(CONSUMER_BACKOFF, attempt));
      }
    }
  }

  /** Adopts a generation: stops revoked partitions, starts the new ones from their committed offsets. */
  private async applyMembership(m: Membership): Promise<void> {
    const previous = this.membership;
    this.membership = m;
    const wanted = new Set(m.assignment.filter((a) => a.topic === this.topic).map((a) => a.partition));
    // A new member id (the old lease ran out) owns nothing from before.
    const rejoined = previous !== undefined && previous.memberId !== m.memberId;
    const revoked = [...this.fetchers.keys()].filter((p) => rejoined || !wanted.has(p));
    if (revoked.length > 0) {
      for (const p of revoked) {
        this.stopFetcher(this.fetchers.get(p)!);
        this.fetchers.delete(p);
        this.consumed.delete(p);
      }
      this.dropQueued(new Set(revoked));
      this.push?.setPartitions(this.assignment);
      this.options.onPartitionsRevoked?.(revoked);
    }
    const added = [...wanted].filter((p) => !this.fetchers.has(p)).sort((a, b) => a - b);
    if (added.length > 0 || !previous) {
      // Until the new partitions are started, the next heartbeat applies this generation again.
      this.assignmentPending = true;
      const committed = new Map((await this.api.fetchOffsets(this.options.group!, this.topic)).map((o) => [o.partition, o] as const));
      if (this.closed || this.membership !== m) return;
      await this.assign(added, committed);
    }
    this.assignmentPending = false;
  }

  private async assign(partitions: number[], committed: Map<number, { offset: number; topicId: string }>): Promise<void> {
    const description = !this.follow ? await this.api.describeTopic(this.topic) : undefined;
    const starts = await Promise.all(partitions.map((p) => committed.get(p)?.offset ?? this.initialPosition(p)));
    if (this.closed) return;
    const started: Fetcher[] = [];
    for (const [i, p] of partitions.entries()) {
      const endOffset = description?.partitionStates.find((s) => s.partition === p)?.highWatermark;
      // A committed offset is a position in the incarnation it was committed for.
      const f: Fetcher = { ...this.newFetcher(p, starts[i]!, endOffset), topicId: committed.get(p)?.topicId };
      this.fetchers.set(p, f);
      started.push(f);
    }
    // Subscribed before the first reads, which then wait on the channel instead of long-polling.
    this.push?.setPartitions(this.assignment);
    for (const f of started) void this.fetchLoop(f);
    if (partitions.length > 0)
      this.options.onPartitionsAssigned?.(partitions, Object.fromEntries(partitions.map((p, i) => [p, starts[i]!])));
    for (const w of this.dataWaiters.splice(0)) w();
  }

  /** A notification's records as a read's result; undefined (read instead) when its frame does not check. */
  private pushedResult(partition: number, frame: Uint8Array): ReadResult | undefined {
    try {
      return this.api.frameResult(this.topic, partition, frame);
    } catch {
      return undefined;
    }
  }

  private newFetcher(partition: number, position: number, endOffset: number | undefined): Fetcher {
    return {
      partition,
      position,
      topicId: undefined,
      restart: false,
      endOffset,
      abort: new AbortController(),
      stopped: false,
      done: false,
    };
  }

  private async initialPosition(partition: number): Promise<number> {
    if (this.options.fromTimestamp !== undefined)
      return (await this.api.lookupOffset(this.topic, partition, this.options.fromTimestamp)).offset;
    const from = this.options.fromOffset ?? 'earliest';
    if (typeof from === 'number') return from;
    return (await this.api.lookupOffset(this.topic, partition, from)).offset;
  }

  private async fetchLoop(f: Fetcher): Promise<void> {
    let failingSince: number | undefined;
    let attempt = 0;
    while (!f.stopped) {
      if (f.endOffset !== undefined && f.position >= f.endOffset) break;
      while (this.queue.length >= this.opts.maxBufferedRecords && !f.stopped) await new Promise<void>((r) => this.spaceWaiters.push(r));
      if (f.stopped) break;
      try {
        if (f.restart) await this.restartPosition(f);
        if (f.stopped) break;
        // Pushed: a caught-up partition waits for a notification below, so no read holds a long-poll.
        const push = f.endOffset === undefined ? this.push : undefined;
        // Records a notification carried from exactly this position: no read needed.
        const pushed = push?.takePushed(f.partition, f.position);
        if (!pushed) push?.readStarting(f.partition);
        const result =
          (pushed && this.pushedResult(f.partition, pushed)) ||
          (await this.api.read(this.topic, f.partition, {
            offset: f.position,
            maxRecords: this.opts.maxRecords,
            waitMs: f.endOffset !== undefined || push?.usable(f.partition) ? 0 : this.opts.waitMs,
            signal: f.abort.signal,
          }));
        failingSince = undefined;
        attempt = 0;
        if (f.stopped) break;
        if (f.topicId !== undefined && result.topicId !== undefined && result.topicId !== f.topicId) {
          // The topic was deleted and re-created: the position belongs to the old log.
          this.restartPartition(f.partition, result.topicId);
          continue;
        }
        f.topicId ??= result.topicId;
        for (const r of result.records) {
          if (result.topicId !== undefined) this.incarnation.set(r, result.topicId);
          this.queue.push(r);
        }
        // Compaction leaves gaps: continue from what the server says, never offset + count.
        f.position = result.nextOffset;
        if (result.records.length > 0) for (const w of this.dataWaiters.splice(0)) w();
        if (f.endOffset !== undefined && result.records.length === 0 && f.position >= result.highWatermark) break;
        if (push?.usable(f.partition) && f.position >= result.highWatermark) await push.wait(f.partition, f.position, f.abort.signal);
      } catch (err) {
        if (f.stopped) break;
        // A restart aborted the read: start over from the new position.
        if (f.restart && err instanceof ClientClosedError) continue;
        if (err instanceof OffsetOutOfRangeError) {
          // Retention removed the records below logStartOffset; a position above the
          // high watermark belongs to a deleted and re-created topic. Start again in range.
          f.position = f.position < err.logStartOffset ? err.logStartOffset : err.highWatermark;
          continue;
        }
        const now = Date.now();
        failingSince ??= now;
        if (!(err instanceof StrataError && err.retryable) || now - failingSince > this.opts.maxRetryTimeMs) {
          this.fail(err);
          break;
        }
        await sleep(backoffDelay(CONSUMER_BACKOFF, attempt++));
      }
    }
    f.done = true;
    for (const w of this.dataWaiters.splice(0)) w();
  }

  /**
   * Starts a partition again from the reset policy in incarnation `topicId` of the topic:
   * what was read or processed of the old incarnation is dropped, not committed. The
   * partition's loop finds the new position before its next read.
   */
  private restartPartition(partition: number, topicId: string): void {
    const f = this.fetchers.get(partition);
    this.consumed.delete(partition);
    if (!f || f.restart) return;
    this.dropQueued(new Set([partition]));
    f.restart = true;
    f.topicId = topicId;
    // A long poll on the old incarnation would only end at its timeout.
    if (!f.stopped) {
      const old = f.abort;
      f.abort = new AbortController();
      old.abort(new ClientClosedError('read of a re-created topic'));
    }
  }

  private async restartPosition(f: Fetcher): Promise<void> {
    const position = await this.initialPosition(f.partition);
    // follow: false ends at the new topic's high watermark, not the old one's.
    const endOffset = f.endOffset !== undefined ? (await this.api.lookupOffset(this.topic, f.partition, 'latest')).offset : undefined;
    if (f.stopped) return;
    f.position = position;
    f.endOffset = endOffset;
    f.restart = false;
  }

  private stopFetcher(f: Fetcher): void {
    f.stopped = true;
    f.abort.abort(new ClientClosedError('consumer'));
  }

  private dropQueued(partitions: Set<number>): void {
    const kept = this.queue.filter((r) => !partitions.has(r.partition));
    this.queue.length = 0;
    this.queue.push(...kept);
    if (this.lastDelivered && partitions.has(this.lastDelivered.partition)) this.lastDelivered = undefined;
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    for (const w of this.dataWaiters.splice(0)) w();
  }

  private async commitConsumed(throwOnError: boolean): Promise<void> {
    const group = this.options.group;
    if (group === undefined) {
      if (throwOnError) throw new RangeError('commit() needs a group: subscribe with { group }');
      return;
    }
    const m = this.membership;
    if (!m || this.consumed.size === 0) return;
    const entries = [...this.consumed.entries()];
    const offsets = entries.map(([partition, c]) => ({
      topic: this.topic,
      partition,
      offset: c.offset,
      ...(c.topicId !== undefined ? { topicId: c.topicId } : {}),
    }));
    try {
      await this.api.commitOffsets(group, offsets, { memberId: m.memberId, generation: m.generation });
      for (const [p, c] of entries) if (this.consumed.get(p) === c) this.consumed.delete(p);
      this.lastCommitAt = Date.now();
    } catch (err) {
      if (err instanceof TopicIncarnationMismatchError) {
        // Positions in a deleted incarnation: those partitions start again in the new
        // topic; the rest (read from the new one already) is committed.
        let restarted = 0;
        for (const [p, c] of entries) {
          if (c.topicId === err.currentTopicId || this.consumed.get(p) !== c) continue;
          this.restartPartition(p, err.currentTopicId);
          restarted++;
        }
        if (restarted > 0) return this.commitConsumed(throwOnError);
      }
      if (throwOnError) throw err;
    }
  }

  private scheduleHeartbeat(): void {
    if (this.closed || !this.membership) return;
    this.heartbeatTimer = setTimeout(() => {
      this.groupTask = this.heartbeatOnce().finally(() => this.scheduleHeartbeat());
    }, this.membership.heartbeatIntervalMs);
  }

  /** One group tick: commit what was processed (if due), heartbeat, adopt a new generation. */
  private async heartbeatOnce(): Promise<void> {
    const group = this.options.group!;
    const m = this.membership!;
    try {
      if ((this.options.autoCommit ?? true) && Date.now() - this.lastCommitAt >= this.opts.autoCommitIntervalMs) {
        await this.commitConsumed(true).catch((err: unknown) => {
          if (!(err instanceof StaleGenerationError || err instanceof UnknownMemberError)) throw err;
        });
      }
      if (this.closed) return;
      let next: Membership;
      try {
        next = await this.api.heartbeat(group, m.memberId);
      } catch (err) {
        if (!(err instanceof UnknownMemberError)) throw err;
        // The lease ran out (a long pause, a partition): everything may have moved.
        next = await this.joiner()();
      }
      if (this.closed) return;
      if (next.generation !== m.generation || next.memberId !== m.memberId || this.assignmentPending) await this.applyMembership(next);
      else this.membership = next;
    } catch (err) {
      if (err instanceof StrataError && err.retryable) return;
      this.fail(err);
    }
  }
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
