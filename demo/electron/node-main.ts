/**
 * The alternative to WebUSB: `@usbms/node` (node-usb) in the main process,
 * served to the app's windows with the `usbms serve` protocol
 * (docs/remote-protocol.md) over an Electron `MessagePortMain`. The renderer
 * gets a `RemoteClient` whose devices have the `MscDevice` API (renderer.ts).
 * Use it where WebUSB cannot reach the device (e.g. the OS driver holds it and
 * the app must detach it, which only the Node adapter does on Linux), or to
 * keep device access out of the renderer entirely. Every window shares each
 * device's one queue, round-robin, as clients of `usbms serve` do.
 */

import { type MessagePortLike, messagePortPort } from '@usbms/core';
import { generateToken, listDevices, openDevice, RemoteServer, watchDevices } from '@usbms/node';
import { MessageChannelMain, type WebContents } from 'electron';
import type { UsbmsElectronPolicy } from './policy.js';
import { isTrustedOrigin } from './policy.js';

/** The IPC channel that carries the port (and the token) to the preload script. */
export const USBMS_PORT_CHANNEL = 'usbms:port';

export interface UsbmsService {
  /** Gives a window its own connection: a fresh MessageChannelMain, one end served here, the other posted to the page. */
  connect(webContents: WebContents): void;
  close(): Promise<void>;
}

/** Opens every mass-storage device (and those plugged in later) and serves them to the app's windows. */
export async function createUsbmsService(policy: UsbmsElectronPolicy): Promise<UsbmsService> {
  const token = generateToken();
  const server = new RemoteServer({ tokens: [{ token, readOnly: false }] });
  const serve = (info: Awaited<ReturnType<typeof listDevices>>[number]): Promise<void> =>
    openDevice(info).then(
      (device) => void server.addDevice(device),
      (error: unknown) => console.warn('usbms: could not open a device:', error),
    );
  for (const info of await listDevices().catch(() => [])) await serve(info);
  const stopWatching = watchDevices({ onAttach: (info) => void serve(info) });
  return {
    connect(webContents) {
      // Only the app's own pages get a port (the relaxed USB policy is theirs alone too).
      if (!isTrustedOrigin(webContents.getURL(), policy)) return;
      const { port1, port2 } = new MessageChannelMain();
      server.attach(messagePortPort(port1 as unknown as MessagePortLike), { peer: 'renderer' });
      webContents.postMessage(USBMS_PORT_CHANNEL, { token }, [port2]);
    },
    async close() {
      stopWatching();
      await server.close();
    },
  };
}
