import type { MscDeviceOptions } from '@usbms/core';
import { MscDevice, NotFoundError, UnsupportedError } from '@usbms/core';
import { findBotInterface, MSC_CLASS } from './descriptors.js';
import { mapWebUsbError } from './errors.js';
import type { WebUsbTransportOptions } from './transport.js';
import { WebUsbTransport } from './transport.js';
import type { UsbConnectionEventLike, UsbDeviceFilterLike, UsbDeviceLike, UsbLike } from './webusb-types.js';

/**
 * Filter matching any device with a mass-storage interface (class 0x08). WebUSB
 * §4.1 forbids a protocolCode without a subclassCode, and the subclass varies
 * (0x06 SCSI, 0x02 ATAPI, 0x05 SFF-8070i), so Bulk-Only (0x50) is checked when opening.
 */
export const MSC_FILTERS: readonly UsbDeviceFilterLike[] = [{ classCode: MSC_CLASS }];

/** Options of `requestMscDevice` and `getMscDevices`. */
export interface RequestMscDeviceOptions {
  /**
   * Extra filters, e.g. `{ vendorId: 0x0781, productId: 0x5581 }` for a device
   * that speaks BOT on a vendor-specific interface. They are added to the
   * mass-storage class filter unless `massStorageFilter` is false.
   */
  filters?: readonly UsbDeviceFilterLike[];
  /** Include the class 0x08 filter. Default true. */
  massStorageFilter?: boolean;
}

/**
 * `navigator.usb`, or an UnsupportedError explaining where WebUSB exists.
 */
export function getWebUsb(): UsbLike {
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

function filtersFor(options: RequestMscDeviceOptions): UsbDeviceFilterLike[] {
  const filters = options.massStorageFilter === false ? [] : [...MSC_FILTERS];
  filters.push(...(options.filters ?? []));
  return filters;
}

/**
 * Shows the browser's device chooser for mass-storage devices (must be called
 * from a user gesture, e.g. a click handler).
 *
 * @example
 * button.onclick = async () => {
 *   const usbDevice = await requestMscDevice(navigator.usb);
 *   const device = await openWebUsbDevice(usbDevice);
 * };
 */
export async function requestMscDevice(usb: UsbLike = getWebUsb(), options: RequestMscDeviceOptions = {}): Promise<UsbDeviceLike> {
  const filters = filtersFor(options);
  if (filters.length === 0) throw new NotFoundError('requestMscDevice: no filters (massStorageFilter is false and no filters were given)');
  try {
    return await usb.requestDevice({ filters });
  } catch (error) {
    // Chromium rejects with NotFoundError "No device selected." when the user cancels the chooser.
    throw mapWebUsbError(error, 'request-device');
  }
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

/** Devices this page already has permission for that match the filters (no chooser). */
export async function getMscDevices(usb: UsbLike = getWebUsb(), options: RequestMscDeviceOptions = {}): Promise<UsbDeviceLike[]> {
  let devices: UsbDeviceLike[];
  try {
    devices = await usb.getDevices();
  } catch (error) {
    throw mapWebUsbError(error, 'get-devices');
  }
  const filters = filtersFor(options);
  return devices.filter((d) => filters.some((f) => matches(d, f)));
}

/** Callbacks of `watchMscDevices`. */
export interface WatchMscDevicesHandlers {
  /** A permitted device matching the filters was plugged in (WebUSB fires `connect` only for permitted devices). */
  onConnect?: (device: UsbDeviceLike) => void;
  /** A matching device was unplugged. */
  onDisconnect?: (device: UsbDeviceLike) => void;
}

/**
 * Follows WebUSB `connect`/`disconnect` events for mass-storage devices (and
 * the extra filters). Returns a function that stops watching.
 *
 * @example
 * const stop = watchMscDevices(navigator.usb, { onConnect: (d) => console.log('plugged', d.productName) });
 */
export function watchMscDevices(usb: UsbLike, handlers: WatchMscDevicesHandlers, options: RequestMscDeviceOptions = {}): () => void {
  const filters = filtersFor(options);
  const wanted = (device: UsbDeviceLike) => filters.some((f) => matches(device, f));
  const onConnect = (event: UsbConnectionEventLike) => {
    if (wanted(event.device)) handlers.onConnect?.(event.device);
  };
  const onDisconnect = (event: UsbConnectionEventLike) => {
    if (wanted(event.device)) handlers.onDisconnect?.(event.device);
  };
  usb.addEventListener('connect', onConnect);
  usb.addEventListener('disconnect', onDisconnect);
  return () => {
    usb.removeEventListener('connect', onConnect);
    usb.removeEventListener('disconnect', onDisconnect);
  };
}

/** Options of `openWebUsbDevice`: the transport's (interface selection, `usb`, transfer limits) and `MscDevice.open`'s. */
export interface OpenWebUsbDeviceOptions extends WebUsbTransportOptions, MscDeviceOptions {}

/**
 * Opens a WebUSB device as an `MscDevice`: claims its Bulk-Only interface and
 * discovers its logical units. Throws ProtectedClassError (with what to do
 * instead) when the browser does not allow mass storage.
 *
 * @example
 * const device = await openWebUsbDevice(await requestMscDevice());
 * const sector0 = await device.lun(0).read(0, 1);
 */
export async function openWebUsbDevice(usbDevice: UsbDeviceLike, options: OpenWebUsbDeviceOptions = {}): Promise<MscDevice> {
  findBotInterface(usbDevice, options);
  const transport = await WebUsbTransport.open(usbDevice, options);
  try {
    return await MscDevice.open(transport, options);
  } catch (error) {
    await transport.close();
    throw error;
  }
}
