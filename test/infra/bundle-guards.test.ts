/**
 * Import styles that silently bloat every function bundle. Each guard names the fix;
 * test/infra/strata-log.test.ts checks the resulting sizes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/function-bundling.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

describe('function bundles', () => {
  it('import zod as a namespace (`import * as z`), which lets esbuild drop its 40 locales', () => {
    // `import { z } from 'zod'` takes zod's namespace object as a value, so esbuild keeps
    // all of it: ~350 KB more per bundle and ~60 ms more module init (docs/benchmarks.md).
    const offenders = ['lib', 'functions']
      .flatMap((dir) => sources(join(PROJECT_ROOT, dir)))
      .filter((file) => /^import\s+\{[^}]*\bz\b[^}]*\}\s+from\s+'zod'/m.test(readFileSync(file, 'utf8')))
      .map((file) => relative(PROJECT_ROOT, file));
    expect(offenders, `write \`import * as z from 'zod'\` instead of \`import { z } from 'zod'\` in: ${offenders.join(', ')}`).toEqual([]);
  });
});
