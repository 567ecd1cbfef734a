/**
 * What callers hand `MscDevice` and get back: the options of `open`, `close` and the typed
 * commands, the raw request and result of `execute`, with the defaults the device applies
 * (command timeout, transfer size by bus speed) and the checks `open` runs on its options
 * before anything is sent.
 */
import { InvalidArgumentError } from './errors.js';
import type { QuirkRule, Quirks } from './quirks.js';
import type { CommandOptions, DataDirection } from './scsi/command.js';
import type { SenseData } from './sense/types.js';
import { checkTimeout, MAX_TIMER_MS } from './timer.js';
import type { TraceListener } from './trace.js';
import type { TransportInfo } from './transport.js';

/**
 * Options of {@link MscDevice.open}. All are optional; the defaults suit
 * ordinary USB flash drives and card readers.
 */
export interface MscDeviceOptions {
  /** Refuse every write-class command before it is sent (SYNCHRONIZE CACHE stays allowed). */
  readOnly?: boolean;
  /** Quirk flags that override the built-in table. */
  quirks?: Partial<Quirks>;
  /** Extra quirk rules, applied after the built-in table (so they win); `quirks` wins over both. */
  quirkRules?: readonly QuirkRule[];
  /**
   * Subscribed before anything is sent, so the trace also shows what `open` does: which quirk rules
   * matched (`quirks` events), Get Max LUN and each INQUIRY. Same events as `device.onTrace`.
   */
  onTrace?: TraceListener;
  /** Treat a CSW residue larger than the request as not meaningful (reset recovery) instead of clamping it. */
  strictResidue?: boolean;
  /**
   * Submit the status read with the CBW for commands without a data-in stage,
   * where the transport allows (see `BotEngineOptions.earlyStatus`). Default true.
   */
  earlyStatus?: boolean;
  /**
   * Timeout of a command that names none, in ms; `Infinity` for none. Default
   * 20 000. Any positive value works (beyond 2^31-1 ms: chained timers; a
   * single transfer still ends after 2^31-1 ms, see `BotCommandRequest.timeoutMs`).
   */
  defaultTimeoutMs?: number;
  /** Largest data stage of one READ/WRITE command, in bytes. Default: quirk, else by bus speed. */
  maxTransferBytes?: number;
  /** Retries of a command after UNIT ATTENTION "power on, reset" (29/xx). Default 1. */
  unitAttentionRetries?: number;
  /** How long to keep retrying while a LUN reports NOT READY "becoming ready" (04/01). Default 30 000 ms. */
  becomingReadyTimeoutMs?: number;
  /** Poll interval while becoming ready. Default 500 ms. */
  becomingReadyPollMs?: number;
  /**
   * Read the Block Limits VPD page (0xB0) of each LUN at open, so READ/WRITE
   * never exceed its MAXIMUM TRANSFER LENGTH. Off by default: cheap USB devices
   * hang on VPD pages (Linux does not ask USB devices for them either).
   * `lu.blockLimits()` called later has the same effect for that LUN.
   */
  readBlockLimits?: boolean;
}

/** A raw command for {@link MscDevice.execute}. */
export interface ExecuteRequest extends CommandOptions {
  /** The CDB, 1-16 bytes (BOT 1.0 §5.1 bCBWCBLength). */
  cdb: Uint8Array;
  direction: DataDirection;
  /** Bytes to read, for direction 'in'. */
  length?: number;
  /** Bytes to write, for direction 'out'. */
  data?: Uint8Array;
  /** Logical unit, default 0. */
  lun?: number;
  /** Throw ScsiCheckConditionError instead of returning status 'check-condition'. */
  throwOnCheckCondition?: boolean;
  /** Name shown in traces. */
  name?: string;
  /**
   * Send SYNCHRONIZE CACHE to this LUN when the device is closed, as after a
   * known write-class opcode (WRITE, WRITE SAME, UNMAP, ... get it anyway).
   * For vendor data-out commands that write: a SYNCHRONIZE CACHE in the middle
   * of a vendor sequence can break it, so it is only sent when asked. Default false.
   */
  flush?: boolean;
}

/** What {@link MscDevice.execute} returns. */
export interface ExecuteResult {
  /** The SCSI status the CSW reported: passed = GOOD, failed = CHECK CONDITION. */
  status: 'good' | 'check-condition';
  /** SCSI status byte: 0x00 GOOD, 0x02 CHECK CONDITION (SAM-5 §5.3). */
  statusCode: number;
  /** Exactly the bytes received in the data-in stage (empty otherwise). */
  data: Uint8Array;
  /** dCSWDataResidue: bytes of the transfer length not processed. */
  residue: number;
  /** Decoded sense data, fetched by an automatic REQUEST SENSE after CHECK CONDITION. */
  sense?: SenseData;
  /**
   * True when the device sent more data than `length` in the data-in stage
   * (babble); `data` holds the first `length` bytes and should not be trusted.
   * Linux fails such a command (transport.c, USB_STOR_XFER_LONG); typed
   * commands here throw BabbleError, `execute()` reports it here.
   */
  babble?: boolean;
}

export interface RunOptions extends CommandOptions {
  lun?: number;
}

export interface BlockWriteOptions extends CommandOptions {
  /** Read the range back after writing and compare (VerifyMismatchError on a difference). */
  verify?: boolean;
}

export interface BlockReadOptions extends CommandOptions {
  /** Read into this buffer (exactly blocks * blockSize bytes) instead of a new one. */
  into?: Uint8Array;
}

/** Options of {@link MscDevice.close}. */
export interface CloseOptions {
  /** SYNCHRONIZE CACHE on every LUN written since the last flush. Default true. */
  flush?: boolean;
  /** Reject queued commands with ClosedError instead of letting them finish. Default false. */
  rejectPending?: boolean;
}

/** Timeout of a command when neither the caller, the command nor `defaultTimeoutMs` names one. */
export const DEFAULT_TIMEOUT_MS = 20_000;

/** Largest data stage of one READ/WRITE when neither the option nor a quirk sets it. */
export function defaultMaxTransferBytes(info: TransportInfo): number {
  // Linux usb-storage uses 120 KiB commands below SuperSpeed and 1 MiB at
  // SuperSpeed; those sizes are what cheap devices are known to accept.
  switch (info.speed) {
    case 'super':
    case 'super-plus':
      return 1 << 20;
    case 'low':
    case 'full':
      return 64 * 1024;
    default:
      return 120 * 1024;
  }
}

/** Checks the options of `open` that would otherwise fire at once or never, before anything is sent. */
export function checkOpenOptions(options: MscDeviceOptions): void {
  if (options.defaultTimeoutMs !== undefined) checkTimeout('defaultTimeoutMs', options.defaultTimeoutMs);
  const wait = options.becomingReadyTimeoutMs;
  if (wait !== undefined && (typeof wait !== 'number' || Number.isNaN(wait) || wait < 0)) {
    throw new InvalidArgumentError(`becomingReadyTimeoutMs must be 0 (no waiting) or more, got ${String(wait)}`);
  }
  const poll = options.becomingReadyPollMs;
  if (poll !== undefined && !(typeof poll === 'number' && poll > 0 && poll <= MAX_TIMER_MS)) {
    throw new InvalidArgumentError(`becomingReadyPollMs must be from 1 to ${MAX_TIMER_MS} ms, got ${String(poll)}`);
  }
}
