/**
 * `@usbms/web`: USB Mass Storage devices from Chromium-based browsers and
 * Electron renderers over WebUSB. Every export is listed here by name
 * (test/structure/public-api.test.ts pins the list). The verbs and option
 * shapes are the same as `@usbms/node`'s: `listDevices`, `watchDevices`,
 * `describeDevice`, `openDevice`, plus the browser's chooser, `requestDevice`.
 */
import { MSC_CLASS as CORE_MSC_CLASS, VENDOR_CLASS as CORE_VENDOR_CLASS, MscProtocol as CoreMscProtocol, MscSubclass as CoreMscSubclass } from '@usbms/core';

// Devices: discovery, the chooser, hotplug and opening.
// The interface records are @usbms/core's, the same as @usbms/node's.
export type { AlternateKind, BulkEndpointInfo, MscAlternateInfo, MscInterfaceInfo } from '@usbms/core';
export { BOT_PROTOCOL, type BotInterface, type BotInterfaceSelection, findBotInterface, UAS_PROTOCOL } from './descriptors.js';
export {
  type DeviceFilter,
  describeDevice,
  listDevices,
  type MscDeviceInfo,
  type PlatformOptions,
  requestDevice,
  type WatchHandlers,
  type WatchOptions,
  watchDevices,
} from './discovery.js';
export {
  getMscDevices,
  type OpenDeviceOptions,
  type OpenWebUsbDeviceOptions,
  openDevice,
  openWebUsbDevice,
  type RequestMscDeviceOptions,
  requestMscDevice,
  type WatchMscDevicesHandlers,
  watchMscDevices,
} from './open.js';

// Transports: the WebUSB transport and the WebUSB object shapes it takes.
export { WebUsbTransport, type WebUsbTransportOptions } from './transport.js';
export type {
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
} from './webusb-types.js';

/**
 * @deprecated Import `MSC_CLASS` from `@usbms/core`; removed in 0.3.
 * @category Deprecated
 */
export const MSC_CLASS = CORE_MSC_CLASS;
/**
 * @deprecated Import `MscProtocol` from `@usbms/core`; removed in 0.3.
 * @category Deprecated
 */
export const MscProtocol = CoreMscProtocol;
/**
 * @deprecated Import `MscSubclass` from `@usbms/core`; removed in 0.3.
 * @category Deprecated
 */
export const MscSubclass = CoreMscSubclass;
/**
 * @deprecated Import `VENDOR_CLASS` from `@usbms/core`; removed in 0.3.
 * @category Deprecated
 */
export const VENDOR_CLASS = CORE_VENDOR_CLASS;
