/**
 * docs/benchmarks.md's generated blocks are what the suites render from the results saved
 * under bench/results/: a change to a suite's report shows here until the blocks are
 * redrawn (`npm run bench -- --render`), and a block edited by hand shows as well.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ReportPaths, readResult, renderSection, summaryBody } from '../../bench/report/publish.js';
import { buildSummary } from '../../bench/report/summary.js';
import { SUITES } from '../../bench/suites/index.js';

const PATHS: ReportPaths = {
  docs: fileURLToPath(new URL('../../docs/benchmarks.md', import.meta.url)),
  charts: fileURLToPath(new URL('../../docs/charts/', import.meta.url)),
  results: fileURLToPath(new URL('../../bench/results', import.meta.url)),
};

function block(docs: string, name: string): string | undefined {
  const start = `<!-- bench:${name}:start -->\n`;
  const from = docs.indexOf(start);
  const to = docs.indexOf(`\n<!-- bench:${name}:end -->`);
  return from >= 0 && to > from ? docs.slice(from + start.length, to) : undefined;
}

describe('docs/benchmarks.md', () => {
  const docs = readFileSync(PATHS.docs, 'utf8');

  it.each(SUITES.map((suite) => [suite.name, suite] as const))('holds the %s block as rendered from its saved result', async (_, suite) => {
    const saved = await readResult(PATHS, suite);
    if (!saved) return;
    const section = renderSection(suite, saved.result, saved.run);
    expect(block(docs, suite.name)).toBe(section.body.trim());
    for (const chart of section.charts) {
      expect(readFileSync(`${PATHS.charts}${chart.file}`, 'utf8'), chart.file).toBe(chart.svg);
    }
  });

  it('holds the summary block as built from every saved result', () => {
    const summary = buildSummary(PATHS.results);
    expect(summary).toBeDefined();
    expect(block(docs, 'summary')).toBe(summaryBody(summary!.table).trim());
    expect(readFileSync(`${PATHS.charts}summary.svg`, 'utf8')).toBe(summary!.chart);
  });
});
