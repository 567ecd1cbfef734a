/**
 * Renderer side, both ways. With the main process of main.ts:
 * - WebUSB: `@usbms/web` exactly as in a browser; the protected-class refusal is gone.
 * - The main process's `@usbms/node` service: a `RemoteClient` over the
 *   MessagePort the preload hands over (node-main.ts); its devices have the
 *   `MscDevice` API, errors arrive typed. The same client code connects to a
 *   separate `usbms serve` with `connectRemote('ws://127.0.0.1:5181', { token })`.
 */
import { type MscDevice, messagePortPort, RemoteClient } from '@usbms/core';
import { openDevice, requestDevice } from '@usbms/web';

/** WebUSB in the renderer (call from a click handler). */
export async function openWithWebUsb(): Promise<MscDevice> {
  const info = await requestDevice({}, { usb: navigator.usb });
  return openDevice(info, { usb: navigator.usb });
}

/** Waits for the main process's port (posted by the preload) and connects to its usbms service. */
export function connectToMainProcess(): Promise<RemoteClient> {
  return new Promise((resolve, reject) => {
    const onMessage = (event: MessageEvent): void => {
      const data = event.data as { usbmsPort?: unknown; token?: unknown } | null;
      const port = event.ports[0];
      if (event.source !== window || data?.usbmsPort !== true || typeof data.token !== 'string' || port === undefined) return;
      window.removeEventListener('message', onMessage);
      RemoteClient.connect(messagePortPort(port), { token: data.token, clientName: 'electron renderer' }).then(resolve, reject);
    };
    window.addEventListener('message', onMessage);
  });
}

/** Reads sector 0 of the first device the main process serves. */
export async function readFirstSectorFromMainProcess(): Promise<Uint8Array> {
  const client = await connectToMainProcess();
  try {
    return await client.device().lun(0).read(0, 1);
  } finally {
    client.close();
  }
}
