import { defineConfig } from 'vitest/config';

/**
 * Real-browser tests of the device tool: Vitest (node environment) drives
 * Debian's chromium through playwright-core. Run with `node test/browser/run.mjs`.
 */
export default defineConfig({
  root: import.meta.dirname,
  // Tests and node-side helpers (serve.e2e.ts) import workspace packages from their TypeScript sources (no build).
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
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
