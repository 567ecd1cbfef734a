import { defineConfig } from 'vitest/config';

// Unit tests of the tool's pure helpers and the Electron policy (node environment).
export default defineConfig({
  root: import.meta.dirname,
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: { include: ['src/**/*.test.ts', 'electron/**/*.test.ts'], exclude: ['**/node_modules/**', '**/dist/**'] },
});
