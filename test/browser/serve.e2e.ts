/**
 * The device tool driving `usbms serve --sim` from headless Chromium: the
 * "Connect to usbms serve" form (URL + token, remembered per origin), then
 * INQUIRY in the device panel, sectors, the console and the trace, all through
 * the service. A Node client of the same service writes the sector the page
 * reads, so the two share one device. Screenshots: test-output/browser/serve-*.png.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectRemote } from '@usbms/node';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, inject, it } from 'vitest';
import { driveToolOverServe } from './serve-steps.js';
import { launchChromium } from './tool-page.js';

const here = dirname(fileURLToPath(import.meta.url));
const BIN = resolve(here, '../../packages/node/bin/usbms.mjs');

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
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  serve?.kill('SIGTERM');
  await new Promise((r) => serve?.once('exit', r));
  rmSync(tmp, { recursive: true, force: true });
});

describe('device tool over usbms serve (headless Chromium)', () => {
  it('connects with URL and token, shows INQUIRY, reads sectors, sends commands and traces them', async () => {
    const wsUrl = info.urls.find((u) => u.startsWith('ws://')) ?? '';
    // Another process's client writes sector 0; the page must see it.
    const node = await connectRemote(wsUrl, { token: info.token });
    const sectorText = 'written by a Node client of usbms serve';
    const sector = new Uint8Array(512);
    sector.set(new TextEncoder().encode(sectorText), 0);
    await node.device().lun(0).write(0, sector);
    await driveToolOverServe(browser, { baseUrl: inject('baseUrl'), wsUrl, token: info.token, sectorText, deviceTexts: ['Sim Disk', 'USBMS'], shots: 'serve' });
    node.close();
  });
});
