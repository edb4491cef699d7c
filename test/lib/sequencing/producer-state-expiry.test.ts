/**
 * One definition of "this producer state is past its TTL" (lib/ports/model.ts,
 * producerStateTtl and producerStateExpired), for the store's read, its create condition
 * and the producer cache. Until 2026-12-03 the cache tested `updatedAt + TTL` in ms and
 * the store the item's `ttl` in whole seconds, rounded up: for up to a second the cache
 * took a state for expired that the store still answered as live.
 */
import { describe, expect, it } from 'vitest';
import { PRODUCER_CACHE_MAX_AGE_MS, PRODUCER_STATE_TTL_MS } from '../../../lib/core/constants.js';
import type { LogStore } from '../../../lib/ports/log-store.js';
import { type ProducerState, producerStateExpired, producerStateTtl } from '../../../lib/ports/model.js';
import { ProducerCache } from '../../../lib/sequencing/producer-cache.js';

const REF = { topic: 't', topicId: 'id', partition: 0 };

describe('producer state expiry', () => {
  it('has its TTL a whole second at or after updatedAt + PRODUCER_STATE_TTL_MS, and is past it from that second on', () => {
    const updatedAt = 1_700_000_000_500;
    const ttl = producerStateTtl(updatedAt);
    expect(ttl).toBe(Math.ceil((updatedAt + PRODUCER_STATE_TTL_MS) / 1000));
    expect(ttl * 1000).toBeGreaterThanOrEqual(updatedAt + PRODUCER_STATE_TTL_MS);
    expect(producerStateExpired(ttl, ttl * 1000 - 1)).toBe(false);
    expect(producerStateExpired(ttl, ttl * 1000)).toBe(true);
  });

  it('the cache keeps a state until the second the store reads it as none, and reads the store from then on', async () => {
    // A state whose updatedAt + TTL falls inside a second: the old cache dropped it there.
    const updatedAt = 1_700_000_000_500;
    const state: ProducerState = { producerId: 'p', epoch: 0, batches: [], version: 1, updatedAt };
    const clock = { t: updatedAt, now: () => clock.t };
    let reads = 0;
    const store = {
      async getProducerState(_ref: unknown, _id: string, now: number) {
        reads++;
        return producerStateExpired(producerStateTtl(state.updatedAt), now) ? null : state;
      },
    } as unknown as LogStore;
    const cache = new ProducerCache(REF, store, clock);
    cache.remember('p', state);
    const expiresAt = producerStateTtl(updatedAt) * 1000;
    expect(expiresAt - (updatedAt + PRODUCER_STATE_TTL_MS)).toBe(500);
    // The cache's own age limit must not be what answers below.
    expect(PRODUCER_STATE_TTL_MS).toBeGreaterThan(PRODUCER_CACHE_MAX_AGE_MS);
    clock.t = updatedAt + PRODUCER_STATE_TTL_MS + 200;
    cache.remember('p', state);
    expect(await cache.get('p')).toBe(state);
    expect(reads).toBe(0);
    clock.t = expiresAt;
    expect(await cache.get('p')).toBeNull();
    expect(reads).toBe(1);
  });
});
