import { AccessDeniedError, DisconnectedError, InvalidArgumentError, TimeoutError, TransportError, UnsupportedError, UsbmsError } from '@usbms/core';

/**
 * THE one place where node-usb 3.1 errors are interpreted.
 *
 * node-usb 3.1 (a Rust rewrite over nusb) reports every failure as an `Error`
 * whose message is "<operation> error: <detail>". Verified/derived shapes:
 * - bulk transfers: `transferIn error: Stall` | `Cancelled` | `Disconnected` |
 *   `Fault` | `InvalidArgument` | `Unknown(..)` (nusb's TransferError, Debug
 *   form), or `transferIn error: endpoint not found` when the interface is not
 *   claimed, the endpoint already has a pending transfer, or the device is gone;
 * - a native timeout cancels the transfer and reports `Cancelled` (nusb's
 *   `transfer_blocking` cancels and waits for the cancellation to complete, so
 *   the transfer is no longer pending when the promise settles);
 * - control transfers: `controlTransferIn error: endpoint stalled` |
 *   `transfer was cancelled` | `device disconnected` | ... (Display form), or
 *   `... error: invalid state` when nothing is claimed / the device is closed;
 * - claim/open/detach: OS error text such as "Device or resource busy" or
 *   "Permission denied (os error 13)".
 *
 * Nothing else in the package matches message text.
 */
export type UsbOperation =
  | 'enumerate'
  | 'open'
  | 'configuration'
  | 'select-configuration'
  | 'claim'
  | 'release'
  | 'select-alternate'
  | 'detach-kernel-driver'
  | 'attach-kernel-driver'
  | 'bulk-in'
  | 'bulk-out'
  | 'control-in'
  | 'control-out'
  | 'clear-halt'
  | 'reset';

/** What {@link classifyUsbError} needs besides the exception: which call failed, and whether the device is known to be gone. */
export interface UsbErrorContext {
  operation: UsbOperation;
  /** The platform's disconnect event has fired for this device. */
  disconnected: boolean;
  /** The timeout that was passed to the native call, for the message. */
  timeoutMs?: number;
  /** Who/what, for messages: "interface 0 of 0781:5567". */
  subject?: string;
}

/**
 * - `stall` / `babble`: transfer results, not errors (BOT 1.0 §5.3, §6.7);
 * - `error`: a typed error to throw;
 * - `ambiguous: true`: the text alone cannot tell "device gone" from a local
 *   problem; the caller waits briefly for the platform's disconnect event (the
 *   authority) and classifies again with `disconnected` updated.
 */
export type UsbErrorClass = { kind: 'stall' } | { kind: 'babble' } | { kind: 'error'; error: UsbmsError; ambiguous: boolean };

/** Why an error happened, when the platform said so: `error.details.reason`. */
export function reasonOf(c: UsbErrorClass): string | undefined {
  if (c.kind !== 'error') return undefined;
  const reason = c.error.details?.reason;
  return typeof reason === 'string' ? reason : undefined;
}

/** The text of anything thrown; never throws itself. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return typeof error.message === 'string' ? error.message : '';
  try {
    return String(error);
  } catch {
    // e.g. an object without a prototype: nothing readable to match.
    return 'unknown error';
  }
}

/** The part after "<operation> error: ", which is what nusb reported. */
function detailOf(message: string): string {
  const m = /^[A-Za-z]+ error: (.*)$/s.exec(message);
  return (m?.[1] ?? message).trim();
}

const isTransfer = (op: UsbOperation): boolean => op === 'bulk-in' || op === 'bulk-out' || op === 'control-in' || op === 'control-out';

/** Classifies an exception thrown by a node-usb 3.1 call. Pure. */
export function classifyUsbError(error: unknown, context: UsbErrorContext): UsbErrorClass {
  if (error instanceof UsbmsError) return { kind: 'error', error, ambiguous: false };
  const message = messageOf(error);
  const detail = detailOf(message);
  const lower = detail.toLowerCase();
  const subject = context.subject === undefined ? '' : ` (${context.subject})`;
  const fail = (e: UsbmsError, ambiguous = false): UsbErrorClass => ({ kind: 'error', error: e, ambiguous });
  const disconnected = (): UsbErrorClass =>
    fail(new DisconnectedError(`The USB device was disconnected during ${context.operation}${subject}`, { cause: error }));

  // The disconnect event already fired: whatever the text says, the device is gone.
  if (context.disconnected) return disconnected();

  // Stall: nusb TransferError::Stall ("Stall" via Debug, "endpoint stalled" via Display).
  if (isTransfer(context.operation) && (detail === 'Stall' || lower === 'endpoint stalled' || lower.includes('pipe error'))) {
    return { kind: 'stall' };
  }
  // Linux reports EOVERFLOW (babble) as nusb TransferError::Fault, together with
  // CRC/bit-stuff errors. On a bulk-IN pipe the host recovers from both the same
  // way (treat as phase error, BOT 1.0 §6.7.2 case Hi < Di: reset recovery), so
  // report it as babble; elsewhere it is a transport error.
  if (detail === 'Fault' || lower === 'hardware fault or protocol violation') {
    if (context.operation === 'bulk-in') return { kind: 'babble' };
    return fail(new TransportError(`USB protocol fault during ${context.operation}${subject}: ${message}`, { cause: error }));
  }
  if (detail === 'Disconnected' || lower === 'device disconnected' || lower.includes('no such device') || lower.includes('os error 19')) {
    return disconnected();
  }
  if (detail === 'Cancelled' || lower === 'transfer was cancelled' || lower.includes('timed out') || lower.includes('timeout')) {
    // We never cancel transfers ourselves: a cancellation is the native timeout.
    const after = context.timeoutMs === undefined ? '' : ` after ${context.timeoutMs} ms`;
    return fail(new TimeoutError(`USB ${context.operation} transfer timed out${after}${subject}`, { cause: error }));
  }
  if (detail === 'InvalidArgument' || lower.includes('invalid or unsupported argument')) {
    return fail(new InvalidArgumentError(`node-usb rejected the ${context.operation} request as invalid${subject}: ${message}`, { cause: error }));
  }
  // USBDEVFS_DISCONNECT/CONNECT answer ENODATA when no driver is bound: nothing to detach.
  if (lower.includes('no kernel driver') || lower.includes('os error 61') || lower.includes('no data available')) {
    return fail(new TransportError(`No kernel driver is bound${subject}: ${message}`, { cause: error, details: { reason: 'no-driver' } }));
  }
  if (lower.includes('permission denied') || lower.includes('access denied') || lower.includes('os error 13') || lower.includes('os error 1)')) {
    return fail(new AccessDeniedError(`Permission denied for ${context.operation}${subject}: ${message}`, { cause: error, details: { reason: 'permission' } }));
  }
  if (lower.includes('busy') || lower.includes('os error 16')) {
    return fail(
      new AccessDeniedError(`The interface is in use by another driver or program${subject}: ${message}`, { cause: error, details: { reason: 'busy' } }),
    );
  }
  if (lower.includes('not supported') || lower.includes('not implemented') || lower.includes('unsupported')) {
    return fail(new UnsupportedError(`${context.operation} is not supported here${subject}: ${message}`, { cause: error }));
  }
  if (context.operation === 'enumerate') {
    const missing = lower.includes('not found') || lower.includes('errno 2') || lower.includes('os error 2)');
    return fail(
      new TransportError(
        `Cannot list USB devices: ${message}.` +
          (missing
            ? ' This system has no USB subsystem visible (no /sys/bus/usb/devices): in a container or VM, pass the USB bus through (e.g. docker --device /dev/bus/usb, with sysfs mounted); to try usbms without hardware, use --sim.'
            : ''),
        { cause: error },
      ),
    );
  }
  // "endpoint not found" / "invalid state" / "not claimed" / Unknown(..): the
  // device may have gone (its interfaces vanish with it) or our claim was lost.
  // Only the disconnect event can tell; the caller waits for it briefly.
  return fail(new TransportError(`USB ${context.operation} failed${subject}: ${message}`, { cause: error }), true);
}
