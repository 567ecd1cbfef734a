/**
 * The device tool driven through `usbms serve` in headless Chromium: wrong token refused, connect, INQUIRY
 * in the device panel, a sector another client wrote, a console command, the trace, and URL + token
 * remembered per origin. Shared by the browser suite (serve.e2e.ts, the simulator) and the HIL suite
 * (test/hil/serve-browser.test.ts, a real device in the QEMU guest).
 */
import type { Browser } from 'playwright-core';
import { expect } from 'vitest';
import { shot, WAIT, waitText } from './tool-page.js';

export interface ServeSteps {
  baseUrl: string;
  wsUrl: string;
  token: string;
  /** Text of sector 0, written there by another client of the same service. */
  sectorText: string;
  /** Texts the device panel shows for this device (e.g. its INQUIRY vendor and product). */
  deviceTexts: string[];
  /** Screenshot file prefix, e.g. "serve" -> serve-01-wrong-token.png. */
  shots: string;
  /** Time allowed for each step that talks to the device (slower for an emulated device). */
  timeoutMs?: number;
}

export async function driveToolOverServe(browser: Browser, s: ServeSteps): Promise<void> {
  const timeout = s.timeoutMs ?? WAIT;
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(s.baseUrl);
  await waitText(page.locator('#conn-state'), 'Connected');

  // A wrong token is refused with a typed error in the banner.
  await page.click('#connect-serve');
  await page.fill('#serve-url', s.wsUrl);
  await page.fill('#serve-token', 'not-the-token');
  await page.click('#serve-connect');
  await page.locator('#banner .error-body[data-code="ACCESS_DENIED"]').waitFor({ timeout });
  await shot(page, `${s.shots}-01-wrong-token`);

  await page.fill('#serve-token', s.token);
  await page.click('#serve-connect');
  await waitText(page.locator('#conn-label'), 'usbms serve', timeout);
  const panel = page.locator('.device-panel');
  for (const text of s.deviceTexts) await waitText(panel, text, timeout);
  await waitText(panel, 'usbms serve (the service owns the USB device)', timeout);
  await shot(page, `${s.shots}-02-device`);

  await page.click('#tab-sectors');
  await page.fill('#sec-lba', '0');
  await page.click('#sec-read');
  await waitText(page.locator('#sec-hex'), s.sectorText.slice(0, 16), timeout);
  await shot(page, `${s.shots}-03-sectors`);

  await page.click('#tab-console');
  await page.fill('#cmd-cdb', '12 00 00 00 24 00');
  await page.selectOption('#cmd-direction', 'in');
  await page.fill('#cmd-length', '36');
  await page.click('#cmd-send');
  await waitText(page.locator('#cmd-status'), 'GOOD', timeout);
  await shot(page, `${s.shots}-04-console`);

  await page.click('#tab-trace');
  await waitText(page.locator('#trace-body'), 'CBW tag', timeout);
  expect((await page.locator('#trace-body').textContent()) ?? '').toContain('55 53 42 43');
  await shot(page, `${s.shots}-05-trace`);

  // URL and token are remembered for this origin.
  await page.reload();
  await waitText(page.locator('#conn-state'), 'Connected');
  expect(await page.inputValue('#serve-url')).toBe(s.wsUrl);
  expect(await page.inputValue('#serve-token')).toBe(s.token);

  expect(errors).toEqual([]);
  await context.close();
}
