import {
  type BulkEndpointInfo,
  type MscInterfaceInfo as CoreMscInterfaceInfo,
  MSC_CLASS,
  type MscAlternateInfo,
  type TransportInfo,
  type UsbSpeed,
} from '@usbms/core';
import { bcdFromVersion, describeInterfaces, hex4 } from '@usbms/core/internal';
import { classifyUsbError, messageOf } from './map-error.js';
import { getUsb, type PlatformOptions, platformOf } from './platform.js';
import { readLinuxInterfaceState, sysfsDeviceName, sysfsInterfaceName } from './sysfs.js';
import type { UsbConfigurationLike, UsbDeviceLike } from './usb-types.js';

// The interface records are @usbms/core's (the same in @usbms/web); re-exported as this package's.
export type { AlternateKind, BulkEndpointInfo, MscAlternateInfo } from '@usbms/core';
// The class code lives in @usbms/core (bot/wire.ts); re-exported here for the CLI's imports (not public).
export { MSC_CLASS } from '@usbms/core';
export { describeInterfaces } from '@usbms/core/internal';

/**
 * One mass-storage interface of a device, and whether usbms can drive it
 * (`@usbms/core`'s record, which `@usbms/web` reports too), with what Linux says about it.
 */
export interface MscInterfaceInfo extends CoreMscInterfaceInfo {
  /** Linux: the kernel driver bound to the interface ("usb-storage", "uas", "usbfs"). */
  kernelDriver?: string;
  /** Linux: block devices of this interface's SCSI host (e.g. ["sdb"]). */
  blockDevices?: string[];
}

/**
 * One USB device as {@link listDevices} and {@link watchDevices} describe it:
 * IDs, strings, where it is attached, its speed and its mass-storage
 * interfaces. `JSON.stringify` gives a plain record (`device` is not enumerable).
 */
export interface MscDeviceInfo {
  /** "VID:PID[:SERIAL]" in hex, usable as `--device` and as `openDevice`'s selector. */
  id: string;
  vendorId: number;
  productId: number;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
  busNumber?: number;
  address?: number;
  /** Port chain from the root hub, e.g. [1, 4]. */
  ports: number[];
  /** Linux-style path "bus-port.port" (e.g. "1-1.4"), also the sysfs device name. */
  portPath?: string;
  speed: UsbSpeed;
  configurationValue?: number;
  interfaces: MscInterfaceInfo[];
  /** Set when the descriptors could not be read (e.g. no permission to open the device). */
  error?: string;
  /** The node-usb device object (not serialised by `JSON.stringify`). */
  readonly device: UsbDeviceLike;
}

/**
 * Which devices {@link listDevices} and {@link watchDevices} report. Every
 * field is optional; each one given must match.
 */
export interface DeviceFilter {
  vendorId?: number;
  productId?: number;
  serialNumber?: string;
  /**
   * Also accept this interface number when it is vendor-class (0xFF): some
   * devices speak BOT there. It must have a bulk IN and a bulk OUT endpoint.
   */
  vendorClassInterface?: number;
  /**
   * Also return devices whose descriptors could not be read (`error` set,
   * `interfaces` empty): typically no permission to open them, so whether
   * they are mass storage is unknown.
   */
  includeUnreadable?: boolean;
}

/**
 * node-usb's `speed` ('low', 'full', 'high', 'super', 'superPlus', any case)
 * as a {@link UsbSpeed}; missing or unrecognised values become 'unknown'.
 */
export function mapSpeed(speed: string | null | undefined): UsbSpeed {
  switch (speed?.toLowerCase()) {
    case 'low':
      return 'low';
    case 'full':
      return 'full';
    case 'high':
      return 'high';
    case 'super':
      return 'super';
    case 'superplus':
    case 'super-plus':
      return 'super-plus';
    default:
      return 'unknown';
  }
}

function readConfiguration(device: UsbDeviceLike): { config?: UsbConfigurationLike; error?: string } {
  try {
    const active = device.configuration;
    if (active) return { config: active };
  } catch (error) {
    // node-usb throws for an unconfigured device; fall back to the first configuration.
    void error;
  }
  try {
    const first = device.configurations[0];
    if (first !== undefined) return { config: first };
    return { error: 'the device has no configuration descriptor' };
  } catch (error) {
    return { error: messageOf(error) };
  }
}

/** A string descriptor node-usb may fail to read, or report empty: undefined then. */
export function safeString(read: () => string | null | undefined): string | undefined {
  try {
    const value = read();
    return value === null || value === undefined || value === '' ? undefined : value;
  } catch {
    // node-usb opens the device to read string descriptors; without permission it throws.
    return undefined;
  }
}

/** A Bulk-Only alternate setting with both bulk endpoints (what a transport claims). */
export type BotAlternate = MscAlternateInfo & { bulkIn: BulkEndpointInfo; bulkOut: BulkEndpointInfo };

/**
 * The `TransportInfo` of a claimed Bulk-Only interface of a node-usb device:
 * one builder for every Node backend, so quirk rules (bcdDevice ranges) and
 * capture addresses (bus, device address, endpoints) read the same facts.
 */
export function transportInfoOf(device: UsbDeviceLike, iface: MscInterfaceInfo, alt: BotAlternate, maxTransferSize: number | undefined): TransportInfo {
  const info: TransportInfo = {
    maxPacketSizeIn: alt.bulkIn.packetSize,
    maxPacketSizeOut: alt.bulkOut.packetSize,
    speed: mapSpeed(device.speed),
    vendorId: device.vendorId,
    productId: device.productId,
    interfaceNumber: iface.interfaceNumber,
    interfaceSubclass: alt.interfaceSubclass,
    interfaceProtocol: alt.interfaceProtocol,
    endpointIn: alt.bulkIn.address,
    endpointOut: alt.bulkOut.address,
  };
  if (maxTransferSize !== undefined) info.maxTransferSize = maxTransferSize;
  const busNumber = device.bus === undefined ? Number.NaN : Number.parseInt(device.bus, 10);
  if (Number.isInteger(busNumber)) info.busNumber = busNumber;
  if (device.address !== undefined) info.deviceAddress = device.address;
  if (device.deviceVersionMajor !== undefined) {
    info.bcdDevice = bcdFromVersion(device.deviceVersionMajor, device.deviceVersionMinor ?? 0, device.deviceVersionSubminor ?? 0);
  }
  const serial = safeString(() => device.serialNumber);
  const manufacturer = safeString(() => device.manufacturerName);
  const product = safeString(() => device.productName);
  if (serial !== undefined) info.serialNumber = serial;
  if (manufacturer !== undefined) info.manufacturer = manufacturer;
  if (product !== undefined) info.product = product;
  return info;
}

/** Builds the info record of one device, reading sysfs on Linux. */
export async function describeDevice(device: UsbDeviceLike, filter: DeviceFilter = {}, options: PlatformOptions = {}): Promise<MscDeviceInfo> {
  const serialNumber = safeString(() => device.serialNumber);
  const manufacturer = safeString(() => device.manufacturerName);
  const product = safeString(() => device.productName);
  const ports = [...(device.ports ?? [])];
  const portPath = sysfsDeviceName(device.bus, device.ports);
  const busNumber = device.bus === undefined ? undefined : Number.parseInt(device.bus, 10);
  const { config, error } = readConfiguration(device);
  const interfaces: MscInterfaceInfo[] = config === undefined ? [] : describeInterfaces(config, filter.vendorClassInterface);
  if (platformOf(options) === 'linux' && portPath !== undefined && config !== undefined) {
    for (const iface of interfaces) {
      const state = await readLinuxInterfaceState(sysfsInterfaceName(portPath, config.configurationValue, iface.interfaceNumber), options.linuxRoots);
      if (state.driver !== undefined) iface.kernelDriver = state.driver;
      if (state.blockDevices.length > 0) iface.blockDevices = state.blockDevices;
    }
  }
  const info: MscDeviceInfo = {
    id: `${hex4(device.vendorId)}:${hex4(device.productId)}${serialNumber === undefined ? '' : `:${serialNumber}`}`,
    vendorId: device.vendorId,
    productId: device.productId,
    ports,
    speed: mapSpeed(device.speed),
    interfaces,
    device,
  };
  Object.defineProperty(info, 'device', { enumerable: false });
  if (serialNumber !== undefined) info.serialNumber = serialNumber;
  if (manufacturer !== undefined) info.manufacturer = manufacturer;
  if (product !== undefined) info.product = product;
  if (busNumber !== undefined && Number.isFinite(busNumber)) info.busNumber = busNumber;
  if (device.address !== undefined) info.address = device.address;
  if (portPath !== undefined) info.portPath = portPath;
  if (config !== undefined) info.configurationValue = config.configurationValue;
  if (error !== undefined) info.error = error;
  return info;
}

function matchesIds(device: UsbDeviceLike, filter: DeviceFilter): boolean {
  if (filter.vendorId !== undefined && device.vendorId !== filter.vendorId) return false;
  if (filter.productId !== undefined && device.productId !== filter.productId) return false;
  return true;
}

/**
 * Lists attached USB mass-storage devices (and the vendor-class interface
 * named in `filter.vendorClassInterface`), with their interfaces, endpoints,
 * and on Linux the bound kernel driver and block devices.
 *
 * ```ts
 * for (const d of await listDevices()) console.log(d.id, d.product, d.interfaces);
 * ```
 */
export async function listDevices(filter: DeviceFilter = {}, options: PlatformOptions = {}): Promise<MscDeviceInfo[]> {
  const usb = await getUsb(options);
  let devices: UsbDeviceLike[];
  try {
    devices = await usb.getDevices();
  } catch (error) {
    const c = classifyUsbError(error, { operation: 'enumerate', disconnected: false });
    throw c.kind === 'error' ? c.error : error;
  }
  const out: MscDeviceInfo[] = [];
  for (const device of devices) {
    if (!matchesIds(device, filter)) continue;
    const info = await describeDevice(device, filter, options);
    if (filter.serialNumber !== undefined && info.serialNumber !== filter.serialNumber) continue;
    // Without descriptors we cannot know; keep devices the caller named by ID.
    const named = filter.vendorId !== undefined || filter.includeUnreadable === true;
    if (info.interfaces.length === 0 && !(info.error !== undefined && (named || device.deviceClass === MSC_CLASS))) continue;
    out.push(info);
  }
  return out;
}

/** Same physical attachment: node-usb's handle when both have one, else identity, else bus/address/IDs. */
export function sameDevice(a: UsbDeviceLike, b: UsbDeviceLike): boolean {
  if (a === b) return true;
  if (a.handle !== undefined && b.handle !== undefined) return a.handle === b.handle;
  return a.vendorId === b.vendorId && a.productId === b.productId && a.bus !== undefined && a.bus === b.bus && a.address === b.address;
}

/** Callbacks of {@link watchDevices}; all optional. */
export interface WatchHandlers {
  /**
   * A mass-storage device matching the filter was plugged in and its
   * descriptors were read (also each device present at start, with `includeExisting`).
   */
  onAttach?: (info: MscDeviceInfo) => void;
  /**
   * A device known to the watcher was unplugged; `info` is what was recorded
   * when it was first seen. Also fires for devices present at start, even
   * without `includeExisting`.
   */
  onDetach?: (info: MscDeviceInfo) => void;
  /** Descriptor read failures and listener exceptions. Default: ignored. */
  onError?: (error: unknown) => void;
}

export interface WatchOptions extends PlatformOptions {
  filter?: DeviceFilter;
  /** Also report devices already attached when watching starts, as `onAttach`. */
  includeExisting?: boolean;
}

/**
 * Hotplug events for mass-storage devices. Returns a function that stops
 * watching (node-usb's hotplug watcher keeps the process alive until then).
 * `onDetach` gets the info recorded at attach time (descriptors of a device
 * that is gone can no longer be read).
 */
export function watchDevices(handlers: WatchHandlers, options: WatchOptions = {}): () => void {
  const filter = options.filter ?? {};
  const known: MscDeviceInfo[] = [];
  let stopped = false;
  let usbRef: Awaited<ReturnType<typeof getUsb>> | undefined;
  const report = (error: unknown): void => handlers.onError?.(error);
  const onConnect = (event: { device: UsbDeviceLike }): void => {
    if (!matchesIds(event.device, filter)) return;
    describeDevice(event.device, filter, options).then((info) => {
      if (stopped || info.interfaces.length === 0) return;
      if (filter.serialNumber !== undefined && info.serialNumber !== filter.serialNumber) return;
      known.push(info);
      handlers.onAttach?.(info);
    }, report);
  };
  const onDisconnect = (event: { device: UsbDeviceLike }): void => {
    const index = known.findIndex((info) => sameDevice(info.device, event.device));
    if (index < 0) return;
    const [info] = known.splice(index, 1);
    if (info !== undefined && !stopped) handlers.onDetach?.(info);
  };
  getUsb(options)
    .then(async (usb) => {
      if (stopped) return;
      usbRef = usb;
      // List first: on a machine without a USB subsystem this rejects cleanly,
      // and we never start node-usb's hotplug watcher there.
      const existing = await listDevices(filter, options);
      if (stopped) return;
      for (const info of existing) {
        if (info.interfaces.length === 0) continue;
        known.push(info);
        if (options.includeExisting === true) handlers.onAttach?.(info);
      }
      usb.addEventListener('connect', onConnect);
      usb.addEventListener('disconnect', onDisconnect);
    }, report)
    .catch(report);
  return () => {
    if (stopped) return;
    stopped = true;
    usbRef?.removeEventListener('connect', onConnect);
    usbRef?.removeEventListener('disconnect', onDisconnect);
  };
}
