import { InvalidArgumentError, MscDevice, type MscDeviceOptions, NotFoundError } from '@usbms/core';
import { type Backend, chooseBackend } from './backend.js';
import { type DeviceFilter, listDevices, type MscDeviceInfo } from './discovery.js';
import { getUsb } from './platform.js';
import { NodeUsbTransport, type NodeUsbTransportOptions } from './transport.js';
import type { UsbDeviceLike } from './usb-types.js';
import { prestartUsbfsReaper, UsbfsTransport, type UsbfsTransportOptions } from './usbfs/transport.js';

/**
 * Which device to open:
 * - an `MscDeviceInfo` from `listDevices()`;
 * - a string "VID:PID" or "VID:PID:SERIAL" (hex IDs, as `lsusb` prints them);
 * - a number: the index in `listDevices()` order;
 * - a filter `{ vendorId?, productId?, serialNumber? }` (must match exactly one device).
 */
export type DeviceSelector = MscDeviceInfo | string | number | DeviceFilter;

/** Parses "VID:PID[:SERIAL]" (hex). */
export function parseDeviceId(text: string): DeviceFilter {
  const m = /^([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4})(?::(.+))?$/.exec(text.trim());
  if (m === null) throw new InvalidArgumentError(`Device "${text}" is not VID:PID[:SERIAL] (hex, e.g. 0781:5567 or 0781:5567:4C530001)`);
  const filter: DeviceFilter = { vendorId: Number.parseInt(m[1] ?? '', 16), productId: Number.parseInt(m[2] ?? '', 16) };
  if (m[3] !== undefined) filter.serialNumber = m[3];
  return filter;
}

function isInfo(selector: DeviceSelector): selector is MscDeviceInfo {
  return typeof selector === 'object' && 'interfaces' in selector && 'device' in selector;
}

/** Resolves a selector to exactly one device, with errors that list the candidates. */
export async function resolveDevice(selector: DeviceSelector, options: NodeUsbTransportOptions = {}): Promise<MscDeviceInfo> {
  if (isInfo(selector)) return selector;
  const vendorClass = options.vendorClassInterface === undefined ? {} : { vendorClassInterface: options.vendorClassInterface };
  if (typeof selector === 'number') {
    const all = await listDevices(vendorClass, options);
    const picked = all[selector];
    if (!Number.isInteger(selector) || picked === undefined) {
      throw new NotFoundError(`No mass-storage device at index ${selector} (${all.length} found; see \`usbms list\`)`);
    }
    return picked;
  }
  const filter = typeof selector === 'string' ? parseDeviceId(selector) : selector;
  const matches = await listDevices({ ...filter, ...vendorClass }, options);
  const what = typeof selector === 'string' ? selector : JSON.stringify(selector);
  if (matches.length === 0) throw new NotFoundError(`No mass-storage device matches ${what} (see \`usbms list\`)`);
  if (matches.length > 1) {
    throw new InvalidArgumentError(
      `${matches.length} devices match ${what}: ${matches.map((m) => `${m.id} at ${m.portPath ?? '?'}`).join(', ')}. Add the serial number (VID:PID:SERIAL) or use an index.`,
    );
  }
  const only = matches[0];
  if (only === undefined) throw new NotFoundError(`No mass-storage device matches ${what}`);
  return only;
}

/** Options of {@link openTransport}: the transport's, plus which backend to use. */
export interface OpenTransportOptions extends UsbfsTransportOptions {
  /**
   * `usb` (node-usb) or `usbfs` (Linux: usbfs ioctls straight from usbms). Default: `USBMS_BACKEND`, else
   * `usbfs` on Linux where it can run, else `usb` (see `chooseBackend`).
   */
  backend?: Backend;
}

/**
 * Finds, opens and claims a device; returns the transport (for use with
 * `MscDevice.open`, or to drive BOT directly). Discovery always goes through
 * node-usb; the transfers go through the chosen backend.
 */
export async function openTransport(selector: DeviceSelector | UsbDeviceLike, options: OpenTransportOptions = {}): Promise<NodeUsbTransport | UsbfsTransport> {
  const { backend } = chooseBackend(options.backend, {
    ...(options.platform === undefined ? {} : { platform: options.platform }),
    customUsb: options.usb !== undefined,
  });
  // The usbfs reaper thread boots while node-usb loads and discovery runs (in an emulated
  // guest that hides ~0.6 s of a CLI call; natively ~10 ms).
  const release = backend === 'usbfs' ? prestartUsbfsReaper(options) : undefined;
  try {
    const usb = await getUsb(options);
    const device = isUsbDevice(selector) ? selector : (await resolveDevice(selector, { ...options, usb })).device;
    if (backend === 'usbfs') return await UsbfsTransport.open(device, options);
    return await NodeUsbTransport.open(device, { ...options, usb } satisfies NodeUsbTransportOptions);
  } finally {
    release?.();
  }
}

function isUsbDevice(selector: DeviceSelector | UsbDeviceLike): selector is UsbDeviceLike {
  return typeof selector === 'object' && 'nativeTransferIn' in selector;
}

/**
 * Options of {@link openDevice}, flat as in `@usbms/web`'s `openDevice`: the
 * transport's (interface, kernel-driver handoff, backend) and `MscDevice.open`'s
 * (`readOnly`, `quirks`, `defaultTimeoutMs`, `maxTransferBytes`, ...).
 */
export interface OpenDeviceOptions extends OpenTransportOptions, MscDeviceOptions {
  /** @deprecated Use `defaultTimeoutMs` (the same setting, named as in `MscDeviceOptions`); removed in 0.3. */
  transferTimeoutMs?: number;
  /** @deprecated Pass these `MscDevice` options at the top level, as `@usbms/web` takes them; removed in 0.3. */
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
 *
 * @example
 * const device = await openDevice('0781:5581', { readOnly: true });
 */
export async function openDevice(selector: DeviceSelector | UsbDeviceLike, options: OpenDeviceOptions = {}): Promise<MscDevice> {
  const transport = await openTransport(selector, options);
  const { device: nested, transferTimeoutMs, ...flat } = options;
  const deviceOptions: MscDeviceOptions = { ...nested, ...flat };
  if (flat.defaultTimeoutMs === undefined && transferTimeoutMs !== undefined) deviceOptions.defaultTimeoutMs = transferTimeoutMs;
  // MscDevice.open closes the transport itself when discovery fails.
  return MscDevice.open(transport, deviceOptions);
}
