// The device tool (built by Vite, served on the host) drives a real device through `usbms serve` from
// headless Chromium: the server runs in the QEMU guest on QEMU's usb-storage (xHCI), listening on
// 0.0.0.0, with the port forwarded to the host's 127.0.0.1 (QEMU user networking, restricted). The same
// steps as the browser suite's simulator test (test/browser/serve-steps.ts): wrong token refused, INQUIRY,
// a sector a Node client of the same service wrote, a console command, the trace, URL + token remembered.
// Screenshots: test-output/browser/serve-hil-*.png.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectRemote } from '@usbms/node';
import { afterAll, expect, it } from 'vitest';
import { chromiumPresent, INSTALL_COMMAND } from '../browser/chromium.js';
import { serveDemo } from '../browser/global-setup.js';
import { driveToolOverServe } from '../browser/serve-steps.js';
import { launchChromium } from '../browser/tool-page.js';
import { bundleForGuest } from './bundle.js';
import { type GuestRun, startGuest } from './runner.js';

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

// The guest: usbms serve in the background until the host writes $HIL_OUT/stop, then SIGTERM (exit 0).
const GUEST_SCRIPT = `
node --enable-source-maps "$HIL_CLI_BUNDLE" --json serve --listen "0.0.0.0:$HIL_PORT" --allow-origin "$HIL_ORIGIN" \\
  --token-file "$HIL_OUT/token" > "$HIL_OUT/serve.json" 2> "$HIL_OUT/serve.err" &
pid=$!
while [ ! -e "$HIL_OUT/stop" ] && kill -0 $pid 2>/dev/null; do sleep 0.2; done
kill -TERM $pid 2>/dev/null
wait $pid
`;

let run: GuestRun | undefined;
afterAll(async () => {
  if (run) {
    fs.writeFileSync(path.join(run.jobDir, 'stop'), '');
    await run.result.catch(() => undefined);
  }
});

it('the device tool drives usbms serve in the guest (QEMU usb-storage) from headless Chromium', async () => {
  expect(chromiumPresent(), `Debian's chromium is missing; install it: ${INSTALL_COMMAND}`).toBe(true);
  const demo = await serveDemo();
  try {
    const port = await freePort();
    const cli = await bundleForGuest('packages/node/src/cli/run.ts', 'usbms');
    run = await startGuest({
      profile: 'xhci-storage',
      forwardTcp: [port],
      command: ['sh', '-c', GUEST_SCRIPT],
      env: { HIL_CLI_BUNDLE: cli, HIL_PORT: String(port), HIL_ORIGIN: new URL(demo.url).origin },
      timeoutMs: 420_000,
    });
    const jobDir = run.jobDir;
    let token = '';
    for (const deadline = Date.now() + 240_000; token === '' && Date.now() < deadline; await sleep(200)) {
      try {
        token = (JSON.parse(fs.readFileSync(path.join(jobDir, 'serve.json'), 'utf8')) as { token: string }).token;
      } catch {
        // Not written yet (the guest boots, then usbms opens the device).
      }
    }
    const serveErr = (): string => (fs.existsSync(path.join(jobDir, 'serve.err')) ? fs.readFileSync(path.join(jobDir, 'serve.err'), 'utf8') : '');
    expect(token, `usbms serve did not start in the guest: ${serveErr()}`).not.toBe('');
    const wsUrl = `ws://127.0.0.1:${port}`;

    // Another client (this Node process, through the forwarded port) writes sector 0; the page must see it.
    const node = await connectRemote(wsUrl, { token });
    const sectorText = 'written by a Node client of usbms serve in the guest';
    const sector = new Uint8Array(512);
    sector.set(new TextEncoder().encode(sectorText), 0);
    await node.device().lun(0).write(0, sector);

    const browser = await launchChromium();
    try {
      await driveToolOverServe(browser, { baseUrl: demo.url, wsUrl, token, sectorText, deviceTexts: ['QEMU HARDDISK'], shots: 'serve-hil', timeoutMs: 90_000 });
    } finally {
      await browser.close();
      node.close();
    }
    fs.writeFileSync(path.join(jobDir, 'stop'), '');
    const result = await run.result;
    run = undefined;
    expect(result.exitCode, `guest: ${result.stderr}\nserve: ${serveErr()}`).toBe(0);
  } finally {
    await demo.close();
  }
});
