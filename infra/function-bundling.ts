/**
 * How each function is bundled, in one place: the `StrataLog` construct passes these
 * options to `NodejsFunction` (which runs esbuild locally), and `npm run bench -- --only
 * bundles` passes the same options to esbuild's API to measure the bundles' sizes and
 * module-init times. No aws-cdk-lib import here, so the benchmark loads without it.
 */
import { fileURLToPath } from 'node:url';

/** The repository root: NodejsFunction's project root and where the lock file is. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

export type FunctionId = 'append' | 'read' | 'compact';

export const FUNCTION_IDS: readonly FunctionId[] = ['append', 'read', 'compact'];

/** Each function's entry point; the handler export is `handler`. */
export function functionEntry(id: FunctionId): string {
  return fileURLToPath(new URL(`../functions/${id}/handler.ts`, import.meta.url));
}

/** Lambda's runtime: Node.js 22 on arm64 (the construct sets both). */
export const NODE_TARGET = 'node22';

/**
 * An ESM bundle needs `require` for the CommonJS dependencies that call it on Node
 * built-ins (the AWS SDK's and Powertools' transitive ones); esbuild cannot rewrite those.
 */
export const ESM_REQUIRE_BANNER = "import { createRequire as __strataCreateRequire } from 'node:module'; const require = __strataCreateRequire(import.meta.url);";

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
