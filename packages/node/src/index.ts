/**
 * `@usbms/node`: USB Mass Storage devices from Node.js (and Electron's main
 * process) over node-usb 3.1. Every export is listed here by name
 * (test/structure/public-api.test.ts pins the list). The verbs and option
 * shapes are the same as `@usbms/web`'s: `listDevices`, `watchDevices`,
 * `describeDevice`, `openDevice`.
 *
 * @example
 * import { listDevices, openDevice } from '@usbms/node';
 * const [info] = await listDevices();
 * const device = await openDevice(info, { readOnly: true });
 * const lu = device.lun(0);
 * console.log(lu.inquiry, await lu.readCapacity());
 * await device.close();
 */
import { MSC_CLASS as CORE_MSC_CLASS, VENDOR_CLASS as CORE_VENDOR_CLASS, MscProtocol as CoreMscProtocol, MscSubclass as CoreMscSubclass } from '@usbms/core';

// Devices: discovery, hotplug and opening.
export { type Backend, type BackendEnvironment, usbfsUnavailable } from './backend.js';
export {
  type AlternateKind,
  type BulkEndpointInfo,
  type DeviceFilter,
  describeDevice,
  listDevices,
  type MscAlternateInfo,
  type MscDeviceInfo,
  type MscInterfaceInfo,
  type WatchHandlers,
  type WatchOptions,
  watchDevices,
} from './discovery.js';
export { type DeviceSelector, type OpenDeviceOptions, type OpenTransportOptions, openDevice, openTransport } from './open.js';
export type { PlatformOptions } from './platform.js';
// Remote: serve devices to other processes (usbms serve, Electron) and connect to them.
export { connectRemote } from './serve/connect.js';
export { DEFAULT_ALLOWED_ORIGINS, type Listener, listenUnixSocket, listenWebSocket, type WebSocketListenOptions } from './serve/listen.js';
export { ServedDevice } from './serve/served-device.js';
export { DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IN_FLIGHT, RemoteServer, type RemoteServerOptions, type ServeToken } from './serve/server.js';
export { generateToken, writeTokenFile } from './serve/token.js';
export type { LinuxRoots } from './sysfs.js';
// Transports: the two backends (node-usb, Linux usbfs) and the node-usb object shapes they take.
export { NodeUsbTransport, type NodeUsbTransportOptions } from './transport.js';
export type {
  UsbAlternateLike,
  UsbConfigurationLike,
  UsbConnectionEventLike,
  UsbConnectionListener,
  UsbControlSetup,
  UsbDeviceLike,
  UsbDirection,
  UsbEndpointLike,
  UsbInterfaceLike,
  UsbLike,
} from './usb-types.js';
export { type UsbfsStats, UsbfsTransport, type UsbfsTransportOptions } from './usbfs/transport.js';

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
