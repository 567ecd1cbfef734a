import { existsSync } from 'node:fs';

/** Debian's chromium; Playwright's own browser downloads are not used (and not possible here). */
export const CHROMIUM_PATH = process.env.USBMS_CHROMIUM ?? '/usr/bin/chromium';

/** Headless flags verified with Debian chromium. Playwright adds its own --user-data-dir. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export const INSTALL_COMMAND = 'apt-get update && apt-get install -y chromium';

export function chromiumPresent(): boolean {
  return existsSync(CHROMIUM_PATH);
}
