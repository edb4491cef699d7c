/**
 * The one shape every benchmark suite has, so that `npm run bench` runs them all the same
 * way: a suite measures, then renders what it measured as one section of
 * docs/benchmarks.md (its tables, charts and the sentences computed from the numbers).
 * What a suite measures and why is hand-written in docs/benchmarks.md, outside the
 * generated section; `measures` is the one line `npm run bench -- --help` prints.
 */
import type { ReportTable } from '../report/report.js';
import type { SharedStack } from './shared-stack.js';

export interface Chart {
  /** File name under docs/charts/. */
  file: string;
  alt: string;
  svg: string;
}

/** What a suite's run is given. */
export interface SuiteContext {
  /** The shorter, noisier settings of `--quick`. */
  quick: boolean;
  /** Save this run's engine K=1 contention latencies as the baseline (`--contention-baseline`). */
  saveContentionBaseline: boolean;
  /** The command that reproduces this run. */
  command: string;
  log: (line: string) => void;
  /** The local stack shared by the suites that set `sharedStack` (started on first use). */
  stack: () => Promise<SharedStack>;
}

/** A suite's section of docs/benchmarks.md, apart from its heading and machine line. */
export interface Rendered {
  tables: ReportTable[];
  charts?: Chart[];
  /** Lines between the "Measured on" line and the charts: only what is computed from the run. */
  intro?: string[];
}

/**
 * One benchmark suite. `run` measures and returns what goes to bench/results/NAME.json;
 * `render` turns that into the section, with no I/O (so a section can be redrawn from
 * committed results).
 *
 * @example
 * const result = await suite.run(ctx);
 * const { tables, charts } = suite.render(result, ctx);
 */
export interface Suite<R = unknown> {
  /** `--only` name, the section's marker name and the results file's name. */
  name: string;
  /** The section's heading. */
  title: string;
  /** One line: what the suite measures, for `--help`. */
  measures: string;
  /** Runs against the shared local stack, which stops after the last such suite of a run. */
  sharedStack?: boolean;
  run(ctx: SuiteContext): Promise<R>;
  render(result: R, ctx: Pick<SuiteContext, 'quick'>): Rendered;
}

/** A suite with its result type erased, for lists of suites (each suite renders only what it ran). */
// biome-ignore lint/suspicious/noExplicitAny: a list holds suites of different result types; run's result only goes back to the same suite's render
export type AnySuite = Suite<any>;

export const SECOND = 1000;

/** The full or the quick settings of a suite. */
export function settings<T>(ctx: Pick<SuiteContext, 'quick'>, full: T, quick: T): T {
  return ctx.quick ? quick : full;
}

/** A suite as `defineSuite` takes it: its settings and how it measures with them, instead of `run`. */
export interface SuiteSpec<O, R> extends Omit<Suite<R>, 'run'> {
  /** The settings of a full run. */
  full: O;
  /** The shorter, noisier settings of `--quick`. */
  quick: O;
  /** The line logged as the suite starts. */
  start: string;
  measure(options: O, ctx: SuiteContext): Promise<R>;
}

/**
 * The run every suite has: log the start line, pick the full or quick settings, measure.
 *
 * @example
 * export const pushSuite = defineSuite({
 *   name: 'push', title: 'Push', measures: 'append → consumer delivery',
 *   full: { samples: 300 }, quick: { samples: 60 }, start: 'push: append → consumer delivery',
 *   measure: (options, ctx) => runPushLatencyBench(options, ctx.log),
 *   render: (result) => ({ tables: pushLatencyTables(result) }),
 * });
 */
export function defineSuite<O, R>({ full, quick, start, measure, ...suite }: SuiteSpec<O, R>): Suite<R> {
  return {
    ...suite,
    run(ctx) {
      ctx.log(`\n${start}`);
      return measure(settings(ctx, full, quick), ctx);
    },
  };
}
