/**
 * Records the offsets sealed with voids (docs/design.md, "reserve, fill, seal"), so that
 * the history checker can tell a sealed gap (reserved, never filled, legitimately empty)
 * from a lost write. Wrap the real store with it, under any fault injector: a seal whose
 * answer a fault then hides is still recorded.
 */
import type { LogStore } from '../../lib/ports/log-store.js';

export interface VoidRecorder {
  store: LogStore;
  /** Sealed offsets per partition of `topic`, for History.check({ voids }). */
  voids(topic: string): Map<number, Set<number>>;
}

export function recordVoids(store: LogStore): VoidRecorder {
  const sealed = new Map<string, Map<number, Set<number>>>();
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'sealOffsets') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: Parameters<LogStore['sealOffsets']>) => {
        const outcome = await target.sealOffsets(...args);
        if (outcome.sealed) {
          const [ref, offsets] = args;
          let byPartition = sealed.get(ref.topic);
          if (!byPartition) sealed.set(ref.topic, (byPartition = new Map()));
          let set = byPartition.get(ref.partition);
          if (!set) byPartition.set(ref.partition, (set = new Set()));
          for (const o of offsets) set.add(o);
        }
        return outcome;
      };
    },
  });
  return { store: wrapped, voids: (topic) => sealed.get(topic) ?? new Map() };
}
