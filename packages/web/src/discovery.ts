import { type MscInterfaceInfo, NotFoundError, UnsupportedError } from '@usbms/core';
import { describeInterfaces, hex4 } from '@usbms/core/internal';
import { MSC_CLASS } from './descriptors.js';
import { mapWebUsbError } from './errors.js';
import type { UsbConnectionEventLike, UsbDeviceFilterLike, UsbDeviceLike, UsbLike } from './webusb-types.js';

// Discovery with the same verbs, option shapes and record fields as @usbms/node's
// discovery.ts: listDevices(filter, options), watchDevices(handlers, { filter,
// includeExisting }), describeDevice(device) -> MscDeviceInfo, plus the browser's
// chooser, requestDevice(filter, options).

/**
 * Filter matching any device with a mass-storage interface (class 0x08). WebUSB
 * §4.1 forbids a protocolCode without a subclassCode, and the subclass varies
 * (0x06 SCSI, 0x02 ATAPI, 0x05 SFF-8070i), so Bulk-Only (0x50) is checked when opening.
 */
const MSC_FILTERS: readonly UsbDeviceFilterLike[] = [{ classCode: MSC_CLASS }];

/**
 * Which devices {@link listDevices}, {@link requestDevice} and {@link watchDevices}
 * report. Every field is optional; `vendorId`, `productId` and `serialNumber`
 * mean what they mean in `@usbms/node`'s `DeviceFilter`.
 *
 * @category Devices
 */
export interface DeviceFilter {
  vendorId?: number;
  productId?: number;
  serialNumber?: string;
  /**
   * Extra WebUSB filters, e.g. `{ vendorId: 0x0781, productId: 0x5581 }` for a
   * device that speaks BOT on a vendor-specific interface. They are added to the
   * mass-storage class filter unless `massStorageFilter` is false.
   */
  filters?: readonly UsbDeviceFilterLike[];
  /** Include the class 0x08 filter. Default true. */
  massStorageFilter?: boolean;
}

/**
 * Options shared by the entry points that touch WebUSB (as `@usbms/node`'s
 * `PlatformOptions`).
 *
 * @category Devices
 */
export interface PlatformOptions {
  /** The WebUSB `USB` object. Default: `navigator.usb`. */
  usb?: UsbLike;
}

/**
 * One USB device as {@link listDevices}, {@link requestDevice} and
 * {@link watchDevices} describe it: the fields of `@usbms/node`'s
 * `MscDeviceInfo` with the same names and the same interface records, less
 * what the browser does not reveal (bus, ports, speed, kernel drivers).
 * `JSON.stringify` gives a plain record (`device` is not enumerable).
 *
 * @category Devices
 */
export interface MscDeviceInfo {
  /** "VID:PID[:SERIAL]" in hex, as in `@usbms/node`. */
  id: string;
  vendorId: number;
  productId: number;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
  /** The configuration described: the active one, else the first. */
  configurationValue?: number;
  /** Its mass-storage interfaces (and whether usbms can drive each), as `@usbms/node` reports them. */
  interfaces: MscInterfaceInfo[];
  /** The WebUSB device object (not serialised by `JSON.stringify`); pass the record or this to `openDevice`. */
  readonly device: UsbDeviceLike;
}

/**
 * `navigator.usb`, or an UnsupportedError explaining where WebUSB exists.
 *
 * @internal
 */
export function getWebUsb(options: PlatformOptions = {}): UsbLike {
  if (options.usb !== undefined) return options.usb;
  const nav = (globalThis as { navigator?: { usb?: UsbLike } }).navigator;
  if (!nav?.usb) {
    throw new UnsupportedError(
      'WebUSB is not available here. It exists only in Chromium-based browsers (Chrome, Edge, Opera) and ' +
        'Electron, on a secure origin (https:// or http://localhost); Firefox and Safari do not implement it. ' +
        'Use @usbms/node from Node.js instead.',
    );
  }
  return nav.usb;
}

/** The WebUSB filters of a {@link DeviceFilter}: the class filter and the extra ones, each narrowed by the IDs given. */
function filtersFor(filter: DeviceFilter): UsbDeviceFilterLike[] {
  const ids: UsbDeviceFilterLike = {};
  if (filter.vendorId !== undefined) ids.vendorId = filter.vendorId;
  if (filter.productId !== undefined) ids.productId = filter.productId;
  if (filter.serialNumber !== undefined) ids.serialNumber = filter.serialNumber;
  const filters = filter.massStorageFilter === false ? [] : [...MSC_FILTERS];
  filters.push(...(filter.filters ?? []));
  return filters.map((f) => ({ ...f, ...ids }));
}

function matches(device: UsbDeviceLike, filter: UsbDeviceFilterLike): boolean {
  if (filter.vendorId !== undefined && filter.vendorId !== device.vendorId) return false;
  if (filter.productId !== undefined && filter.productId !== device.productId) return false;
  if (filter.serialNumber !== undefined && filter.serialNumber !== device.serialNumber) return false;
  if (filter.classCode === undefined) return true;
  // WebUSB §4.1 "matches a filter": the device class or any interface's class/subclass/protocol.
  const alts = device.configurations.flatMap((c) => c.interfaces.flatMap((i) => i.alternates));
  return alts.some(
    (a) =>
      a.interfaceClass === filter.classCode &&
      (filter.subclassCode === undefined || a.interfaceSubclass === filter.subclassCode) &&
      (filter.protocolCode === undefined || a.interfaceProtocol === filter.protocolCode),
  );
}

/**
 * The discovery record of a WebUSB device. Synchronous: unlike `@usbms/node`'s
 * (which reads sysfs and returns a promise), there is nothing to read; `await`
 * works on either.
 *
 * @category Devices
 */
export function describeDevice(device: UsbDeviceLike): MscDeviceInfo {
  const serialNumber = device.serialNumber ?? undefined;
  const config = device.configuration ?? device.configurations[0];
  const info: MscDeviceInfo = {
    id: `${hex4(device.vendorId)}:${hex4(device.productId)}${serialNumber ? `:${serialNumber}` : ''}`,
    vendorId: device.vendorId,
    productId: device.productId,
    interfaces: config === undefined ? [] : describeInterfaces(config),
    device,
  };
  Object.defineProperty(info, 'device', { enumerable: false });
  if (serialNumber) info.serialNumber = serialNumber;
  if (device.manufacturerName) info.manufacturer = device.manufacturerName;
  if (device.productName) info.product = device.productName;
  if (config !== undefined) info.configurationValue = config.configurationValue;
  return info;
}

/**
 * Mass-storage devices this page already has permission for (no chooser).
 *
 * @category Devices
 * @example
 * for (const d of await listDevices()) console.log(d.id, d.product);
 */
export async function listDevices(filter: DeviceFilter = {}, options: PlatformOptions = {}): Promise<MscDeviceInfo[]> {
  const usb = getWebUsb(options);
  let devices: UsbDeviceLike[];
  try {
    devices = await usb.getDevices();
  } catch (error) {
    throw mapWebUsbError(error, 'get-devices');
  }
  const filters = filtersFor(filter);
  return devices.filter((d) => filters.some((f) => matches(d, f))).map(describeDevice);
}

/**
 * Shows the browser's device chooser for mass-storage devices (must be called
 * from a user gesture, e.g. a click handler). Rejects with NotFoundError when
 * the user cancels.
 *
 * @category Devices
 * @example
 * button.onclick = async () => {
 *   const device = await openDevice(await requestDevice());
 * };
 */
export async function requestDevice(filter: DeviceFilter = {}, options: PlatformOptions = {}): Promise<MscDeviceInfo> {
  const usb = getWebUsb(options);
  const filters = filtersFor(filter);
  if (filters.length === 0) throw new NotFoundError('requestDevice: no filters (massStorageFilter is false and no filters were given)');
  try {
    return describeDevice(await usb.requestDevice({ filters }));
  } catch (error) {
    // Chromium rejects with NotFoundError "No device selected." when the user cancels the chooser.
    throw mapWebUsbError(error, 'request-device');
  }
}

/**
 * Callbacks of {@link watchDevices}; all optional (as `@usbms/node`'s `WatchHandlers`).
 *
 * @category Devices
 */
export interface WatchHandlers {
  /** A permitted device matching the filter was plugged in (WebUSB fires `connect` only for permitted devices); also each device present at start, with `includeExisting`. */
  onAttach?: (info: MscDeviceInfo) => void;
  /** A matching device was unplugged. */
  onDetach?: (info: MscDeviceInfo) => void;
  /** The `includeExisting` listing failed. Default: ignored. */
  onError?: (error: unknown) => void;
}

/**
 * Options of {@link watchDevices} (as `@usbms/node`'s `WatchOptions`).
 *
 * @category Devices
 */
export interface WatchOptions extends PlatformOptions {
  filter?: DeviceFilter;
  /** Also report devices already permitted and attached when watching starts, as `onAttach`. */
  includeExisting?: boolean;
}

/**
 * Follows WebUSB `connect`/`disconnect` events for mass-storage devices (and
 * the filter's extra filters). Returns a function that stops watching.
 *
 * @category Devices
 * @example
 * const stop = watchDevices({ onAttach: (d) => console.log('plugged', d.product) });
 */
export function watchDevices(handlers: WatchHandlers, options: WatchOptions = {}): () => void {
  const usb = getWebUsb(options);
  const filters = filtersFor(options.filter ?? {});
  const wanted = (device: UsbDeviceLike) => filters.some((f) => matches(device, f));
  let stopped = false;
  const onConnect = (event: UsbConnectionEventLike) => {
    if (wanted(event.device)) handlers.onAttach?.(describeDevice(event.device));
  };
  const onDisconnect = (event: UsbConnectionEventLike) => {
    if (wanted(event.device)) handlers.onDetach?.(describeDevice(event.device));
  };
  usb.addEventListener('connect', onConnect);
  usb.addEventListener('disconnect', onDisconnect);
  if (options.includeExisting === true) {
    listDevices(options.filter ?? {}, { usb }).then(
      (infos) => {
        for (const info of infos) if (!stopped) handlers.onAttach?.(info);
      },
      (error: unknown) => handlers.onError?.(error),
    );
  }
  return () => {
    stopped = true;
    usb.removeEventListener('connect', onConnect);
    usb.removeEventListener('disconnect', onDisconnect);
  };
}
