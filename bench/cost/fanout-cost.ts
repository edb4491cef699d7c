/**
 * What the scheduled fan-out and the recovery window cost (issue 16), for docs/cost.md:
 * computed from the prices (bench/cost/prices.ts), the fan-out's constants and, when present,
 * the fan-out benchmark's measured root-run time per partition (bench/results/fanout.json,
 * `npm run bench -- --only fanout`). bench/cost/cost-report.ts puts these blocks in docs/cost.md,
 * whose hand-written text explains them; `npx tsx bench/cost/fanout-cost.ts` prints them.
 *
 * Not counted here: each dispatched partition's own pass (flush, retention, compaction,
 * GC), which the cost model counts with the workload (an idle partition's in its idle
 * figure), and the Lambda asynchronous queue, which AWS does not bill separately.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RECOVERY_WINDOW_MS, MAX_DISPATCHES_PER_RUN } from '../../lib/core/constants.js';
import { HOURS_PER_MONTH, PRICES } from './prices.js';

const RESULTS_PATH = fileURLToPath(new URL('../results/fanout.json', import.meta.url));
/** The construct's compact function memory (GB) and schedule (runs a month, every 5 minutes). */
const COMPACT_MEMORY_GB = 1;
const RUNS_PER_MONTH = 12 * HOURS_PER_MONTH;
/** Read units per partition per run: its head (a consistent read, ≤ 4 KB) and its stats item (eventually consistent). */
const READ_UNITS_PER_PARTITION = 1 + 0.5;
/** When no benchmark result is there: the root run's time per dispatched partition (ms) measured on 2026-11-30 (5,000 partitions in 4.1 s at 20 ms an invoke). */
const FALLBACK_MS_PER_PARTITION = 0.83;
/** The old one-at-a-time dispatch: one invoke's latency per partition (ms), the benchmark's model. */
const SEQUENTIAL_MS_PER_PARTITION = 25;
const PARTITION_COUNTS = [100, 1_000, 5_000, 10_000, 100_000];
const MIB_PER_SEC = 1;
const WINDOWS_DAYS = [1, 7, 35];

interface Measured {
  msPerPartition: number;
  source: string;
}

function measured(): Measured {
  if (existsSync(RESULTS_PATH)) {
    const json = JSON.parse(readFileSync(RESULTS_PATH, 'utf8')) as {
      command: string;
      fanout: {
        measurements: { label: string; invokeMs: number; partitions: number; longestRunMs: number; runs: number; extrapolated: boolean }[];
      };
    };
    const one = json.fanout.measurements.find((m) => !m.extrapolated && m.runs === 1 && m.invokeMs === 20);
    if (one)
      return {
        msPerPartition: one.longestRunMs / one.partitions,
        source: `\`${json.command}\`: ${one.partitions.toLocaleString('en-US')} partitions in ${(one.longestRunMs / 1000).toFixed(2)} s at 20 ms an invoke`,
      };
  }
  return {
    msPerPartition: FALLBACK_MS_PER_PARTITION,
    source: 'the fan-out benchmark of 2026-11-30 (5,000 partitions in 4.1 s at 20 ms an invoke)',
  };
}

const usd = (x: number) => (x >= 100 ? `$${x.toFixed(0)}` : x >= 1 ? `$${x.toFixed(2)}` : `$${x.toFixed(3)}`);
const count = (x: number) => Math.round(x).toLocaleString('en-US');

/** The fan-out's monthly cost for `partitions` active partitions (each dispatched by every run). */
export function fanOutMonthly(partitions: number, msPerPartition: number) {
  const dispatches = partitions * RUNS_PER_MONTH;
  const rootRuns = RUNS_PER_MONTH * Math.max(1, Math.ceil(partitions / MAX_DISPATCHES_PER_RUN));
  const requests = (dispatches + rootRuns) * PRICES.lambdaRequest.usd;
  const gbSeconds = ((RUNS_PER_MONTH * partitions * msPerPartition) / 1000) * COMPACT_MEMORY_GB;
  const duration = gbSeconds * PRICES.lambdaArmGbSecond.usd;
  const reads = dispatches * READ_UNITS_PER_PARTITION * PRICES.dynamoReadRequestUnit.usd;
  return { dispatches, rootRuns, requests, duration, reads, total: requests + duration + reads };
}

/** docs/cost.md's fan-out block: the figures the section's hand-written text refers to, and the table. */
export function fanOutBlock(): string[] {
  const m = measured();
  const rows = PARTITION_COUNTS.map((n) => {
    const c = fanOutMonthly(n, m.msPerPartition);
    const before = fanOutMonthly(n, SEQUENTIAL_MS_PER_PARTITION);
    return `| ${count(n)} | ${count(c.dispatches)} | ${count(c.rootRuns)} | ${usd(c.requests)} | ${usd(c.duration)} | ${usd(c.reads)} | ${usd(c.total)} | ${usd(c.total / n)} | ${usd(before.duration)} |`;
  });
  return [
    `${count(RUNS_PER_MONTH)} scheduled runs a month, each dispatching at most ${count(MAX_DISPATCHES_PER_RUN)} partitions. The root run at ${COMPACT_MEMORY_GB * 1024} MB: ${m.msPerPartition.toFixed(2)} ms per partition, from ${m.source}; one invoke at a time, before: ${SEQUENTIAL_MS_PER_PARTITION} ms per partition. Head and stats reads: ${READ_UNITS_PER_PARTITION} read units per partition per run.`,
    '',
    '| active partitions | invokes a month | root runs a month | Lambda requests | root run duration | head + stats reads | total a month | per partition | duration before |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ];
}

/** docs/cost.md's recovery-window block: what retention drops, kept a window longer. */
export function recoveryWindowBlock(): string[] {
  const gbPerDay = (MIB_PER_SEC * 1024 * 1024 * 86_400) / 1e9;
  const windowRows = WINDOWS_DAYS.map((d) => {
    const gb = gbPerDay * d;
    return `| ${d} day${d === 1 ? '' : 's'}${d * 86_400_000 === DEFAULT_RECOVERY_WINDOW_MS ? ' (default)' : ''} | ${count(gb)} GB | ${usd(gb * PRICES.s3StorageGbMonth.usd)} |`;
  });
  return [
    `At ${MIB_PER_SEC} MiB/s (${gbPerDay.toFixed(1)} GB a day) in S3 Standard, in steady state:`,
    '',
    '| recoveryWindow | extra bytes kept | extra a month |',
    '| --- | ---: | ---: |',
    ...windowRows,
  ];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  console.log([...fanOutBlock(), '', ...recoveryWindowBlock()].join('\n'));
