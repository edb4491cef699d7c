/**
 * The consumer's push channel: one WebSocket to the deployment's push endpoint
 * (docs/push.md), subscribed to the partitions the consumer reads, that wakes a
 * partition's read loop when its high watermark moved. A caught-up loop waits here
 * instead of holding a long-poll (a billed Lambda on AWS) and reads with an ordinary
 * request when woken.
 *
 * A notification is only a hint: the loop reads from its own position, so a lost one
 * costs latency. What covers a loss: the ping every `pingIntervalMs` answers the
 * watermarks; after each `moved` the loop reads once more `quietMs` later (appends the
 * server's quiet interval held back), and a second after each subscription (appends in
 * flight as it was written); and while the channel is down (connecting, a
 * dropped connection, API Gateway's 2-hour limit) `usable` is false and the loops
 * long-poll, until it is subscribed again.
 *
 *     loop:  read ─▶ records? ─yes─▶ read again
 *                        │ no (caught up) and channel usable
 *                        ▼
 *            wait until hint > position | quietMs after a `moved` | channel down
 */

import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import WebSocket from 'ws';
import { PUSH_SUBSCRIBE_SETTLE_MS } from '../lib/core/constants.js';
import type { PushDiscovery, PushMessage, Watermark } from '../lib/push/protocol.js';
import { backoffDelay, RECONNECT_BACKOFF } from './retry.js';

export interface PushChannelOptions {
  /** Signs the URL when the discovery says `signed` (SigV4 query string, `execute-api`). */
  presign?: (url: URL) => Promise<URL>;
  /** Called when the channel cannot be used and loops fall back to long-polls (logged by the caller). */
  onDown?: (reason: string) => void;
  /** Reconnect backoff bounds, ms (full jitter, client/retry.ts). Default RECONNECT_BACKOFF: 100 and 30 000. */
  minReconnectMs?: number;
  maxReconnectMs?: number;
}

interface PartitionState {
  /** Highest watermark a frame reported since the last read started. */
  hint: number;
  /** A read is due at this time (quietMs after a `moved`). */
  trailingAt: number | undefined;
  trailingTimer: NodeJS.Timeout | undefined;
  subscribed: boolean;
  waiters: Set<() => void>;
  /** Frames of appended records that notifications carried, by their first offset. */
  pushed: Map<number, Uint8Array>;
}

/** Pushed frames kept per partition for its loop to take (older ones are dropped). */
const MAX_PUSHED_FRAMES = 16;
/** Unanswered pings whose ids a channel keeps, to tell a failed ping's error frame from a refused subscription's. */
const MAX_UNANSWERED_PINGS = 32;

/**
 * The channel's life: `connecting` (socket opening or subscribe sent: loops wait, the
 * `subscribed` answer's watermarks wake them), `open`, `down` (loops long-poll until a
 * reconnect), `closed`.
 */
type ChannelState = 'connecting' | 'open' | 'down' | 'closed';

export class PushChannel {
  private socket: WebSocket | undefined;
  private state: ChannelState = 'connecting';
  private readonly partitions = new Map<number, PartitionState>();
  private pingTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private closed = false;
  /** The endpoint answered 401/403 to the upgrade: no more attempts. */
  private refused = false;
  private nextId = 0;
  /** Ids of pings sent on this connection and not answered yet. */
  private readonly pings = new Set<string>();
  /** Frames received, by type (tests and benchmarks look). */
  readonly received = { moved: 0, pong: 0, subscribed: 0, error: 0 };
  /** Connections opened, including reconnects. */
  connects = 0;

  constructor(
    private readonly discovery: PushDiscovery,
    readonly topic: string,
    private readonly options: PushChannelOptions = {},
  ) {}

  /** Opens the connection (in the background; `usable` says when a partition can wait here). */
  start(partitions: number[]): void {
    this.setPartitions(partitions);
    this.connect();
  }

  /**
   * Whether a caught-up loop of `partition` may wait here instead of long-polling: the
   * channel is connecting or open. While connecting, the subscription's answer (its
   * watermarks) wakes a loop that missed something; a failed attempt wakes them all.
   */
  usable(partition: number): boolean {
    return (this.state === 'connecting' || this.state === 'open') && this.partitions.has(partition);
  }

  /** Whether `partition`'s subscription is confirmed on the current connection. */
  subscribed(partition: number): boolean {
    return this.state === 'open' && this.partitions.get(partition)?.subscribed === true;
  }

  /** Whether a loop of `partition` is waiting here now. */
  waiting(partition: number): boolean {
    return (this.partitions.get(partition)?.waiters.size ?? 0) > 0;
  }

  /** Follows the consumer's assignment: subscribes new partitions, unsubscribes dropped ones. */
  setPartitions(partitions: number[]): void {
    const wanted = new Set(partitions);
    const removed = [...this.partitions.keys()].filter((p) => !wanted.has(p));
    for (const p of removed) {
      const state = this.partitions.get(p)!;
      if (state.trailingTimer) clearTimeout(state.trailingTimer);
      for (const w of state.waiters) w();
      this.partitions.delete(p);
    }
    const added = partitions.filter((p) => !this.partitions.has(p));
    for (const p of added) {
      this.partitions.set(p, {
        hint: -1,
        trailingAt: undefined,
        trailingTimer: undefined,
        subscribed: false,
        waiters: new Set(),
        pushed: new Map(),
      });
    }
    if (this.socket?.readyState === WebSocket.OPEN) {
      if (removed.length > 0) this.send({ action: 'unsubscribe', topic: this.topic, partitions: removed });
      if (added.length > 0) this.send({ action: 'subscribe', topic: this.topic, partitions: added });
    }
  }

  /**
   * The records a notification carried that start exactly at `position`, if any: the
   * loop takes them instead of reading. Frames that start below `position` are dropped.
   */
  takePushed(partition: number, position: number): Uint8Array | undefined {
    const pushed = this.partitions.get(partition)?.pushed;
    if (!pushed || pushed.size === 0) return undefined;
    for (const start of [...pushed.keys()]) if (start < position) pushed.delete(start);
    const frame = pushed.get(position);
    pushed.delete(position);
    return frame;
  }

  /** Called as a read of `partition` starts: what frames reported so far, this read sees. */
  readStarting(partition: number): void {
    const state = this.partitions.get(partition);
    if (!state) return;
    state.hint = -1;
    if (state.trailingAt !== undefined && Date.now() >= state.trailingAt) state.trailingAt = undefined;
  }

  /**
   * Resolves when `partition` should be read again: a frame reported a watermark above
   * `position`, a trailing read is due, the channel went down, or `signal` aborted.
   */
  wait(partition: number, position: number, signal: AbortSignal): Promise<void> {
    const state = this.partitions.get(partition);
    if (!state || !this.usable(partition) || state.hint > position || signal.aborted) return Promise.resolve();
    if (state.trailingAt !== undefined && Date.now() >= state.trailingAt) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        state.waiters.delete(check);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const check = () => {
        const due = state.trailingAt !== undefined && Date.now() >= state.trailingAt;
        if (state.hint > position || due || !this.usable(partition) || !this.partitions.has(partition)) done();
      };
      state.waiters.add(check);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  close(): void {
    this.closed = true;
    this.state = 'closed';
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    for (const state of this.partitions.values()) {
      if (state.trailingTimer) clearTimeout(state.trailingTimer);
      state.subscribed = false;
    }
    this.socket?.close(1000);
    this.wakeAll();
  }

  private connect(): void {
    if (this.closed) return;
    this.state = 'connecting';
    void this.open().catch((err: unknown) => this.down(`push connection failed: ${(err as Error).message}`));
  }

  private async open(): Promise<void> {
    let url = new URL(this.discovery.url);
    if (this.discovery.signed) {
      if (!this.options.presign) throw new Error('the push endpoint needs signed connections and the client does not sign');
      url = await this.options.presign(url);
    }
    if (this.closed) return;
    const socket = new WebSocket(url, { handshakeTimeout: 10_000 });
    this.socket = socket;
    socket.on('open', () => {
      // A socket replaced before it opened (a reconnect raced it) is of no use.
      if (this.socket !== socket) {
        socket.terminate();
        return;
      }
      this.state = 'open';
      this.connects++;
      const partitions = [...this.partitions.keys()];
      // The backoff starts over once the connection is of use: subscribed (below), or open with nothing to subscribe.
      if (partitions.length > 0) this.send({ action: 'subscribe', topic: this.topic, partitions });
      else this.attempts = 0;
      if (this.pingTimer) clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.ping(), this.discovery.pingIntervalMs);
      this.pingTimer.unref();
    });
    socket.on('message', (data) => this.onFrame(String(data)));
    socket.on('close', (code) => {
      if (this.socket !== socket) return;
      this.down(`push connection closed (${code})`);
    });
    socket.on('error', () => undefined);
    socket.on('unexpected-response', (_request, response) => {
      const status = response.statusCode ?? 0;
      if (status === 401 || status === 403) {
        // Not allowed to connect (a grant for some topics only does not include it): the
        // loops long-poll for good instead of knocking every 30 s.
        this.refused = true;
        this.options.onDown?.(`the push endpoint refused the connection (${status}): long-polling instead`);
      }
      socket.terminate();
    });
  }

  /** The connection is gone: loops long-poll until a new one is subscribed. */
  private down(reason: string): void {
    // Once per connection: a second call (its close event after an error frame closed it)
    // would schedule a second reconnect, and two sockets would each start a ping timer.
    if (this.state === 'closed' || this.state === 'down') return;
    this.state = this.refused ? 'closed' : 'down';
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    this.pings.clear();
    for (const state of this.partitions.values()) state.subscribed = false;
    this.wakeAll();
    if (this.closed || this.refused) return;
    this.options.onDown?.(reason);
    const backoff = {
      baseDelayMs: this.options.minReconnectMs ?? RECONNECT_BACKOFF.baseDelayMs,
      maxDelayMs: this.options.maxReconnectMs ?? RECONNECT_BACKOFF.maxDelayMs,
    };
    const delay = backoffDelay(backoff, this.attempts++);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
    this.reconnectTimer.unref();
  }

  private onFrame(text: string): void {
    let message: PushMessage;
    try {
      message = JSON.parse(text) as PushMessage;
    } catch {
      return;
    }
    switch (message.type) {
      case 'moved': {
        this.received.moved++;
        if (message.topic !== this.topic) return;
        const state = this.partitions.get(message.partition);
        if (!state) return;
        state.hint = Math.max(state.hint, message.highWatermark);
        if (message.frame !== undefined) {
          const bytes = Buffer.from(message.frame, 'base64');
          // The frame's startOffset (bytes 8–15, lib/format/batch-frame.ts); decoded and checked when taken.
          if (bytes.byteLength >= 16) state.pushed.set(Number(bytes.readBigInt64BE(8)), bytes);
          while (state.pushed.size > MAX_PUSHED_FRAMES) state.pushed.delete(state.pushed.keys().next().value!);
        }
        this.scheduleTrailing(state, message.quietMs);
        this.wake(state);
        return;
      }
      case 'subscribed':
        this.received.subscribed++;
        this.attempts = 0;
        this.applyWatermarks(message.watermarks, true);
        return;
      case 'pong':
        this.received.pong++;
        if (message.id !== undefined) this.pings.delete(message.id);
        this.applyWatermarks(message.watermarks, false);
        return;
      case 'error':
        this.received.error++;
        // A ping that failed (the store unavailable for a moment, say): the connection is
        // fine, and the next ping asks again. Starting over on a new connection instead
        // costs a disconnect, a connect and a subscription, all store writes: under load,
        // every failed ping did, and the reconnects made more pings fail (looked for after a
        // chaos run, 2026-12-03, whose healed server was flooded with push requests).
        if (message.id !== undefined && this.pings.delete(message.id)) return;
        // A refused subscription (a deleted topic, say): start over on a new connection,
        // backing off while subscriptions keep failing; meanwhile the loops long-poll.
        this.down(`push endpoint answered ${message.code}: ${message.message}`);
        this.socket?.close(1000);
        return;
      default:
        return;
    }
  }

  private applyWatermarks(watermarks: Watermark[], subscribed: boolean): void {
    for (const w of watermarks) {
      if (w.topic !== this.topic) continue;
      const state = this.partitions.get(w.partition);
      if (!state) continue;
      if (subscribed) {
        state.subscribed = true;
        // An append in flight as the subscription was written may not announce itself.
        this.scheduleTrailing(state, PUSH_SUBSCRIBE_SETTLE_MS);
      }
      state.hint = Math.max(state.hint, w.highWatermark);
      this.wake(state);
    }
  }

  /** A read `quietMs` after a `moved` finds what the server's quiet interval held back. */
  private scheduleTrailing(state: PartitionState, quietMs: number): void {
    if (quietMs <= 0) return;
    if (state.trailingTimer) clearTimeout(state.trailingTimer);
    state.trailingAt = Date.now() + quietMs;
    state.trailingTimer = setTimeout(() => {
      state.trailingTimer = undefined;
      this.wake(state);
    }, quietMs);
    state.trailingTimer.unref();
  }

  private wake(state: PartitionState): void {
    for (const check of [...state.waiters]) check();
  }

  private wakeAll(): void {
    for (const state of this.partitions.values()) this.wake(state);
  }

  /** Sends a frame with a fresh id; the id, or undefined when the socket is not open. */
  private send(frame: Record<string, unknown>): string | undefined {
    if (this.socket?.readyState !== WebSocket.OPEN) return undefined;
    const id = String(this.nextId++);
    this.socket.send(JSON.stringify({ ...frame, id }));
    return id;
  }

  private ping(): void {
    const id = this.send({ action: 'ping' });
    if (id === undefined) return;
    this.pings.add(id);
    // Answers lost on a live connection: keep the ids of the recent pings only.
    if (this.pings.size > MAX_UNANSWERED_PINGS) this.pings.delete(this.pings.values().next().value!);
  }
}

/** A SigV4 query-string signer of `wss://` URLs for API Gateway WebSocket APIs. */
export function webSocketPresigner(
  credentials: ConstructorParameters<typeof SignatureV4>[0]['credentials'],
  region: string,
): (url: URL) => Promise<URL> {
  const signer = new SignatureV4({ service: 'execute-api', region, credentials, sha256: Sha256 });
  return async (url) => {
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const signed = await signer.presign(
      { method: 'GET', protocol: url.protocol, hostname: url.hostname, path: url.pathname, query, headers: { host: url.host } },
      { expiresIn: 60 },
    );
    const out = new URL(url.toString());
    out.search = '';
    for (const [k, v] of Object.entries(signed.query ?? {})) out.searchParams.set(k, Array.isArray(v) ? v.join(',') : String(v));
    return out;
  };
}
