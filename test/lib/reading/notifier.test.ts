import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AppendNotifier } from '../../../lib/reading/notifier.js';

const P0 = 'P#orders#id#0';
const P1 = 'P#orders#id#1';
const LONG = 20_000;

/** The notifier's waiter map, to check that nothing is left behind. */
function waiters(notifier: AppendNotifier): Map<string, Set<unknown>> {
  return (notifier as unknown as { waiters: Map<string, Set<unknown>> }).waiters;
}

/** Starts a wait and records whether it has resolved. */
function track(promise: Promise<void>): { readonly settled: boolean } {
  const state = { settled: false };
  void promise.then(() => {
    state.settled = true;
  });
  return state;
}

/** Lets resolved promises run their callbacks without moving the fake clock. */
const flush = () => vi.advanceTimersByTimeAsync(0);

describe('AppendNotifier', () => {
  let notifier: AppendNotifier;

  beforeEach(() => {
    vi.useFakeTimers();
    notifier = new AppendNotifier();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('wakes a waiter when notified of a high watermark above its offset', async () => {
    const wait = track(notifier.wait(P0, 10, LONG));
    await flush();
    expect(wait.settled).toBe(false);

    notifier.notify(P0, 11);
    await flush();

    expect(wait.settled).toBe(true);
  });

  it('does not wake a waiter when notified of a high watermark at its offset', async () => {
    const wait = track(notifier.wait(P0, 10, LONG));

    notifier.notify(P0, 10);
    await flush();

    expect(wait.settled).toBe(false);
    expect(waiters(notifier).get(P0)?.size).toBe(1);
  });

  it('does not wake a waiter when notified of a high watermark below its offset', async () => {
    const wait = track(notifier.wait(P0, 10, LONG));

    notifier.notify(P0, 3);
    notifier.notify(P0, 0);
    await flush();

    expect(wait.settled).toBe(false);
  });

  it('resolves on timeout when no notify comes, not before', async () => {
    const wait = track(notifier.wait(P0, 10, 500));

    await vi.advanceTimersByTimeAsync(499);
    expect(wait.settled).toBe(false);

    await vi.advanceTimersByTimeAsync(1);
    expect(wait.settled).toBe(true);
  });

  it('still times out after notifies at or below the offset', async () => {
    const wait = track(notifier.wait(P0, 10, 500));
    notifier.notify(P0, 10);

    await vi.advanceTimersByTimeAsync(500);

    expect(wait.settled).toBe(true);
    expect(waiters(notifier).size).toBe(0);
  });

  it('does not wake waiters of other partitions', async () => {
    const other = track(notifier.wait(P1, 10, LONG));
    const mine = track(notifier.wait(P0, 10, LONG));

    notifier.notify(P0, 100);
    await flush();

    expect(mine.settled).toBe(true);
    expect(other.settled).toBe(false);
    expect([...waiters(notifier).keys()]).toEqual([P1]);
  });

  it('wakes exactly the waiters of the partition whose offsets are below the new high watermark', async () => {
    const at3 = track(notifier.wait(P0, 3, LONG));
    const at5 = track(notifier.wait(P0, 5, LONG));
    const at6 = track(notifier.wait(P0, 6, LONG));
    const at10 = track(notifier.wait(P0, 10, LONG));

    notifier.notify(P0, 6);
    await flush();

    expect([at3.settled, at5.settled, at6.settled, at10.settled]).toEqual([true, true, false, false]);
    expect(waiters(notifier).get(P0)?.size).toBe(2);

    notifier.notify(P0, 11);
    await flush();

    expect([at6.settled, at10.settled]).toEqual([true, true]);
    expect(waiters(notifier).size).toBe(0);
  });

  it('wakes several waiters at the same offset with one notify', async () => {
    const a = track(notifier.wait(P0, 4, LONG));
    const b = track(notifier.wait(P0, 4, LONG));

    notifier.notify(P0, 5);
    await flush();

    expect([a.settled, b.settled]).toEqual([true, true]);
  });

  it('ignores a notify for a partition nobody waits on, without creating an entry', () => {
    expect(() => notifier.notify(P0, 1)).not.toThrow();

    expect(waiters(notifier).size).toBe(0);
  });

  describe('leaves nothing behind', () => {
    it('removes the waiter and its partition entry when woken by notify', async () => {
      const wait = notifier.wait(P0, 0, LONG);
      expect(waiters(notifier).get(P0)?.size).toBe(1);

      notifier.notify(P0, 1);
      await wait;

      expect(waiters(notifier).size).toBe(0);
    });

    it('cancels the timeout of a waiter woken by notify', async () => {
      const wait = notifier.wait(P0, 0, LONG);
      expect(vi.getTimerCount()).toBe(1);

      notifier.notify(P0, 1);
      await wait;

      expect(vi.getTimerCount()).toBe(0);
    });

    it('removes the waiter and its partition entry on timeout', async () => {
      const wait = notifier.wait(P0, 0, 100);

      await vi.advanceTimersByTimeAsync(100);
      await wait;

      expect(waiters(notifier).size).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('keeps the partition entry while one of its waiters is still waiting', async () => {
      void notifier.wait(P0, 0, 100);
      void notifier.wait(P0, 0, 300);

      await vi.advanceTimersByTimeAsync(100);

      expect(waiters(notifier).get(P0)?.size).toBe(1);

      await vi.advanceTimersByTimeAsync(200);

      expect(waiters(notifier).size).toBe(0);
    });

    it('empties the map after many waits across partitions end by notify and by timeout', async () => {
      const waits: Promise<void>[] = [];
      for (let i = 0; i < 50; i++) waits.push(notifier.wait(`P#t#id#${i % 5}`, i, 1_000 + i));

      for (let p = 0; p < 5; p += 2) notifier.notify(`P#t#id#${p}`, 25);
      await vi.advanceTimersByTimeAsync(2_000);
      await Promise.all(waits);

      expect(waiters(notifier).size).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
    });

    it('serves a new wait on a partition whose entry was removed', async () => {
      await Promise.all([notifier.wait(P0, 0, LONG), Promise.resolve(notifier.notify(P0, 1))]);
      expect(waiters(notifier).size).toBe(0);

      const again = track(notifier.wait(P0, 1, LONG));
      notifier.notify(P0, 2);
      await flush();

      expect(again.settled).toBe(true);
      expect(waiters(notifier).size).toBe(0);
    });
  });

  it('works with real timers: a short wait resolves by timeout', async () => {
    vi.useRealTimers();
    const real = new AppendNotifier();
    const started = Date.now();

    await real.wait(P0, 0, 20);

    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
    expect(waiters(real).size).toBe(0);
  });
});
