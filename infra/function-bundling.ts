/**
 * How each function is bundled, in one place: the Lambda entries, and the esbuild options
 * that three builders share. Inside this repository the construct passes them to
 * `NodejsFunction` (which runs esbuild at synth); `npm run build` passes them to esbuild's
 * API to prebuild `dist/functions/<name>/index.mjs` for the published package, whose
 * construct deploys those bundles as they are (infra/function-code.ts); `npm run bench --
 * --only bundles` measures the bundles' sizes and module-init times. No aws-cdk-lib or
 * esbuild import here, so the benchmark and the build load without them.
 */
import { fileURLToPath } from 'node:url';

/** The repository root: NodejsFunction's project root and where the lock file is. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * Every Lambda entry point Strata deploys: bundle name -> TypeScript entry, relative to
 * the repository root; the handler exports are named in the construct that creates the
 * function (`handler` unless it says otherwise).
 *
 * THE ONE LIST TO EDIT FOR A NEW FUNCTION. `npm run build` (and so `npm pack`) prebuilds
 * each entry to `dist/functions/<name>/index.mjs`, and `strataFunction(scope, id,
 * '<name>', props)` (infra/function-code.ts) deploys that bundle from the installed
 * package, or bundles the entry from source inside this repository. The pack test
 * (test/package/pack-and-synth.test.ts) checks that every entry here is in the tarball.
 */
export const FUNCTION_ENTRIES = {
  append: 'functions/append/handler.ts',
  read: 'functions/read/handler.ts',
  compact: 'functions/compact/handler.ts',
  // The push endpoint's WebSocket routes (infra/push-api.ts), with the construct's push prop.
  push: 'functions/push/handler.ts',
} as const satisfies Record<string, string>;

/** A prebuilt bundle's name: a key of FUNCTION_ENTRIES, and its folder under dist/functions/. */
export type BundleName = keyof typeof FUNCTION_ENTRIES;

/** The StrataLog construct's own functions (each a bundle of FUNCTION_ENTRIES). */
export type FunctionId = 'append' | 'read' | 'compact';

export const FUNCTION_IDS: readonly FunctionId[] = ['append', 'read', 'compact'];

/** A bundle's entry point, as an absolute path. */
export function functionEntry(name: BundleName): string {
  return fileURLToPath(new URL(`../${FUNCTION_ENTRIES[name]}`, import.meta.url));
}

/** Lambda's runtime: Node.js 22 on arm64 (the construct sets both). */
export const NODE_TARGET = 'node22';

/**
 * An ESM bundle needs `require` for the CommonJS dependencies that call it on Node
 * built-ins (the AWS SDK's and Powertools' transitive ones); esbuild cannot rewrite those.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __strataCreateRequire } from 'node:module'; const require = __strataCreateRequire(import.meta.url);";

/**
 * The esbuild options shared by the construct and the benchmark.
 *
 * - ESM with `module` before `main`: the SDK's ES builds tree-shake better.
 * - Minified, with an external source map without sources (the stack sets
 *   `NODE_OPTIONS=--enable-source-maps` so stack traces name the TypeScript lines).
 * - Nothing external: the AWS SDK is bundled rather than taken from the runtime, so
 *   what runs in Lambda is exactly the version the lock file pins and the tests ran.
 */
export const BUNDLE_OPTIONS = {
  target: NODE_TARGET,
  format: 'esm',
  platform: 'node',
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  external: [] as string[],
  banner: ESM_REQUIRE_BANNER,
} as const;

/** The bundle's file name in the asset directory (NodejsFunction writes `index.mjs` for ESM). */
export const BUNDLE_FILE = 'index.mjs';

/** The size the team aims each bundle to stay under, and the module-init budget. */
export const BUNDLE_BUDGET_BYTES = 1024 * 1024;
export const INIT_BUDGET_MS = 150;

/**
 * BUNDLE_OPTIONS as esbuild's API takes them, for `name`'s entry into `outdir`/index.mjs
 * (what NodejsFunction passes to the esbuild command line). Typed structurally so this
 * module needs no esbuild.
 */
export function esbuildOptions(name: BundleName, outdir: string) {
  return {
    entryPoints: [functionEntry(name)],
    outfile: `${outdir}/${BUNDLE_FILE}`,
    bundle: true,
    platform: BUNDLE_OPTIONS.platform,
    format: BUNDLE_OPTIONS.format,
    target: BUNDLE_OPTIONS.target,
    minify: BUNDLE_OPTIONS.minify,
    sourcemap: BUNDLE_OPTIONS.sourcemap,
    sourcesContent: BUNDLE_OPTIONS.sourcesContent,
    mainFields: [...BUNDLE_OPTIONS.mainFields],
    external: [...BUNDLE_OPTIONS.external],
    banner: { js: BUNDLE_OPTIONS.banner },
  };
}
