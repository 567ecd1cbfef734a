/**
 * The alternative to WebUSB in Electron: `@usbms/node` in the main process,
 * reached over IPC. This file is the wire format, shared by both sides and
 * pure: results travel as plain objects and errors as `serializeError` output,
 * so the renderer rethrows the same typed error (same `code`) the main process saw.
 */

import type { SerializedUsbmsError } from '@usbms/core';
import { deserializeError, serializeError } from '@usbms/core';

export const IpcChannel = {
  list: 'usbms:list',
  open: 'usbms:open',
  execute: 'usbms:execute',
  read: 'usbms:read',
  close: 'usbms:close',
} as const;
export type IpcChannel = (typeof IpcChannel)[keyof typeof IpcChannel];

export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: SerializedUsbmsError };

/** Main side: runs a handler and never lets an exception cross IPC unserialised (Electron would flatten it to a string). */
export async function toIpcResult<T>(work: () => Promise<T>): Promise<IpcResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error: serializeError(error) };
  }
}

/** Renderer side: unwraps a result, rethrowing the typed usbms error. */
export function fromIpcResult<T>(result: IpcResult<T>): T {
  if (result.ok) return result.value;
  throw deserializeError(result.error);
}

/** A raw command as it crosses IPC (Uint8Array survives structured clone). */
export interface IpcExecuteRequest {
  cdb: Uint8Array;
  direction: 'none' | 'in' | 'out';
  length?: number;
  data?: Uint8Array;
  lun?: number;
  timeoutMs?: number;
}
