import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// QEMU integration suite (test/hil/README.md). Run: pnpm vitest run --config test/hil/vitest.config.ts
// One file at a time, one worker: every file boots QEMU guests under TCG and the machine has 2 cores.
const hilDir = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: path.resolve(hilDir, '../..'),
  resolve: { conditions: ['source'] },
  ssr: { resolve: { conditions: ['source'] } },
  test: {
    environment: 'node',
    include: ['test/hil/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**', 'test/hil/.cache/**'],
    globalSetup: ['test/hil/global-setup.ts'],
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    sequence: { concurrent: false },
    testTimeout: 600_000,
    hookTimeout: 600_000,
    teardownTimeout: 60_000,
    reporters: ['default', path.join(hilDir, 'summary-reporter.ts')],
  },
});
