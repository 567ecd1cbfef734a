/**
 * `@usbms/node`: USB Mass Storage devices from Node.js (and Electron's main
 * process) over node-usb 3.1.
 *
 * @example
 * import { listDevices, openDevice } from '@usbms/node';
 * const [info] = await listDevices();
 * const device = await openDevice(info, { readOnly: true });
 * const lu = device.lun(0);
 * console.log(lu.inquiry, await lu.readCapacity());
 * await device.close();
 */
import { MscDevice, type MscDeviceOptions } from '@usbms/core';
import { type DeviceSelector, type OpenTransportOptions, openTransport } from './open.js';
import type { UsbDeviceLike } from './usb-types.js';

export { type Backend, type BackendChoice, chooseBackend, usbfsUnavailable } from './backend.js';
export {
  type AlternateKind,
  type BulkEndpointInfo,
  type DeviceFilter,
  describeDevice,
  describeInterfaces,
  listDevices,
  MSC_CLASS,
  type MscAlternateInfo,
  type MscDeviceInfo,
  type MscInterfaceInfo,
  MscProtocol,
  MscSubclass,
  mapSpeed,
  sameDevice,
  VENDOR_CLASS,
  type WatchHandlers,
  type WatchOptions,
  watchDevices,
} from './discovery.js';
export { classifyUsbError, type UsbErrorClass, type UsbErrorContext, type UsbOperation } from './map-error.js';
export { type DeviceSelector, type OpenTransportOptions, openTransport, parseDeviceId, resolveDevice } from './open.js';
export type { PlatformOptions } from './platform.js';
export { type BlockDeviceUse, findBlockDeviceUses, type LinuxInterfaceState, type LinuxRoots, readLinuxInterfaceState } from './sysfs.js';
export { NodeUsbTransport, type NodeUsbTransportOptions, withAccessHint } from './transport.js';
export type * from './usb-types.js';
export { type UsbfsStats, UsbfsTransport, type UsbfsTransportOptions } from './usbfs/transport.js';

export interface OpenDeviceOptions extends OpenTransportOptions {
  /** Default per-command timeout in ms (each USB transfer uses it as its native timeout). */
  transferTimeoutMs?: number;
  /** Refuse every write-class command before it is sent. */
  readOnly?: boolean;
  /** Quirk flags overriding the built-in table. */
  quirks?: MscDeviceOptions['quirks'];
  /** Any other MscDevice option (quirkRules, strictResidue, maxTransferBytes, ...). */
  device?: Omit<MscDeviceOptions, 'readOnly' | 'quirks' | 'defaultTimeoutMs'>;
}

/**
 * Finds, claims and opens a mass-storage device: Linux kernel-driver handoff
 * (refused while a partition is mounted unless `force`), interface claim,
 * Get Max LUN and INQUIRY of each LUN. Close it with `device.close()`, which
 * flushes, releases the interface and re-attaches the kernel driver.
 *
 * `selector`: an entry of `listDevices()`, "VID:PID[:SERIAL]", an index into
 * `listDevices()`, a `{ vendorId, productId, serialNumber }` filter, or a
 * node-usb device object.
 */
export async function openDevice(selector: DeviceSelector | UsbDeviceLike, options: OpenDeviceOptions = {}): Promise<MscDevice> {
  const transport = await openTransport(selector, options);
  const deviceOptions: MscDeviceOptions = { ...options.device };
  if (options.readOnly !== undefined) deviceOptions.readOnly = options.readOnly;
  if (options.quirks !== undefined) deviceOptions.quirks = options.quirks;
  if (options.transferTimeoutMs !== undefined) deviceOptions.defaultTimeoutMs = options.transferTimeoutMs;
  // MscDevice.open closes the transport itself when discovery fails.
  return MscDevice.open(transport, deviceOptions);
}

export { connectRemote } from './serve/connect.js';
export {
  DEFAULT_ALLOWED_ORIGINS,
  isLoopback,
  type Listener,
  listenUnixSocket,
  listenWebSocket,
  socketPort,
  type WebSocketListenOptions,
} from './serve/listen.js';
export { clientError, READ_ONLY_OPCODES } from './serve/policy.js';
export { FairScheduler, type SchedulerJob } from './serve/scheduler.js';
export { ServedDevice } from './serve/served-device.js';
export { DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_IN_FLIGHT, RemoteServer, type RemoteServerOptions, type ServeToken } from './serve/server.js';
export { generateToken, writeTokenFile } from './serve/token.js';
