// What a reaped URB, or an errno from a usbfs call, means under the transport contract
// (linux/usbdevice_fs.h, drivers/usb/core/devio.c): stall and babble are results, the rest typed errors.
import { AbortError, AccessDeniedError, ClosedError, DisconnectedError, TimeoutError, TransportError, type UsbmsError } from '@usbms/core';
import { Errno, errnoName, type UrbCompletion } from './abi.js';
import type { Urb, UrbResult } from './urb.js';

/** ESHUTDOWN/ENODEV: the device is gone. */
export const isGone = (completion: UrbCompletion): boolean => -completion.status === Errno.ESHUTDOWN || -completion.status === Errno.ENODEV;

/**
 * The result of a reaped URB; throws the typed error of one that did not end as a result. `subject`
 * names the interface in messages; `closed()` tells whether a discard was the transport's close.
 */
export function urbOutcome(urb: Urb, { status, actualLength }: UrbCompletion, subject: string, closed: () => boolean): UrbResult {
  const actual = Math.max(0, Math.min(actualLength, urb.buffer.length));
  if (urb.cancelled === 'abort') {
    // The engine's own signals carry an AbortError already (a caller's abort, as the queue gave it
    // up, or the engine's cancel of what was queued ahead): that one, rather than another stack.
    const reason: unknown = urb.signal?.reason;
    throw reason instanceof AbortError ? reason : new AbortError('The transfer was aborted', { cause: reason });
  }
  switch (-status) {
    case 0:
      return { kind: 'ok', actual };
    case Errno.EPIPE:
      // A stall ends the transfer; bytes before it are valid data (BOT 1.0 §6.7.2).
      return { kind: 'stall', actual };
    case Errno.EOVERFLOW:
      // Babble: the device sent more than the buffer holds.
      return { kind: 'babble', actual };
    case Errno.ECONNRESET:
    case Errno.ENOENT:
      if (urb.cancelled === 'timeout') throw new TimeoutError(`The transfer did not finish within ${urb.timeoutMs} ms (${subject})`);
      if (closed()) throw new ClosedError(`The transport for ${subject} was closed`);
      throw new TransportError(`The transfer was cancelled (${errnoName(status)}, ${subject})`, { details: { errno: -status } });
    case Errno.ETIMEDOUT:
      throw new TimeoutError(`The transfer timed out (ETIMEDOUT, ${subject})`);
    case Errno.ESHUTDOWN:
    case Errno.ENODEV:
      // The caller tells onGone (isGone) before it passes this on.
      throw new DisconnectedError(`The USB device was disconnected (${subject})`);
    default:
      throw new TransportError(`The transfer failed with ${errnoName(status)} (${subject})`, { details: { errno: -status } });
  }
}

/** An errno from a usbfs call (`what`: the ioctl) as a typed error; the caller tells of a device gone (ENODEV, ESHUTDOWN). */
export function usbfsErrnoError(errno: number, what: string, subject: string): UsbmsError {
  const message = `${what} on ${subject} failed: ${errnoName(errno)}`;
  const details = { errno, operation: what };
  switch (errno) {
    case Errno.ENODEV:
    case Errno.ESHUTDOWN:
      return new DisconnectedError(`The USB device was disconnected (${subject})`, { details });
    case Errno.EBUSY:
      return new AccessDeniedError(message, { details: { ...details, reason: 'busy' } });
    case Errno.EACCES:
    case Errno.EPERM:
      return new AccessDeniedError(message, { details: { ...details, reason: 'permission' } });
    case Errno.ETIMEDOUT:
      return new TimeoutError(message, { details });
    case Errno.EINVAL:
      return new TransportError(`${message} (the kernel refused the request)`, { details });
    case Errno.ENOMEM:
      return new TransportError(`${message} (usbfs memory limit: see usbcore.usbfs_memory_mb)`, { details });
    default:
      return new TransportError(message, { details });
  }
}
