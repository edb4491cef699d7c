/**
 * `npm run build`: bundles the CLI to `dist/cli.js` (the package's `bin`) and the client
 * to `dist/client.js` with its type declarations under `dist/types/` (the package's
 * `exports`). Dependencies stay external: they come from node_modules.
 */
import { execFileSync } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

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

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await buildCli();
  await buildClient();
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  console.log('built dist/cli.js, dist/client.js and dist/types/');
}
