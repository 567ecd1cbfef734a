import { AccessDeniedError, DisconnectedError, TransportError, type UsbmsError } from '@usbms/core';
import { Errno, errnoName } from './abi.js';

/** open(2) of a usbfs node failed: permission, gone, or anything else, as a typed error. */
export function openError(errno: number, path: string, id: string): UsbmsError {
  if (errno === Errno.EACCES || errno === Errno.EPERM) {
    return new AccessDeniedError(`Opening ${path} failed: ${errnoName(errno)}`, { details: { reason: 'permission', errno } });
  }
  if (errno === Errno.ENOENT || errno === Errno.ENODEV) return new DisconnectedError(`${id} is gone (${path}: ${errnoName(errno)})`, { details: { errno } });
  return new TransportError(`Opening ${path} failed: ${errnoName(errno)}`, { details: { errno } });
}
