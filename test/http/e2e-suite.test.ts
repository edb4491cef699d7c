/**
 * The e2e suite as a user runs it (`npm run test:e2e` with STRATA_E2E_URL), against the
 * local stack, signing every request with SigV4: proves in `npm test` that the suite
 * which targets deployed stacks passes, and that its signer produces requests the
 * server accepts unchanged. The local server does not check signatures; AWS does.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { startTestStack } from '../support/local-stack.js';

const run = promisify(execFile);
const E2E_TIMEOUT_MS = 120_000;

let stack: LocalStack;
let dir: string;

beforeAll(async () => {
  stack = await startTestStack();
  dir = await mkdtemp(join(tmpdir(), 'strata-e2e-'));
});
afterAll(async () => {
  await stack?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The parent's environment without vitest's own variables, which would confuse the child run. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(VITEST|TINYPOOL|NODE_OPTIONS$)/.test(key)));
}

describe('npm run test:e2e', () => {
  it(
    'passes every contract test against the local stack with SigV4-signed requests',
    async () => {
      const report = join(dir, 'e2e.json');
      await run('npm', ['run', 'test:e2e', '--', '--reporter=json', `--outputFile=${report}`], {
        env: {
          ...cleanEnv(),
          STRATA_E2E_URL: stack.url,
          STRATA_E2E_AUTH: 'sigv4',
          STRATA_E2E_REGION: 'eu-west-1',
          AWS_ACCESS_KEY_ID: 'AKIDLOCALE2E',
          AWS_SECRET_ACCESS_KEY: 'local-e2e-secret',
        },
        timeout: E2E_TIMEOUT_MS,
      }).catch(async (err: Error & { stdout?: string; stderr?: string }) => {
        throw new Error(`npm run test:e2e failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
      });
      const result = JSON.parse(await readFile(report, 'utf8'));
      const failed = result.testResults.flatMap((f: { assertionResults: { status: string; fullName: string }[] }) =>
        f.assertionResults.filter((a) => a.status === 'failed').map((a) => a.fullName),
      );
      expect(failed).toEqual([]);
      // Everything but the unsigned-request check, which only API Gateway can enforce.
      expect(result.numPassedTests).toBeGreaterThanOrEqual(39);
      expect(result.numPendingTests).toBe(1);
    },
    E2E_TIMEOUT_MS,
  );
});
