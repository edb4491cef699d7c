/**
 * The benchmark report's pure parts: charts drawn from numbers, generated sections of a
 * markdown file, and the summary read back from the suites' JSON.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { barChart, groupedBarChart, niceMax, percentileChart } from '../../bench/report/charts.js';
import { writeSection } from '../../bench/report/report.js';
import { buildSummary } from '../../bench/report/summary.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'strata-bench-report-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Widths of the filled bars (<rect … fill="#…"> other than the background), in order. */
function barWidths(svg: string): number[] {
  return [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="\d+" fill="#(?!ffffff)/g)].map((m) => Number(m[1]));
}

describe('charts', () => {
  it('rounds axis maxima up to 1, 2, 2.5 or 5 × 10^n', () => {
    expect([0.7, 1, 1.2, 2.2, 3, 7, 12, 260, 0, Number.NaN].map(niceMax)).toEqual([1, 1, 2, 2.5, 5, 10, 20, 500, 1, 1]);
  });

  it('draws bars in proportion to their values, escapes labels, and marks aims met or missed', () => {
    const svg = barChart({
      title: 'ratios <&>',
      unit: '× raw',
      bars: [
        { label: 'full "bar"', value: 2, aim: 1, met: true },
        { label: 'half', value: 1, aim: 1.5, met: false },
      ],
      reference: { value: 1, label: 'raw' },
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('ratios &lt;&amp;&gt;');
    expect(svg).toContain('full &quot;bar&quot;');
    const [full, half] = barWidths(svg);
    expect(half! / full!).toBeCloseTo(0.5, 5);
    expect(svg).toContain('fill="#2e7d32"');
    expect(svg).toContain('fill="#c62828"');
    expect(svg.match(/<svg/g)).toHaveLength(1);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  });

  it('groups bars per category with one colour per series, and leaves a missing value empty', () => {
    const svg = groupedBarChart({
      title: 'goodput',
      unit: 'MB/s',
      categories: ['C=1', 'C=4'],
      series: [
        { name: 'Strata', values: [10, 20] },
        { name: 'raw', values: [40, Number.NaN] },
      ],
    });
    // Two legend swatches, then three bars by category then series (the NaN one is not drawn).
    const widths = barWidths(svg).filter((w) => w !== 12);
    expect(widths).toHaveLength(3);
    expect(widths[1]! / widths[0]!).toBeCloseTo(4, 5);
    expect(widths[2]! / widths[0]!).toBeCloseTo(2, 5);
    expect(svg).toContain('–');
  });

  it('places percentiles on a scale of nines and the maximum past the last one', () => {
    const svg = percentileChart({
      title: 'latency',
      series: [
        {
          name: 'append',
          points: [
            [0, 1],
            [50, 2],
            [90, 3],
            [99, 5],
            [100, 9],
          ],
        },
      ],
    });
    const xs = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(xs).toHaveLength(5);
    // p50 → p90 → p99 are equally spaced (0.3, 1 and 2 nines: 0.7 and 1 apart).
    const step = (xs[2]! - xs[1]!) / (1 - Math.log10(2));
    expect(xs[3]! - xs[2]!).toBeCloseTo(step, 1);
    expect(xs[4]!).toBeGreaterThan(xs[3]!);
    expect(svg).not.toContain('p99.9');
  });
});

describe('writeSection', () => {
  it('creates the file with its header, replaces a section in place, and puts a `first` section before the others', async () => {
    const file = join(await tempDir(), 'doc.md');
    await writeSection(file, 'a', 'A one', '# Title');
    await writeSection(file, 'b', 'B one', '# Title');
    await writeSection(file, 'a', 'A two', '# Title');
    await writeSection(file, 'top', 'Top', '# Title', { first: true });
    expect(await readFile(file, 'utf8')).toBe(
      [
        '# Title',
        '',
        '<!-- bench:top:start -->\nTop\n<!-- bench:top:end -->',
        '',
        '<!-- bench:a:start -->\nA two\n<!-- bench:a:end -->',
        '',
        '<!-- bench:b:start -->\nB one\n<!-- bench:b:end -->',
        '',
      ].join('\n'),
    );
  });

  it("refuses a file that holds only one of a section's markers", async () => {
    const file = join(await tempDir(), 'broken.md');
    await writeFile(file, '# Title\n\n<!-- bench:a:start -->\nno end\n');
    await expect(writeSection(file, 'a', 'A', '# Title')).rejects.toThrow(/only one of the markers/);
  });
});

describe('buildSummary', () => {
  it('is empty before any suite ran', async () => {
    expect(buildSummary(await tempDir())).toBeUndefined();
  });

  it("reads each suite's latest result and judges it against its aim", async () => {
    const dir = await tempDir();
    const saved = (key: string, value: unknown, quick = false) =>
      JSON.stringify({ command: 'npm run bench', quick, machine: { date: '2026-11-23T10:00:00.000Z' }, [key]: value });
    await writeFile(
      join(dir, 'compaction.json'),
      saved('compaction', { compactMBps: 12.5, rawMBps: 50, ratio: 0.25, rounds: [], options: {} }, true),
    );
    await writeFile(
      join(dir, 'bundles.json'),
      saved('bundles', [
        { fn: 'append', bytes: 800 * 1024, zippedBytes: 1, mapBytes: 1, heaviest: [], initMs: [50], initWithSourceMapsMs: [60, 70, 80] },
        { fn: 'read', bytes: 1200 * 1024, zippedBytes: 1, mapBytes: 1, heaviest: [], initMs: [40], initWithSourceMapsMs: [40] },
      ]),
    );
    const summary = buildSummary(dir)!;
    const row = (measure: string) => summary.table.rows.find((r) => r[0] === measure)!;
    expect(row('key compaction')).toEqual([
      'key compaction',
      '12.5 MB/s',
      '0.25×',
      'S3 GET + PUT of the same bytes',
      '≥ 0.50×',
      '**no**',
      'quick, 2026-11-23',
    ]);
    expect(row('largest function bundle').slice(1, 6)).toEqual(['1,200 KiB', '', '', '≤ 1024 KiB', '**no**']);
    expect(row('slowest module init p50 (source maps on)').slice(4, 6)).toEqual(['≤ 150 ms', 'yes']);
    expect(summary.table.rows).toHaveLength(3);
    // Only rows with a ratio become bars: one, drawn in the "missed" colour.
    expect(barWidths(summary.chart)).toHaveLength(1);
    expect(summary.chart).toContain('fill="#c62828"');
  });
});
