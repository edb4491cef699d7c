/**
 * A Strata Lambda function from one of FUNCTION_ENTRIES, wherever the construct runs:
 *
 * - **from the installed package** (`strata/cdk`, i.e. dist/cdk.js): the bundle `npm run
 *   build` prebuilt next to it, dist/functions/<name>/index.mjs, deployed as it is with
 *   `lambda.Code.fromAsset`. A consumer's synth needs no esbuild, no TypeScript and none
 *   of Strata's sources, and deploys exactly the bytes the package was tested with.
 * - **from this repository's TypeScript** (tsx for `cdk synth`/`cdk deploy`, vitest): a
 *   `NodejsFunction` that bundles the entry with esbuild at synth, as before, so the
 *   repository's own app never deploys a stale dist/.
 *
 * Which one is decided when dist/cdk.js is built (an esbuild `define`), not by looking
 * for files: a repository checkout with an old dist/ still bundles from source, and an
 * installed package missing its bundles fails the synth with a message instead of
 * reaching for sources it does not have.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { BUNDLE_FILE, BUNDLE_OPTIONS, type BundleName, functionEntry, PROJECT_ROOT } from './function-bundling.js';

/**
 * Set only in dist/cdk.js, by cli/build.ts: the prebuilt bundles' folder, relative to
 * that file (`./functions/`). Undefined (an undeclared global) when running from source.
 */
declare const __STRATA_PREBUILT_FUNCTIONS__: string | undefined;

/** The bundles' target is Node 22 (NODE_TARGET): the runtime goes with it. */
export const FUNCTION_RUNTIME = lambda.Runtime.NODEJS_22_X;

export interface StrataFunctionProps extends lambda.FunctionOptions {
  /** The entry's exported handler. @default 'handler' */
  handler?: string;
}

/**
 * Where the prebuilt bundle of `name` is (a folder holding index.mjs and its source map),
 * or undefined when the construct runs from this repository's sources.
 */
export function prebuiltFunctionDir(name: BundleName): string | undefined {
  if (typeof __STRATA_PREBUILT_FUNCTIONS__ !== 'string') return undefined;
  return fileURLToPath(new URL(`${__STRATA_PREBUILT_FUNCTIONS__}${name}/`, import.meta.url));
}

/**
 * Creates the function of bundle `name` (FUNCTION_ENTRIES) on Node 22, from the prebuilt
 * bundle or from source (see the module comment). `props` are lambda.Function's but code
 * and runtime.
 *
 * @example
 * const fn = strataFunction(this, 'PushFunction', 'push', { architecture: lambda.Architecture.ARM_64, role });
 */
export function strataFunction(scope: Construct, id: string, name: BundleName, props: StrataFunctionProps = {}): lambda.Function {
  const exported = props.handler ?? 'handler';
  // NodejsFunction's rule: a bare export name is looked up in index.mjs.
  const handler = exported.includes('.') ? exported : `index.${exported}`;
  const dir = prebuiltFunctionDir(name);
  if (dir !== undefined) {
    if (!existsSync(`${dir}${BUNDLE_FILE}`)) {
      throw new Error(
        `Strata's prebuilt '${name}' function is missing (${dir}${BUNDLE_FILE}): the installed package is incomplete. ` +
          'Reinstall it; a package packed from a checkout needs `npm run build` first (npm pack runs it).',
      );
    }
    return new lambda.Function(scope, id, { ...props, runtime: FUNCTION_RUNTIME, handler, code: lambda.Code.fromAsset(dir) });
  }
  return new nodejs.NodejsFunction(scope, id, {
    ...props,
    entry: functionEntry(name),
    handler,
    projectRoot: PROJECT_ROOT,
    depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
    runtime: FUNCTION_RUNTIME,
    bundling: {
      forceDockerBundling: false,
      minify: BUNDLE_OPTIONS.minify,
      sourceMap: BUNDLE_OPTIONS.sourcemap,
      sourcesContent: BUNDLE_OPTIONS.sourcesContent,
      target: BUNDLE_OPTIONS.target,
      format: nodejs.OutputFormat.ESM,
      mainFields: [...BUNDLE_OPTIONS.mainFields],
      externalModules: [...BUNDLE_OPTIONS.external],
      banner: BUNDLE_OPTIONS.banner,
    },
  });
}
