/**
 * The alternative: `@usbms/node` (node-usb) in the main process behind IPC.
 * Use it where WebUSB cannot reach the device (e.g. the OS driver holds it and
 * the app must detach it, which only the Node adapter does on Linux), or to
 * keep device access out of the renderer entirely.
 */

import type { MscDevice } from '@usbms/core';
import { InvalidArgumentError } from '@usbms/core';
import { listDevices, openDevice } from '@usbms/node';
import type { IpcMainInvokeEvent } from 'electron';
import { ipcMain } from 'electron';
import type { IpcExecuteRequest, IpcResult } from './ipc-protocol.js';
import { IpcChannel, toIpcResult } from './ipc-protocol.js';
import type { UsbmsElectronPolicy } from './policy.js';
import { isTrustedOrigin } from './policy.js';

const open = new Map<number, MscDevice>();
let nextHandle = 1;

function device(handle: number): MscDevice {
  const d = open.get(handle);
  if (!d) throw new InvalidArgumentError(`No open device with handle ${handle}`);
  return d;
}

export function registerUsbmsIpc(policy: UsbmsElectronPolicy): void {
  // Every handler first checks that the request comes from the app's own page.
  const guarded =
    <A extends unknown[], T>(fn: (...args: A) => Promise<T>) =>
    (event: IpcMainInvokeEvent, ...args: A): Promise<IpcResult<T>> =>
      toIpcResult(async () => {
        if (!isTrustedOrigin(event.senderFrame?.url, policy)) throw new InvalidArgumentError('usbms IPC refused: the request did not come from the app');
        return fn(...args);
      });

  ipcMain.handle(
    IpcChannel.list,
    guarded(async () => listDevices()),
  );
  ipcMain.handle(
    IpcChannel.open,
    guarded(async (id: string) => {
      const d = await openDevice(id);
      const handle = nextHandle++;
      open.set(handle, d);
      d.onDisconnect(() => open.delete(handle));
      return { handle, maxLun: d.maxLun, inquiry: d.luns.map((lu) => lu.inquiry) };
    }),
  );
  ipcMain.handle(
    IpcChannel.execute,
    guarded(async (handle: number, req: IpcExecuteRequest) => {
      const r = await device(handle).execute(req);
      return { status: r.status, statusCode: r.statusCode, data: r.data, residue: r.residue, sense: r.sense };
    }),
  );
  ipcMain.handle(
    IpcChannel.read,
    guarded(async (handle: number, lun: number, lba: number, blocks: number) => device(handle).lun(lun).read(lba, blocks)),
  );
  ipcMain.handle(
    IpcChannel.close,
    guarded(async (handle: number) => {
      const d = open.get(handle);
      open.delete(handle);
      await d?.close();
    }),
  );
}
