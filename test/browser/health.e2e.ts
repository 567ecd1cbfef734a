import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { shot, usePages, WAIT, waitText } from './tool-page.js';

const pages = usePages();

/** Opens the tool on the simulated enclosure `sim` and reads the Health tab with the pass-through `bridge`. */
async function readHealth(sim: string, bridge = 'auto'): Promise<Page> {
  const page = await pages.open(`${inject('baseUrl')}?sim=${sim}#health`, { viewport: { width: 1360, height: 1000 } });
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
    await shot(page, 'health-sat');
    await page.click('#selftest-abort');
    await waitText(page.locator('#health-selftest-log'), 'Aborted by host');
    await shot(page, 'health-sat-selftest-log');
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
    await shot(page, 'health-nvme-realtek');
  });

  it('a vendor bridge chosen explicitly gives the same identity as its USB ID (Sunplus SATA)', async () => {
    const page = await readHealth('sunplus', 'sunplus');
    await waitText(page.locator('#health-route'), 'Route: sunplus (smartctl -d usbsunplus), chosen explicitly');
    expect((await page.locator('#health-identity').textContent()) ?? '').toContain('USBMS DEMO HDD 64MB');
  });
});
