/**
 * `npm run bench` (`-- --quick` for a shorter run, `--only a,b` for some suites,
 * `--contention-baseline` to save the engine's K=1 contention latencies as "today's path"
 * for later runs' aims, `--help` for the list): runs every suite of SUITES in one process
 * (the contention and push suites with worker processes of their own), prints the tables,
 * and regenerates their sections of docs/benchmarks.md, the charts under docs/charts/,
 * the summary at the top, and the JSON under bench/results/.
 * A benchmark, not a test: it reports what it measures, it does not pass or fail.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// Powertools reads these when the stack creates the handlers' loggers and metrics:
// without them every request would print an EMF metrics line.
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'WARN';

const { compressionSuite } = await import('./suites/compression.js');
const { bundlesSuite } = await import('./suites/bundles.js');
const { appendSuite } = await import('./suites/append.js');
const { latencySuite } = await import('./suites/latency.js');
const { shapesSuite } = await import('./suites/append-shapes.js');
const { segmentsSuite } = await import('./suites/segments.js');
const { compactionSuite } = await import('./suites/compaction.js');
const { producerSuite } = await import('./suites/producer.js');
const { contentionSuite } = await import('./suites/contention.js');
const { stagingSuite } = await import('./suites/staging-latency.js');
const { fanOutSuite } = await import('./suites/fanout.js');
const { pushSuite } = await import('./suites/push-latency.js');
const { startSharedStack } = await import('./harness/shared-stack.js');
const { buildSummary } = await import('./report/summary.js');
const { machineInfo, machineLine, renderMarkdown, renderText, writeJson, writeSection } = await import('./report/report.js');

import type { SharedStack } from './harness/shared-stack.js';
import type { AnySuite, SuiteContext } from './harness/suite.js';

/** Every suite, in the order a full run takes them. */
const SUITES: readonly AnySuite[] = [
  compressionSuite,
  bundlesSuite,
  appendSuite,
  latencySuite,
  shapesSuite,
  segmentsSuite,
  compactionSuite,
  producerSuite,
  contentionSuite,
  stagingSuite,
  fanOutSuite,
  pushSuite,
];

const DOCS_PATH = fileURLToPath(new URL('../docs/benchmarks.md', import.meta.url));
const CHARTS_DIR = fileURLToPath(new URL('../docs/charts/', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results', import.meta.url));
/** Only for a docs/benchmarks.md that does not exist yet: the hand-written text is in the file. */
const DOCS_HEADER = '# Benchmarks\n';

/** Prints a suite's tables and writes its section, charts and JSON. */
async function publish(ctx: SuiteContext, suite: AnySuite, result: unknown): Promise<void> {
  const { tables, charts = [], intro = [] } = suite.render(result, ctx);
  for (const table of tables) ctx.log(`${renderText(table)}\n`);
  const machine = machineInfo();
  await mkdir(CHARTS_DIR, { recursive: true });
  for (const chart of charts) await writeFile(join(CHARTS_DIR, chart.file), chart.svg);
  const body = [
    `Measured with \`${ctx.command}\` on ${machineLine(machine)}.`,
    ...intro,
    '',
    ...charts.map((c) => `![${c.alt}](charts/${c.file})\n`),
    ...tables.map((t) => `${renderMarkdown(t)}\n`),
  ].join('\n');
  await writeSection(DOCS_PATH, suite.name, body, DOCS_HEADER, { heading: `### ${suite.title}` });
  await writeJson(join(RESULTS_DIR, `${suite.name}.json`), { command: ctx.command, quick: ctx.quick, machine, [suite.name]: result });
}

async function publishSummary(ctx: SuiteContext): Promise<void> {
  const summary = buildSummary(RESULTS_DIR);
  if (!summary) return;
  ctx.log(renderText(summary.table));
  await mkdir(CHARTS_DIR, { recursive: true });
  await writeFile(join(CHARTS_DIR, 'summary.svg'), summary.chart);
  const body = ['## Summary', '', '![Strata over the raw primitives](charts/summary.svg)', '', renderMarkdown(summary.table), ''].join(
    '\n',
  );
  await writeSection(DOCS_PATH, 'summary', body, DOCS_HEADER, { first: true });
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
    'npm run bench [-- --quick] [--only SUITE,...] [--contention-baseline]',
    '',
    '  --quick                shorter runs, noisier figures',
    '  --only a,b             run some suites (their sections of docs/benchmarks.md are rewritten)',
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
  await publishSummary(ctx);
  ctx.log(`\nWrote ${DOCS_PATH}, docs/charts/ and bench/results/ in ${((performance.now() - started) / 60_000).toFixed(1)} minutes`);
}

main().catch((err: unknown) => {
  console.error('✖ benchmark failed:', err);
  process.exitCode = 1;
});
