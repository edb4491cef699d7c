/**
 * Numbers for the benchmark reports: latency summaries and number formatting. Kept free
 * of I/O so every suite summarises and prints its samples the same way.
 */

export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p99: number;
  /** NaN below MIN_SAMPLES_FOR_P999 samples: there the nearest rank is the maximum. */
  p999: number;
  max: number;
}

/** Fewer samples than this make p999 the maximum under another name: it is left out. */
export const MIN_SAMPLES_FOR_P999 = 1000;

/**
 * The nearest-rank percentile of ascending `sorted` samples: always a value that was
 * actually observed, which keeps p99 of a few hundred samples honest (no interpolation
 * towards a value nobody saw).
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const total = sorted.reduce((sum, x) => sum + x, 0);
  return {
    count: sorted.length,
    mean: sorted.length === 0 ? Number.NaN : total / sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    p999: sorted.length >= MIN_SAMPLES_FOR_P999 ? percentile(sorted, 99.9) : Number.NaN,
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1]!,
  };
}

/** Fixed decimals, thousands separated; NaN (no samples) prints as a dash. */
export function formatNumber(value: number, decimals = 0): string {
  if (!Number.isFinite(value)) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
}

/** A ratio such as `0.83×`. */
export function formatRatio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : '–';
}

/** A latency in ms, with one decimal below 100 ms where the decimal still means something. */
export function formatMs(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return value < 100 ? value.toFixed(1) : value.toFixed(0);
}

/** A fraction as a percentage, e.g. CPU use of one core. */
export function formatPercent(fraction: number): string {
  return Number.isFinite(fraction) ? `${Math.round(fraction * 100)}%` : '–';
}

/** Dollars with about three significant figures: `$0`, `$0.0652`, `$2.08`, `$554`; NaN prints as a dash. */
export function formatUsd(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (value === 0) return '$0';
  return value >= 100 ? `$${value.toFixed(0)}` : value >= 1 ? `$${value.toFixed(2)}` : `$${value.toPrecision(3)}`;
}
