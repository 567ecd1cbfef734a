import { TimeoutError, UsbmsErrorCode } from '@usbms/core';
import { describe, expect, it } from 'vitest';
import type { WebUsbOperation } from './errors.js';
import { mapWebUsbError, PROTECTED_CLASS_HELP } from './errors.js';
import { ChromiumMessages } from './fake/index.js';

const dom = (message: string, name: string) => new DOMException(message, name);

describe('mapWebUsbError', () => {
  const cases: [string, Error, WebUsbOperation, string][] = [
    ['protected class on claim', dom(ChromiumMessages.protectedClass, 'SecurityError'), 'claim-interface', UsbmsErrorCode.ProtectedClass],
    ['blocked class transfer', dom(ChromiumMessages.transferNotAllowed, 'SecurityError'), 'class-request', UsbmsErrorCode.ProtectedClass],
    ['access denied on open', dom('Access denied.', 'SecurityError'), 'open', UsbmsErrorCode.AccessDenied],
    ['disconnect during a transfer', dom(ChromiumMessages.disconnected, 'NotFoundError'), 'bulk-in', UsbmsErrorCode.Disconnected],
    ['no device selected', dom(ChromiumMessages.noDeviceSelected, 'NotFoundError'), 'request-device', UsbmsErrorCode.NotFound],
    ['claim held by a driver', dom('Unable to claim interface.', 'NetworkError'), 'claim-interface', UsbmsErrorCode.AccessDenied],
    ['transfer error', dom(ChromiumMessages.transferError, 'NetworkError'), 'bulk-out', UsbmsErrorCode.Transport],
    ['cancelled by a reset', dom(ChromiumMessages.cancelled, 'AbortError'), 'bulk-in', UsbmsErrorCode.Transport],
    ['over 32 MiB', dom('The data buffer exceeded supported maximum size of 33554432 bytes', 'DataError'), 'bulk-in', UsbmsErrorCode.InvalidArgument],
    ['invalid state', dom(ChromiumMessages.openRequired, 'InvalidStateError'), 'bulk-in', UsbmsErrorCode.Transport],
    ['not an error object', new Error('boom'), 'reset', UsbmsErrorCode.Transport],
  ];
  it.each(cases)('%s', (_, error, operation, code) => {
    const mapped = mapWebUsbError(error, operation);
    expect(mapped.code).toBe(code);
    expect(mapped.cause).toBe(error);
  });

  it('explains the protected class with every alternative', () => {
    const mapped = mapWebUsbError(dom(ChromiumMessages.protectedClass, 'SecurityError'), 'claim-interface');
    expect(mapped.message).toBe(PROTECTED_CLASS_HELP);
    expect(mapped.details).toMatchObject({ platformMessage: ChromiumMessages.protectedClass });
  });

  it('lets the disconnect event win over whatever the platform said', () => {
    expect(mapWebUsbError(dom(ChromiumMessages.transferError, 'NetworkError'), 'bulk-in', { disconnected: true }).code).toBe(UsbmsErrorCode.Disconnected);
    expect(mapWebUsbError(dom(ChromiumMessages.cancelled, 'AbortError'), 'bulk-in', { closed: true }).code).toBe(UsbmsErrorCode.Closed);
  });

  it('passes usbms errors through unchanged', () => {
    const e = new TimeoutError('t');
    expect(mapWebUsbError(e, 'bulk-in')).toBe(e);
    expect(mapWebUsbError('text', 'bulk-in').code).toBe(UsbmsErrorCode.Transport);
  });
});
