/**
 * A partition's idempotent-producer states as one process last saw them, and the
 * decision on each batch before it is committed (lib/sequencing/producer-state.ts holds the rules).
 * Shared by both sequencers.
 */

import type { Clock } from '../core/clock.js';
import { PRODUCER_CACHE_MAX_AGE_MS, RETRY_AFTER_SECONDS } from '../core/constants.js';
import { RetryableError } from '../core/errors.js';
import type { LogStore } from '../ports/log-store.js';
import { type PartitionRef, type ProducerState, producerStateExpired, producerStateTtl } from '../ports/model.js';
import { checkSequence, type ProducerStamp } from './producer-state.js';

/** Producer states remembered per partition before the oldest is forgotten (and re-read). */
const PRODUCER_CACHE_SIZE = 10_000;

/** An append as the producer rules see it; `resolve` answers a duplicate, `reject` a refusal. */
export interface ProducerAppend {
  producer?: ProducerStamp;
  recordCount: number;
  resolve: (result: { baseOffset: number; lastOffset: number; duplicate: true; tailBytes: number }) => void;
  reject: (err: unknown) => void;
}

export class ProducerCache {
  private readonly states = new Map<string, { state: ProducerState | null; at: number }>();

  constructor(
    private readonly ref: PartitionRef,
    private readonly store: LogStore,
    private readonly clock: Clock,
  ) {}

  /**
   * Resolves duplicates (with their original offsets) and rejects fenced or out-of-order
   * batches; returns the appends to commit.
   */
  async settle<T extends ProducerAppend>(live: T[], tailBytes: number): Promise<T[]> {
    const kept: T[] = [];
    for (const p of live) {
      if (!p.producer) {
        kept.push(p);
        continue;
      }
      let decision = checkSequence(await this.get(p.producer.producerId), p.producer, p.recordCount);
      if (decision.kind !== 'accept') {
        // Another process may have committed this producer's later batches (or a new
        // epoch): decide again on the stored state before answering with an error.
        this.states.delete(p.producer.producerId);
        decision = checkSequence(await this.get(p.producer.producerId), p.producer, p.recordCount);
      }
      if (decision.kind === 'accept') kept.push(p);
      else if (decision.kind === 'duplicate' && decision.batch.baseOffset < 0) {
        // A write-first claim (the partition's sequencing was changed): its numbering is not this sequencer's to look up.
        p.reject(
          new RetryableError(
            'this batch was written by write-first sequencing and its offsets are not known here yet; retry',
            RETRY_AFTER_SECONDS,
          ),
        );
      } else if (decision.kind === 'duplicate') {
        p.resolve({ baseOffset: decision.batch.baseOffset, lastOffset: decision.batch.lastOffset, duplicate: true, tailBytes });
      } else p.reject(decision.error);
    }
    return kept;
  }

  /** The state as last seen (null: none), read from the store when not cached. */
  async get(producerId: string): Promise<ProducerState | null> {
    const entry = this.fresh(producerId);
    if (entry) return entry.state;
    const state = await this.store.getProducerState(this.ref, producerId, this.clock.now());
    this.remember(producerId, state);
    return state;
  }

  /** The cached state, without reading the store (null: none or not cached). */
  cached(producerId: string): ProducerState | null {
    return this.fresh(producerId)?.state ?? null;
  }

  remember(producerId: string, state: ProducerState | null): void {
    this.states.delete(producerId);
    this.states.set(producerId, { state, at: this.clock.now() });
    if (this.states.size > PRODUCER_CACHE_SIZE) this.states.delete(this.states.keys().next().value!);
  }

  forget(producerId: string): void {
    this.states.delete(producerId);
  }

  /**
   * The remembered entry, unless it is older than PRODUCER_CACHE_MAX_AGE_MS, or its state
   * is past its TTL (a producer back after a week: a state that reads as none now).
   */
  private fresh(producerId: string): { state: ProducerState | null } | undefined {
    const entry = this.states.get(producerId);
    const now = this.clock.now();
    if (!entry || now - entry.at >= PRODUCER_CACHE_MAX_AGE_MS) return undefined;
    if (entry.state && producerStateExpired(producerStateTtl(entry.state.updatedAt), now)) return undefined;
    return entry;
  }
}
