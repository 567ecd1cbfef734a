/**
 * A fake node-usb 3.1 for unit tests: WebUSB-shaped devices with the native*
 * methods, failing exactly the way node-usb 3.1 fails (Error messages
 * "transferIn error: Stall", "... error: endpoint not found" while a transfer
 * is pending on the endpoint, "... error: Cancelled" on a native timeout,
 * "... error: Disconnected" when unplugged).
 */
import { MSC_CLASS, MscProtocol, MscSubclass } from '@usbms/core';
import type {
  UsbAlternateLike,
  UsbConfigurationLike,
  UsbConnectionListener,
  UsbControlSetup,
  UsbDeviceLike,
  UsbDirection,
  UsbInterfaceLike,
  UsbLike,
} from '../usb-types.js';

export interface FakeAlternate {
  alternateSetting?: number;
  interfaceClass?: number;
  interfaceSubclass?: number;
  interfaceProtocol?: number;
  /** [in endpoint number, out endpoint number]; omit for none. */
  bulk?: [number, number] | undefined;
  packetSize?: number;
}

export interface FakeInterface {
  interfaceNumber: number;
  alternates: FakeAlternate[];
}

/** What a transfer handler returns: data/length, a stall, or "hang until the native timeout". */
export type FakeInReply = Uint8Array | null | 'stall' | 'hang' | Error;
export type FakeOutReply = number | 'stall' | 'hang' | Error;

export interface FakeDeviceOptions {
  vendorId?: number;
  productId?: number;
  serialNumber?: string | null;
  manufacturerName?: string | null;
  productName?: string | null;
  bus?: string;
  ports?: number[];
  address?: number;
  speed?: string;
  handle?: string;
  deviceClass?: number;
  /** bcdDevice as node-usb splits it (major, minor, subminor). */
  deviceVersion?: [number, number, number];
  interfaces?: FakeInterface[];
  /** Active configuration value; undefined = unconfigured (node-usb then throws on `configuration`). */
  activeConfiguration?: number | undefined;
  /** Linux: kernel driver bound per interface number. */
  kernelDrivers?: Record<number, string>;
  /** No detach/attachKernelDriver methods (node-usb on macOS/Windows). */
  noKernelDriverMethods?: boolean;
}

const nativeError = (op: string, detail: string): Error => new Error(`${op} error: ${detail}`);

function alternateOf(a: FakeAlternate): UsbAlternateLike {
  const packetSize = a.packetSize ?? 512;
  const endpoints =
    a.bulk === undefined
      ? []
      : [
          { endpointNumber: a.bulk[0], direction: 'in' as const, type: 'bulk', packetSize },
          { endpointNumber: a.bulk[1], direction: 'out' as const, type: 'bulk', packetSize },
        ];
  return {
    alternateSetting: a.alternateSetting ?? 0,
    interfaceClass: a.interfaceClass ?? MSC_CLASS,
    interfaceSubclass: a.interfaceSubclass ?? MscSubclass.ScsiTransparent,
    interfaceProtocol: a.interfaceProtocol ?? MscProtocol.BulkOnly,
    endpoints,
  };
}

export class FakeUsbDevice implements UsbDeviceLike {
  vendorId: number;
  productId: number;
  deviceClass: number;
  bus: string;
  ports: number[];
  address: number;
  speed: string;
  handle: string;
  deviceVersionMajor: number | undefined;
  deviceVersionMinor: number | undefined;
  deviceVersionSubminor: number | undefined;
  opened = false;
  /** Every call, in order, e.g. "claimInterface(0)". */
  readonly calls: string[] = [];
  readonly claimed = new Set<number>();
  readonly kernelDrivers: Map<number, string>;
  activeConfiguration: number | undefined;
  selectedAlternate = new Map<number, number>();
  gone = false;
  #serial: string | null;
  #manufacturer: string | null;
  #product: string | null;
  #interfaces: FakeInterface[];
  #pending = new Map<string, { reject: (e: Error) => void; op: string }>();
  /** Errors thrown by the next call of a method, by method name. */
  readonly failNext = new Map<string, Error>();
  /** Replies to bulk IN transfers, consumed in order (default: 'hang'). */
  readonly inReplies: FakeInReply[] = [];
  /** Replies to bulk OUT transfers, consumed in order (default: all bytes written). */
  readonly outReplies: FakeOutReply[] = [];
  /** Replies to control IN (default [0] = max LUN 0). */
  readonly controlInReplies: FakeInReply[] = [];
  readonly controlOutReplies: FakeOutReply[] = [];
  /** Every setup packet sent. */
  readonly setups: UsbControlSetup[] = [];
  /** Data of every bulk OUT. */
  readonly written: Uint8Array[] = [];
  /** Lengths requested by bulk IN. */
  readonly inLengths: number[] = [];
  readonly hasKernelDriverMethods: boolean;
  onRemove: (() => void) | undefined;

  constructor(options: FakeDeviceOptions = {}) {
    this.vendorId = options.vendorId ?? 0x0781;
    this.productId = options.productId ?? 0x5567;
    this.deviceClass = options.deviceClass ?? 0;
    this.bus = options.bus ?? '001';
    this.ports = options.ports ?? [1];
    this.address = options.address ?? 5;
    this.speed = options.speed ?? 'high';
    this.handle = options.handle ?? `fake-${this.bus}-${this.address}`;
    [this.deviceVersionMajor, this.deviceVersionMinor, this.deviceVersionSubminor] = options.deviceVersion ?? [undefined, undefined, undefined];
    this.#serial = options.serialNumber === undefined ? 'SN0001' : options.serialNumber;
    this.#manufacturer = options.manufacturerName === undefined ? 'FakeCorp' : options.manufacturerName;
    this.#product = options.productName === undefined ? 'Fake Disk' : options.productName;
    this.#interfaces = options.interfaces ?? [{ interfaceNumber: 0, alternates: [{ bulk: [1, 2] }] }];
    this.activeConfiguration = 'activeConfiguration' in options ? options.activeConfiguration : 1;
    this.kernelDrivers = new Map(Object.entries(options.kernelDrivers ?? {}).map(([k, v]) => [Number(k), v]));
    this.hasKernelDriverMethods = options.noKernelDriverMethods !== true;
    if (!this.hasKernelDriverMethods) {
      // node-usb on other platforms: the methods exist but we model "absent".
      Object.defineProperty(this, 'detachKernelDriver', { value: undefined });
      Object.defineProperty(this, 'attachKernelDriver', { value: undefined });
    }
  }

  get serialNumber(): string | null {
    return this.#serial;
  }
  get manufacturerName(): string | null {
    return this.#manufacturer;
  }
  get productName(): string | null {
    return this.#product;
  }

  #config(): UsbConfigurationLike {
    const interfaces: UsbInterfaceLike[] = this.#interfaces.map((i) => {
      const alternates = i.alternates.map(alternateOf);
      const current = this.selectedAlternate.get(i.interfaceNumber) ?? 0;
      const alternate = alternates.find((a) => a.alternateSetting === current) ?? alternates[0];
      if (alternate === undefined) throw new Error('fake: interface without alternates');
      return { interfaceNumber: i.interfaceNumber, claimed: this.claimed.has(i.interfaceNumber), alternate, alternates };
    });
    return { configurationValue: 1, interfaces };
  }

  get configuration(): UsbConfigurationLike | null {
    if (this.activeConfiguration === undefined) throw nativeError('configuration', 'device is not configured');
    return this.#config();
  }

  get configurations(): UsbConfigurationLike[] {
    return [this.#config()];
  }

  #enter(method: string, args: string): void {
    this.calls.push(`${method}(${args})`);
    const fail = this.failNext.get(method);
    if (fail !== undefined) {
      this.failNext.delete(method);
      throw fail;
    }
  }

  async open(): Promise<void> {
    this.#enter('open', '');
    if (this.gone) throw nativeError('open', 'failed to open device: No such device (os error 19)');
    this.opened = true;
  }
  async close(): Promise<void> {
    this.#enter('close', '');
    this.opened = false;
    this.claimed.clear();
  }
  async reset(): Promise<void> {
    this.#enter('reset', '');
    if (!this.opened) throw nativeError('reset', 'invalid state');
    // A reset drops the claim; Linux re-binds usb-storage.
    this.claimed.clear();
    for (const i of this.#interfaces) if (!this.kernelDrivers.has(i.interfaceNumber)) this.kernelDrivers.set(i.interfaceNumber, 'usb-storage');
  }
  async selectConfiguration(value: number): Promise<void> {
    this.#enter('selectConfiguration', String(value));
    this.activeConfiguration = value;
  }
  async claimInterface(n: number): Promise<void> {
    this.#enter('claimInterface', String(n));
    if (!this.opened) throw nativeError('claimInterface', 'invalid state');
    if (this.kernelDrivers.has(n)) throw nativeError('claimInterface', 'failed to claim interface: Device or resource busy (os error 16)');
    this.claimed.add(n);
  }
  async releaseInterface(n: number): Promise<void> {
    this.#enter('releaseInterface', String(n));
    if (!this.claimed.has(n)) throw nativeError('releaseInterface', 'not claimed');
    this.claimed.delete(n);
  }
  async selectAlternateInterface(n: number, alt: number): Promise<void> {
    this.#enter('selectAlternateInterface', `${n},${alt}`);
    if (!this.claimed.has(n)) throw nativeError('selectAlternateInterface', 'invalid state');
    this.selectedAlternate.set(n, alt);
  }
  async clearHalt(direction: UsbDirection, endpoint: number): Promise<void> {
    this.#enter('clearHalt', `${direction},${endpoint}`);
    if (this.#pending.has(`${direction}${endpoint}`)) throw nativeError('clearHalt', 'endpoint not found');
    if (this.claimed.size === 0) throw nativeError('clearHalt', 'endpoint not found');
  }
  async detachKernelDriver(n: number): Promise<void> {
    this.#enter('detachKernelDriver', String(n));
    if (!this.kernelDrivers.has(n)) throw nativeError('detachKernelDriver', 'No data available (os error 61)');
    this.kernelDrivers.delete(n);
  }
  async attachKernelDriver(n: number): Promise<void> {
    this.#enter('attachKernelDriver', String(n));
    if (this.claimed.has(n)) throw nativeError('attachKernelDriver', 'Device or resource busy (os error 16)');
    this.kernelDrivers.set(n, 'usb-storage');
  }

  /** Runs a transfer the way node-usb does: one pending per endpoint, native timeout -> Cancelled. */
  #transfer<T>(key: string, op: string, timeoutMs: number, reply: T | 'stall' | 'hang' | Error, value: (r: T) => T): Promise<T> {
    if (this.gone || this.claimed.size === 0 || this.#pending.has(key)) return Promise.reject(nativeError(op, 'endpoint not found'));
    if (reply instanceof Error) return Promise.reject(reply);
    if (reply === 'stall') return Promise.reject(nativeError(op, op.startsWith('control') ? 'endpoint stalled' : 'Stall'));
    return new Promise<T>((resolve, reject) => {
      const finish = (fn: () => void): void => {
        clearTimeout(timer);
        this.#pending.delete(key);
        fn();
      };
      const timer = setTimeout(() => finish(() => reject(nativeError(op, op.startsWith('control') ? 'transfer was cancelled' : 'Cancelled'))), timeoutMs);
      this.#pending.set(key, { op, reject: (e) => finish(() => reject(e)) });
      if (reply !== 'hang') {
        // Complete on a later macrotask, like a real transfer.
        setTimeout(() => {
          if (this.#pending.has(key)) finish(() => resolve(value(reply)));
        }, 0);
      }
    });
  }

  /** Number of transfers pending right now. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  async nativeTransferIn(endpoint: number, timeoutMs: number, length: number): Promise<Uint8Array | null> {
    this.calls.push(`transferIn(${endpoint},${length})`);
    this.inLengths.push(length);
    const reply: FakeInReply = this.inReplies.length > 0 ? (this.inReplies.shift() as FakeInReply) : 'hang';
    return this.#transfer<Uint8Array | null>(`in${endpoint}`, 'transferIn', timeoutMs, reply, (r) => (r === null ? null : r.slice(0, length)));
  }
  async nativeTransferOut(endpoint: number, timeoutMs: number, data: Uint8Array): Promise<number> {
    this.calls.push(`transferOut(${endpoint},${data.length})`);
    this.written.push(data.slice());
    const reply = this.outReplies.shift() ?? data.length;
    return this.#transfer<number>(`out${endpoint}`, 'transferOut', timeoutMs, reply, (r) => r);
  }
  async nativeControlTransferIn(setup: UsbControlSetup, timeoutMs: number, length: number): Promise<Uint8Array | null> {
    this.calls.push(`controlIn(0x${setup.request.toString(16)})`);
    this.setups.push(setup);
    if (this.claimed.size === 0) throw nativeError('controlTransferIn', 'invalid state');
    const reply: FakeInReply = this.controlInReplies.length > 0 ? (this.controlInReplies.shift() as FakeInReply) : new Uint8Array([0]);
    return this.#transfer<Uint8Array | null>('ctrl', 'controlTransferIn', timeoutMs, reply, (r) => (r === null ? null : r.slice(0, length)));
  }
  async nativeControlTransferOut(setup: UsbControlSetup, timeoutMs: number, data?: Uint8Array | null): Promise<number> {
    this.calls.push(`controlOut(0x${setup.request.toString(16)})`);
    this.setups.push(setup);
    if (this.claimed.size === 0) throw nativeError('controlTransferOut', 'invalid state');
    const reply = this.controlOutReplies.shift() ?? data?.length ?? 0;
    return this.#transfer<number>('ctrl', 'controlTransferOut', timeoutMs, reply, (r) => r);
  }

  /** Unplug: pending transfers fail with nusb's Disconnected status; the hub's event follows via FakeUsb. */
  unplug(): void {
    this.gone = true;
    for (const [, p] of this.#pending) p.reject(nativeError(p.op, p.op.startsWith('control') ? 'device disconnected' : 'Disconnected'));
    this.#pending.clear();
    this.claimed.clear();
    this.onRemove?.();
  }
}

export class FakeUsb implements UsbLike {
  devices: FakeUsbDevice[] = [];
  readonly listeners = { connect: new Set<UsbConnectionListener>(), disconnect: new Set<UsbConnectionListener>() };
  /** When set, getDevices rejects like node-usb without a USB subsystem. */
  unavailable = false;

  constructor(devices: FakeUsbDevice[] = []) {
    for (const d of devices) this.add(d, false);
  }

  async getDevices(): Promise<UsbDeviceLike[]> {
    if (this.unavailable) throw new Error('/sys/bus/usb/devices/ not found');
    // node-usb returns fresh objects; identity is by `handle`. Same objects are fine for tests.
    return [...this.devices];
  }
  addEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void {
    this.listeners[type].add(listener);
  }
  removeEventListener(type: 'connect' | 'disconnect', listener: UsbConnectionListener): void {
    this.listeners[type].delete(listener);
  }
  get listenerCount(): number {
    return this.listeners.connect.size + this.listeners.disconnect.size;
  }

  add(device: FakeUsbDevice, emit = true): void {
    this.devices.push(device);
    device.onRemove = undefined;
    if (emit) for (const l of [...this.listeners.connect]) l({ device });
  }

  /** Unplugs the device: transfers fail first, then the disconnect event fires (like the real hotplug thread). */
  remove(device: FakeUsbDevice, options: { emit?: boolean } = {}): void {
    this.devices = this.devices.filter((d) => d !== device);
    device.unplug();
    if (options.emit !== false) for (const l of [...this.listeners.disconnect]) l({ device });
  }
}
