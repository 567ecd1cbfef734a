import type { MscDeviceOptions } from '@usbms/core';
import { MscDevice } from '@usbms/core';
import { findBotInterface } from './descriptors.js';
import { type DeviceFilter, getWebUsb, listDevices, type MscDeviceInfo, requestDevice, watchDevices } from './discovery.js';
import type { WebUsbTransportOptions } from './transport.js';
import { WebUsbTransport } from './transport.js';
import type { UsbDeviceLike, UsbLike } from './webusb-types.js';

/**
 * Options of {@link openDevice}, flat as in `@usbms/node`'s `openDevice`: the
 * transport's (interface selection, `usb`, transfer limits) and `MscDevice.open`'s
 * (`readOnly`, `quirks`, `defaultTimeoutMs`, ...).
 *
 * @category Devices
 */
export interface OpenDeviceOptions extends WebUsbTransportOptions, MscDeviceOptions {}

/**
 * Opens a WebUSB device (or its discovery record) as an `MscDevice`: claims its
 * Bulk-Only interface and discovers its logical units. Throws
 * ProtectedClassError (with what to do instead) when the browser does not allow
 * mass storage.
 *
 * @category Devices
 * @example
 * const device = await openDevice(await requestDevice(), { readOnly: true });
 * const sector0 = await device.lun(0).read(0, 1);
 */
export async function openDevice(target: MscDeviceInfo | UsbDeviceLike, options: OpenDeviceOptions = {}): Promise<MscDevice> {
  const usbDevice = 'device' in target && 'id' in target ? target.device : (target as UsbDeviceLike);
  findBotInterface(usbDevice, options);
  const transport = await WebUsbTransport.open(usbDevice, options);
  try {
    return await MscDevice.open(transport, options);
  } catch (error) {
    await transport.close();
    throw error;
  }
}

/**
 * @deprecated Use {@link OpenDeviceOptions}; removed in 0.3.
 * @category Deprecated
 */
export type OpenWebUsbDeviceOptions = OpenDeviceOptions;

/**
 * @deprecated Use {@link openDevice} (the same function, named as in `@usbms/node`); removed in 0.3.
 * @category Deprecated
 */
export const openWebUsbDevice = openDevice;

/**
 * @deprecated Use {@link DeviceFilter}; removed in 0.3.
 * @category Deprecated
 */
export type RequestMscDeviceOptions = Pick<DeviceFilter, 'filters' | 'massStorageFilter'>;

/**
 * @deprecated Use `requestDevice(filter, { usb })`, which resolves the discovery record
 * (its `device` is what this returned); removed in 0.3.
 * @category Deprecated
 */
export async function requestMscDevice(usb: UsbLike = getWebUsb(), options: RequestMscDeviceOptions = {}): Promise<UsbDeviceLike> {
  return (await requestDevice(options, { usb })).device;
}

/**
 * @deprecated Use `listDevices(filter, { usb })`, which resolves discovery records
 * (their `device` is what this returned); removed in 0.3.
 * @category Deprecated
 */
export async function getMscDevices(usb: UsbLike = getWebUsb(), options: RequestMscDeviceOptions = {}): Promise<UsbDeviceLike[]> {
  return (await listDevices(options, { usb })).map((info) => info.device);
}

/**
 * @deprecated Use `WatchHandlers` (`onAttach`/`onDetach` with discovery records); removed in 0.3.
 * @category Deprecated
 */
export interface WatchMscDevicesHandlers {
  /** A permitted device matching the filters was plugged in. */
  onConnect?: (device: UsbDeviceLike) => void;
  /** A matching device was unplugged. */
  onDisconnect?: (device: UsbDeviceLike) => void;
}

/**
 * @deprecated Use `watchDevices({ onAttach, onDetach }, { usb, filter })`, as in `@usbms/node`; removed in 0.3.
 * @category Deprecated
 */
export function watchMscDevices(usb: UsbLike, handlers: WatchMscDevicesHandlers, options: RequestMscDeviceOptions = {}): () => void {
  return watchDevices(
    { onAttach: (info) => handlers.onConnect?.(info.device), onDetach: (info) => handlers.onDisconnect?.(info.device) },
    { usb, filter: options },
  );
}
