/**
 * In-process wake-ups for long-polling readers: an append committed by this process
 * wakes the readers of that partition at once. Appends from other processes are found
 * by the reader's own head polling; this only shortens the wait when both run together
 * (the local stack, a container).
 */
type Waiter = { afterOffset: number; wake: () => void };

export class AppendNotifier {
  private readonly waiters = new Map<string, Set<Waiter>>();

  /** Resolves when `notify` reports a high watermark above `afterOffset`, or after `timeoutMs`. */
  wait(partition: string, afterOffset: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const set = this.waiters.get(partition) ?? new Set<Waiter>();
      this.waiters.set(partition, set);
      const waiter: Waiter = {
        afterOffset,
        wake: () => {
          clearTimeout(timer);
          set.delete(waiter);
          if (set.size === 0) this.waiters.delete(partition);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, timeoutMs);
      set.add(waiter);
    });
  }

  /** Tells waiters of `partition` that its high watermark is now `nextOffset`. */
  notify(partition: string, nextOffset: number): void {
    const set = this.waiters.get(partition);
    if (!set) return;
    for (const waiter of [...set]) if (nextOffset > waiter.afterOffset) waiter.wake();
  }
}
