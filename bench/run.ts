/**
 * `npm run bench` (`-- --quick` for a shorter run, `--only a,b` for some suites,
 * `--contention-baseline` to save the engine's K=1 contention latencies as "today's path"
 * for later runs' aims, `--render` to redraw the docs from bench/results/ without measuring,
 * `--help` for the list): runs every suite of bench/suites/index.ts in one process
 * (the contention and push suites with worker processes of their own), prints the tables,
 * and regenerates their sections of docs/benchmarks.md, the charts under docs/charts/,
 * the summary at the top, and the JSON under bench/results/.
 * A benchmark, not a test: it reports what it measures, it does not pass or fail.
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// Powertools reads these when the stack creates the handlers' loggers and metrics:
// without them every request would print an EMF metrics line.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';

const { SUITES } = await import('./suites/index.js');
const { startSharedStack } = await import('./harness/shared-stack.js');
const { buildSummary } = await import('./report/summary.js');
const { machineInfo, machineLine, renderText } = await import('./report/report.js');
const { readResult, writeDocs, writeResult, writeSummary } = await import('./report/publish.js');

import type { SharedStack } from './harness/shared-stack.js';
import type { AnySuite, SuiteContext } from './harness/suite.js';
import type { ReportPaths, RunInfo } from './report/publish.js';

const PATHS: ReportPaths = {
  docs: fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url)),
  charts: fileURLToPath(new URL('../docs/charts/', import.meta.url)),
  results: fileURLToPath(new URL('./results', import.meta.url)),
};

/** Prints a suite's tables and writes its section, charts and JSON. */
async function publish(ctx: SuiteContext, suite: AnySuite, result: unknown): Promise<void> {
  const run: RunInfo = { command: ctx.command, quick: ctx.quick, machine: machineInfo() };
  const { tables } = await writeDocs(PATHS, suite, result, run);
  for (const table of tables) ctx.log(`${renderText(table)}\n`);
  await writeResult(PATHS, suite, result, run);
}

/** `--render`: redraws the suites' sections and charts from bench/results/ without measuring. */
async function renderSaved(log: (line: string) => void, suites: readonly AnySuite[]): Promise<void> {
  for (const suite of suites) {
    const saved = await readResult(PATHS, suite);
    if (!saved) {
      log(`${suite.name}: never run, its section is left as it is`);
      continue;
    }
    await writeDocs(PATHS, suite, saved.result, saved.run);
    log(`${suite.name}: redrawn from bench/results/${suite.name}.json`);
  }
}

async function publishSummary(log: (line: string) => void): Promise<void> {
  const summary = buildSummary(PATHS.results);
  if (!summary) return;
  log(renderText(summary.table));
  await writeSummary(PATHS, summary);
}

function parseSuites(only: string | undefined): AnySuite[] {
  if (only === undefined) return [...SUITES];
  const names = only
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = names.filter((n) => !SUITES.some((s) => s.name === n));
  if (names.length === 0 || unknown.length > 0) {
    throw new Error(`--only takes suite names separated by commas, from ${SUITES.map((s) => s.name).join(', ')}; got '${only}'`);
  }
  return SUITES.filter((s) => names.includes(s.name));
}

function help(): string {
  const width = Math.max(...SUITES.map((s) => s.name.length));
  return [
    'npm run bench [-- --quick] [--only SUITE,...] [--contention-baseline] [--render]',
    '',
    '  --quick                shorter runs, noisier figures',
    '  --only a,b             run some suites (their sections of docs/benchmarks.md are rewritten)',
    '  --render               measure nothing: redraw the sections, charts and summary from bench/results/',
    "  --contention-baseline  save the engine's K=1 contention latencies as today's path",
    '',
    'Suites, in the order a full run takes them:',
    ...SUITES.map((s) => `  ${s.name.padEnd(width)}  ${s.measures}`),
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      'contention-baseline': { type: 'boolean', default: false },
      render: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help === true) {
    console.log(help());
    return;
  }
  const quick = values.quick === true;
  const saveContentionBaseline = values['contention-baseline'] === true;
  const suites = parseSuites(values.only);
  if (values.render === true) {
    const log = (line: string) => console.log(line);
    await renderSaved(log, suites);
    await publishSummary(log);
    log(`\nRedrew ${PATHS.docs} and docs/charts/ from bench/results/`);
    return;
  }
  const flags = [
    ...(quick ? ['--quick'] : []),
    ...(values.only ? [`--only ${values.only}`] : []),
    ...(saveContentionBaseline ? ['--contention-baseline'] : []),
  ];
  const command = ['npm run bench', ...(flags.length > 0 ? ['--', ...flags] : [])].join(' ');
  // One local stack for the suites that share it, stopped after the last of them.
  let shared: Promise<SharedStack> | undefined;
  const stopShared = async () => {
    const stack = shared;
    shared = undefined;
    if (stack) await (await stack).stop();
  };
  const ctx: SuiteContext = {
    quick,
    saveContentionBaseline,
    command,
    log: (line) => console.log(line),
    stack: () => (shared ??= startSharedStack()),
  };
  const lastShared = suites.findLastIndex((s) => s.sharedStack === true);
  const started = performance.now();
  ctx.log(`Strata benchmarks${quick ? ' (quick)' : ''}: ${suites.map((s) => s.name).join(', ')} on ${machineLine(machineInfo())}`);
  try {
    for (const [i, suite] of suites.entries()) {
      try {
        await publish(ctx, suite, await suite.run(ctx));
      } finally {
        if (i === lastShared) await stopShared();
      }
    }
  } finally {
    await stopShared();
  }
  await publishSummary(ctx.log);
  ctx.log(`\nWrote ${PATHS.docs}, docs/charts/ and bench/results/ in ${((performance.now() - started) / 60_000).toFixed(1)} minutes`);
}

main().catch((err: unknown) => {
  console.error('✖ benchmark failed:', err);
  process.exitCode = 1;
});
