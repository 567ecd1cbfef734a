import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './chromium.js';

const here = dirname(fileURLToPath(import.meta.url));
const shots = resolve(here, '../../test-output/browser');
mkdirSync(shots, { recursive: true });

const WAIT = 30_000;
let browser: Browser;
let context: BrowserContext | undefined;
let pageErrors: string[] = [];

beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await context?.close();
  context = undefined;
  expect(pageErrors).toEqual([]);
});

async function waitText(locator: Locator, text: string, timeout = WAIT): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ state: 'visible', timeout });
}

/** Opens the tool on the simulated enclosure `sim` and reads the Health tab with the pass-through `bridge`. */
async function readHealth(sim: string, bridge = 'auto'): Promise<Page> {
  context = await browser.newContext({ viewport: { width: 1360, height: 1000 } });
  const page = await context.newPage();
  pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(`${e.name}: ${e.message}`));
  await page.goto(`${inject('baseUrl')}?sim=${sim}#health`);
  await waitText(page.locator('#conn-state'), 'Connected');
  await waitText(page.locator('.device-panel'), 'Demo Disk');
  await page.selectOption('#health-bridge', bridge);
  await page.click('#health-read');
  await page.locator('#health-verdict strong').waitFor({ timeout: WAIT });
  return page;
}

describe('Health tab in Chromium', () => {
  it('simulated SAT drive: identity, PASSED, attribute table with pre-fail rows and thresholds, a short self-test in progress and logged', async () => {
    const page = await readHealth('sat');
    await waitText(page.locator('#health-route'), 'Route: sat (smartctl -d sat), chosen by a SAT probe');
    const identity = (await page.locator('#health-identity').textContent()) ?? '';
    expect(identity).toContain('USBMS DEMO HDD 64MB');
    expect(identity).toContain('DEMOATA0001');
    expect(identity).toContain('DM01');
    expect(await page.locator('#health-verdict').getAttribute('data-health')).toBe('passed');
    const rows = page.locator('#health-attributes tbody tr');
    expect(await rows.count()).toBeGreaterThanOrEqual(5);
    // Attribute 5 (Reallocated_Sector_Ct) is pre-fail with threshold 36 in the simulated drive.
    const realloc = rows.filter({ hasText: 'Reallocated_Sector_Ct' });
    expect(await realloc.getAttribute('class')).toContain('prefail');
    expect(await realloc.locator('td').nth(5).textContent()).toBe('36');
    expect(await page.locator('#health-attributes tbody tr.oldage').count()).toBeGreaterThan(0);
    await page.click('#selftest-short');
    await waitText(page.locator('#health-selftest-status'), 'in progress');
    await page.screenshot({ path: join(shots, 'health-sat.png'), fullPage: true });
    await page.click('#selftest-abort');
    await waitText(page.locator('#health-selftest-log'), 'Aborted by host');
    await page.screenshot({ path: join(shots, 'health-sat-selftest-log.png'), fullPage: true });
  });

  it('simulated Realtek RTL9210 NVMe enclosure: chosen by USB ID, NVMe identity and SMART/Health fields', async () => {
    const page = await readHealth('nvme-realtek');
    await waitText(page.locator('#health-route'), 'Route: nvme-realtek (smartctl -d sntrealtek), chosen by USB ID (Realtek RTL9210)');
    const identity = (await page.locator('#health-identity').textContent()) ?? '';
    expect(identity).toContain('USBMS DEMO NVMe SSD');
    expect(identity).toContain('DEMONVME0001');
    expect(identity).toContain('1.4');
    expect(await page.locator('#health-verdict').getAttribute('data-health')).toBe('passed');
    const details = (await page.locator('#health-details').textContent()) ?? '';
    expect(details).toContain('Temperature36 °C');
    expect(details).toContain('Power on hours1,234');
    expect(details).toContain('Available spare100% (threshold 10%)');
    await page.screenshot({ path: join(shots, 'health-nvme-realtek.png'), fullPage: true });
  });

  it('a vendor bridge chosen explicitly gives the same identity as its USB ID (Sunplus SATA)', async () => {
    const page = await readHealth('sunplus', 'sunplus');
    await waitText(page.locator('#health-route'), 'Route: sunplus (smartctl -d usbsunplus), chosen explicitly');
    expect((await page.locator('#health-identity').textContent()) ?? '').toContain('USBMS DEMO HDD 64MB');
  });
});
