/**
 * The one interface the core needs from a platform: "a claimed USB interface"
 * with a bulk-IN pipe, a bulk-OUT pipe and class control requests.
 * Adapters (`@usbms/node`, `@usbms/web`, the simulator) implement it.
 * Nothing here refers to WebUSB or node-usb.
 *
 * Error contract for every method:
 * - a stall or babble is a *result* (`status`), never an exception;
 * - a timeout rejects with `TimeoutError`, a fired `signal` with `AbortError`,
 *   a vanished device with `DisconnectedError`, anything else with
 *   `TransportError` (all from `errors.ts`);
 * - when the returned promise settles, the transfer is no longer pending on
 *   the endpoint (adapters must wait for, or cancel, the platform transfer
 *   before settling), so the next transfer on that pipe may be submitted.
 */
export interface MscTransport {
  readonly info: TransportInfo;

  /**
   * True when a bulk-IN transfer may be pending while bulk-OUT transfers run
   * (the two pipes are independent endpoints, as on every USB host stack).
   * The engine then submits the status read right after the CBW for commands
   * without a data-in stage, so the CSW arrives without a host round trip
   * after the CBW or the data-out (the device NAKs the IN until its CSW is
   * ready, USB 2.0 §8.5.1). Default false: one transfer at a time.
   */
  readonly concurrentPipes?: boolean;

  /**
   * True when several transfers may be pending on one pipe and the platform
   * runs them in submission order (Linux usbfs URBs). The engine then submits
   * a command's data-out right behind its CBW (and, with `concurrentPipes`,
   * its status read with them) instead of waiting a round trip for the CBW
   * (BOT 1.0 §5: the data follows the CBW on the same pipe). Results are still
   * checked stage by stage, and a failed CBW has the transfers queued behind
   * it cancelled before reset recovery. No IN read goes ahead of the CBW or
   * behind a data-in stage, as in Linux's usb-storage (QEMU's emulated device
   * stalls the first and its xHCI never runs the second): the next stage is
   * submitted the moment the one before it ended in full (`TransferOptions.chained`),
   * by the transport, without a round trip through the engine. Default false.
   */
  readonly queuesTransfers?: boolean;

  /**
   * True when a bulk-IN transfer's data goes straight into `options.into` as
   * the transfer ends, with no copy the transport could skip (Linux usbfs: the
   * kernel copies at reap time, even for a transfer cancelled too late to stop
   * it). Until the promise settles, `into` may still be written, after an
   * abort too. The device then tells a caller who gave up on a command reading
   * into its own buffer once the command's transfers have ended, not before
   * (`QueueRunOptions.holdUntilReleased`). Default false: an aborted transfer's
   * data is never copied into `into`.
   */
  readonly writesIntoDirectly?: boolean;

  /** Bulk OUT transfer of all of `data`. */
  bulkOut(data: Uint8Array, options: TransferOptions): Promise<BulkOutResult>;

  /**
   * Bulk IN transfer of up to `length` bytes. May return fewer (short packet).
   * When `options.into` is given and the platform can, the data is written
   * into it (its first `length` bytes) and `data` is a view of it. Otherwise
   * `data` belongs to the caller: the transport never reuses or changes it.
   */
  bulkIn(length: number, options: BulkInOptions): Promise<BulkInResult>;

  /** CLEAR_FEATURE(ENDPOINT_HALT) on the bulk-IN or bulk-OUT endpoint. */
  clearHalt(pipe: 'in' | 'out', options: TransferOptions): Promise<void>;

  /**
   * Class-specific control request to the interface (BOT 1.0 §3):
   * Get Max LUN (0xFE, IN, 1 byte) or Bulk-Only Mass Storage Reset (0xFF, OUT, no data).
   * A stall is reported as `status: 'stall'`.
   */
  classRequest(request: ClassRequest, options: TransferOptions): Promise<ControlResult>;

  /**
   * Optional USB port reset. After it, the adapter re-claims the interface
   * (and on Linux detaches the kernel driver again, since a reset drops the claim).
   */
  portReset?(options: TransferOptions): Promise<void>;

  /** Releases the interface. Idempotent. */
  close(): Promise<void>;

  /** Subscribes to disconnect of the device. Returns an unsubscribe function. */
  onDisconnect(listener: () => void): () => void;
}

/** What a transport knows about its device and interface: packet sizes, speed, USB identity, limits. */
export interface TransportInfo {
  /** wMaxPacketSize of the bulk-IN endpoint (64, 512 or 1024). */
  maxPacketSizeIn: number;
  maxPacketSizeOut: number;
  /** USB speed, when known. */
  speed?: UsbSpeed;
  vendorId?: number;
  productId?: number;
  /** bcdDevice, the device release number (USB 2.0 §9.6.1), e.g. 0x0100; quirk rules match ranges of it. */
  bcdDevice?: number;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
  interfaceNumber?: number;
  /** bInterfaceSubClass (0x06 SCSI transparent, 0x02 MMC-5/ATAPI, 0x05 SFF-8070i, ...). */
  interfaceSubclass?: number;
  interfaceProtocol?: number;
  /** Largest single transfer the platform accepts, if limited (WebUSB: 32 MiB). */
  maxTransferSize?: number;
  /** bEndpointAddress of the bulk-IN endpoint (e.g. 0x81), when known; captures name it. */
  endpointIn?: number;
  /** bEndpointAddress of the bulk-OUT endpoint (e.g. 0x02), when known. */
  endpointOut?: number;
  /** USB bus number and device address, when the platform exposes them (not WebUSB); captures name them. */
  busNumber?: number;
  deviceAddress?: number;
}

/** USB bus speed of the device. */
export type UsbSpeed = 'low' | 'full' | 'high' | 'super' | 'super-plus' | 'unknown';

/** Time limit and cancellation of one transfer or control request. */
export interface TransferOptions {
  /** Per-transfer timeout in milliseconds: the engine always passes a finite value from 1 to 2^31-1 (`MAX_TIMER_MS`). */
  timeoutMs: number;
  /** Aborts the transfer; the promise rejects with AbortError once the transfer is no longer pending. */
  signal?: AbortSignal;
  /**
   * Only where `MscTransport.queuesTransfers`: submit this transfer the moment the transfer requested
   * just before it has ended in full (`endedInFull` in `@usbms/core/internal`), without a round trip through the caller;
   * if that one ends otherwise, this one is never submitted and rejects with AbortError
   * (`details.notSubmitted`). The engine uses it for the next stage of a command (BOT 1.0 §5).
   */
  chained?: boolean;
  /**
   * Only with `chained`: a further condition on the transfer just before, checked in the same
   * reaping turn with the bytes it received. The engine chains the next command's CBW behind a
   * status read this way, only when that CSW says the command passed in full (BOT 1.0 §5.3,
   * §6.3). False (or a throw) counts as not ended in full: this transfer, and whatever is chained
   * to it, is never submitted.
   */
  chainedIf?: (previous: Uint8Array) => boolean;
  /**
   * Only where `MscTransport.queuesTransfers`: submit this transfer together with the transfer
   * requested just before it (when that one is chained, the moment it is submitted; if it is never
   * submitted, neither is this one, which rejects with AbortError, `details.notSubmitted`).
   */
  together?: boolean;
}

/**
 * Whether a bulk transfer ended so that the next stage of its command may follow at once: an OUT
 * transfer sent every byte; an IN transfer ended without stall, babble or error, and not with
 * exactly a CSW's 13 bytes where more were asked for (a device that skipped the data stage sends
 * its CSW there, BOT 1.0 §6.7.2; the engine decides what that was). Shared by the engine and the
 * transports that chain, so both apply one rule.
 */
export function endedInFull(pipe: 'in' | 'out', requested: number, ok: boolean, actual: number): boolean {
  if (!ok) return false;
  return pipe === 'out' ? actual === requested : !(actual === 13 && requested > 13);
}

/** Options of `MscTransport.bulkIn`: `into` is a buffer the data may be read into directly, avoiding a copy. */
export interface BulkInOptions extends TransferOptions {
  into?: Uint8Array;
}

/** Result of a bulk-OUT transfer: a STALL is a result, not an error (USB MSC BOT 1.0 §6.7). */
export interface BulkOutResult {
  status: 'ok' | 'stall';
  bytesWritten: number;
}

/** Result of a bulk-IN transfer: STALL and babble are results, not errors (USB MSC BOT 1.0 §6.7). */
export interface BulkInResult {
  /** 'babble': the device sent more than requested (data holds what fit). */
  status: 'ok' | 'stall' | 'babble';
  data: Uint8Array;
}

/** A Bulk-Only class request (USB MSC BOT 1.0 §3.1 Bulk-Only Mass Storage Reset, §3.2 Get Max LUN). */
export type ClassRequest = { request: 'get-max-lun' } | { request: 'bulk-only-reset' };

/** Result of a class request: a STALL is a result (Get Max LUN may be stalled by single-LUN devices, BOT 1.0 §3.2). */
export interface ControlResult {
  status: 'ok' | 'stall';
  /** Data returned by an IN request (Get Max LUN: 1 byte, possibly short). */
  data: Uint8Array;
}
