/**
 * docs/cost.md and its chart are what bench/cost/cost-report.ts renders from the result
 * saved in bench/results/cost.json: a change to the cost report shows here until the
 * document is redrawn (`npm run cost -- --render`), and an edit by hand shows as well.
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

describe('docs/cost.md', () => {
  it('is what the cost report renders from the saved result, with its chart', async () => {
    const rendered = renderCost(await readCostResult(PATHS));
    expect(readFileSync(PATHS.docs, 'utf8')).toBe(rendered.docs);
    expect(readFileSync(PATHS.chart, 'utf8')).toBe(rendered.chart);
  });
});
