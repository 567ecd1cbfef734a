import { defineConfig } from 'vitest/config';

/**
 * Real-browser tests of the device tool: Vitest (node environment) drives
 * Debian's chromium through playwright-core. Run with `node test/browser/run.mjs`.
 */
export default defineConfig({
  root: import.meta.dirname,
  test: {
    include: ['**/*.e2e.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    globalSetup: ['./global-setup.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 120_000,
  },
});
