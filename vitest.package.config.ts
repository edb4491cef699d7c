import { defineConfig } from 'vitest/config';

/**
 * `npm run test:package` (the last step of `npm test`): builds and packs the package, then
 * synthesizes a scratch CDK app that installed the tarball (test/package/). No emulators.
 * Apart from the main run, after it, because the build (esbuild and tsc) would take the
 * two cores from the timing-sensitive suites (chaos slice, multi-process) if it ran beside
 * them. Its own JSON report, which .ci/run counts too.
 */
export default defineConfig({
  test: {
    include: ['test/package/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    reporters: ['default', ['json', { outputFile: '.tmp/test-results-package.json' }]],
  },
});
