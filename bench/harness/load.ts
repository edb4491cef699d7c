/**
 * A closed-loop load generator: C workers, each issuing its next operation as soon as
 * the previous one finished, first for a warm-up (JIT of Node and of the JVM, sockets,
 * caches) and then for a measured window. Throughput counts the operations that
 * finished inside the window; in a closed loop at steady state that is unbiased, and
 * it never credits work done during the warm-up.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { meanUsage, type ResourceMeter, type ResourceUsage } from './resources.js';

export interface LoadOptions {
  concurrency: number;
  warmupMs: number;
  durationMs: number;
}

export interface LoadResult {
  /** Operations that finished inside the measured window. */
  operations: number;
  windowMs: number;
  /** Latency of each of those operations, from its start to its end. */
  latenciesMs: number[];
  /** Operations each worker finished inside the window: zeros mean starved workers. */
  perWorker: number[];
  /** Operations that threw (any phase); the first error is kept to explain them. */
  errors: number;
  firstError?: string;
  resources: ResourceUsage;
}

/** Hooks run at the edges of the measured window (e.g. to count group commits in it). */
export interface WindowHooks {
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
}

/** Pause after a failed operation so a persistent failure does not spin the loop. */
const ERROR_PAUSE_MS = 10;

export async function runClosedLoop(
  options: LoadOptions,
  meter: ResourceMeter,
  operation: (worker: number) => Promise<void>,
  hooks: WindowHooks = {},
): Promise<LoadResult> {
  const started = performance.now();
  const windowStart = started + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  const latenciesMs: number[] = [];
  const perWorker = new Array<number>(options.concurrency).fill(0);
  let errors = 0;
  let firstError: string | undefined;

  const worker = async (index: number) => {
    while (performance.now() < windowEnd) {
      const begin = performance.now();
      try {
        await operation(index);
      } catch (err) {
        errors++;
        firstError ??= err instanceof Error ? err.message : String(err);
        await sleep(ERROR_PAUSE_MS);
        continue;
      }
      const end = performance.now();
      if (end >= windowStart && end <= windowEnd) {
        latenciesMs.push(end - begin);
        perWorker[index]!++;
      }
    }
  };

  const workers = Array.from({ length: options.concurrency }, (_, i) => worker(i));
  await sleep(options.warmupMs);
  hooks.onWindowStart?.();
  const stopMeter = meter.start();
  await sleep(Math.max(0, windowEnd - performance.now()));
  const resources = stopMeter();
  hooks.onWindowEnd?.();
  await Promise.all(workers);
  return {
    operations: latenciesMs.length,
    windowMs: options.durationMs,
    latenciesMs,
    perWorker,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    resources,
  };
}

/**
 * Combines the windows of one workload measured in several rounds: totals add up,
 * latency samples pool, and resource use averages over the time measured.
 */
export function mergeLoadResults(results: LoadResult[]): LoadResult {
  const windowMs = results.reduce((sum, r) => sum + r.windowMs, 0);
  const firstError = results.find((r) => r.firstError !== undefined)?.firstError;
  return {
    operations: results.reduce((sum, r) => sum + r.operations, 0),
    windowMs,
    latenciesMs: results.flatMap((r) => r.latenciesMs),
    perWorker: results.reduce<number[]>((sum, r) => r.perWorker.map((n, i) => n + (sum[i] ?? 0)), []),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    ...(firstError !== undefined ? { firstError } : {}),
    resources: meanUsage(results.map((r) => ({ ms: r.windowMs, resources: r.resources }))),
  };
}
