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

  /** Bulk OUT transfer of all of `data`. */
  bulkOut(data: Uint8Array, options: TransferOptions): Promise<BulkOutResult>;

  /**
   * Bulk IN transfer of up to `length` bytes. May return fewer (short packet).
   * When `options.into` is given and the platform can, the data is written
   * into it (its first `length` bytes) and `data` is a view of it.
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

export interface TransportInfo {
  /** wMaxPacketSize of the bulk-IN endpoint (64, 512 or 1024). */
  maxPacketSizeIn: number;
  maxPacketSizeOut: number;
  /** USB speed, when known. */
  speed?: UsbSpeed;
  vendorId?: number;
  productId?: number;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
  interfaceNumber?: number;
  /** bInterfaceSubClass (0x06 SCSI transparent, 0x02 MMC-5/ATAPI, 0x05 SFF-8070i, ...). */
  interfaceSubclass?: number;
  interfaceProtocol?: number;
  /** Largest single transfer the platform accepts, if limited (WebUSB: 32 MiB). */
  maxTransferSize?: number;
}

export type UsbSpeed = 'low' | 'full' | 'high' | 'super' | 'super-plus' | 'unknown';

export interface TransferOptions {
  /** Per-transfer timeout in milliseconds. */
  timeoutMs: number;
  /** Aborts the transfer; the promise rejects with AbortError once the transfer is no longer pending. */
  signal?: AbortSignal;
}

export interface BulkInOptions extends TransferOptions {
  into?: Uint8Array;
}

export interface BulkOutResult {
  status: 'ok' | 'stall';
  bytesWritten: number;
}

export interface BulkInResult {
  /** 'babble': the device sent more than requested (data holds what fit). */
  status: 'ok' | 'stall' | 'babble';
  data: Uint8Array;
}

export type ClassRequest =
  | { request: 'get-max-lun' }
  | { request: 'bulk-only-reset' };

export interface ControlResult {
  status: 'ok' | 'stall';
  /** Data returned by an IN request (Get Max LUN: 1 byte, possibly short). */
  data: Uint8Array;
}
