/**
 * What the browser suites share: one headless Chromium per file, a fresh context per page, the
 * screenshot folder, and waiting for text. Any uncaught exception in a page fails the test that
 * opened it, whatever that test checked.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, BrowserContextOptions, Locator, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Screenshots, downloads and captures of the browser suites. */
export const SHOTS_DIR = resolve(here, '../../test-output/browser');
/** Time allowed for one step in the page. */
export const WAIT = 30_000;

export async function waitText(locator: Locator, text: string, timeout = WAIT): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ state: 'visible', timeout });
}

/** A full-page screenshot, SHOTS_DIR/NAME.png. */
export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(SHOTS_DIR, { recursive: true });
  await page.screenshot({ path: join(SHOTS_DIR, `${name}.png`), fullPage: true });
}

export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

/**
 * Registers the file's hooks (Chromium launched before its tests and closed after them; each test's
 * context closed after it, and its page errors checked) and returns how a test opens a page.
 */
export function usePages(): { open: (url: string, options?: BrowserContextOptions) => Promise<Page> } {
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let pageErrors: string[] = [];
  beforeAll(async () => {
    mkdirSync(SHOTS_DIR, { recursive: true });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await context?.close();
    context = undefined;
    expect(pageErrors).toEqual([]);
  });
  return {
    async open(url, options = {}) {
      if (browser === undefined) throw new Error('Chromium did not start');
      context = await browser.newContext({ viewport: { width: 1360, height: 900 }, ...options });
      const page = await context.newPage();
      pageErrors = [];
      page.on('pageerror', (e) => pageErrors.push(`${e.name}: ${e.message}`));
      await page.goto(url);
      return page;
    },
  };
}
