/**
 * docs/cost.md's generated blocks and its chart are what bench/cost/cost-report.ts renders
 * from the result saved in bench/results/cost.json (and the fan-out benchmark's, in
 * bench/results/fanout.json): a change to the cost report shows here until the blocks are
 * redrawn (`npm run cost -- --render`), and a block edited by hand shows as well. The text
 * outside the blocks is written by hand.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type CostPaths, readCostResult, renderCost } from '../../bench/cost/cost-report.js';

const PATHS: CostPaths = {
  docs: fileURLToPath(new URL('../../docs/cost.md', import.meta.url)),
  chart: fileURLToPath(new URL('../../docs/charts/cost-batch-size.svg', import.meta.url)),
  results: fileURLToPath(new URL('../../bench/results/cost.json', import.meta.url)),
};

function block(docs: string, name: string): string | undefined {
  const start = `<!-- bench:${name}:start -->\n`;
  const from = docs.indexOf(start);
  const to = docs.indexOf(`\n<!-- bench:${name}:end -->`);
  return from >= 0 && to > from ? docs.slice(from + start.length, to) : undefined;
}

describe('docs/cost.md', async () => {
  const docs = readFileSync(PATHS.docs, 'utf8');
  const rendered = renderCost(await readCostResult(PATHS));

  it.each(rendered.blocks.map((b) => [b.name, b] as const))('holds the %s block as rendered from the saved result', (_, b) => {
    expect(block(docs, b.name)).toBe(b.body.trim());
  });

  it('has no generated block the report no longer renders, in the order it renders them', () => {
    const names = [...docs.matchAll(/^<!-- bench:([\w-]+):start -->$/gm)].map((m) => m[1]);
    expect(names).toEqual(rendered.blocks.map((b) => b.name));
  });

  it('holds the chart as rendered from the saved result', () => {
    expect(readFileSync(PATHS.chart, 'utf8')).toBe(rendered.chart);
  });
});
