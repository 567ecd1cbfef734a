/**
 * The device tool driving `usbms serve --sim` from headless Chromium: the
 * "Connect to usbms serve" form (URL + token, remembered per origin), then
 * INQUIRY in the device panel, sectors, the console and the trace, all through
 * the service. A Node client of the same service writes the sector the page
 * reads, so the two share one device. Screenshots: test-output/browser/serve-*.png.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectRemote } from '@usbms/node';
import type { Browser, Locator, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';

const here = dirname(fileURLToPath(import.meta.url));
const shots = resolve(here, '../../test-output/browser');
mkdirSync(shots, { recursive: true });
const BIN = resolve(here, '../../packages/node/bin/usbms.mjs');
const WAIT = 30_000;

let browser: Browser;
let serve: ChildProcess;
let info: { urls: string[]; token: string };
const tmp = mkdtempSync(join(tmpdir(), 'usbms-serve-e2e-'));

beforeAll(async () => {
  const origin = new URL(inject('baseUrl')).origin;
  serve = spawn(process.execPath, [BIN, '--sim', '--json', 'serve', '--listen', '127.0.0.1:0', '--allow-origin', origin, '--token-file', join(tmp, 'token')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, USBMS_FROM_SOURCE: '1' },
  });
  let stderr = '';
  serve.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  info = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`usbms serve did not start: ${stderr}`)), 60_000);
    serve.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      try {
        const parsed = JSON.parse(out);
        clearTimeout(timer);
        ok(parsed);
      } catch {
        // Not the whole document yet.
      }
    });
  });
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
});

afterAll(async () => {
  await browser?.close();
  serve?.kill('SIGTERM');
  await new Promise((r) => serve?.once('exit', r));
  rmSync(tmp, { recursive: true, force: true });
});

async function waitText(locator: Locator, text: string): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ state: 'visible', timeout: WAIT });
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

describe('device tool over usbms serve (headless Chromium)', () => {
  it('connects with URL and token, shows INQUIRY, reads sectors, sends commands and traces them', async () => {
    const wsUrl = info.urls.find((u) => u.startsWith('ws://')) ?? '';
    // Another process's client writes sector 0; the page must see it.
    const node = await connectRemote(wsUrl, { token: info.token });
    const sector = new Uint8Array(512);
    sector.set(new TextEncoder().encode('written by a Node client of usbms serve'), 0);
    await node.device().lun(0).write(0, sector);

    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(inject('baseUrl'));
    await waitText(page.locator('#conn-state'), 'Connected');

    // A wrong token is refused with a typed error in the banner.
    await page.click('#connect-serve');
    await page.fill('#serve-url', wsUrl);
    await page.fill('#serve-token', 'not-the-token');
    await page.click('#serve-connect');
    await page.locator('#banner .error-body[data-code="ACCESS_DENIED"]').waitFor({ timeout: WAIT });
    await shot(page, 'serve-01-wrong-token');

    await page.fill('#serve-token', info.token);
    await page.click('#serve-connect');
    await waitText(page.locator('#conn-label'), 'usbms serve');
    const panel = page.locator('.device-panel');
    await waitText(panel, 'Sim Disk');
    await waitText(panel, 'usbms serve (the service owns the USB device)');
    expect((await panel.textContent()) ?? '').toContain('USBMS');
    await shot(page, 'serve-02-device');

    await page.click('#tab-sectors');
    await page.fill('#sec-lba', '0');
    await page.click('#sec-read');
    await waitText(page.locator('#sec-hex'), 'written by a Nod');
    await shot(page, 'serve-03-sectors');

    await page.click('#tab-console');
    await page.fill('#cmd-cdb', '12 00 00 00 24 00');
    await page.selectOption('#cmd-direction', 'in');
    await page.fill('#cmd-length', '36');
    await page.click('#cmd-send');
    await waitText(page.locator('#cmd-status'), 'GOOD');
    await shot(page, 'serve-04-console');

    await page.click('#tab-trace');
    await waitText(page.locator('#trace-body'), 'CBW tag');
    expect((await page.locator('#trace-body').textContent()) ?? '').toContain('55 53 42 43');
    await shot(page, 'serve-05-trace');

    // URL and token are remembered for this origin.
    await page.reload();
    await waitText(page.locator('#conn-state'), 'Connected');
    expect(await page.inputValue('#serve-url')).toBe(wsUrl);
    expect(await page.inputValue('#serve-token')).toBe(info.token);

    expect(errors).toEqual([]);
    node.close();
    await context.close();
  });
});
