import type {
  BulkInOptions,
  BulkInResult,
  BulkOutResult,
  ClassRequest,
  ControlResult,
  MscTransport,
  TransferOptions,
  TransportInfo,
  UsbSpeed,
} from '@usbms/core';
import { AbortError, ClosedError, DisconnectedError, InvalidArgumentError, TimeoutError, TransportError, type UsbmsError, UsbmsErrorCode } from '@usbms/core';
import { BotRequest, bcdFromVersion, Listeners } from '@usbms/core/internal';
import type { BotInterface, BotInterfaceSelection } from './descriptors.js';
import { deviceLabel, findBotInterface } from './descriptors.js';
import type { WebUsbOperation } from './errors.js';
import { mapWebUsbError } from './errors.js';
import type {
  UsbConnectionEventLike,
  UsbControlTransferParametersLike,
  UsbDeviceLike,
  UsbInTransferResultLike,
  UsbLike,
  UsbOutTransferResultLike,
} from './webusb-types.js';

/** Chromium rejects a single transfer over 32 MiB (usb_device.cc, kUsbTransferLengthLimit). */
export const WEBUSB_MAX_TRANSFER = 32 * 1024 * 1024;

/** Options of `WebUsbTransport.open`. */
export interface WebUsbTransportOptions extends BotInterfaceSelection {
  /** The `USB` object the device came from, for `disconnect` events. Default: `navigator.usb` when present. */
  usb?: UsbLike;
  /** Largest single WebUSB transfer; longer ones are split. Default 32 MiB (Chromium's limit). */
  maxTransferSize?: number;
  /**
   * After an aborted or timed-out transfer, how long to wait for the cancelled
   * platform transfer to settle after `reset()` (and again after close/reopen)
   * before declaring the transport unusable. Default 5000 ms.
   */
  cancelGraceMs?: number;
}

type Interrupt = { kind: 'timeout' } | { kind: 'abort' };
type Outcome<T> = { kind: 'done'; value: T } | { kind: 'error'; error: unknown } | Interrupt;

function defaultUsb(): UsbLike | undefined {
  const nav = (globalThis as { navigator?: { usb?: UsbLike } }).navigator;
  return nav?.usb;
}

function guessSpeed(device: UsbDeviceLike, packetSize: number): UsbSpeed {
  // Bulk wMaxPacketSize is fixed per speed (USB 2.0 §5.8.3, USB 3.2 §8.6): 64 full, 512 high, 1024 super.
  if (packetSize >= 1024) return device.usbVersionMajor >= 3 ? 'super' : 'unknown';
  if (packetSize === 512) return 'high';
  if (packetSize <= 64) return 'full';
  return 'unknown';
}

/** WebUSB refuses views of a SharedArrayBuffer; copy only in that (rare) case. */
function unshared(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  if (bytes.buffer instanceof ArrayBuffer) return bytes as Uint8Array<ArrayBuffer>;
  return bytes.slice();
}

function delay(ms: number): { promise: Promise<void>; cancel: () => void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Resolves true when `p` settles within `ms`, false otherwise. Never rejects. */
async function settlesWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  const d = delay(ms);
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      d.promise.then(() => false),
    ]);
  } finally {
    d.cancel();
  }
}

/**
 * `MscTransport` over a WebUSB `USBDevice` (browsers, Electron renderers,
 * node-usb's `WebUSB`, or the fake in `@usbms/web/fake`).
 *
 * WebUSB has no per-transfer timeout and no cancellation. To honour the core's
 * contract ("a settled promise means the transfer is no longer pending"), a
 * timed-out or aborted transfer is cancelled with `USBDevice.reset()`, which
 * aborts every pending transfer (WebUSB §6.3.x reset()); where the platform
 * refuses a reset (Chrome on Windows/WinUSB) the device is closed, which also
 * aborts them, and reopened and re-claimed. Only then does the call reject with
 * TimeoutError/AbortError, so the device and the command queue are in a known
 * state. If even that fails, the transport refuses further use with a
 * TransportError telling the user to reconnect.
 *
 * @example
 * const transport = await WebUsbTransport.open(usbDevice, { usb: navigator.usb });
 * const device = await MscDevice.open(transport);
 */
export class WebUsbTransport implements MscTransport {
  readonly info: TransportInfo;
  /**
   * WebUSB runs transfers on different endpoints independently, so the core
   * may keep the status read pending during the CBW and data-out (BotEngine
   * `earlyStatus`). A timeout or abort of either cancels both (device reset).
   */
  readonly concurrentPipes = true;
  readonly device: UsbDeviceLike;
  readonly botInterface: BotInterface;
  readonly #usb: UsbLike | undefined;
  readonly #maxTransfer: number;
  readonly #graceMs: number;
  readonly #listeners = new Listeners();
  readonly #pending = new Set<Promise<unknown>>();
  #disconnected = false;
  #closed = false;
  #failed: UsbmsError | undefined;
  #recovering: Promise<void> | undefined;
  #onUsbDisconnect: ((event: UsbConnectionEventLike) => void) | undefined;

  private constructor(device: UsbDeviceLike, bot: BotInterface, options: WebUsbTransportOptions) {
    this.device = device;
    this.botInterface = bot;
    this.#usb = options.usb ?? defaultUsb();
    this.#maxTransfer = options.maxTransferSize ?? WEBUSB_MAX_TRANSFER;
    this.#graceMs = options.cancelGraceMs ?? 5000;
    if (!(this.#maxTransfer > 0) || this.#maxTransfer % bot.bulkIn.packetSize !== 0) {
      throw new InvalidArgumentError(`maxTransferSize must be a positive multiple of the bulk packet size (${bot.bulkIn.packetSize})`);
    }
    const info: TransportInfo = {
      maxPacketSizeIn: bot.bulkIn.packetSize,
      maxPacketSizeOut: bot.bulkOut.packetSize,
      speed: guessSpeed(device, bot.bulkIn.packetSize),
      vendorId: device.vendorId,
      productId: device.productId,
      bcdDevice: bcdFromVersion(device.deviceVersionMajor, device.deviceVersionMinor, device.deviceVersionSubminor),
      interfaceNumber: bot.interfaceNumber,
      interfaceSubclass: bot.interfaceSubclass,
      interfaceProtocol: bot.interfaceProtocol,
      maxTransferSize: this.#maxTransfer,
      endpointIn: 0x80 | bot.bulkIn.endpointNumber,
      endpointOut: bot.bulkOut.endpointNumber,
    };
    if (device.serialNumber) info.serialNumber = device.serialNumber;
    if (device.manufacturerName) info.manufacturer = device.manufacturerName;
    if (device.productName) info.product = device.productName;
    this.info = info;
  }

  /**
   * Opens the device, selects a configuration only if none is active, claims
   * the Bulk-Only interface and selects its alternate setting.
   * Throws ProtectedClassError when the browser refuses class 0x08.
   */
  static async open(device: UsbDeviceLike, options: WebUsbTransportOptions = {}): Promise<WebUsbTransport> {
    const bot = findBotInterface(device, options);
    const transport = new WebUsbTransport(device, bot, options);
    try {
      await transport.#setup(false);
    } catch (error) {
      await transport.#closeDevice();
      throw error;
    }
    transport.#watchDisconnect();
    return transport;
  }

  /** open → selectConfiguration (only if none) → claimInterface → selectAlternateInterface (only if needed). */
  async #setup(afterReset: boolean): Promise<void> {
    const d = this.device;
    const bot = this.botInterface;
    await this.#platform('open', async () => {
      if (!d.opened) await d.open();
    });
    await this.#platform('select-configuration', async () => {
      // Selecting a configuration when one is active would reset other interfaces (USB 2.0 §9.4.7).
      if (d.configuration === null) await d.selectConfiguration(bot.configurationValue);
    });
    const iface = () => d.configuration?.interfaces.find((i) => i.interfaceNumber === bot.interfaceNumber);
    await this.#platform('claim-interface', async () => {
      if (!iface()?.claimed) await d.claimInterface(bot.interfaceNumber);
    });
    await this.#platform('select-alternate', async () => {
      // A port reset returns every interface to alternate setting 0 (USB 2.0 §9.1.1.5), whatever the
      // browser's bookkeeping says, so after one a non-zero setting is selected again.
      const current = iface()?.alternate.alternateSetting;
      if (current !== bot.alternateSetting || (afterReset && bot.alternateSetting !== 0)) {
        await d.selectAlternateInterface(bot.interfaceNumber, bot.alternateSetting);
      }
    });
  }

  /** Runs one platform call, mapping its error. */
  async #platform<T>(operation: WebUsbOperation, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.#map(error, operation);
    }
  }

  /** mapWebUsbError with what this transport knows; a disconnect seen in a transfer also counts as the event. */
  #map(error: unknown, operation: WebUsbOperation): UsbmsError {
    const mapped = mapWebUsbError(error, operation, { disconnected: this.#disconnected, closed: this.#closed });
    // Chromium rejects transfers with NotFoundError only when the device is gone; where no
    // `USB` object delivers the event (e.g. node-usb's WebUSB), this is how we learn it.
    if (mapped.code === UsbmsErrorCode.Disconnected) this.#markDisconnected();
    return mapped;
  }

  #watchDisconnect(): void {
    const usb = this.#usb;
    if (!usb) return;
    this.#onUsbDisconnect = (event) => {
      if (event.device !== this.device) return;
      this.#markDisconnected();
    };
    usb.addEventListener('disconnect', this.#onUsbDisconnect);
  }

  #markDisconnected(): void {
    if (this.#disconnected) return;
    this.#disconnected = true;
    this.#unwatch();
    this.#listeners.emit();
  }

  #unwatch(): void {
    if (this.#usb && this.#onUsbDisconnect) this.#usb.removeEventListener('disconnect', this.#onUsbDisconnect);
    this.#onUsbDisconnect = undefined;
  }

  #checkUsable(operation: WebUsbOperation): void {
    if (this.#disconnected) throw new DisconnectedError(`The USB device was disconnected (${operation} refused)`);
    if (this.#closed) throw new ClosedError(`The WebUSB transport is closed (${operation} refused)`);
    if (this.#failed) throw this.#failed;
  }

  /**
   * Runs one platform transfer under the caller's timeout and signal. On
   * timeout/abort it makes the transfer no longer pending (see the class
   * comment) before rejecting.
   */
  async #transfer<T>(operation: WebUsbOperation, options: TransferOptions, start: () => Promise<T>): Promise<T> {
    this.#checkUsable(operation);
    const { signal, timeoutMs } = options;
    if (signal?.aborted) throw new AbortError(`WebUSB ${operation} aborted before it started`, { cause: signal.reason });
    // A recovery started by another transfer is cancelling everything: start after it.
    if (this.#recovering) await this.#recovering;
    this.#checkUsable(operation);

    const platform = (async () => start())();
    const tracked = platform.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.add(tracked);
    void tracked.then(() => this.#pending.delete(tracked));

    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const interrupt = new Promise<Interrupt>((resolve) => {
      if (Number.isFinite(timeoutMs) && timeoutMs > 0) timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
      if (signal) {
        onAbort = () => resolve({ kind: 'abort' });
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    let outcome: Outcome<T>;
    try {
      outcome = await Promise.race<Outcome<T>>([
        platform.then(
          (value): Outcome<T> => ({ kind: 'done', value }),
          (error: unknown): Outcome<T> => ({ kind: 'error', error }),
        ),
        interrupt,
      ]);
    } finally {
      clearTimeout(timer);
      if (signal && onAbort) signal.removeEventListener('abort', onAbort);
    }
    if (outcome.kind === 'done') return outcome.value;
    if (outcome.kind === 'error') throw this.#map(outcome.error, operation);

    await this.#cancelPendingTransfers(operation);
    if (this.#disconnected) throw new DisconnectedError(`The USB device was disconnected (during ${operation})`);
    if (outcome.kind === 'timeout') {
      throw new TimeoutError(`WebUSB ${operation} did not complete within ${timeoutMs} ms; the transfer was cancelled with a device reset`);
    }
    throw new AbortError(`WebUSB ${operation} was aborted; the transfer was cancelled with a device reset`, { cause: signal?.reason });
  }

  /** Makes every pending transfer settle; shared by concurrent callers. */
  async #cancelPendingTransfers(operation: WebUsbOperation): Promise<void> {
    this.#recovering ??= this.#doCancel(operation).finally(() => {
      this.#recovering = undefined;
    });
    await this.#recovering;
  }

  async #doCancel(operation: WebUsbOperation): Promise<void> {
    const allSettled = (): Promise<unknown> => Promise.all([...this.#pending]);
    if (this.#disconnected) {
      // A disconnect rejects every pending transfer with NotFoundError by itself.
      await settlesWithin(allSettled(), this.#graceMs);
      return;
    }
    let resetOk = false;
    try {
      await this.device.reset();
      resetOk = true;
    } catch {
      // WinUSB (Chrome on Windows) refuses reset(); fall through to close + reopen.
    }
    if (resetOk && (await settlesWithin(allSettled(), this.#graceMs))) {
      try {
        await this.#setup(true);
        return;
      } catch (error) {
        if (this.#disconnected) return;
        // The claim did not survive the reset: close and reopen below.
        void error;
      }
    }
    if (this.#disconnected) return;
    try {
      await this.device.close();
    } catch {
      // Closing may fail if the device is mid-reset; the reopen below tells.
    }
    if (!(await settlesWithin(allSettled(), this.#graceMs))) {
      this.#failed = new TransportError(
        `${deviceLabel(this.device)}: a cancelled ${operation} transfer never completed, even after reset and close. ` +
          'Unplug and reconnect the device, then open it again.',
      );
      return;
    }
    try {
      await this.#setup(false);
    } catch (error) {
      if (this.#disconnected) return;
      this.#failed = new TransportError(
        `${deviceLabel(this.device)} could not be reopened after cancelling a ${operation} transfer. Unplug and reconnect it.`,
        { cause: error },
      );
    }
  }

  async bulkOut(data: Uint8Array, options: TransferOptions): Promise<BulkOutResult> {
    const ep = this.botInterface.bulkOut.endpointNumber;
    const deadline = Date.now() + options.timeoutMs;
    let written = 0;
    // One zero-length transfer if data is empty; otherwise chunks of at most maxTransfer bytes.
    do {
      const chunk = data.subarray(written, Math.min(data.length, written + this.#maxTransfer));
      const result: UsbOutTransferResultLike = await this.#transfer('bulk-out', this.#remaining(options, deadline), () =>
        this.device.transferOut(ep, unshared(chunk)),
      );
      written += Math.min(result.bytesWritten, chunk.length);
      if (result.status === 'stall') return { status: 'stall', bytesWritten: written };
      if (result.status === 'babble') throw new TransportError('WebUSB bulk-out reported babble, which is impossible on an OUT pipe');
      if (result.bytesWritten < chunk.length) break;
    } while (written < data.length);
    return { status: 'ok', bytesWritten: written };
  }

  async bulkIn(length: number, options: BulkInOptions): Promise<BulkInResult> {
    if (!Number.isSafeInteger(length) || length < 0) throw new InvalidArgumentError(`bulkIn length must be a non-negative integer, got ${length}`);
    const into = options.into;
    if (into && into.length < length) throw new InvalidArgumentError(`bulkIn: 'into' holds ${into.length} bytes, ${length} requested`);
    const ep = this.botInterface.bulkIn.endpointNumber;
    const deadline = Date.now() + options.timeoutMs;
    const chunks: Uint8Array[] = [];
    let received = 0;
    let status: BulkInResult['status'] = 'ok';
    do {
      const want = Math.min(length - received, this.#maxTransfer);
      const result: UsbInTransferResultLike = await this.#transfer('bulk-in', this.#remaining(options, deadline), () => this.device.transferIn(ep, want));
      const view = result.data;
      let bytes = view ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength) : new Uint8Array(0);
      if (bytes.length > want) {
        // Never hand back more than asked: a device sending more is babble (USB 2.0 §8.5.1.1).
        bytes = bytes.subarray(0, want);
        status = 'babble';
      }
      if (result.status === 'stall' || result.status === 'babble') status = result.status;
      if (into) into.set(bytes, received);
      else chunks.push(bytes);
      received += bytes.length;
      if (status !== 'ok' || bytes.length < want) break;
    } while (received < length);
    let data: Uint8Array;
    if (into) data = into.subarray(0, received);
    else if (chunks.length === 1 && chunks[0]) data = chunks[0];
    else {
      data = new Uint8Array(received);
      let at = 0;
      for (const c of chunks) {
        data.set(c, at);
        at += c.length;
      }
    }
    return { status, data };
  }

  #remaining(options: TransferOptions, deadline: number): TransferOptions {
    const left = Number.isFinite(options.timeoutMs) ? Math.max(1, deadline - Date.now()) : options.timeoutMs;
    return options.signal ? { timeoutMs: left, signal: options.signal } : { timeoutMs: left };
  }

  async clearHalt(pipe: 'in' | 'out', options: TransferOptions): Promise<void> {
    const ep = pipe === 'in' ? this.botInterface.bulkIn : this.botInterface.bulkOut;
    await this.#transfer('clear-halt', options, () => this.device.clearHalt(pipe, ep.endpointNumber));
  }

  async classRequest(request: ClassRequest, options: TransferOptions): Promise<ControlResult> {
    // BOT 1.0 §3.1/§3.2: class request, recipient interface, wValue 0, wIndex = interface number.
    const setup = (code: number): UsbControlTransferParametersLike => ({
      requestType: 'class',
      recipient: 'interface',
      request: code,
      value: 0,
      index: this.botInterface.interfaceNumber,
    });
    if (request.request === 'get-max-lun') {
      const r = await this.#transfer('class-request', options, () => this.device.controlTransferIn(setup(BotRequest.GetMaxLun), 1));
      if (r.status === 'stall') return { status: 'stall', data: new Uint8Array(0) };
      const view = r.data;
      const data = view ? new Uint8Array(view.buffer, view.byteOffset, Math.min(view.byteLength, 1)) : new Uint8Array(0);
      return { status: 'ok', data };
    }
    const r = await this.#transfer('class-request', options, () => this.device.controlTransferOut(setup(BotRequest.Reset)));
    return { status: r.status === 'stall' ? 'stall' : 'ok', data: new Uint8Array(0) };
  }

  /**
   * USB port reset via `USBDevice.reset()`, then the interface is claimed and
   * its alternate setting selected again. Where the platform refuses a reset
   * (WinUSB), the device is closed and reopened so it stays usable, and the
   * refusal is reported.
   */
  async portReset(options: TransferOptions): Promise<void> {
    this.#checkUsable('reset');
    if (options.signal?.aborted) throw new AbortError('Port reset aborted before it started', { cause: options.signal.reason });
    if (this.#recovering) await this.#recovering;
    try {
      await this.device.reset();
    } catch (error) {
      const mapped = this.#map(error, 'reset');
      if (this.#disconnected) throw mapped;
      try {
        await this.device.close();
      } catch {
        // Reopen below reports the real problem.
      }
      await this.#setup(false);
      throw mapped;
    }
    await this.#setup(true);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unwatch();
    if (this.#disconnected) return;
    await this.#closeDevice();
  }

  async #closeDevice(): Promise<void> {
    try {
      if (this.device.configuration?.interfaces.find((i) => i.interfaceNumber === this.botInterface.interfaceNumber)?.claimed) {
        await this.device.releaseInterface(this.botInterface.interfaceNumber);
      }
    } catch {
      // Release fails if the device vanished; close below still frees it.
    }
    try {
      if (this.device.opened) await this.device.close();
    } catch {
      // Idempotent by contract: nothing more to do.
    }
  }

  onDisconnect(listener: () => void): () => void {
    return this.#listeners.add(listener);
  }

  /** True once the `disconnect` event named this device. */
  get disconnected(): boolean {
    return this.#disconnected;
  }
}
