import type { SenseData } from './sense/types.js';

/**
 * Stable error codes. They are part of the public API: tools switch on
 * `error.code`, never on message text.
 */
export const UsbmsErrorCode = {
  /** Caller input rejected before anything was sent to the device. */
  InvalidArgument: 'INVALID_ARGUMENT',
  /** The device returned bytes that do not parse (short, garbage, inconsistent). */
  Parse: 'PARSE',
  /** A command or transfer did not finish within its time limit. */
  Timeout: 'TIMEOUT',
  /** The caller aborted the command through its AbortSignal. */
  Aborted: 'ABORTED',
  /** The device went away. */
  Disconnected: 'DISCONNECTED',
  /** A platform I/O error that is neither stall, babble, timeout nor disconnect. */
  Transport: 'TRANSPORT',
  /** The CSW reported Phase Error (status 2); reset recovery was performed. */
  PhaseError: 'PHASE_ERROR',
  /** The CSW was not valid or not meaningful (BOT 1.0 §6.3); reset recovery was performed. */
  InvalidCsw: 'INVALID_CSW',
  /** Reset recovery failed: the device is unusable until reopened. */
  DeviceFailed: 'DEVICE_FAILED',
  /** The device or queue was closed. */
  Closed: 'CLOSED',
  /** The command ended with CHECK CONDITION; `sense` says why. */
  CheckCondition: 'CHECK_CONDITION',
  /** Refused by the device object's read-only option. */
  ReadOnly: 'READ_ONLY',
  /** The medium is write-protected. */
  WriteProtected: 'WRITE_PROTECTED',
  /** The interface could not be claimed (held by an OS driver, or no permission). */
  AccessDenied: 'ACCESS_DENIED',
  /** WebUSB refused a protected interface class (mass storage) for this page. */
  ProtectedClass: 'PROTECTED_CLASS',
  /** The device or feature is not supported (e.g. a UAS-only device). */
  Unsupported: 'UNSUPPORTED',
  /** No matching device. */
  NotFound: 'NOT_FOUND',
  /** Read-back verification found different bytes. */
  VerifyMismatch: 'VERIFY_MISMATCH',
  /** The simulator caught the host breaking the BOT protocol. */
  ProtocolViolation: 'PROTOCOL_VIOLATION',
  /** A replayed transcript and the host disagree: the host sent different bytes or a different stage. */
  ReplayMismatch: 'REPLAY_MISMATCH',
  /** An NVMe command (through a USB bridge) completed with a non-zero status (NVMe Base 2.0 §4.2.3). */
  NvmeStatus: 'NVME_STATUS',
  /** A write reached the device only in part; `blocksWritten` says how much, so it can be resumed. */
  PartialWrite: 'PARTIAL_WRITE',
  /** The device sent more data than requested (babble, USB 2.0 §8.5.1 / Linux USB_STOR_XFER_LONG). */
  Babble: 'BABBLE',
  /** A remote-protocol frame was malformed, oversized, of another version, or not allowed in this state (docs/remote-protocol.md). */
  RemoteProtocol: 'REMOTE_PROTOCOL',
  /** An exclusive session on a served device ended without release (its holder died or stopped renewing); cleared explicitly. */
  InterruptedSession: 'INTERRUPTED_SESSION',
} as const;
export type UsbmsErrorCode = (typeof UsbmsErrorCode)[keyof typeof UsbmsErrorCode];

/**
 * Plain-object form of an error, the same after JSON, `structuredClone`, worker `postMessage` and Electron
 * IPC: `details` holds only JSON values, with byte arrays as `{ $bytes: hex }` and bigints as
 * `{ $bigint: decimal }` (JSON alone would turn a `Uint8Array` into `{"0":240,...}`).
 */
export interface SerializedUsbmsError {
  name: string;
  code: UsbmsErrorCode;
  message: string;
  details?: Record<string, unknown>;
  /** `ParseError.what`. */
  what?: string;
  cause?: SerializedUsbmsError | { name: string; message: string };
}

/** Options every usbms error accepts: the underlying `cause` (chained as `Error.cause`) and structured `details` to act on. */
export interface UsbmsErrorOptions {
  cause?: unknown;
  details?: Record<string, unknown>;
}

/** Base class of every error usbms throws. */
export class UsbmsError extends Error {
  readonly code: UsbmsErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: UsbmsErrorCode, message: string, options: UsbmsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details;
  }

  /** A plain object for `JSON.stringify`, `postMessage` or IPC; `deserializeError` rebuilds the typed error from it. */
  toJSON(): SerializedUsbmsError {
    return serializeError(this);
  }
}

/**
 * Builds an error without capturing a stack: for errors that only mark an outcome for the code
 * that catches them (a transfer never submitted, the reason given to transfers cancelled with a
 * failed command), never shown to a user. Capturing a stack costs microseconds each (about 5 us
 * warm, 8x a stackless one), and an abort in a pipelined job built several on its way to the caller.
 */
export function withoutStack<T extends Error>(make: () => T): T {
  // V8's (Node, Chromium, Electron); other engines have none, and build the error as usual.
  const V8Error = Error as { stackTraceLimit?: number };
  const limit = V8Error.stackTraceLimit;
  if (typeof limit !== 'number') return make();
  V8Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    V8Error.stackTraceLimit = limit;
  }
}

export class InvalidArgumentError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.InvalidArgument, message, options);
  }
}

/** The device sent bytes that do not parse. `what` names the structure (e.g. "CSW", "INQUIRY data"). */
export class ParseError extends UsbmsError {
  constructor(
    readonly what: string,
    message: string,
    options?: UsbmsErrorOptions,
  ) {
    super(UsbmsErrorCode.Parse, `${what}: ${message}`, options);
  }
}

export class TimeoutError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.Timeout, message, options);
  }
}

/** Thrown when a caller's AbortSignal fires. `name` is "AbortError" like the DOM's. */
export class AbortError extends UsbmsError {
  constructor(message = 'The command was aborted', options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.Aborted, message, options);
    this.name = 'AbortError';
  }
}

export class DisconnectedError extends UsbmsError {
  constructor(message = 'The USB device was disconnected', options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.Disconnected, message, options);
  }
}

export class TransportError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.Transport, message, options);
  }
}

export class PhaseError extends UsbmsError {
  constructor(message = 'The device reported a phase error (CSW status 2); the device was reset', options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.PhaseError, message, options);
  }
}

export class InvalidCswError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.InvalidCsw, message, options);
  }
}

export class DeviceFailedError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.DeviceFailed, message, options);
  }
}

export class ClosedError extends UsbmsError {
  constructor(message = 'The device is closed', options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.Closed, message, options);
  }
}

/** CHECK CONDITION with decoded sense data (SPC-4 §4.5). */
export class ScsiCheckConditionError extends UsbmsError {
  readonly sense: SenseData | undefined;
  constructor(message: string, sense: SenseData | undefined, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.CheckCondition, message, {
      ...options,
      details: { ...options?.details, ...(sense ? { sense } : {}) },
    });
    this.sense = sense;
  }
}

export class ReadOnlyError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.ReadOnly, message, options);
  }
}

export class WriteProtectedError extends UsbmsError {
  constructor(message = 'The medium is write-protected', options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.WriteProtected, message, options);
  }
}

export class AccessDeniedError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.AccessDenied, message, options);
  }
}

export class ProtectedClassError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.ProtectedClass, message, options);
  }
}

export class UnsupportedError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.Unsupported, message, options);
  }
}

export class NotFoundError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.NotFound, message, options);
  }
}

export class VerifyMismatchError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.VerifyMismatch, message, options);
  }
}

export class ProtocolViolationError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.ProtocolViolation, message, options);
  }
}

/**
 * An NVMe command completed with an error status. `status` is the completion's Status Field without the
 * phase tag (NVMe Base 2.0 §4.2.3, figure 92): bits 7:0 Status Code, 10:8 Status Code Type, 14 Do Not Retry.
 */
export class NvmeStatusError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.NvmeStatus, message, options);
  }
}

/** Fields of {@link PartialWriteError}. */
export interface PartialWriteDetails {
  /** First LBA of the write that was asked for. */
  lba: number;
  /** Blocks the write asked for. */
  blocks: number;
  /** Blocks from `lba` on that reached the device (a resumed write starts at `lba + blocksWritten`). */
  blocksWritten: number;
  /** dCSWDataResidue-based bytes of the failing command the device did not take, when it reported them. */
  residue?: number;
}

/**
 * A write reached the device only in part: the device acknowledged fewer bytes
 * than were sent (data-out stall or short transfer, CSW residue), or a later
 * command of a multi-command write failed (`cause` says why). Blocks
 * `lba .. lba + blocksWritten - 1` reached the device; the rest did not or is
 * unknown, as Linux's sd driver counts good bytes as the transfer length minus
 * the residue (drivers/usb/storage/transport.c, scsi_set_resid).
 */
export class PartialWriteError extends UsbmsError {
  readonly lba: number;
  readonly blocks: number;
  readonly blocksWritten: number;
  constructor(message: string, fields: PartialWriteDetails, options: { cause?: unknown } = {}) {
    super(UsbmsErrorCode.PartialWrite, message, { ...options, details: { ...fields } });
    this.lba = fields.lba;
    this.blocks = fields.blocks;
    this.blocksWritten = fields.blocksWritten;
  }
}

/**
 * The device sent more data than the command asked for (babble) and then
 * reported GOOD. Linux fails such a command (transport.c: USB_STOR_XFER_LONG
 * gives fake sense ILLEGAL REQUEST / INVALID FIELD IN CDB), and so do the typed
 * commands here; `device.execute()` returns the result with `babble: true`.
 */
export class BabbleError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.Babble, message, options);
  }
}

/** Plain JSON form of a value in `details`: byte arrays and bigints tagged, everything else as is. */
function encodeValue(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    let hex = '';
    for (const byte of value) hex += byte.toString(16).padStart(2, '0');
    return { $bytes: hex };
  }
  if (typeof value === 'bigint') return { $bigint: value.toString() };
  if (Array.isArray(value)) return value.map(encodeValue);
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = encodeValue(v);
    return out;
  }
  return value;
}

const HEX_BYTES = /^(?:[0-9a-f]{2})*$/;

/** Inverse of `encodeValue`. Input crossed a process boundary: malformed tags stay plain objects. */
function decodeValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeValue);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  if (entries.length === 1) {
    const [key, v] = entries[0] as [string, unknown];
    if (key === '$bytes' && typeof v === 'string' && HEX_BYTES.test(v)) {
      return Uint8Array.from({ length: v.length / 2 }, (_, i) => Number.parseInt(v.slice(2 * i, 2 * i + 2), 16));
    }
    if (key === '$bigint' && typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  }
  const out: Record<string, unknown> = {};
  for (const [key, v] of entries) out[key] = decodeValue(v);
  return out;
}

/** The host's exchange left a replayed transcript (`ReplayTransport`); the message is a diff naming the command and byte offset. */
export class ReplayMismatchError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.ReplayMismatch, message, options);
  }
}

/** A remote-protocol frame broke the rules of docs/remote-protocol.md (bounds, version, state, limits). */
export class RemoteProtocolError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.RemoteProtocol, message, options);
  }
}

/**
 * The served device's last exclusive session ended without release (its holder
 * died or its lease expired mid-sequence): the device may be half-way through a
 * multi-command sequence (e.g. a firmware update). Commands are refused until a
 * client clears the mark (`RemoteDevice.clearInterruptedSession()`).
 */
export class InterruptedSessionError extends UsbmsError {
  constructor(message: string, options?: UsbmsErrorOptions) {
    super(UsbmsErrorCode.InterruptedSession, message, options);
  }
}

/** Converts any error into a plain object that survives JSON, structured clone, postMessage and IPC. */
export function serializeError(error: unknown): SerializedUsbmsError {
  if (error instanceof UsbmsError) {
    const out: SerializedUsbmsError = { name: error.name, code: error.code, message: error.message };
    if (error.details !== undefined) out.details = encodeValue(error.details) as Record<string, unknown>;
    if (error instanceof ParseError) out.what = error.what;
    if (error.cause !== undefined) {
      out.cause =
        error.cause instanceof UsbmsError
          ? serializeError(error.cause)
          : error.cause instanceof Error
            ? { name: error.cause.name, message: error.cause.message }
            : { name: 'Error', message: String(error.cause) };
    }
    return out;
  }
  if (error instanceof Error) return { name: error.name, code: UsbmsErrorCode.Transport, message: error.message };
  return { name: 'Error', code: UsbmsErrorCode.Transport, message: String(error) };
}

/** One constructor per code, building the exact class (the message is set afterwards, verbatim). */
const errorClasses: Record<UsbmsErrorCode, (data: SerializedUsbmsError, details: Record<string, unknown> | undefined) => UsbmsError> = {
  INVALID_ARGUMENT: (d) => new InvalidArgumentError(d.message),
  PARSE: (d) => new ParseError(d.what ?? 'device data', d.message),
  TIMEOUT: (d) => new TimeoutError(d.message),
  ABORTED: (d) => new AbortError(d.message),
  DISCONNECTED: (d) => new DisconnectedError(d.message),
  TRANSPORT: (d) => new TransportError(d.message),
  PHASE_ERROR: (d) => new PhaseError(d.message),
  INVALID_CSW: (d) => new InvalidCswError(d.message),
  DEVICE_FAILED: (d) => new DeviceFailedError(d.message),
  CLOSED: (d) => new ClosedError(d.message),
  CHECK_CONDITION: (d, details) => new ScsiCheckConditionError(d.message, senseOf(details)),
  READ_ONLY: (d) => new ReadOnlyError(d.message),
  WRITE_PROTECTED: (d) => new WriteProtectedError(d.message),
  ACCESS_DENIED: (d) => new AccessDeniedError(d.message),
  PROTECTED_CLASS: (d) => new ProtectedClassError(d.message),
  UNSUPPORTED: (d) => new UnsupportedError(d.message),
  NOT_FOUND: (d) => new NotFoundError(d.message),
  VERIFY_MISMATCH: (d) => new VerifyMismatchError(d.message),
  PROTOCOL_VIOLATION: (d) => new ProtocolViolationError(d.message),
  REPLAY_MISMATCH: (d) => new ReplayMismatchError(d.message),
  NVME_STATUS: (d) => new NvmeStatusError(d.message),
  PARTIAL_WRITE: (_d, details) =>
    new PartialWriteError(_d.message, {
      lba: Number(details?.lba ?? 0),
      blocks: Number(details?.blocks ?? 0),
      blocksWritten: Number(details?.blocksWritten ?? 0),
      ...(details?.residue === undefined ? {} : { residue: Number(details.residue) }),
    }),
  BABBLE: (d) => new BabbleError(d.message),
  REMOTE_PROTOCOL: (d) => new RemoteProtocolError(d.message),
  INTERRUPTED_SESSION: (d) => new InterruptedSessionError(d.message),
};

/** `details.sense` when it has the shape of decoded sense data (with its raw bytes), else undefined. */
function senseOf(details: Record<string, unknown> | undefined): SenseData | undefined {
  const sense = details?.sense;
  if (sense === null || typeof sense !== 'object') return undefined;
  const s = sense as Partial<SenseData>;
  return typeof s.senseKey === 'number' && typeof s.asc === 'number' && typeof s.ascq === 'number' && s.raw instanceof Uint8Array
    ? (sense as SenseData)
    : undefined;
}

/** Rebuilds the typed error from `serializeError` output (the other side of a process boundary). */
export function deserializeError(data: SerializedUsbmsError): UsbmsError {
  const details = data.details === undefined ? undefined : (decodeValue(data.details) as Record<string, unknown>);
  const build = Object.hasOwn(errorClasses, data.code) ? errorClasses[data.code] : errorClasses.TRANSPORT;
  const error = build(data, details);
  Object.defineProperty(error, 'message', { value: data.message, writable: true, configurable: true });
  Object.defineProperty(error, 'name', { value: data.name, writable: true, configurable: true });
  Object.defineProperty(error, 'details', { value: details, enumerable: true });
  if (data.cause !== undefined) {
    Object.defineProperty(error, 'cause', {
      value: 'code' in data.cause ? deserializeError(data.cause) : Object.assign(new Error(data.cause.message), { name: data.cause.name }),
      writable: true,
      configurable: true,
    });
  }
  return error;
}
