/**
 * The functions' bundles: each function bundled with esbuild exactly as the StrataLog
 * construct bundles it (the shared options of infra/function-bundling.ts), its size
 * (raw, zipped as Lambda stores it, and its source map), the packages that weigh most,
 * and its module-init time: a fresh `node` process importing the bundle, as a Lambda
 * cold start does before the first invocation, timed from inside that process.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import {
  BUNDLE_BUDGET_BYTES,
  BUNDLE_FILE,
  esbuildOptions,
  FUNCTION_IDS,
  type FunctionId,
  INIT_BUDGET_MS,
} from '../../infra/function-bundling.js';
import { summarize } from '../harness/stats.js';
import { type Suite, settings } from '../harness/suite.js';
import type { ReportTable } from '../report/report.js';

const run = promisify(execFile);

export interface BundleResult {
  fn: FunctionId;
  bytes: number;
  zippedBytes: number;
  mapBytes: number;
  /** The heaviest packages in the bundle, bytes of output each. */
  heaviest: { name: string; bytes: number }[];
  /** Import time in ms per fresh process, without and with --enable-source-maps (as deployed). */
  initMs: number[];
  initWithSourceMapsMs: number[];
}

export interface BundleBenchOptions {
  /** Fresh processes per function and per setting. */
  runs: number;
}

/** Bundles `fn` into `dir` with the construct's options. */
export async function bundleFunction(fn: FunctionId, dir: string): Promise<esbuild.Metafile> {
  // The options npm run build prebuilds the package's bundles with (cli/build.ts).
  const result = await esbuild.build({ ...esbuildOptions(fn, dir), metafile: true, logLevel: 'silent' });
  return result.metafile;
}

/** Milliseconds to import the bundle, measured inside a fresh node process. */
async function importMs(file: string, nodeOptions: string): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); console.log(performance.now() - t);`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: nodeOptions },
  });
  return Number(stdout.trim());
}

function heaviestPackages(metafile: esbuild.Metafile, top: number): { name: string; bytes: number }[] {
  const output = Object.values(metafile.outputs).find((o) => o.entryPoint !== undefined) ?? Object.values(metafile.outputs)[0]!;
  const byPackage = new Map<string, number>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
    const name = match ? match[1]! : `(strata) ${input.split('/')[0]}/`;
    byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
  }
  return [...byPackage.entries()]
    .map(([name, bytes]) => ({ name, bytes }))
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top);
}

export async function runBundleBench(options: BundleBenchOptions, log: (line: string) => void): Promise<BundleResult[]> {
  const root = await mkdtemp(join(tmpdir(), 'strata-bench-bundles-'));
  try {
    const results: BundleResult[] = [];
    for (const fn of FUNCTION_IDS) {
      const dir = join(root, fn);
      const metafile = await bundleFunction(fn, dir);
      const file = join(dir, BUNDLE_FILE);
      const code = await readFile(file);
      const result: BundleResult = {
        fn,
        bytes: code.length,
        zippedBytes: deflateRawSync(code, { level: 9 }).length,
        mapBytes: (await stat(`${file}.map`)).size,
        heaviest: heaviestPackages(metafile, 4),
        initMs: [],
        initWithSourceMapsMs: [],
      };
      // Interleaved, so that background load hits both settings alike.
      for (let i = 0; i < options.runs; i++) {
        result.initMs.push(await importMs(file, ''));
        result.initWithSourceMapsMs.push(await importMs(file, '--enable-source-maps'));
      }
      log(`  ${fn}: ${kb(result.bytes)}, init p50 ${ms(summarize(result.initMs).p50)}`);
      results.push(result);
    }
    return results;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

export function bundleTables(results: BundleResult[], runs: number): ReportTable[] {
  return [
    {
      title: 'Function bundles (esbuild, minified ESM, node22, everything bundled)',
      columns: ['function', 'bundle', 'zipped', 'source map', `≤ ${kb(BUNDLE_BUDGET_BYTES)}`, 'heaviest packages'],
      rows: results.map((r) => [
        r.fn,
        kb(r.bytes),
        kb(r.zippedBytes),
        kb(r.mapBytes),
        r.bytes <= BUNDLE_BUDGET_BYTES ? 'yes' : 'NO',
        r.heaviest.map((p) => `${p.name} ${kb(p.bytes)}`).join(', '),
      ]),
    },
    {
      title: `Module init: import of the bundle in a fresh node process (${runs} runs each)`,
      columns: ['function', 'p50', 'max', 'p50 with --enable-source-maps', 'max with --enable-source-maps', `p50 ≤ ${INIT_BUDGET_MS} ms`],
      rows: results.map((r) => {
        const plain = summarize(r.initMs);
        const mapped = summarize(r.initWithSourceMapsMs);
        return [
          r.fn,
          ms(plain.p50),
          ms(plain.max),
          ms(mapped.p50),
          ms(mapped.max),
          Math.max(plain.p50, mapped.p50) <= INIT_BUDGET_MS ? 'yes' : 'NO',
        ];
      }),
    },
  ];
}

function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(0)} KB`;
}

function ms(value: number): string {
  return `${value.toFixed(1)} ms`;
}

const bundleRuns = (ctx: { quick: boolean }) => settings(ctx, 15, 5);

export const bundlesSuite: Suite<BundleResult[]> = {
  name: 'bundles',
  title: 'Function bundles',
  measures: "each function's bundle: its size and its cold import time",
  async run(ctx) {
    const runs = bundleRuns(ctx);
    ctx.log(`function bundles (${runs} cold imports each)`);
    return runBundleBench({ runs }, ctx.log);
  },
  render: (results, ctx) => ({ tables: bundleTables(results, bundleRuns(ctx)) }),
};
