/**
 * The summary at the top of docs/benchmarks.md: the headline figure of every suite, each
 * as a ratio against the raw primitive measured in the same run where there is one, with
 * its aim, read back from the suites' JSON under bench/results/ (so that a suite run
 * alone with `--only` updates its own rows), plus a chart of the ratios.
 */
import { existsSync, readFileSync } from 'node:fs';
import { BUNDLE_BUDGET_BYTES, INIT_BUDGET_MS } from '../../infra/function-bundling.js';
import { formatMs, formatNumber, formatRatio, summarize } from '../harness/stats.js';
import type { AppendBenchResult } from '../suites/append.js';
import { caseLabel, type ShapeBenchResult } from '../suites/append-shapes.js';
import type { BundleResult } from '../suites/bundles.js';
import type { CompactionBenchResult } from '../suites/compaction.js';
import type { LatencyBenchResult } from '../suites/latency.js';
import type { ProducerBenchResult } from '../suites/producer.js';
import type { SegmentBenchResult } from '../suites/segments.js';
import { type Bar, barChart } from './charts.js';
import type { ReportTable } from './report.js';

interface Saved<T> {
  command: string;
  quick: boolean;
  machine: { date: string };
  result: T;
}

/** Reads one suite's saved result (`key` is its field in the file), if the suite has run. */
function load<T>(dir: string, file: string, key: string): Saved<T> | undefined {
  const path = `${dir}/${file}`;
  if (!existsSync(path)) return undefined;
  const saved = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  if (saved[key] === undefined) return undefined;
  return {
    command: String(saved.command),
    quick: saved.quick === true,
    machine: saved.machine as { date: string },
    result: saved[key] as T,
  };
}

interface Row {
  measure: string;
  value: string;
  /** Ours over the raw primitive measured in the same run. */
  ratio?: number;
  raw?: string;
  aim?: { text: string; met: boolean; value?: number };
  run: Saved<unknown>;
}

export interface Summary {
  table: ReportTable;
  chart: string;
}

export function buildSummary(resultsDir: string): Summary | undefined {
  const rows: Row[] = [];
  const append = load<AppendBenchResult>(resultsDir, 'append.json', 'append');
  if (append) {
    const { rawRatioAtC1, groupCommitSpeedup } = append.result.aims;
    rows.push({
      measure: 'append 100 × 1 KiB, C=1, one partition',
      value: `${formatNumber(append.result.measurements.find((m) => m.suite === 'strata-http' && m.concurrency === 1)?.mibPerSec ?? Number.NaN, 1)} MiB/s`,
      ratio: rawRatioAtC1.actual,
      raw: 'TransactWriteItems of the same batch',
      aim: { text: `≥ ${formatRatio(rawRatioAtC1.aim)}`, met: rawRatioAtC1.met, value: rawRatioAtC1.aim },
      run: append,
    });
    rows.push({
      measure: 'group commit: C=16 over C=1, one partition',
      value: formatRatio(groupCommitSpeedup.actual),
      aim: { text: `≥ ${formatRatio(groupCommitSpeedup.aim)}`, met: groupCommitSpeedup.met },
      run: append,
    });
  }
  const shapes = load<ShapeBenchResult>(resultsDir, 'shapes.json', 'shapes');
  for (const m of shapes?.result.measurements.filter((m) => m.concurrency === 16) ?? []) {
    rows.push({
      measure: `append ${caseLabel(m)}`,
      value: `${formatNumber(m.strata.mbPerSec, 1)} MB/s`,
      ratio: m.ratio,
      raw: 'C independent TransactWriteItems',
      run: shapes!,
    });
  }
  const latency = load<LatencyBenchResult>(resultsDir, 'latency.json', 'latency');
  if (latency) {
    const e2e = latency.result.appendToConsume;
    const p999 = Number.isFinite(e2e.p999) ? formatMs(e2e.p999) : 'n/a (quick run)';
    rows.push({
      measure: 'append → consumer latency p50 / p99 / p999',
      value: `${formatMs(e2e.p50)} / ${formatMs(e2e.p99)} / ${p999} ms`,
      run: latency,
    });
    rows.push({
      measure: 'append acknowledged, p50 latency',
      value: `${formatMs(latency.result.appendOnly.p50)} ms`,
      // A latency: the raw primitive's over ours, so that higher is better like the others.
      ratio: latency.result.rawTransaction.p50 / latency.result.appendOnly.p50,
      raw: 'one TransactWriteItems (raw p50 / ours)',
      run: latency,
    });
  }
  const segments = load<SegmentBenchResult>(resultsDir, 'segments.json', 'segments');
  if (segments) {
    const { ratios, aims } = segments.result;
    const mbPerSec = (parts: { bytes: number; ms: number }[]) =>
      parts.reduce((a, p) => a + p.bytes, 0) / 1000 / parts.reduce((a, p) => a + p.ms, 0);
    rows.push({
      measure: 'flush tail → S3 segment',
      value: `${formatNumber(mbPerSec(segments.result.flush.map((r) => r.flush)), 1)} MB/s`,
      ratio: ratios.flushOverRaw,
      raw: 'Query of the tail + PUT',
      run: segments,
    });
    // Results from before binary reads have only the JSON catch-up.
    const binary = segments.result.catchUp.every((r) => r.binary !== undefined);
    rows.push({
      measure: binary ? 'catch-up read from S3 via HTTP (binary batches)' : 'catch-up read from S3 via HTTP',
      value: `${formatNumber(mbPerSec(segments.result.catchUp.map((r) => (binary ? r.binary : r.http))), 1)} MB/s`,
      ratio: binary ? ratios.binaryOverRawGet : ratios.httpOverRawGet,
      raw: 'ranged GETs of the same bytes',
      aim: { text: `≥ ${formatRatio(aims.catchUpRawRatio.aim)}`, met: aims.catchUpRawRatio.met, value: aims.catchUpRawRatio.aim },
      run: segments,
    });
    if (aims.stagedMbPerSec) {
      rows.push({
        measure: 'staged 1 MiB appends, C=1',
        value: `${formatNumber(aims.stagedMbPerSec.actual, 1)} MB/s`,
        aim: { text: `≥ ${aims.stagedMbPerSec.aim} MB/s`, met: aims.stagedMbPerSec.met },
        run: segments,
      });
    }
  }
  const compaction = load<CompactionBenchResult>(resultsDir, 'compaction.json', 'compaction');
  if (compaction) {
    rows.push({
      measure: 'key compaction',
      value: `${formatNumber(compaction.result.compactMBps, 1)} MB/s`,
      ratio: compaction.result.ratio,
      raw: 'S3 GET + PUT of the same bytes',
      aim: { text: '≥ 0.50×', met: compaction.result.ratio >= 0.5, value: 0.5 },
      run: compaction,
    });
  }
  const producer = load<ProducerBenchResult>(resultsDir, 'producer.json', 'producer');
  if (producer) {
    const ms = producer.result.measurements;
    const pairs = ms
      .filter((m) => m.suite === 'client-producer')
      .map((m) => ({
        m,
        raw: ms.find((r) => r.suite === 'raw-http' && r.partitions === m.partitions && r.batchRecords === m.batchRecords),
      }))
      .filter((p) => p.raw !== undefined);
    if (pairs.length > 0) {
      const best = pairs.reduce((a, b) => (b.m.recordsPerSec > a.m.recordsPerSec ? b : a));
      rows.push({
        measure: `client producer, 1 KiB, ${best.m.partitions} partition(s), batches of ${best.m.batchRecords}`,
        value: `${formatNumber(best.m.recordsPerSec)} records/s`,
        ratio: best.m.recordsPerSec / best.raw!.recordsPerSec,
        raw: 'raw HTTP appends of the same batches',
        run: producer,
      });
    }
  }
  const bundles = load<BundleResult[]>(resultsDir, 'bundles.json', 'bundles');
  if (bundles) {
    const largest = Math.max(...bundles.result.map((b) => b.bytes));
    const slowest = Math.max(...bundles.result.map((b) => summarize(b.initWithSourceMapsMs).p50));
    rows.push({
      measure: 'largest function bundle',
      value: `${formatNumber(largest / 1024)} KiB`,
      aim: { text: `≤ ${BUNDLE_BUDGET_BYTES / 1024} KiB`, met: largest <= BUNDLE_BUDGET_BYTES },
      run: bundles,
    });
    rows.push({
      measure: 'slowest module init p50 (source maps on)',
      value: `${formatMs(slowest)} ms`,
      aim: { text: `≤ ${INIT_BUDGET_MS} ms`, met: slowest <= INIT_BUDGET_MS },
      run: bundles,
    });
  }
  if (rows.length === 0) return undefined;

  const table: ReportTable = {
    title: 'Headline figures',
    columns: ['measure', 'value', 'vs raw', 'raw primitive (same run)', 'aim', 'met', 'run'],
    rows: rows.map((r) => [
      r.measure,
      r.value,
      r.ratio !== undefined ? formatRatio(r.ratio) : '',
      r.raw ?? '',
      r.aim?.text ?? '',
      r.aim ? (r.aim.met ? 'yes' : '**no**') : '',
      `${r.run.quick ? 'quick, ' : ''}${r.run.machine.date.slice(0, 10)}`,
    ]),
  };
  const bars: Bar[] = rows
    .filter((r) => r.ratio !== undefined)
    .map((r) => ({
      label: r.measure.length > 48 ? `${r.measure.slice(0, 47)}…` : r.measure,
      value: r.ratio!,
      text: formatRatio(r.ratio!),
      ...(r.aim?.value !== undefined ? { aim: r.aim.value, met: r.aim.met } : {}),
    }));
  const chart = barChart({
    title: 'Strata over the raw primitive, same run (green: aim met, red: missed, tick: the aim)',
    unit: '× raw',
    bars,
    reference: { value: 1, label: 'raw = 1×' },
  });
  return { table, chart };
}
