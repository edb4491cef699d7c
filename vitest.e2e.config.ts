import { defineConfig } from 'vitest/config';

/**
 * `npm run test:e2e`: the HTTP contract against the running Strata named by
 * STRATA_E2E_URL (test/e2e/target.ts). No emulators are started: the target brings its
 * own storage. Requests cross a network, so timeouts are generous and files run serially.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
