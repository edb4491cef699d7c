/**
 * A suite's result turned into its block of docs/benchmarks.md, its charts and its JSON:
 * the same code for a run that has just measured and for `--render`, which redraws the
 * blocks from the results saved under bench/results/.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnySuite, Chart } from '../harness/suite.js';
import { type MachineInfo, machineLine, type ReportTable, renderMarkdown, writeJson, writeSection } from './report.js';

/** How and where a result was measured: a results file holds it beside the result. */
export interface RunInfo {
  command: string;
  quick: boolean;
  machine: MachineInfo;
}

/** Where the report goes. */
export interface ReportPaths {
  docs: string;
  charts: string;
  results: string;
}

/** Only for a docs/benchmarks.md that does not exist yet: the hand-written text is in the file. */
const DOCS_HEADER = '# Benchmarks\n';

export interface Section {
  /** What goes between the suite's markers. */
  body: string;
  tables: ReportTable[];
  charts: Chart[];
}

/** A suite's block of docs/benchmarks.md, with no I/O. */
export function renderSection(suite: AnySuite, result: unknown, run: RunInfo): Section {
  const { tables, charts = [], intro = [] } = suite.render(result, run);
  const body = [
    `Measured with \`${run.command}\` on ${machineLine(run.machine)}.`,
    ...intro,
    '',
    ...charts.map((c) => `![${c.alt}](charts/${c.file})\n`),
    ...tables.map((t) => `${renderMarkdown(t)}\n`),
  ].join('\n');
  return { body, tables, charts };
}

/** Writes a suite's block and charts; returns the section for printing. */
export async function writeDocs(paths: ReportPaths, suite: AnySuite, result: unknown, run: RunInfo): Promise<Section> {
  const section = renderSection(suite, result, run);
  await mkdir(paths.charts, { recursive: true });
  for (const chart of section.charts) await writeFile(join(paths.charts, chart.file), chart.svg);
  await writeSection(paths.docs, suite.name, section.body, DOCS_HEADER, { heading: `### ${suite.title}` });
  return section;
}

export async function writeResult(paths: ReportPaths, suite: AnySuite, result: unknown, run: RunInfo): Promise<void> {
  await writeJson(join(paths.results, `${suite.name}.json`), { ...run, [suite.name]: result });
}

/** A suite's saved result and how it was measured, or undefined if it has never run. */
export async function readResult(paths: ReportPaths, suite: AnySuite): Promise<{ run: RunInfo; result: unknown } | undefined> {
  const path = join(paths.results, `${suite.name}.json`);
  if (!existsSync(path)) return undefined;
  const saved = JSON.parse(await readFile(path, 'utf8')) as RunInfo & Record<string, unknown>;
  return { run: { command: saved.command, quick: saved.quick === true, machine: saved.machine }, result: saved[suite.name] };
}

/** The summary block at the top of the docs, with no I/O. */
export function summaryBody(table: ReportTable): string {
  return ['## Summary', '', '![Strata over the raw primitives](charts/summary.svg)', '', renderMarkdown(table), ''].join('\n');
}

/** Writes the summary block at the top of the docs from every saved result, and its chart. */
export async function writeSummary(paths: ReportPaths, summary: { table: ReportTable; chart: string }): Promise<void> {
  await mkdir(paths.charts, { recursive: true });
  await writeFile(join(paths.charts, 'summary.svg'), summary.chart);
  await writeSection(paths.docs, 'summary', summaryBody(summary.table), DOCS_HEADER, { first: true });
}
