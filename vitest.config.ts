import { defineConfig } from 'vitest/config';

// Workspace packages export their TypeScript sources under the "source"
// condition; published builds use dist/ (see each package.json).
export default defineConfig({
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test/hil/**', 'test/browser/**', 'test/tshark/**'],
    testTimeout: 20_000,
  },
});
