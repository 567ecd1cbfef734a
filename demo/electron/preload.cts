/**
 * Preload (context-isolated, sandboxed, hence CommonJS and importing nothing
 * but 'electron'): exposes the IPC alternative as `window.usbmsNode`.
 * The WebUSB path needs nothing here: the page uses `navigator.usb` directly.
 */
import electron = require('electron');

const { contextBridge, ipcRenderer } = electron;

import type { IpcChannel as Channels, IpcExecuteRequest } from './ipc-protocol.js';

// Same values as IpcChannel in ipc-protocol.ts (a sandboxed preload cannot load that module).
const IpcChannel = {
  list: 'usbms:list',
  open: 'usbms:open',
  execute: 'usbms:execute',
  read: 'usbms:read',
  close: 'usbms:close',
} as const satisfies Record<string, Channels>;

const api = {
  list: () => ipcRenderer.invoke(IpcChannel.list),
  open: (id: string) => ipcRenderer.invoke(IpcChannel.open, id),
  execute: (handle: number, req: IpcExecuteRequest) => ipcRenderer.invoke(IpcChannel.execute, handle, req),
  read: (handle: number, lun: number, lba: number, blocks: number) => ipcRenderer.invoke(IpcChannel.read, handle, lun, lba, blocks),
  close: (handle: number) => ipcRenderer.invoke(IpcChannel.close, handle),
};
export type UsbmsNodeBridge = typeof api;

contextBridge.exposeInMainWorld('usbmsNode', api);
