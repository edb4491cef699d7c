/**
 * The package as a consumer gets it: `npm run build`, `npm pack`, the tarball unpacked
 * into a scratch CDK app outside the repository, and that app synthesized offline with
 * `strata/cdk`'s StrataLog. The scratch app has the package's declared dependencies and
 * peers and nothing else (each linked from this repository's node_modules, so no
 * registry is asked): esbuild, TypeScript and tsx cannot be resolved from it, and the
 * tarball holds no TypeScript sources, so the functions can only come from the prebuilt
 * bundles.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_FILE, FUNCTION_ENTRIES, FUNCTION_IDS, PROJECT_ROOT } from '../../infra/function-bundling.js';

const run = promisify(execFile);

/** Build (esbuild and tsc), pack, and a synth that loads aws-cdk-lib: slow on two busy cores. */
const PACK_TIMEOUT_MS = 240_000;
/** What the tarball may weigh, compressed: three bundles of ~0.8 MB with their source maps. */
const TARBALL_BUDGET_BYTES = 5 * 1024 * 1024;
/** Modules a consumer's synth must never need. */
const BUILD_TOOLS = ['esbuild', 'typescript', 'tsx'];
/** The package a bare import names: `@scope/name` or `name`. */
const packageOf = (specifier: string) =>
  specifier
    .split('/')
    .slice(0, specifier.startsWith('@') ? 2 : 1)
    .join('/');

interface PackedFile {
  path: string;
  size: number;
}
interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: PackedFile[];
}

let scratch: string;
let packed: Packed;
let pkg: {
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  private?: boolean;
  exports: Record<string, unknown>;
};
let template: { Resources: Record<string, { Type: string; Properties: Record<string, any> }> };
let outdir: string;
/** A scratch-app environment: no npm, no repository binaries on the PATH. */
let env: NodeJS.ProcessEnv;

const node = (args: string[], cwd = scratch) => run(process.execPath, args, { cwd, env, maxBuffer: 16 * 1024 * 1024 });

/** A symlink scratch/node_modules/<name> -> this repository's node_modules/<name>. */
function linkFromRepository(name: string): void {
  const target = join(PROJECT_ROOT, 'node_modules', name);
  if (!existsSync(target)) throw new Error(`${name} is not installed in this repository (npm ci)`);
  const link = join(scratch, 'node_modules', name);
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(target, link, 'dir');
}

const CONSUMER_APP = `
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { StrataLog } from 'strata/cdk';
import { Strata } from 'strata';

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'Consumer', { env: { account: '123456789012', region: 'eu-west-1' } });
// 'both': the read function gets its streaming handler, the API its routes.
const log = new StrataLog(stack, 'Events', { endpoints: 'both' });
log.grantInvokeUrl(new iam.Role(stack, 'Service', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') }));
if (typeof Strata !== 'function') throw new Error('the client export did not load');
app.synth();
`;

/** The same, type-checked by this repository's tsc as a TypeScript consumer's (NodeNext) would be. */
const CONSUMER_TS = `
import { App, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { StrataLog, type StrataLogProps } from 'strata/cdk';
import { Strata } from 'strata';

const props: StrataLogProps = { endpoints: 'function-urls', functions: { append: { reservedConcurrency: 10 } } };
const log = new StrataLog(new Stack(new App(), 'Typed'), 'Log', props);
const append: lambda.IFunction = log.functions.append;
const client: Strata = new Strata({ url: 'http://127.0.0.1:4510' });
export { append, client };
`;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'strata-consumer-'));
  env = { PATH: dirname(process.execPath), HOME: scratch, CDK_DISABLE_VERSION_CHECK: '1' };
  // npm run build, but from this process: nothing depends on npm lifecycle settings.
  await run(process.execPath, [join(PROJECT_ROOT, 'node_modules/tsx/dist/cli.mjs'), 'cli/build.ts'], { cwd: PROJECT_ROOT });
  // --ignore-scripts: prepack would build a second time.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', scratch], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_audit: 'false', npm_config_fund: 'false' },
  });
  packed = (JSON.parse(stdout) as Packed[])[0]!;

  // "npm install strata-x.y.z.tgz", offline: the tarball unpacked as the package, its
  // declared dependencies and peers linked from this repository.
  const installed = join(scratch, 'node_modules', 'strata');
  mkdirSync(installed, { recursive: true });
  await run('tar', ['-xzf', join(scratch, packed.filename), '-C', installed, '--strip-components=1']);
  pkg = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8'));
  for (const name of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)]) linkFromRepository(name);
  writeFileSync(join(scratch, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(join(scratch, 'app.mjs'), CONSUMER_APP);

  outdir = join(scratch, 'cdk.out');
  await node(['app.mjs', outdir]);
  template = JSON.parse(readFileSync(join(outdir, 'Consumer.template.json'), 'utf8'));
}, PACK_TIMEOUT_MS);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('is publishable and declares aws-cdk-lib and constructs as optional peers, not dependencies', () => {
    expect(pkg.private).toBeUndefined();
    expect(Object.keys(pkg.peerDependencies).sort()).toEqual(['aws-cdk-lib', 'constructs']);
    expect(Object.keys(pkg.dependencies)).not.toContain('aws-cdk-lib');
    expect(Object.keys(pkg.dependencies)).not.toContain('constructs');
    for (const tool of BUILD_TOOLS) expect(Object.keys(pkg.dependencies)).not.toContain(tool);
    expect(Object.keys(pkg.exports).sort()).toEqual(['.', './cdk', './package.json']);
  });

  it('holds the built package only: dist/, the READMEs and package.json, no TypeScript sources', () => {
    const paths = packed.files.map((f) => f.path);
    const outside = paths.filter((p) => !p.startsWith('dist/') && !['package.json', 'README.md', 'infra/README.md'].includes(p));
    expect(outside).toEqual([]);
    expect(paths.filter((p) => /\.[cm]?ts$/.test(p) && !p.endsWith('.d.ts'))).toEqual([]);
    for (const entry of ['dist/cli.js', 'dist/client.js', 'dist/cdk.js', 'dist/types/client/index.d.ts', 'dist/types/infra/index.d.ts']) {
      expect(paths, entry).toContain(entry);
    }
  });

  it('has a prebuilt bundle, with its source map, for every entry of FUNCTION_ENTRIES', () => {
    const paths = packed.files.map((f) => f.path);
    for (const name of Object.keys(FUNCTION_ENTRIES)) {
      expect(paths).toContain(`dist/functions/${name}/${BUNDLE_FILE}`);
      expect(paths).toContain(`dist/functions/${name}/${BUNDLE_FILE}.map`);
    }
  });

  it(`weighs under ${TARBALL_BUDGET_BYTES / 1024 / 1024} MiB`, () => {
    console.log(
      `${packed.filename}: ${(packed.size / 1024 / 1024).toFixed(2)} MiB packed, ${(packed.unpackedSize / 1024 / 1024).toFixed(2)} MiB unpacked, ${packed.files.length} files`,
    );
    expect(packed.size).toBeLessThan(TARBALL_BUDGET_BYTES);
  });

  it('has a construct library that imports only Node, the peers and declared dependencies, and no AWS SDK client', () => {
    const source = readFileSync(join(scratch, 'node_modules/strata/dist/cdk.js'), 'utf8');
    const imports = [...source.matchAll(/(?:^|[;\s])(?:import|export)\s*(?:[^'"]*?\bfrom\s*)?["']([^"']+)["']/gm)].map((m) => m[1]!);
    expect(imports).toContain('aws-cdk-lib');
    const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)]);
    expect(imports.filter((i) => !i.startsWith('node:') && !declared.has(packageOf(i)))).toEqual([]);
    // A synth has no use for the functions' SDK clients (cli/build.ts drops unused imports of them).
    expect(imports.filter((i) => i.startsWith('@aws-sdk/'))).toEqual([]);
  });
});

describe('a CDK app that installed the tarball', () => {
  it('cannot resolve esbuild, TypeScript or tsx', async () => {
    const probe = `for (const m of ${JSON.stringify(BUILD_TOOLS)}) { let found; try { found = import.meta.resolve(m); } catch {} if (found) throw new Error(m + ' resolves to ' + found); }`;
    writeFileSync(join(scratch, 'probe.mjs'), probe);
    await expect(node(['probe.mjs'])).resolves.toBeDefined();
    // And the package itself, from its own folder.
    writeFileSync(join(scratch, 'node_modules/strata/probe.mjs'), probe);
    await expect(node([join(scratch, 'node_modules/strata/probe.mjs')])).resolves.toBeDefined();
  });

  it('synthesizes the StrataLog functions from the prebuilt bundles, byte for byte, as file assets', () => {
    const functions = Object.values(template.Resources).filter(
      (r) => r.Type === 'AWS::Lambda::Function' && String(r.Properties.Description ?? '').startsWith('Strata '),
    );
    const shipped = (name: string, file: string) => readFileSync(join(scratch, 'node_modules/strata/dist/functions', name, file));
    const assetOf = (props: Record<string, any>) => join(outdir, `asset.${String(props.Code.S3Key).replace(/\.zip$/, '')}`);
    for (const fn of FUNCTION_IDS) {
      const props = functions.find((f) => f.Properties.Description === `Strata ${fn} function`)?.Properties;
      expect(props, `the ${fn} function`).toBeDefined();
      expect(props!.Runtime).toBe('nodejs22.x');
      expect(props!.Handler).toBe(fn === 'read' ? 'index.streamingHandler' : 'index.handler');
      const asset = assetOf(props!);
      expect(readdirSync(asset).sort()).toEqual([BUNDLE_FILE, `${BUNDLE_FILE}.map`]);
      for (const file of [BUNDLE_FILE, `${BUNDLE_FILE}.map`]) {
        expect(readFileSync(join(asset, file)).equals(shipped(fn, file)), `${fn}/${file} is the packaged bundle`).toBe(true);
      }
    }
    // Any other function of Strata's (added to FUNCTION_ENTRIES later) too: one of the bundles, no inline code.
    for (const { Properties: props } of functions) {
      expect(props.Code.ZipFile, `${props.Description} has inline code`).toBeUndefined();
      const bundle = readFileSync(join(assetOf(props), BUNDLE_FILE));
      const names = Object.keys(FUNCTION_ENTRIES).filter((name) => bundle.equals(shipped(name, BUNDLE_FILE)));
      expect(names, `${props.Description} is a packaged bundle`).toHaveLength(1);
    }
  });

  it('had nothing bundled at synth (no esbuild run, no bundling staging folders)', () => {
    expect(readdirSync(outdir).filter((f) => f.startsWith('bundling-temp-'))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(outdir, 'Consumer.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string } }>;
    };
    for (const file of Object.values(manifest.files)) expect(file.source.path).not.toMatch(/\.ts$/);
  });

  it('loads strata/cdk from CommonJS too (require of the ES module, Node 20.19+)', async () => {
    const { stdout } = await node(['-e', "console.log(typeof require('strata/cdk').StrataLog)"]);
    expect(stdout.trim()).toBe('function');
  });

  it("gets the construct's and the client's types (a NodeNext TypeScript consumer)", async () => {
    writeFileSync(join(scratch, 'consumer.ts'), CONSUMER_TS);
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: [],
        },
        files: ['consumer.ts'],
      }),
    );
    // This repository's tsc, run on the scratch project: the app itself has no TypeScript.
    const tsc = join(PROJECT_ROOT, 'node_modules/typescript/bin/tsc');
    const result = await node([tsc, '-p', join(scratch, 'tsconfig.json')]).catch((err: { stdout: string }) => err);
    expect('stdout' in result ? result.stdout : '').toBe('');
  });
});

describe('the constructs in infra/', () => {
  it('create Strata functions only through strataFunction, which works from the installed package', () => {
    // A NodejsFunction elsewhere would bundle from sources the tarball does not have.
    const infra = join(PROJECT_ROOT, 'infra');
    const offenders = readdirSync(infra)
      .filter((f) => f.endsWith('.ts') && f !== 'function-code.ts')
      .filter((f) => /\bNodejsFunction\s*\(/.test(readFileSync(join(infra, f), 'utf8')));
    expect(offenders, 'use strataFunction (infra/function-code.ts) with an entry in FUNCTION_ENTRIES').toEqual([]);
  });
});
