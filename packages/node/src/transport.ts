import {
  AbortError,
  type BulkInOptions,
  type BulkInResult,
  type BulkOutResult,
  type ClassRequest,
  ClosedError,
  type ControlResult,
  DisconnectedError,
  InvalidArgumentError,
  type MscTransport,
  type TransferOptions,
  TransportError,
  type TransportInfo,
  UnsupportedError,
  type UsbmsError,
} from '@usbms/core';
import { BotRequest, CSW_LENGTH, CswOffset, hex4, Listeners } from '@usbms/core/internal';
import { claimWithNodeUsb, type InterfaceClaimOptions, isNoDriverError, reattachKernelDriver } from './claim.js';
import { type BotAlternate, type MscInterfaceInfo, sameDevice, transportInfoOf } from './discovery.js';
import { classifyUsbError, reasonOf, type UsbErrorClass, type UsbOperation } from './map-error.js';
import { platformOf } from './platform.js';
import { usbfsTransferLimit } from './sysfs.js';
import type { UsbConnectionListener, UsbDeviceLike, UsbLike } from './usb-types.js';

// Claiming (interface choice, kernel-driver handoff, mount check) lives in claim.ts; re-exported for existing callers.
export { checkLinuxHandoff, type InterfaceClaimOptions, type LinuxHandoff, pickInterface, withAccessHint } from './claim.js';

/** Options of {@link NodeUsbTransport} (and of `openDevice`): which interface to claim, how to hand it over from the kernel driver, timeouts. */
export interface NodeUsbTransportOptions extends InterfaceClaimOptions {
  /**
   * How long an ambiguous platform error ("endpoint not found", "invalid
   * state") waits for the disconnect event before it is reported as a
   * TransportError rather than a DisconnectedError. Default 250 ms.
   */
  disconnectGraceMs?: number;
  /**
   * Subscribe to node-usb's hotplug 'disconnect' event for this device
   * (default true). With false, a disconnect is still detected from nusb's
   * `Disconnected` transfer status, but only when a transfer runs. node-usb
   * starts a udev netlink watcher for the event; turn it off where that is
   * unavailable.
   */
  watchDisconnect?: boolean;
  /**
   * Read the status stage together with the data stage of a data-in command
   * (default false). A data-in transfer whose length is a whole number of
   * packets is submitted with room for one more packet: the device sends its
   * full-packet data, then its CSW as the following short packet (BOT 1.0
   * §5.2, §6.7.2), and both arrive in one USB transfer. The CSW bytes are kept
   * and returned by the next `bulkIn`, so the core sees exactly the stages it
   * asked for, one transfer's latency sooner (measured in the QEMU guest,
   * bench/devices: 3 -> 2 node-usb transfers per READ on EHCI and the Linux
   * gadget; QEMU's xHCI devices end the transfer after the data, no loss).
   * Off by default because the host then asks for more than
   * dCBWDataTransferLength, which no OS driver does, so device firmware is
   * not tested against it: QEMU's usb-storage on EHCI, asked so for a READ it
   * fails, pads the transfer past the data length with zeros and later aborts
   * (dev-storage.c assertion; found by the HIL suite). Turn it on for a
   * device you have verified. Also: a device that sends all the data and then
   * STALLs instead of sending its CSW makes node-usb fail the whole transfer
   * (no data with a stall); that read then fails with a short-read error, and
   * the transport stops reading ahead for this device.
   */
  readStatusWithData?: boolean;
}

interface PendingTransfer {
  reject: (error: unknown) => void;
}

/**
 * `MscTransport` over a node-usb 3.1 device.
 *
 * Transfers use node-usb's native per-transfer timeouts: on timeout nusb
 * cancels the transfer and waits for the cancellation, so the rejected promise
 * means the endpoint is free again and the core can run reset recovery
 * without the device being torn down.
 *
 * AbortSignal: node-usb 3.1 cannot cancel a pending transfer. Submitting is
 * refused when the signal has already fired; a signal that fires while a
 * transfer is pending is honoured when the transfer ends (done, or its native
 * timeout expires), and only then does the promise reject with AbortError.
 * That keeps the contract "settled means no longer pending" (a second transfer
 * on the same endpoint would fail with "endpoint not found") and bounds the
 * wait by the transfer's own timeout. The core's queue already rejects the
 * caller's promise promptly; only the next queued command waits. We chose this
 * over resetting the device on abort, which would drop the claim, may make
 * the device re-enumerate, and destroys state other LUNs depend on.
 *
 * Disconnect: the platform's disconnect event (or nusb's explicit
 * `Disconnected` transfer status) marks the transport disconnected, fires
 * `onDisconnect` listeners, and rejects every pending transfer at once with
 * DisconnectedError (nothing can be pending on a device that is gone), so the
 * core fails in-flight and queued commands within a bounded time.
 */
export class NodeUsbTransport implements MscTransport {
  readonly info: TransportInfo;
  /** node-usb keeps one transfer per endpoint; bulk IN and OUT are separate endpoints. */
  readonly concurrentPipes = true;
  readonly device: UsbDeviceLike;
  readonly interfaceNumber: number;
  readonly alternateSetting: number;
  /** Linux: the kernel driver detached at open (re-attached on close), if any. */
  readonly detachedDriver: string | undefined;

  readonly #options: NodeUsbTransportOptions;
  readonly #endpointIn: number;
  readonly #endpointOut: number;
  readonly #packetSizeIn: number;
  /** Cleared for good when a read-ahead transfer is found to have cost data (see readStatusWithData). */
  #readStatusWithData: boolean;
  /** A read-ahead transfer of this command stalled: check what the CSW says the device sent. */
  #aheadStalled = false;
  /** Bytes that arrived after a data-in stage in the same transfer: what the next bulkIn returns (the CSW). */
  #statusAhead: Uint8Array | undefined;
  readonly #subject: string;
  #usb: UsbLike | undefined;
  #disconnected = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #detached: boolean;
  #reattachError: unknown;
  readonly #listeners = new Listeners();
  readonly #pending = new Set<PendingTransfer>();
  /** Native calls not yet returned (they never reject: see #transfer). */
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #disconnectWaiters = new Set<() => void>();
  readonly #onPlatformDisconnect: UsbConnectionListener;

  private constructor(init: {
    device: UsbDeviceLike;
    usb: UsbLike | undefined;
    options: NodeUsbTransportOptions;
    iface: MscInterfaceInfo;
    alt: BotAlternate;
    detachedDriver: string | undefined;
    maxTransferSize: number | undefined;
  }) {
    const { device, iface, alt } = init;
    this.device = device;
    this.#usb = init.usb;
    this.#options = init.options;
    this.interfaceNumber = iface.interfaceNumber;
    this.alternateSetting = alt.alternateSetting;
    this.detachedDriver = init.detachedDriver;
    this.#detached = init.detachedDriver !== undefined;
    this.#endpointIn = alt.bulkIn.endpointNumber;
    this.#endpointOut = alt.bulkOut.endpointNumber;
    this.#packetSizeIn = Math.max(1, alt.bulkIn.packetSize);
    this.#readStatusWithData = init.options.readStatusWithData === true;
    this.#subject = `interface ${iface.interfaceNumber} of ${hex4(device.vendorId)}:${hex4(device.productId)}`;
    this.info = transportInfoOf(device, iface, alt, init.maxTransferSize);
    this.#onPlatformDisconnect = (event) => {
      if (sameDevice(event.device, this.device)) this.#markDisconnected();
    };
    this.#usb?.addEventListener('disconnect', this.#onPlatformDisconnect);
  }

  /**
   * Opens `device` and claims its Bulk-Only interface: selects a configuration
   * only if none is active, on Linux checks that no partition of the disk is
   * mounted and detaches the kernel driver, claims the interface and selects
   * the BOT alternate setting.
   *
   * `usb` (node-usb's `usb` object) is where disconnect events come from;
   * pass it whenever the device came from it.
   */
  static async open(device: UsbDeviceLike, options: NodeUsbTransportOptions = {}): Promise<NodeUsbTransport> {
    const platform = platformOf(options);
    const id = `${hex4(device.vendorId)}:${hex4(device.productId)}`;
    const map = (error: unknown, operation: UsbOperation): UsbmsError => {
      const c = classifyUsbError(error, { operation, disconnected: false, subject: id });
      return c.kind === 'error' ? c.error : new UnsupportedError(`Unexpected ${c.kind} during ${operation} of ${id}`, { cause: error });
    };

    const claim = await claimWithNodeUsb(device, options, platform, id, map);
    try {
      const usb = options.watchDisconnect === false ? undefined : options.usb;
      const maxTransferSize = platform === 'linux' ? await usbfsTransferLimit(options.linuxRoots) : undefined;
      return new NodeUsbTransport({ maxTransferSize, device, usb, options, iface: claim.iface, alt: claim.alt, detachedDriver: claim.detachedDriver });
    } catch (error) {
      await claim.undo();
      throw error;
    }
  }

  /** True while whole-packet reads also take the CSW that follows (see `readStatusWithData`). */
  get readsStatusWithData(): boolean {
    return this.#readStatusWithData;
  }

  /** True once the device is known to be gone. */
  get disconnected(): boolean {
    return this.#disconnected;
  }

  async bulkOut(data: Uint8Array, options: TransferOptions): Promise<BulkOutResult> {
    // A new CBW (or data-out) means the previous command is over: bytes read ahead belong to nobody.
    this.#statusAhead = undefined;
    this.#aheadStalled = false;
    const result = await this.#transfer('bulk-out', options, () => this.device.nativeTransferOut(this.#endpointOut, options.timeoutMs, data));
    if (result.kind === 'stall') return { status: 'stall', bytesWritten: 0 };
    if (result.kind === 'babble') return { status: 'stall', bytesWritten: 0 };
    const written = result.value;
    // The WebUSB shim treats a negative count as a stall; keep that reading.
    if (written < 0) return { status: 'stall', bytesWritten: 0 };
    return { status: 'ok', bytesWritten: written };
  }

  async bulkIn(length: number, options: BulkInOptions): Promise<BulkInResult> {
    if (!Number.isSafeInteger(length) || length < 0) throw new InvalidArgumentError(`bulkIn length must be a non-negative integer, got ${length}`);
    if (options.into !== undefined && options.into.length < length) {
      throw new InvalidArgumentError(`bulkIn: 'into' holds ${options.into.length} bytes, fewer than the ${length} requested`);
    }
    if (length === 0) return { status: 'ok', data: new Uint8Array(0) };
    const ahead = this.#statusAhead;
    if (ahead !== undefined) {
      // The previous transfer already received what this one would have: the
      // short packet after a whole-packet data stage (see readStatusWithData).
      this.#statusAhead = undefined;
      this.#checkUsable(options);
      return this.#deliver(ahead, length, options.into);
    }
    // Ask for whole packets: a device that sends more than `length` within the
    // last packet is then visible (node-usb rounds up internally anyway and
    // silently truncates to the length we pass). More than that is babble.
    const whole = Math.ceil(length / this.#packetSizeIn) * this.#packetSizeIn;
    // A whole-packet data stage is not ended by a short packet, so the device's
    // next packet (its CSW) can land in the same transfer: leave room for it.
    const readAhead = this.#readStatusWithData && whole === length && length > CSW_LENGTH;
    const request = readAhead ? whole + this.#packetSizeIn : whole;
    const result = await this.#transfer('bulk-in', options, () => this.device.nativeTransferIn(this.#endpointIn, options.timeoutMs, request));
    if (result.kind === 'stall') {
      if (readAhead) this.#aheadStalled = true;
      return { status: 'stall', data: new Uint8Array(0) };
    }
    if (result.kind === 'babble') return { status: 'babble', data: new Uint8Array(0) };
    const received = result.value;
    // The WebUSB shim reads `null` as a stall.
    if (received === null) return { status: 'stall', data: new Uint8Array(0) };
    if (this.#aheadStalled && received.length === CSW_LENGTH) {
      // The status after a stalled read-ahead. node-usb drops the data of a stalled transfer, so
      // a plain read would have lost it too when the device sent less than asked (it then reports
      // a residue). A residue of 0 means it sent everything and stalled where its CSW belonged:
      // only the larger read lost that data. Never read ahead on this device again.
      this.#aheadStalled = false;
      const residue = CswOffset.residue;
      if ((received[residue] ?? 0) === 0 && (received[residue + 1] ?? 0) === 0 && (received[residue + 2] ?? 0) === 0 && (received[residue + 3] ?? 0) === 0) {
        this.#readStatusWithData = false;
      }
    }
    if (readAhead && received.length > length) {
      // Everything after `length` is what the next IN transfer would have read.
      this.#statusAhead = received.slice(length);
      return this.#deliver(received.subarray(0, length), length, options.into);
    }
    return this.#deliver(received, length, options.into);
  }

  /** The result for `received` bytes of a `length`-byte read: more than asked for is babble. */
  #deliver(received: Uint8Array, length: number, into: Uint8Array | undefined): BulkInResult {
    const fits = received.length > length ? received.subarray(0, length) : received;
    let data = fits;
    if (into !== undefined) {
      into.set(fits, 0);
      data = into.subarray(0, fits.length);
    }
    return { status: received.length > length ? 'babble' : 'ok', data };
  }

  /** The checks #transfer makes before submitting, for a read answered from #statusAhead. */
  #checkUsable(options: TransferOptions): void {
    if (this.#disconnected) throw new DisconnectedError(`The USB device was disconnected (${this.#subject})`);
    if (this.#closed) throw new ClosedError(`The transport for ${this.#subject} is closed`);
    if (options.signal?.aborted === true) throw new AbortError('The transfer was aborted before it was submitted', { cause: options.signal.reason });
  }

  async clearHalt(pipe: 'in' | 'out', options: TransferOptions): Promise<void> {
    this.#statusAhead = undefined;
    const endpoint = pipe === 'in' ? this.#endpointIn : this.#endpointOut;
    // node-usb's clearHalt takes no timeout; nusb bounds the control request itself.
    const result = await this.#transfer('clear-halt', options, () => this.device.clearHalt(pipe, endpoint));
    if (result.kind !== 'ok') {
      throw new TransportError(`CLEAR_FEATURE(ENDPOINT_HALT) on the bulk-${pipe} endpoint of ${this.#subject} failed (${result.kind})`);
    }
  }

  async classRequest(request: ClassRequest, options: TransferOptions): Promise<ControlResult> {
    // Reset recovery starts here (BOT 1.0 §5.3.4): nothing read ahead survives it.
    this.#statusAhead = undefined;
    const setup = {
      requestType: 'class' as const,
      recipient: 'interface' as const,
      request: request.request === 'get-max-lun' ? BotRequest.GetMaxLun : BotRequest.Reset,
      value: 0,
      // BOT 1.0 §3.1/§3.2: wIndex is the interface number.
      index: this.interfaceNumber,
    };
    if (request.request === 'get-max-lun') {
      const result = await this.#transfer('control-in', options, () => this.device.nativeControlTransferIn(setup, options.timeoutMs, 1));
      if (result.kind !== 'ok' || result.value === null) return { status: 'stall', data: new Uint8Array(0) };
      return { status: 'ok', data: result.value };
    }
    const result = await this.#transfer('control-out', options, () => this.device.nativeControlTransferOut(setup, options.timeoutMs, new Uint8Array(0)));
    if (result.kind !== 'ok' || result.value < 0) return { status: 'stall', data: new Uint8Array(0) };
    return { status: 'ok', data: new Uint8Array(0) };
  }

  /**
   * USB port reset, then claim the interface again: a reset drops the claim,
   * and on Linux the kernel re-binds usb-storage to the interface, so it is
   * detached again (the mount check was done at open and nothing can have
   * mounted a disk whose driver we held).
   */
  async portReset(options: TransferOptions): Promise<void> {
    this.#statusAhead = undefined;
    const result = await this.#transfer('reset', options, () => this.device.reset());
    if (result.kind !== 'ok') throw new TransportError(`USB port reset of ${this.#subject} failed (${result.kind})`);
    await this.device.releaseInterface(this.interfaceNumber).catch(() => undefined);
    if (platformOf(this.#options) === 'linux' && this.#options.detachKernelDriver !== false && this.device.detachKernelDriver !== undefined) {
      try {
        await this.device.detachKernelDriver(this.interfaceNumber);
        this.#detached = true;
      } catch (error) {
        if (!isNoDriverError(error)) throw this.#classifyNow(error, 'detach-kernel-driver');
      }
    }
    await this.#transfer('claim', options, () => this.device.claimInterface(this.interfaceNumber)).then((r) => {
      if (r.kind !== 'ok') throw new TransportError(`Re-claiming ${this.#subject} after a port reset failed (${r.kind})`);
    });
    const iface = this.#currentInterfaceAlternates();
    if (iface > 1) {
      await this.#transfer('select-alternate', options, () => this.device.selectAlternateInterface(this.interfaceNumber, this.alternateSetting));
    }
  }

  /**
   * Releases the interface, re-attaches the kernel driver (unless
   * `reattachOnClose: false`) and closes the device. Idempotent; never throws
   * for a device that is already gone. The core flushes before calling it.
   */
  close(): Promise<void> {
    this.#closing ??= this.#doClose();
    return this.#closing;
  }

  onDisconnect(listener: () => void): () => void {
    if (this.#disconnected) {
      queueMicrotask(() => {
        if (this.#listeners.has(listener)) listener();
      });
    }
    return this.#listeners.add(listener);
  }

  async #doClose(): Promise<void> {
    this.#closed = true;
    this.#usb?.removeEventListener('disconnect', this.#onPlatformDisconnect);
    this.#usb = undefined;
    if (this.#disconnected) {
      await this.#closeNative();
      return;
    }
    // A transfer still pending (its caller gave up on it) holds the claim:
    // let it end first; its native timeout bounds the wait.
    await Promise.all([...this.#inflight]);
    await this.device.releaseInterface(this.interfaceNumber).catch(() => undefined);
    if (this.#detached && this.#options.reattachOnClose !== false && this.device.attachKernelDriver !== undefined) {
      const attach = this.device.attachKernelDriver.bind(this.device, this.interfaceNumber);
      this.#reattachError = await reattachKernelDriver<unknown>(
        async () => {
          try {
            await attach();
            return undefined;
          } catch (error) {
            return error ?? new Error('attachKernelDriver failed');
          }
        },
        (error) => reasonOf(classifyUsbError(error, { operation: 'attach-kernel-driver', disconnected: false })) === 'busy',
      );
    }
    await this.#closeNative();
  }

  /**
   * Closes the native device, never throwing. node-usb 3.1's close() can throw
   * synchronously (not reject) while a transfer on a device that is gone is
   * still pending ("The same native value cannot be borrowed mutably while
   * another borrow is active"): then wait for the pending transfers (bounded)
   * and try once more.
   */
  async #closeNative(): Promise<void> {
    const attempt = async (): Promise<boolean> => {
      try {
        await this.device.close();
        return true;
      } catch {
        return false;
      }
    };
    if (await attempt()) return;
    await Promise.race([Promise.allSettled([...this.#inflight]), new Promise((resolve) => setTimeout(resolve, 2000).unref?.())]);
    await attempt();
  }

  /**
   * Why re-attaching the kernel driver at close failed, if it did (the disk
   * then stays invisible to the OS until the device is replugged).
   */
  get reattachError(): unknown {
    return this.#reattachError;
  }

  #currentInterfaceAlternates(): number {
    try {
      const config = this.device.configuration;
      const iface = config?.interfaces.find((i) => i.interfaceNumber === this.interfaceNumber);
      return iface?.alternates.length ?? 1;
    } catch {
      return 1;
    }
  }

  #markDisconnected(): void {
    if (this.#disconnected) return;
    this.#disconnected = true;
    for (const waiter of this.#disconnectWaiters) waiter();
    this.#disconnectWaiters.clear();
    const error = new DisconnectedError(`The USB device was disconnected (${this.#subject})`);
    for (const pending of this.#pending) pending.reject(error);
    this.#pending.clear();
    this.#listeners.emit();
  }

  #classifyNow(error: unknown, operation: UsbOperation, timeoutMs?: number): UsbmsError {
    const c = classifyUsbError(error, {
      operation,
      disconnected: this.#disconnected,
      subject: this.#subject,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    return c.kind === 'error' ? c.error : new DisconnectedError(`Unexpected ${c.kind} during ${operation}`, { cause: error });
  }

  /** Waits up to the grace period for the disconnect event. */
  #waitForDisconnect(): Promise<void> {
    if (this.#disconnected) return Promise.resolve();
    const graceMs = this.#options.disconnectGraceMs ?? 250;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#disconnectWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, graceMs);
      this.#disconnectWaiters.add(done);
    });
  }

  /**
   * Runs one native call with the contract's error handling. Resolves with the
   * value or a stall/babble result; rejects with a typed error. Never settles
   * while the native call is pending, except on disconnect.
   */
  async #transfer<T>(
    operation: UsbOperation,
    options: TransferOptions,
    call: () => Promise<T>,
  ): Promise<{ kind: 'ok'; value: T } | { kind: 'stall' } | { kind: 'babble' }> {
    if (this.#disconnected) throw new DisconnectedError(`The USB device was disconnected (${this.#subject})`);
    if (this.#closed) throw new ClosedError(`The transport for ${this.#subject} is closed`);
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new InvalidArgumentError(`timeoutMs must be a positive number, got ${options.timeoutMs}`);
    }
    const signal = options.signal;
    if (signal?.aborted === true) throw new AbortError('The transfer was aborted before it was submitted', { cause: signal.reason });

    let pending: PendingTransfer | undefined;
    const disconnect = new Promise<never>((_, reject) => {
      pending = { reject };
      this.#pending.add(pending);
    });
    // Swallow the rejection of a race loser.
    disconnect.catch(() => undefined);
    const native = call().then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    this.#inflight.add(native);
    void native.then(() => this.#inflight.delete(native));
    let outcome: { ok: true; value: T } | { ok: false; error: unknown };
    try {
      outcome = await Promise.race([native, disconnect]);
    } finally {
      if (pending !== undefined) this.#pending.delete(pending);
    }
    if (isAborted(signal)) {
      // The native transfer has ended; honour the abort that came while it was pending.
      throw new AbortError('The transfer was aborted', { cause: signal?.reason });
    }
    if (outcome.ok) return { kind: 'ok', value: outcome.value };

    let c: UsbErrorClass = classifyUsbError(outcome.error, {
      operation,
      disconnected: this.#disconnected,
      timeoutMs: options.timeoutMs,
      subject: this.#subject,
    });
    if (c.kind === 'error' && c.ambiguous) {
      // Only the platform's disconnect event can say whether the device is gone.
      await this.#waitForDisconnect();
      c = classifyUsbError(outcome.error, { operation, disconnected: this.#disconnected, timeoutMs: options.timeoutMs, subject: this.#subject });
    }
    if (c.kind === 'error') {
      // nusb's explicit Disconnected status is the platform saying so: treat it
      // like the event (the event itself may arrive later, or never if the
      // hotplug watcher is unavailable).
      if (c.error instanceof DisconnectedError) this.#markDisconnected();
      throw c.error;
    }
    return c;
  }
}

/** A function, so TypeScript does not narrow `aborted` across awaits. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}
