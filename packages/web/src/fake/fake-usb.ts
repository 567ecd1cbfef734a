import type { MscTransport } from '@usbms/core';
import { MSC_CLASS, MscProtocol, MscSubclass, UsbmsError, UsbmsErrorCode } from '@usbms/core';
import { BotRequest } from '@usbms/core/internal';
import type {
  UsbAlternateInterfaceLike,
  UsbConfigurationLike,
  UsbConnectionEventLike,
  UsbConnectionListener,
  UsbControlTransferParametersLike,
  UsbDeviceFilterLike,
  UsbDeviceLike,
  UsbDirectionLike,
  UsbEndpointLike,
  UsbInTransferResultLike,
  UsbInterfaceLike,
  UsbLike,
  UsbOutTransferResultLike,
  UsbTransferStatusLike,
} from '../webusb-types.js';

/**
 * A WebUSB-shaped `USB` / `USBDevice` pair backed by any `MscTransport`,
 * normally the core simulator's (`new SimulatedDevice().transport`). It
 * behaves like Chromium where tests depend on it: the exact DOMException names
 * and messages of blink's usb_device.cc, real `USBInTransferResult` /
 * `USBOutTransferResult` objects when the page has them, stall results,
 * `reset()` and `close()` cancelling pending transfers with AbortError,
 * `disconnect` events, the 32 MiB transfer limit, and optionally the
 * protected-class SecurityError and WinUSB's refusal of `reset()`.
 *
 * @example
 * const usb = new FakeUsb();
 * usb.plug(new FakeUsbDevice({ transport: new SimulatedDevice().transport }));
 * Object.defineProperty(navigator, 'usb', { value: usb });
 */

/** Chromium's messages (third_party/blink/renderer/modules/webusb/usb_device.cc). */
export const ChromiumMessages = {
  protectedClass: 'The requested interface implements a protected class.',
  transferNotAllowed: 'The transfer was not allowed.',
  disconnected: 'The device was disconnected.',
  cancelled: 'The transfer was cancelled.',
  transferError: 'A transfer error has occurred.',
  openRequired: 'The device must be opened first.',
  notConfigured: 'The device must have a configuration selected.',
  interfaceNotFound: 'The interface number provided is not supported by the device in its current configuration.',
  notClaimed: 'The specified interface has not been claimed.',
  endpointNotFound: 'The specified endpoint is not part of a claimed and selected alternate interface.',
  noDeviceSelected: 'No device selected.',
  resetFailed: 'Unable to reset the device.',
} as const;

const MAX_TRANSFER = 32 * 1024 * 1024;
/** The simulator is asked with a long timeout: cancellation comes from reset/close/unplug, as in WebUSB. */
const SIM_TIMEOUT_MS = 3_600_000;

/** Options of `new FakeUsbDevice(options)`: the backing transport, the descriptors it reports, and Chromium behaviours to emulate. */
export interface FakeUsbDeviceOptions {
  /** The device behind the fake, e.g. `new SimulatedDevice().transport`. */
  transport: MscTransport;
  vendorId?: number;
  productId?: number;
  manufacturerName?: string | null;
  productName?: string | null;
  serialNumber?: string | null;
  /** bInterfaceClass of the BOT interface: 0x08 (default) or 0xFF for a vendor-class BOT interface. */
  interfaceClass?: number;
  interfaceSubclass?: number;
  interfaceProtocol?: number;
  interfaceNumber?: number;
  /** Bulk wMaxPacketSize: 512 (high speed, default), 64 (full) or 1024 (super). */
  packetSize?: number;
  /** Add alternate setting 1 speaking UAS (0x62) beside BOT at 0, like UAS-capable devices. */
  uasAlternate?: boolean;
  /** Emulate Chromium for ordinary web pages: claiming a class 0x08 interface throws SecurityError. */
  protectedClass?: boolean;
  /** Emulate Chrome on Windows (WinUSB): `reset()` rejects with NetworkError. */
  resetRefused?: boolean;
  /** Start unconfigured (configuration === null) so the host must select one. */
  unconfigured?: boolean;
}

function domException(message: string, name: string): Error {
  return new DOMException(message, name);
}

type InResultCtor = new (status: UsbTransferStatusLike, data?: DataView) => UsbInTransferResultLike;
type OutResultCtor = new (status: UsbTransferStatusLike, bytesWritten?: number) => UsbOutTransferResultLike;

/** Builds Chromium's own `USBInTransferResult` when the page has it (a real browser), else a plain object. */
export function makeInResult(status: UsbTransferStatusLike, bytes?: Uint8Array): UsbInTransferResultLike {
  const data = bytes ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength) : undefined;
  const Ctor = (globalThis as { USBInTransferResult?: InResultCtor }).USBInTransferResult;
  if (Ctor) return data ? new Ctor(status, data) : new Ctor(status);
  return { status, data: data ?? null };
}

/** Builds Chromium's own `USBOutTransferResult` when the page has it (a real browser), else a plain object. */
export function makeOutResult(status: UsbTransferStatusLike, bytesWritten: number): UsbOutTransferResultLike {
  const Ctor = (globalThis as { USBOutTransferResult?: OutResultCtor }).USBOutTransferResult;
  if (Ctor) return new Ctor(status, bytesWritten);
  return { status, bytesWritten };
}

function toBytes(data: Uint8Array | ArrayBuffer | ArrayBufferView | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  // WebUSB copies the buffer when the call is made; so does the fake, so callers may reuse theirs.
  if (data instanceof ArrayBuffer) return new Uint8Array(data.slice(0));
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

/** Maps an error from the backing transport to the DOMException Chromium would raise. */
function platformError(error: unknown): Error {
  if (error instanceof DOMException) return error;
  if (error instanceof UsbmsError && error.code === UsbmsErrorCode.Disconnected) return domException(ChromiumMessages.disconnected, 'NotFoundError');
  return domException(ChromiumMessages.transferError, 'NetworkError');
}

/** A WebUSB `USBDevice` stand-in backed by an `MscTransport` (normally `SimulatedDevice`), with Chromium's errors and cancellation rules. */
export class FakeUsbDevice implements UsbDeviceLike {
  readonly usbVersionMajor: number;
  readonly usbVersionMinor = 0;
  readonly usbVersionSubminor = 0;
  readonly deviceClass = 0;
  readonly deviceSubclass = 0;
  readonly deviceProtocol = 0;
  readonly vendorId: number;
  readonly productId: number;
  readonly deviceVersionMajor = 1;
  readonly deviceVersionMinor = 0;
  readonly deviceVersionSubminor = 0;
  readonly manufacturerName: string | null;
  readonly productName: string | null;
  readonly serialNumber: string | null;
  readonly configurations: readonly UsbConfigurationLike[];
  /** Every WebUSB call made, in order (e.g. "claimInterface(0)", "reset()"), for assertions. */
  readonly calls: string[] = [];
  /** Emulation switches that tests may flip while the device is in use. */
  protectedClass: boolean;
  resetRefused: boolean;

  readonly #transport: MscTransport;
  readonly #interfaceNumber: number;
  readonly #packetSize: number;
  #opened = false;
  #configured: boolean;
  #claimed = false;
  #alternate = 0;
  #gone = false;
  #inflight = new Set<AbortController>();
  #owner: FakeUsb | undefined;
  #hold: { promise: Promise<void>; release: () => void } | undefined;

  constructor(options: FakeUsbDeviceOptions) {
    this.#transport = options.transport;
    this.vendorId = options.vendorId ?? 0x1d6b;
    this.productId = options.productId ?? 0x0104;
    this.manufacturerName = options.manufacturerName === undefined ? 'usbms' : options.manufacturerName;
    this.productName = options.productName === undefined ? 'Simulated Mass Storage' : options.productName;
    this.serialNumber = options.serialNumber === undefined ? 'SIM0001' : options.serialNumber;
    this.protectedClass = options.protectedClass ?? false;
    this.resetRefused = options.resetRefused ?? false;
    this.#interfaceNumber = options.interfaceNumber ?? 0;
    this.#packetSize = options.packetSize ?? 512;
    this.#configured = !(options.unconfigured ?? false);
    this.usbVersionMajor = this.#packetSize >= 1024 ? 3 : 2;

    const endpoints = (inEp: number, outEp: number): UsbEndpointLike[] => [
      { endpointNumber: inEp, direction: 'in', type: 'bulk', packetSize: this.#packetSize },
      { endpointNumber: outEp, direction: 'out', type: 'bulk', packetSize: this.#packetSize },
    ];
    const alternates: UsbAlternateInterfaceLike[] = [
      {
        alternateSetting: 0,
        interfaceClass: options.interfaceClass ?? MSC_CLASS,
        interfaceSubclass: options.interfaceSubclass ?? MscSubclass.ScsiTransparent,
        interfaceProtocol: options.interfaceProtocol ?? MscProtocol.BulkOnly,
        interfaceName: null,
        endpoints: endpoints(1, 2),
      },
    ];
    if (options.uasAlternate) {
      alternates.push({
        alternateSetting: 1,
        interfaceClass: MSC_CLASS,
        interfaceSubclass: MscSubclass.ScsiTransparent,
        interfaceProtocol: MscProtocol.Uas,
        interfaceName: null,
        endpoints: endpoints(3, 4),
      });
    }
    const self = this;
    const iface: UsbInterfaceLike = {
      interfaceNumber: this.#interfaceNumber,
      alternates,
      get alternate(): UsbAlternateInterfaceLike {
        return alternates.find((a) => a.alternateSetting === self.#alternate) ?? (alternates[0] as UsbAlternateInterfaceLike);
      },
      get claimed(): boolean {
        return self.#claimed;
      },
    };
    this.configurations = [{ configurationValue: 1, configurationName: null, interfaces: [iface] }];
  }

  /** True between `open()` and `close()`. */
  get opened(): boolean {
    return this.#opened;
  }

  /** The active configuration, or null while unconfigured. */
  get configuration(): UsbConfigurationLike | null {
    return this.#configured ? (this.configurations[0] ?? null) : null;
  }

  /** True once unplugged. */
  get unplugged(): boolean {
    return this.#gone;
  }

  /** @internal Called by FakeUsb.plug. */
  attach(owner: FakeUsb): void {
    this.#owner = owner;
  }

  #log(call: string): void {
    this.calls.push(call);
  }

  #checkOpen(): void {
    if (this.#gone) throw domException(ChromiumMessages.disconnected, 'NotFoundError');
    if (!this.#opened) throw domException(ChromiumMessages.openRequired, 'InvalidStateError');
  }

  #checkEndpoint(direction: UsbDirectionLike, endpointNumber: number): void {
    this.#checkOpen();
    if (!this.#configured) throw domException(ChromiumMessages.notConfigured, 'InvalidStateError');
    const alt = this.configurations[0]?.interfaces[0]?.alternate;
    const ok = this.#claimed && alt?.endpoints.some((e) => e.endpointNumber === endpointNumber && e.direction === direction);
    if (!ok) throw domException(ChromiumMessages.endpointNotFound, 'NotFoundError');
  }

  /** Runs a backing-transport call that reset(), close() and unplug() can cancel, as WebUSB's transfers are. */
  async #cancellable<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ctl = new AbortController();
    this.#inflight.add(ctl);
    try {
      const cancelled = new Promise<never>((_, reject) => {
        ctl.signal.addEventListener('abort', () => reject(ctl.signal.reason as Error), { once: true });
      });
      cancelled.catch(() => undefined);
      if (this.#hold) await Promise.race([this.#hold.promise, cancelled]);
      const work = fn(ctl.signal);
      work.catch(() => undefined);
      return await Promise.race([work, cancelled]);
    } catch (error) {
      if (ctl.signal.aborted) throw ctl.signal.reason as Error;
      const mapped = platformError(error);
      // Chromium fails a transfer with NotFoundError only for a device that is gone: so is this one.
      if (mapped.name === 'NotFoundError') this.unplug();
      throw mapped;
    } finally {
      this.#inflight.delete(ctl);
    }
  }

  #cancelAll(reason: Error): void {
    for (const ctl of [...this.#inflight]) ctl.abort(reason);
  }

  async open(): Promise<void> {
    this.#log('open()');
    if (this.#gone) throw domException(ChromiumMessages.disconnected, 'NotFoundError');
    this.#opened = true;
  }

  async close(): Promise<void> {
    this.#log('close()');
    if (!this.#opened) return;
    this.#cancelAll(domException(ChromiumMessages.cancelled, 'AbortError'));
    this.#opened = false;
    this.#claimed = false;
    this.#alternate = 0;
  }

  /** Revokes the page's permission; here it closes the device. */
  async forget(): Promise<void> {
    this.#log('forget()');
    await this.close();
  }

  async selectConfiguration(configurationValue: number): Promise<void> {
    this.#log(`selectConfiguration(${configurationValue})`);
    this.#checkOpen();
    if (configurationValue !== 1) throw domException('The configuration value provided is not supported by the device.', 'NotFoundError');
    this.#configured = true;
  }

  async claimInterface(interfaceNumber: number): Promise<void> {
    this.#log(`claimInterface(${interfaceNumber})`);
    this.#checkOpen();
    if (!this.#configured) throw domException(ChromiumMessages.notConfigured, 'InvalidStateError');
    if (interfaceNumber !== this.#interfaceNumber) throw domException(ChromiumMessages.interfaceNotFound, 'NotFoundError');
    const iface = this.configurations[0]?.interfaces[0];
    // Chromium checks every alternate setting of the interface for a protected class.
    if (this.protectedClass && iface?.alternates.some((a) => a.interfaceClass === MSC_CLASS)) {
      throw domException(ChromiumMessages.protectedClass, 'SecurityError');
    }
    this.#claimed = true;
  }

  async releaseInterface(interfaceNumber: number): Promise<void> {
    this.#log(`releaseInterface(${interfaceNumber})`);
    this.#checkOpen();
    if (interfaceNumber !== this.#interfaceNumber) throw domException(ChromiumMessages.interfaceNotFound, 'NotFoundError');
    this.#claimed = false;
    this.#alternate = 0;
  }

  async selectAlternateInterface(interfaceNumber: number, alternateSetting: number): Promise<void> {
    this.#log(`selectAlternateInterface(${interfaceNumber}, ${alternateSetting})`);
    this.#checkOpen();
    if (!this.#claimed || interfaceNumber !== this.#interfaceNumber) throw domException(ChromiumMessages.notClaimed, 'InvalidStateError');
    const alts = this.configurations[0]?.interfaces[0]?.alternates ?? [];
    if (!alts.some((a) => a.alternateSetting === alternateSetting)) {
      throw domException('The alternate setting provided is not supported by the device in its current configuration.', 'NotFoundError');
    }
    this.#alternate = alternateSetting;
  }

  #checkControl(setup: UsbControlTransferParametersLike): void {
    this.#checkOpen();
    if (setup.recipient === 'interface' && this.protectedClass && (setup.index & 0xff) === this.#interfaceNumber) {
      // Chromium blocks control transfers whose wIndex names a protected interface.
      throw domException(ChromiumMessages.transferNotAllowed, 'SecurityError');
    }
    if (setup.recipient === 'interface' && !this.#claimed) throw domException(ChromiumMessages.notClaimed, 'InvalidStateError');
  }

  async controlTransferIn(setup: UsbControlTransferParametersLike, length: number): Promise<UsbInTransferResultLike> {
    this.#log(`controlTransferIn(${setup.requestType} ${setup.recipient} 0x${setup.request.toString(16)}, ${length})`);
    this.#checkControl(setup);
    if (setup.requestType === 'class' && setup.recipient === 'interface' && setup.request === BotRequest.GetMaxLun) {
      const r = await this.#cancellable((signal) => this.#transport.classRequest({ request: 'get-max-lun' }, { timeoutMs: SIM_TIMEOUT_MS, signal }));
      return r.status === 'stall' ? makeInResult('stall') : makeInResult('ok', r.data.subarray(0, length));
    }
    // Anything else (including standard requests) is not modelled: the device stalls it.
    return makeInResult('stall');
  }

  async controlTransferOut(setup: UsbControlTransferParametersLike, data?: Uint8Array | ArrayBuffer | ArrayBufferView): Promise<UsbOutTransferResultLike> {
    this.#log(`controlTransferOut(${setup.requestType} ${setup.recipient} 0x${setup.request.toString(16)})`);
    this.#checkControl(setup);
    const bytes = toBytes(data);
    if (setup.requestType === 'class' && setup.recipient === 'interface' && setup.request === BotRequest.Reset && bytes.length === 0) {
      const r = await this.#cancellable((signal) => this.#transport.classRequest({ request: 'bulk-only-reset' }, { timeoutMs: SIM_TIMEOUT_MS, signal }));
      return makeOutResult(r.status, 0);
    }
    return makeOutResult('stall', 0);
  }

  async clearHalt(direction: UsbDirectionLike, endpointNumber: number): Promise<void> {
    this.#log(`clearHalt(${direction}, ${endpointNumber})`);
    this.#checkEndpoint(direction, endpointNumber);
    await this.#cancellable((signal) => this.#transport.clearHalt(direction, { timeoutMs: SIM_TIMEOUT_MS, signal }));
  }

  async transferIn(endpointNumber: number, length: number): Promise<UsbInTransferResultLike> {
    this.#log(`transferIn(${endpointNumber}, ${length})`);
    if (length > MAX_TRANSFER) throw domException(`The data buffer exceeded supported maximum size of ${MAX_TRANSFER} bytes`, 'DataError');
    this.#checkEndpoint('in', endpointNumber);
    const r = await this.#cancellable((signal) => this.#transport.bulkIn(length, { timeoutMs: SIM_TIMEOUT_MS, signal }));
    return makeInResult(r.status, r.data);
  }

  async transferOut(endpointNumber: number, data: Uint8Array | ArrayBuffer | ArrayBufferView): Promise<UsbOutTransferResultLike> {
    const bytes = toBytes(data);
    this.#log(`transferOut(${endpointNumber}, ${bytes.length})`);
    if (bytes.length > MAX_TRANSFER) throw domException(`The data buffer exceeded supported maximum size of ${MAX_TRANSFER} bytes`, 'DataError');
    this.#checkEndpoint('out', endpointNumber);
    const r = await this.#cancellable((signal) => this.#transport.bulkOut(bytes, { timeoutMs: SIM_TIMEOUT_MS, signal }));
    return makeOutResult(r.status, r.bytesWritten);
  }

  /**
   * USB port reset: pending transfers reject with AbortError, the device model
   * is reset (the backing transport's portReset, else a Bulk-Only reset and
   * clearing both halts), and every interface returns to alternate setting 0.
   */
  async reset(): Promise<void> {
    this.#log('reset()');
    this.#checkOpen();
    if (this.resetRefused) throw domException(ChromiumMessages.resetFailed, 'NetworkError');
    this.#cancelAll(domException(ChromiumMessages.cancelled, 'AbortError'));
    // Let the cancelled transfers' rejections run before the device state changes, as in Chromium.
    await Promise.resolve();
    const t = this.#transport;
    try {
      if (t.portReset) await t.portReset({ timeoutMs: SIM_TIMEOUT_MS });
      else {
        await t.classRequest({ request: 'bulk-only-reset' }, { timeoutMs: SIM_TIMEOUT_MS });
        await t.clearHalt('in', { timeoutMs: SIM_TIMEOUT_MS });
        await t.clearHalt('out', { timeoutMs: SIM_TIMEOUT_MS });
      }
    } catch (error) {
      throw platformError(error);
    }
    this.#alternate = 0;
  }

  /**
   * Holds every transfer submitted from now on (it stays pending, as on a busy
   * device) until `releaseTransfers()`; reset(), close() and unplug() still cancel it.
   * For tests of what happens mid-command.
   */
  holdTransfers(): void {
    if (this.#hold) return;
    let release!: () => void;
    const promise = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#hold = { promise, release };
  }

  /** Lets transfers held by `holdTransfers()` proceed. */
  releaseTransfers(): void {
    this.#hold?.release();
    this.#hold = undefined;
  }

  /** Number of transfers pending right now. */
  get pendingTransfers(): number {
    return this.#inflight.size;
  }

  /** Emulates pulling the plug: pending transfers reject with NotFoundError and `disconnect` fires. */
  unplug(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#cancelAll(domException(ChromiumMessages.disconnected, 'NotFoundError'));
    this.#opened = false;
    this.#claimed = false;
    this.#owner?.unplug(this);
  }
}

type Listener = UsbConnectionListener;

/** A `navigator.usb` stand-in holding FakeUsbDevices. */
export class FakeUsb implements UsbLike {
  readonly #devices: FakeUsbDevice[] = [];
  readonly #permitted = new Set<FakeUsbDevice>();
  readonly #listeners = { connect: new Set<Listener>(), disconnect: new Set<Listener>() };
  onconnect: Listener | null = null;
  ondisconnect: Listener | null = null;
  /**
   * What `requestDevice` picks among matching devices, standing in for the
   * browser's chooser. Default: the first. Return undefined to emulate the
   * user cancelling the chooser.
   */
  chooser: (candidates: FakeUsbDevice[]) => FakeUsbDevice | undefined = (c) => c[0];
  /** Options of every requestDevice call, for assertions. */
  readonly requests: { filters: UsbDeviceFilterLike[] }[] = [];

  /** Connects a device; `permitted` makes it visible to getDevices() without a chooser. */
  plug(device: FakeUsbDevice, options: { permitted?: boolean } = {}): FakeUsbDevice {
    device.attach(this);
    this.#devices.push(device);
    if (options.permitted) this.#permitted.add(device);
    this.#dispatch('connect', device);
    return device;
  }

  /** @internal FakeUsbDevice.unplug calls this; call `device.unplug()` instead. */
  unplug(device: FakeUsbDevice): void {
    const i = this.#devices.indexOf(device);
    if (i < 0) return;
    this.#devices.splice(i, 1);
    this.#permitted.delete(device);
    if (!device.unplugged) {
      device.unplug();
      return;
    }
    this.#dispatch('disconnect', device);
  }

  /** Every plugged-in device, permitted or not. */
  get devices(): readonly FakeUsbDevice[] {
    return this.#devices;
  }

  async getDevices(): Promise<UsbDeviceLike[]> {
    return this.#devices.filter((d) => this.#permitted.has(d));
  }

  async requestDevice(options: { filters: UsbDeviceFilterLike[] }): Promise<UsbDeviceLike> {
    this.requests.push(options);
    for (const f of options.filters) {
      // WebUSB §4.1 (and Chromium) reject these filters with a TypeError.
      if (f.protocolCode !== undefined && f.subclassCode === undefined)
        throw new TypeError('A filter containing a protocolCode must also contain a subclassCode.');
      if (f.subclassCode !== undefined && f.classCode === undefined) throw new TypeError('A filter containing a subclassCode must also contain a classCode.');
      if (f.productId !== undefined && f.vendorId === undefined) throw new TypeError('A filter containing a productId must also contain a vendorId.');
    }
    const candidates = this.#devices.filter((d) => options.filters.some((f) => filterMatches(d, f)));
    const picked = this.chooser(candidates);
    if (!picked) throw domException(ChromiumMessages.noDeviceSelected, 'NotFoundError');
    this.#permitted.add(picked);
    return picked;
  }

  addEventListener(type: 'connect' | 'disconnect', listener: Listener): void {
    this.#listeners[type].add(listener);
  }

  removeEventListener(type: 'connect' | 'disconnect', listener: Listener): void {
    this.#listeners[type].delete(listener);
  }

  #dispatch(type: 'connect' | 'disconnect', device: FakeUsbDevice): void {
    const event: UsbConnectionEventLike = { device };
    const handler = type === 'connect' ? this.onconnect : this.ondisconnect;
    for (const l of [...this.#listeners[type], ...(handler ? [handler] : [])]) {
      try {
        l(event);
      } catch (error) {
        // Like EventTarget: a throwing listener is reported, not propagated.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}

function filterMatches(d: FakeUsbDevice, f: UsbDeviceFilterLike): boolean {
  if (f.vendorId !== undefined && f.vendorId !== d.vendorId) return false;
  if (f.productId !== undefined && f.productId !== d.productId) return false;
  if (f.serialNumber !== undefined && f.serialNumber !== d.serialNumber) return false;
  if (f.classCode === undefined) return true;
  return d.configurations.some((c) =>
    c.interfaces.some((i) =>
      i.alternates.some(
        (a) =>
          a.interfaceClass === f.classCode &&
          (f.subclassCode === undefined || a.interfaceSubclass === f.subclassCode) &&
          (f.protocolCode === undefined || a.interfaceProtocol === f.protocolCode),
      ),
    ),
  );
}
