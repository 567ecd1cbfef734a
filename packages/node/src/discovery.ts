import { MSC_CLASS, MscProtocol, MscSubclass, type TransportInfo, type UsbSpeed, VENDOR_CLASS } from '@usbms/core';
import { bcdFromVersion, hex4 } from '@usbms/core/internal';
import { classifyUsbError, messageOf } from './map-error.js';
import { getUsb, type PlatformOptions, platformOf } from './platform.js';
import { readLinuxInterfaceState, sysfsDeviceName, sysfsInterfaceName } from './sysfs.js';
import type { UsbAlternateLike, UsbConfigurationLike, UsbDeviceLike, UsbEndpointLike } from './usb-types.js';

// The class code lives in @usbms/core (bot/wire.ts); re-exported here for the CLI's imports (not public).
export { MSC_CLASS } from '@usbms/core';

const SUBCLASS_NAMES: Record<number, string> = {
  [MscSubclass.Rbc]: 'RBC',
  [MscSubclass.Mmc5]: 'MMC-5 (ATAPI)',
  [MscSubclass.Qic157]: 'QIC-157 (obsolete)',
  [MscSubclass.Ufi]: 'UFI',
  [MscSubclass.Sff8070i]: 'SFF-8070i',
  [MscSubclass.ScsiTransparent]: 'SCSI transparent',
  [MscSubclass.LsdFs]: 'LSD FS',
  [MscSubclass.Ieee1667]: 'IEEE 1667',
  [MscSubclass.Vendor]: 'vendor-specific',
};

/** A bulk endpoint of an alternate setting. */
export interface BulkEndpointInfo {
  /** Endpoint number (1-15), as node-usb/WebUSB transfer calls take it. */
  endpointNumber: number;
  /** bEndpointAddress, with the direction bit (0x81, 0x02, ...). */
  address: number;
  packetSize: number;
}

/**
 * The transport of an alternate setting, from its class and protocol codes:
 * `bot` class 0x08 protocol 0x50, `uas` protocol 0x62, `cbi` protocol 0x00 or
 * 0x01, `vendor` a vendor-class interface named by the caller, `other` anything else.
 */
export type AlternateKind = 'bot' | 'uas' | 'cbi' | 'vendor' | 'other';

/** One alternate setting of a mass-storage interface: its class codes and bulk endpoints. */
export interface MscAlternateInfo {
  alternateSetting: number;
  interfaceClass: number;
  interfaceSubclass: number;
  interfaceProtocol: number;
  /** 'bot' for class 0x08 protocol 0x50, or a vendor-class interface the caller named. */
  kind: AlternateKind;
  subclassName: string;
  bulkIn?: BulkEndpointInfo;
  bulkOut?: BulkEndpointInfo;
}

/** One mass-storage interface of a device, and whether usbms can drive it. */
export interface MscInterfaceInfo {
  interfaceNumber: number;
  alternates: MscAlternateInfo[];
  /** The alternate setting that speaks Bulk-Only with both bulk endpoints, if any. */
  botAlternate?: number;
  /** The alternate setting that speaks UAS, if any (listed, not supported). */
  uasAlternate?: number;
  /** True when usbms can drive it (a BOT alternate with bulk IN and OUT). */
  supported: boolean;
  /** Why it is not supported, or a caution (non-SCSI-transparent subclass). */
  note?: string;
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

function bulkEndpoint(endpoints: readonly UsbEndpointLike[], direction: 'in' | 'out'): BulkEndpointInfo | undefined {
  const ep = endpoints.find((e) => e.type === 'bulk' && e.direction === direction);
  if (ep === undefined) return undefined;
  return {
    endpointNumber: ep.endpointNumber,
    address: ep.endpointNumber | (direction === 'in' ? 0x80 : 0),
    packetSize: ep.packetSize,
  };
}

function describeAlternate(alt: UsbAlternateLike, vendorNamed: boolean): MscAlternateInfo {
  let kind: AlternateKind = 'other';
  if (alt.interfaceClass === MSC_CLASS) {
    if (alt.interfaceProtocol === MscProtocol.BulkOnly) kind = 'bot';
    else if (alt.interfaceProtocol === MscProtocol.Uas) kind = 'uas';
    else if (alt.interfaceProtocol === MscProtocol.CbiWithInterrupt || alt.interfaceProtocol === MscProtocol.CbiNoInterrupt) kind = 'cbi';
  } else if (alt.interfaceClass === VENDOR_CLASS && vendorNamed) {
    kind = 'vendor';
  }
  const info: MscAlternateInfo = {
    alternateSetting: alt.alternateSetting,
    interfaceClass: alt.interfaceClass,
    interfaceSubclass: alt.interfaceSubclass,
    interfaceProtocol: alt.interfaceProtocol,
    kind,
    subclassName:
      alt.interfaceClass === MSC_CLASS
        ? (SUBCLASS_NAMES[alt.interfaceSubclass] ?? `unknown subclass 0x${alt.interfaceSubclass.toString(16)}`)
        : alt.interfaceClass === VENDOR_CLASS
          ? 'vendor class'
          : `class 0x${alt.interfaceClass.toString(16)}`,
  };
  const bulkIn = bulkEndpoint(alt.endpoints, 'in');
  const bulkOut = bulkEndpoint(alt.endpoints, 'out');
  if (bulkIn !== undefined) info.bulkIn = bulkIn;
  if (bulkOut !== undefined) info.bulkOut = bulkOut;
  return info;
}

/**
 * The mass-storage interfaces of a configuration: every interface with a
 * class-0x08 alternate, plus the vendor-class interface the caller named.
 * Pure (no I/O); exported for tests and for the opener.
 */
export function describeInterfaces(config: UsbConfigurationLike, vendorClassInterface?: number): MscInterfaceInfo[] {
  const out: MscInterfaceInfo[] = [];
  for (const iface of config.interfaces) {
    const alts = iface.alternates.length > 0 ? iface.alternates : [iface.alternate];
    const vendorNamed = vendorClassInterface === iface.interfaceNumber;
    const isMsc = alts.some((a) => a.interfaceClass === MSC_CLASS);
    const isNamedVendor = vendorNamed && alts.some((a) => a.interfaceClass === VENDOR_CLASS);
    if (!isMsc && !isNamedVendor) continue;
    const alternates = alts.map((a) => describeAlternate(a, vendorNamed));
    const info: MscInterfaceInfo = { interfaceNumber: iface.interfaceNumber, alternates, supported: false };
    // Prefer a class-0x08 BOT alternate; a named vendor interface is BOT by the caller's word.
    const bot =
      alternates.find((a) => a.kind === 'bot' && a.bulkIn !== undefined && a.bulkOut !== undefined) ??
      alternates.find((a) => a.kind === 'vendor' && a.bulkIn !== undefined && a.bulkOut !== undefined);
    const uas = alternates.find((a) => a.kind === 'uas');
    if (uas !== undefined) info.uasAlternate = uas.alternateSetting;
    if (bot !== undefined) {
      info.botAlternate = bot.alternateSetting;
      info.supported = true;
      if (bot.kind === 'bot' && bot.interfaceSubclass !== MscSubclass.ScsiTransparent) {
        info.note = `subclass ${bot.subclassName}: not SCSI transparent; SCSI-like commands usually work, some may not`;
      }
    } else if (uas !== undefined) {
      info.note = 'UAS-only device, not supported yet';
    } else if (alternates.some((a) => a.kind === 'cbi')) {
      info.note = 'Control/Bulk/Interrupt (CBI) transport, not supported';
    } else if (alternates.some((a) => a.kind === 'bot' || a.kind === 'vendor')) {
      info.note = 'no bulk IN/OUT endpoint pair';
    } else {
      info.note = 'unknown mass-storage transport protocol';
    }
    out.push(info);
  }
  return out;
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
  const interfaces = config === undefined ? [] : describeInterfaces(config, filter.vendorClassInterface);
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
