/**
 * `npm run build` (and `npm pack`, through `prepack`): everything the package ships, in a
 * fresh dist/:
 *
 * - `dist/cli.js`, the `strata` binary (the package's `bin`);
 * - `dist/client.js`, the client (the package's `.` export);
 * - `dist/cdk.js`, the StrataLog construct library (the `./cdk` export);
 * - `dist/functions/<name>/index.mjs` (+ source map), every entry of FUNCTION_ENTRIES
 *   bundled as the construct bundles it in this repository: the installed construct
 *   deploys these as they are (infra/function-code.ts);
 * - `dist/types/`, the type declarations of the client and the construct.
 *
 * The CLI, client and construct keep their dependencies external (node_modules provides
 * them; aws-cdk-lib and constructs are peers); the function bundles hold everything.
 */
import { execFileSync } from 'node:child_process';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BUNDLE_FILE, type BundleName, esbuildOptions, FUNCTION_ENTRIES } from '../infra/function-bundling.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** dist/functions/: the prebuilt bundles' folder, relative to dist/cdk.js (see infra/function-code.ts). */
const PREBUILT_FUNCTIONS = './functions/';

const common = {
  bundle: true,
  platform: 'node' as const,
  format: 'esm' as const,
  target: 'node20',
  packages: 'external' as const,
  logLevel: 'warning' as const,
  sourcemap: true,
};

/** Builds the `strata` binary; returns its path. */
export async function buildCli(outDir = join(ROOT, 'dist')): Promise<string> {
  const outfile = join(outDir, 'cli.js');
  await build({ ...common, entryPoints: [join(ROOT, 'cli/bin.ts')], outfile, banner: { js: '#!/usr/bin/env node' } });
  await chmod(outfile, 0o755);
  return outfile;
}

export async function buildClient(outDir = join(ROOT, 'dist')): Promise<string> {
  const outfile = join(outDir, 'client.js');
  await build({ ...common, entryPoints: [join(ROOT, 'client/index.ts')], outfile });
  return outfile;
}

/**
 * Runtime-only packages the construct's modules import for the functions' sake (e.g. the
 * metrics namespace sits beside Powertools in functions/shared/observability.ts), taken
 * as free of side effects so that esbuild drops their unused imports: a CDK app has no
 * use for Powertools or the AWS SDK. An import still used at a module's top level (a
 * constant built from Powertools' MetricUnit) stays; they are dependencies, so it loads.
 */
const RUNTIME_ONLY = /^@aws-lambda-powertools\/|^@aws-sdk\/|^@smithy\//;

/**
 * The construct library, told where its prebuilt functions are. Only what a CDK app
 * needs: aws-cdk-lib, constructs and zod (topic defaults are validated at synth).
 */
export async function buildConstruct(outDir = join(ROOT, 'dist')): Promise<string> {
  const outfile = join(outDir, 'cdk.js');
  await build({
    ...common,
    entryPoints: [join(ROOT, 'infra/index.ts')],
    outfile,
    define: { __STRATA_PREBUILT_FUNCTIONS__: JSON.stringify(PREBUILT_FUNCTIONS) },
    plugins: [
      {
        name: 'runtime-only-packages',
        setup(b) {
          b.onResolve({ filter: RUNTIME_ONLY }, (args) => ({ path: args.path, external: true, sideEffects: false }));
        },
      },
    ],
  });
  return outfile;
}

/**
 * Every entry of FUNCTION_ENTRIES to `outDir/functions/<name>/`; returns the names. The
 * bundles are the bytes NodejsFunction produces from the same sources; their source maps
 * name the sources from the repository root (`lib/sequencing/appender.ts`, `node_modules/zod/...`),
 * not from the folder the build ran in, so the package is the same wherever it is built
 * and a deployed stack trace reads `/var/task/lib/appender.ts:12`.
 */
export async function buildFunctions(outDir = join(ROOT, 'dist')): Promise<BundleName[]> {
  const names = Object.keys(FUNCTION_ENTRIES) as BundleName[];
  await Promise.all(
    names.map(async (name) => {
      const dir = join(outDir, PREBUILT_FUNCTIONS, name);
      await build({ ...esbuildOptions(name, dir), logLevel: 'warning' });
      const mapFile = join(dir, `${BUNDLE_FILE}.map`);
      const map = JSON.parse(await readFile(mapFile, 'utf8')) as { sources: string[] };
      map.sources = map.sources.map((source) => relative(ROOT, resolve(dir, source)).split(sep).join('/'));
      await writeFile(mapFile, JSON.stringify(map));
    }),
  );
  return names;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dist = join(ROOT, 'dist');
  // A fresh dist/: npm pack ships all of it (package.json `files`), so nothing stale may stay.
  await rm(dist, { recursive: true, force: true });
  const [, , , functions] = await Promise.all([buildCli(dist), buildClient(dist), buildConstruct(dist), buildFunctions(dist)]);
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
    stdio: 'inherit',
  });
  console.log(`built dist/cli.js, dist/client.js, dist/cdk.js, dist/functions/{${functions.join(',')}}/ and dist/types/`);
}
