import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeStages, parsePcap, stagesOfPcap } from '@usbms/core';
import type { Page } from 'playwright-core';
import { describe, expect, inject, it } from 'vitest';
import { SHOTS_DIR, shot, usePages, WAIT, waitText } from './tool-page.js';

const pages = usePages();

/** Opens the tool; `query` may be "?fakeusb" (WebUSB replaced by the fake backed by the simulator). */
async function openTool(query = ''): Promise<Page> {
  const page = await pages.open(`${inject('baseUrl')}${query}`, { acceptDownloads: true });
  await waitText(page.locator('#conn-state'), 'Connected');
  await waitText(page.locator('.device-panel'), 'Demo Disk');
  return page;
}

async function connectFake(page: Page): Promise<void> {
  await page.click('#connect-usb');
  await waitText(page.locator('#conn-label'), 'WebUSB Fake Disk');
  await waitText(page.locator('.device-panel'), '1209:5553');
  await waitText(page.locator('.device-panel'), 'Ready');
}

async function sendCommand(page: Page, cdb: string, direction: 'none' | 'in' | 'out', lengthOrData?: number | string): Promise<string> {
  await page.click('#tab-console');
  await page.fill('#cmd-cdb', cdb);
  await page.selectOption('#cmd-direction', direction);
  if (direction === 'in') await page.fill('#cmd-length', String(lengthOrData ?? 0));
  if (direction === 'out') await page.fill('#cmd-data', String(lengthOrData ?? ''));
  const before = await page.locator('#cmd-history li').count();
  await page.click('#cmd-send');
  await page.locator('#cmd-history li').nth(before).waitFor({ timeout: WAIT });
  return (await page.locator('#cmd-status').textContent()) ?? '';
}

describe('device tool in Chromium', () => {
  it('opens on the simulated device and shows INQUIRY, capacity and status', async () => {
    const page = await openTool();
    const panel = page.locator('.device-panel');
    await waitText(panel, '64.0 MiB');
    const text = (await panel.textContent()) ?? '';
    expect(text).toContain('USBMS');
    expect(text).toContain('131,072 × 512 B');
    expect(text).toContain('Write-protected');
    expect(text).toContain('Ready');
    await waitText(panel, 'Unit serial number');
    await page.click('text=0x80 Unit serial number');
    await waitText(page.locator('.vpd-view'), 'DEMO0001');
    await shot(page, '01-simulated-device');
    // LUN 1 is an empty card-reader slot: the sense status says so.
    await page.selectOption('#lun-select', '1');
    await waitText(panel, 'Card Reader');
    await waitText(panel, 'Not ready');
    await waitText(panel, 'Medium not present');
    // Reset recovery from the device panel, then the disk answers again.
    await page.selectOption('#lun-select', '0');
    await page.click('#dev-reset');
    await waitText(page.locator('#status-line'), 'Reset: done.');
    await waitText(panel, 'Demo Disk');
    await waitText(panel, 'Ready');
  });

  it('connects a USB device through WebUSB (fake backed by the simulator) and shows its descriptors', async () => {
    const page = await openTool('?fakeusb');
    await connectFake(page);
    const text = (await page.locator('.device-panel').textContent()) ?? '';
    expect(text).toContain('WebUSB Fake Disk');
    expect(text).toContain('FAKE0001');
    expect(text).toContain('IN 512 B, OUT 512 B');
    await waitText(page.locator('.device-panel'), '64.0 MiB');
    // The real WebUSB path ran: the fake saw the claim and the BOT traffic.
    const calls = await page.evaluate('window.usbmsTest.device.calls.join("\\n")');
    expect(String(calls)).toContain('claimInterface(0)');
    expect(String(calls)).toContain('controlTransferIn(class interface 0xfe, 1)');
    await shot(page, '02-webusb-connected');
  });

  it('runs a raw vendor CDB round trip in the console', async () => {
    const page = await openTool('?fakeusb');
    await connectFake(page);
    expect(await sendCommand(page, 'c1 00 00 00 08 00', 'out', '55 53 42 4d 53 21 00 01')).toBe('GOOD');
    expect(await sendCommand(page, 'c2 00 00 00 08 00', 'in', 8)).toBe('GOOD');
    const dump = (await page.locator('#cmd-dump').textContent()) ?? '';
    expect(dump).toContain('55 53 42 4d 53 21 00 01');
    expect(dump).toContain('|USBMS!..|');
    // A built-in command fills the form: CDB, direction and length.
    await page.selectOption('#cmd-preset', { label: 'Vendor C0: read firmware version' });
    expect(await page.inputValue('#cmd-cdb')).toBe('c0 00 00 00 20 00');
    expect(await page.inputValue('#cmd-direction')).toBe('in');
    expect(await page.inputValue('#cmd-length')).toBe('32');
    await page.locator('#cmd-cdb').press('Control+Enter');
    await page.locator('#cmd-history li').nth(2).waitFor({ timeout: WAIT });
    expect(await page.locator('#cmd-status').textContent()).toBe('GOOD');
    expect(await page.locator('#cmd-dump').textContent()).toContain('USBMS-SIM FW');
    // An unknown opcode: CHECK CONDITION with decoded sense, not an exception.
    expect(await sendCommand(page, 'd7 00 00 00 00 00', 'none')).toBe('CHECK CONDITION');
    expect(await page.locator('#cmd-result').textContent()).toContain('ILLEGAL REQUEST');
    expect(await page.locator('#cmd-history li').count()).toBe(4);
    await shot(page, '03-console-vendor-command');
  });

  it('shows a sector in hex, and writes a sector from a file then reads it back', async () => {
    const page = await openTool();
    await page.click('#tab-sectors');
    await page.fill('#sec-lba', '0');
    await page.click('#sec-read');
    await waitText(page.locator('#sec-hex'), '55 aa');
    expect(await page.locator('#sec-hex').textContent()).toContain('|...usbms demo di|');
    await page.fill('#sec-count', '2');
    const [saved] = await Promise.all([page.waitForEvent('download'), page.click('#sec-save')]);
    expect(saved.suggestedFilename()).toBe('lun0-lba0-2blocks.bin');
    const savedPath = join(SHOTS_DIR, 'lba0-2blocks.bin');
    await saved.saveAs(savedPath);
    const bytes = readFileSync(savedPath);
    expect(bytes.length).toBe(1024);
    expect([bytes[510], bytes[511]]).toEqual([0x55, 0xaa]);
    await page.fill('#sec-count', '1');

    const content = Buffer.alloc(512, 0);
    content.write('HELLO from the browser test, LBA 100', 0, 'ascii');
    await page.setInputFiles('#sec-file', { name: 'sector.bin', mimeType: 'application/octet-stream', buffer: content });
    await page.fill('#sec-write-lba', '100');
    await page.click('#sec-write');
    const dialog = page.locator('dialog.confirm');
    await dialog.waitFor({ timeout: WAIT });
    expect(await dialog.textContent()).toContain('LBA 100');
    await shot(page, '04-write-confirmation');
    await dialog.locator('button[value="confirm"]').click();
    await waitText(page.locator('#sec-write-result'), 'Wrote and verified 1 block at LBA 100');
    await waitText(page.locator('#sec-hex'), 'HELLO from the');
    expect(await page.locator('#sec-hex').textContent()).toMatch(/^0000c800 /);

    // Read it back independently through a raw READ(10) of LBA 100 (0x64).
    expect(await sendCommand(page, '28 00 00 00 00 64 00 00 01 00', 'in', 512)).toBe('GOOD');
    expect(await page.locator('#cmd-dump').textContent()).toContain('|HELLO from the b|');
    await page.click('#tab-sectors');
    await shot(page, '05-sector-view');
  });

  it('runs the benchmark to completion and cancels an endless run', async () => {
    const page = await openTool();
    await page.click('#tab-bench');
    await page.selectOption('#bench-total', String(4 * 1024 * 1024));
    await page.click('#bench-run');
    await page.locator('#bench-summary[data-state="done"]').waitFor({ timeout: WAIT });
    expect(await page.locator('#bench-summary').textContent()).toMatch(/Done: 4\.00 MiB in .* MB\/s/);
    expect(await page.evaluate("document.getElementById('bench-progress').value")).toBe(1);

    await page.selectOption('#bench-total', 'inf');
    await page.click('#bench-run');
    await waitText(page.locator('#bench-summary'), 'read,');
    await page.click('#bench-cancel');
    await page.locator('#bench-summary[data-state="cancelled"]').waitFor({ timeout: WAIT });
    expect(await page.locator('#bench-summary').textContent()).toMatch(/Cancelled after/);
    expect(await page.locator('#bench-run').isEnabled()).toBe(true);
    // The device is still usable after the cancelled command.
    expect(await sendCommand(page, '00 00 00 00 00 00', 'none')).toBe('GOOD');
    await page.click('#tab-bench');
    await shot(page, '06-benchmark');
  });

  it('recovers when the device is unplugged in the middle of a command', async () => {
    const page = await openTool('?fakeusb');
    await connectFake(page);
    await page.evaluate('window.usbmsTest.holdTransfers()');
    await page.click('#tab-console');
    await page.fill('#cmd-cdb', '12 00 00 00 24 00');
    await page.selectOption('#cmd-direction', 'in');
    await page.fill('#cmd-length', '36');
    await page.click('#cmd-send');
    await page.waitForFunction('window.usbmsTest.pendingTransfers() > 0', undefined, { timeout: WAIT });
    await page.evaluate('window.usbmsTest.unplug()');
    await waitText(page.locator('#conn-state'), 'Disconnected');
    await waitText(page.locator('#banner'), 'disconnected');
    await waitText(page.locator('#cmd-status'), 'ERROR');
    expect(await page.locator('#cmd-result').textContent()).toMatch(/DISCONNECTED|CLOSED/);
    await shot(page, '07-unplugged');
    // The tool recovers: the simulated device opens and works.
    await page.click('#use-sim');
    await waitText(page.locator('#conn-state'), 'Connected');
    expect(await page.locator('#banner').isHidden()).toBe(true);
    expect(await sendCommand(page, '12 00 00 00 24 00', 'in', 36)).toBe('GOOD');
    expect(await page.locator('#cmd-dump').textContent()).toContain('Demo Disk');
  });

  it('explains the protected-class refusal and keeps the simulated device', async () => {
    const page = await openTool('?fakeusb&protected');
    await page.click('#connect-usb');
    const banner = page.locator('#banner');
    await waitText(banner, 'does not let web pages use USB mass-storage devices');
    const text = (await banner.textContent()) ?? '';
    for (const remedy of ['setUSBProtectedClassesHandler', 'usb-unrestricted', 'vendor-specific (0xFF)', '@usbms/node']) expect(text).toContain(remedy);
    expect(await page.locator('#banner .error-body').getAttribute('data-code')).toBe('PROTECTED_CLASS');
    expect(await page.locator('#conn-label').textContent()).toBe('Simulated device');
    await banner.locator('details summary').click();
    expect(await banner.textContent()).toContain('protected class');
    await shot(page, '08-protected-class');
  });

  it('records a live trace of CBW, data and CSW and exports it', async () => {
    const page = await openTool();
    await page.click('#tab-trace');
    expect(await sendCommand(page, '12 00 00 00 24 00', 'in', 36)).toBe('GOOD');
    await page.click('#tab-trace');
    await waitText(page.locator('#trace-body'), 'CBW tag');
    const text = (await page.locator('#trace-body').textContent()) ?? '';
    expect(text).toContain('55 53 42 43');
    expect(text).toContain('DATA IN 36/36 B');
    expect(text).toMatch(/CSW tag \d+ status 0 residue 0/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#trace-export')]);
    expect(download.suggestedFilename()).toMatch(/^usbms-trace-.*\.jsonl$/);
    const path = join(SHOTS_DIR, 'trace.jsonl');
    await download.saveAs(path);
    await shot(page, '09-trace');
  });

  it('exports every USB transfer of the session as pcap (usbmon records Wireshark dissects)', async () => {
    const page = await openTool();
    expect(await sendCommand(page, '12 00 00 00 24 00', 'in', 36)).toBe('GOOD');
    expect(await sendCommand(page, 'c0 00 00 00 20 00', 'in', 32)).toBe('GOOD');
    await page.click('#tab-trace');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#trace-export-pcap')]);
    expect(download.suggestedFilename()).toMatch(/^usbms-.*\.pcap$/);
    const path = join(SHOTS_DIR, 'session.pcap');
    await download.saveAs(path);
    const records = parsePcap(new Uint8Array(readFileSync(path)));
    // The synthesized GET_DESCRIPTOR(DEVICE) comes first, then the session from Get Max LUN on.
    expect(records[0]?.header.setup?.[3]).toBe(1);
    const lines = decodeStages(stagesOfPcap(records)).lines;
    expect(lines[0]).toBe('get-max-lun = 1');
    expect(lines.join('\n')).toContain('WRITE(10) lba=0 blocks=1 out 512/512 -> GOOD residue 0');
    expect(lines.at(-2)).toMatch(/^#\d+ LUN 0 INQUIRY alloc=36 in 36\/36 -> GOOD residue 0 {2}"USBMS" "Demo Disk" "1.00"$/);
    expect(lines.at(-1)).toMatch(/^#\d+ LUN 0 VENDOR SPECIFIC \(0xC0\) cdb=c0 00 00 00 20 00 in 2\d\/32 -> GOOD residue \d+$/);
  });

  it('is keyboard-friendly: tabs move with the arrow keys and controls are labelled', async () => {
    const page = await openTool();
    await page.focus('#tab-console');
    await page.keyboard.press('ArrowRight');
    expect(await page.evaluate('document.activeElement.id')).toBe('tab-sectors');
    expect(await page.locator('#panel-sectors').isVisible()).toBe(true);
    await page.keyboard.press('End');
    expect(await page.evaluate('document.activeElement.id')).toBe('tab-bench');
    // Every form control has an accessible name.
    const unlabeled = await page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
      .filter((el) => !el.closest('[hidden]') && !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
      .map((el) => el.id || el.outerHTML.slice(0, 60))`);
    expect(unlabeled).toEqual([]);
    await page.setViewportSize({ width: 420, height: 900 });
    await shot(page, '10-narrow-layout');
    await page.setViewportSize({ width: 1360, height: 900 });
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.click('#tab-trace');
    await shot(page, '11-dark-theme');
  });
});
