import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';

/**
 * The WebUSB adapter's unit tests, run again inside Debian's chromium (Vitest
 * browser mode): there the fake returns Chromium's own USBInTransferResult /
 * USBOutTransferResult objects and DOMExceptions, and `navigator.usb` is real.
 */
export default defineConfig({
  root: `${import.meta.dirname}/../..`,
  resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
  test: {
    include: ['packages/web/src/**/*.test.ts', 'test/browser/**/*.browser.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    testTimeout: 30_000,
    browser: {
      enabled: true,
      headless: true,
      provider: playwright({ launchOptions: { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS } }),
      instances: [{ browser: 'chromium' }],
    },
  },
});
