import {
  AccessDeniedError,
  ClosedError,
  DisconnectedError,
  InvalidArgumentError,
  NotFoundError,
  ProtectedClassError,
  TimeoutError,
  TransportError,
  UsbmsError,
} from '@usbms/core';

/**
 * Why a browser refused the mass-storage interface, and what works instead.
 * Shown verbatim by tools (the demo prints it), so it is written for users.
 */
export const PROTECTED_CLASS_HELP =
  'The browser refused access to the USB mass-storage interface: Chromium treats interface class 0x08 ' +
  '(mass storage) as a protected class that ordinary web pages may not claim, and it blocks class ' +
  'control requests (Get Max LUN, Bulk-Only Reset) aimed at it. This is browser policy, not a fault ' +
  'of the device. What works instead: (1) an Electron app that allows the class with ' +
  'session.setUSBProtectedClassesHandler (see demo/electron); (2) a Chrome Isolated Web App with the ' +
  '"usb-unrestricted" permission policy; (3) a device that exposes Bulk-Only Transport on a ' +
  'vendor-specific (0xFF) interface; (4) the Node.js library or CLI, @usbms/node.';

/** What the adapter was doing when the platform error happened; it changes what an error means. */
export type WebUsbOperation =
  | 'open'
  | 'select-configuration'
  | 'claim-interface'
  | 'select-alternate'
  | 'release-interface'
  | 'close'
  | 'bulk-in'
  | 'bulk-out'
  | 'clear-halt'
  | 'class-request'
  | 'reset'
  | 'request-device'
  | 'get-devices';

interface DomExceptionLike {
  name: string;
  message: string;
}

function isDomExceptionLike(error: unknown): error is DomExceptionLike {
  return (
    typeof error === 'object' &&
    error !== null &&
    typeof (error as { name?: unknown }).name === 'string' &&
    typeof (error as { message?: unknown }).message === 'string'
  );
}

const transferOps: ReadonlySet<WebUsbOperation> = new Set(['bulk-in', 'bulk-out', 'clear-halt', 'class-request']);

/**
 * The one place where WebUSB's DOMExceptions become usbms errors. WebUSB
 * reports errors by DOMException *name* (WebUSB §6 and Chromium's
 * usb_device.cc): SecurityError (protected class, blocked transfer, access),
 * NotFoundError (disconnected during a transfer, unknown interface otherwise),
 * NetworkError (transfer error, claim failed because a driver holds the
 * interface), AbortError (cancelled by reset()/close()), InvalidStateError,
 * DataError (transfer over 32 MiB). `state` is the adapter's own knowledge:
 * the `disconnect` event is the authority on disconnects, and a transfer
 * cancelled by the adapter's own close() reports ClosedError.
 */
export function mapWebUsbError(error: unknown, operation: WebUsbOperation, state: { disconnected?: boolean; closed?: boolean } = {}): UsbmsError {
  if (error instanceof UsbmsError) return error;
  const where = `WebUSB ${operation}`;
  if (state.disconnected) return new DisconnectedError(`The USB device was disconnected (during ${operation})`, { cause: error });
  if (!isDomExceptionLike(error)) return new TransportError(`${where} failed: ${String(error)}`, { cause: error });
  const detail = error.message;
  switch (error.name) {
    case 'SecurityError':
      // claimInterface on class 0x08, or a class control transfer whose wIndex names it.
      if (operation === 'claim-interface' || operation === 'class-request' || /protected/i.test(detail)) {
        return new ProtectedClassError(PROTECTED_CLASS_HELP, { cause: error, details: { operation, platformMessage: detail } });
      }
      return new AccessDeniedError(
        `${where} was refused (${detail}). On Linux a udev rule must grant access to the device node; ` +
          'on Windows the interface needs the WinUSB driver (e.g. installed with Zadig).',
        { cause: error, details: { operation } },
      );
    case 'NotFoundError':
      if (transferOps.has(operation) || operation === 'reset') {
        return new DisconnectedError(`The USB device was disconnected (during ${operation})`, { cause: error });
      }
      return new NotFoundError(`${where}: ${detail}`, { cause: error });
    case 'NetworkError':
      if (operation === 'claim-interface' || operation === 'open') {
        return new AccessDeniedError(
          `${where} failed (${detail}): another driver or program holds the interface. On Linux the ` +
            'usb-storage/uas kernel driver owns it (Chromium cannot detach it); on Windows install WinUSB ' +
            'for the interface; otherwise close other programs using the device.',
          { cause: error, details: { operation } },
        );
      }
      return new TransportError(`${where} failed: ${detail}`, { cause: error });
    case 'AbortError':
      // The platform cancelled the transfer (reset() or close()), not the caller's signal:
      // the adapter reports its own aborts itself, so this one is a transport failure.
      if (state.closed) return new ClosedError(`${where} was cancelled because the transport was closed`, { cause: error });
      return new TransportError(`${where} was cancelled by a device reset or close (${detail})`, { cause: error });
    case 'TimeoutError':
      return new TimeoutError(`${where} timed out: ${detail}`, { cause: error });
    case 'DataError':
    case 'TypeError':
      return new InvalidArgumentError(`${where} rejected its arguments: ${detail}`, { cause: error });
    case 'NotAllowedError':
      return new AccessDeniedError(`${where} is not allowed here: ${detail}`, { cause: error, details: { operation } });
    default:
      return new TransportError(`${where} failed: ${error.name}: ${detail}`, { cause: error });
  }
}
