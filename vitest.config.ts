import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Two cores on the reference machine, and every integration test file talks to the one
 * DynamoDB Local and s3rver started by the global setup: two workers keep them busy
 * without starving the Java process.
 */
const MAX_WORKERS = 2;
/** DynamoDB Local answers in milliseconds, but transactions on a cold JVM can take a second. */
const TEST_TIMEOUT_MS = 30_000;
/** Hooks may create tables and buckets while the JVM warms up. */
const HOOK_TIMEOUT_MS = 60_000;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The end-to-end suite runs against a started local stack, separately; the package
    // test (build, pack, synth) after this run, alone (vitest.package.config.ts).
    exclude: [...configDefaults.exclude, 'test/e2e/**', 'test/package/**'],
    globalSetup: ['test/support/global-setup.ts'],
    // The JSON report lets .ci/run print a plain "N passed, N failed" line.
    env: {
      // The local stack in tests prints no EMF metrics, and the SDK's Node 20 notice is noise here.
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    reporters: ['default', ['json', { outputFile: '.tmp/test-results.json' }]],
    testTimeout: TEST_TIMEOUT_MS,
    hookTimeout: HOOK_TIMEOUT_MS,
    pool: 'forks',
    fileParallelism: true,
    maxWorkers: MAX_WORKERS,
  },
});
