/**
 * Renderer side, both ways. With the main process of main.ts:
 * - WebUSB: `@usbms/web` exactly as in a browser; the protected-class refusal is gone.
 * - IPC: `window.usbmsNode` (preload.ts) reaches `@usbms/node` in the main process.
 */
import type { MscDevice } from '@usbms/core';
import { openWebUsbDevice, requestMscDevice } from '@usbms/web';
import type { IpcResult } from './ipc-protocol.js';
import { fromIpcResult } from './ipc-protocol.js';

/** WebUSB in the renderer (call from a click handler). */
export async function openWithWebUsb(): Promise<MscDevice> {
  const usbDevice = await requestMscDevice(navigator.usb);
  return openWebUsbDevice(usbDevice, { usb: navigator.usb });
}

interface Bridge {
  list(): Promise<IpcResult<{ id: string; product?: string }[]>>;
  open(id: string): Promise<IpcResult<{ handle: number; maxLun: number }>>;
  read(handle: number, lun: number, lba: number, blocks: number): Promise<IpcResult<Uint8Array>>;
  close(handle: number): Promise<IpcResult<void>>;
}

/** The Node adapter in the main process: reads sector 0 of the first device. Errors arrive typed (same `code`). */
export async function readFirstSectorOverIpc(): Promise<Uint8Array> {
  const bridge = (window as unknown as { usbmsNode: Bridge }).usbmsNode;
  const [first] = fromIpcResult(await bridge.list());
  if (!first) throw new Error('No USB mass-storage device found');
  const { handle } = fromIpcResult(await bridge.open(first.id));
  try {
    return fromIpcResult(await bridge.read(handle, 0, 0, 1));
  } finally {
    fromIpcResult(await bridge.close(handle));
  }
}
