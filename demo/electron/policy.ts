/**
 * The USB policy of an Electron app that uses usbms in its renderer, as small
 * pure functions (unit-tested in policy.test.ts; main.ts wires them to
 * Electron). Only types come from 'electron', so tests never load it.
 *
 * Why each piece exists:
 * - Chromium treats mass storage (class 0x08) as a protected USB class that
 *   pages may not claim; `session.setUSBProtectedClassesHandler` is Electron's
 *   switch to lift that. Its handler is told nothing about the requesting page,
 *   so the app confines the relaxation to a session partition that only its own
 *   pages use, and checks origins in the permission handlers below.
 * - `navigator.usb.requestDevice()` shows no chooser in Electron: the main
 *   process answers 'select-usb-device' with a device id.
 * - `setPermissionCheckHandler` / `setDevicePermissionHandler` decide whether
 *   an origin may use WebUSB at all, and which devices it may keep.
 */
import type { DevicePermissionHandlerHandlerDetails, SelectUsbDeviceDetails, USBDevice, USBProtectedClassesHandlerHandlerDetails } from 'electron';

export type UsbClassName = USBProtectedClassesHandlerHandlerDetails['protectedClasses'][number];

export interface UsbmsElectronPolicy {
  /** Origins of the app's own pages, e.g. "app://usbms" or "http://localhost:5180" in development. */
  trustedOrigins: readonly string[];
  /** Devices the app may pick without asking (VID, optional PID). Empty or absent: any device the page's filters matched. */
  devices?: readonly { vendorId: number; productId?: number }[];
}

/**
 * Origin of a URL or origin string, as Chromium reports it ("scheme://host[:port]").
 * file: URLs have the opaque origin "null" in URL, but Electron reports "file://".
 */
export function originOf(urlOrOrigin: string): string | undefined {
  const text = urlOrOrigin.trim();
  if (text === 'file://' || text.startsWith('file:')) return 'file://';
  try {
    const url = new URL(text);
    if (url.origin !== 'null') return url.origin;
    // Custom schemes registered as standard (app://usbms) have a tuple origin in Chromium,
    // but the WHATWG URL parser calls them opaque: build "scheme://host[:port]" ourselves.
    return url.host ? `${url.protocol}//${url.host}` : undefined;
  } catch {
    return undefined;
  }
}

export function isTrustedOrigin(urlOrOrigin: string | undefined | null, policy: UsbmsElectronPolicy): boolean {
  if (!urlOrOrigin) return false;
  const origin = originOf(urlOrOrigin);
  return origin !== undefined && policy.trustedOrigins.some((t) => originOf(t) === origin);
}

/** For setUSBProtectedClassesHandler: keep every class protected except mass storage. */
export function protectedClassesWithoutMassStorage(details: USBProtectedClassesHandlerHandlerDetails): UsbClassName[] {
  return details.protectedClasses.filter((c) => c !== 'mass-storage');
}

/** For setPermissionCheckHandler: WebUSB ('usb') only for the app's own origins; other permissions untouched by this policy. */
export function allowPermissionCheck(permission: string, requestingOrigin: string, policy: UsbmsElectronPolicy): boolean | undefined {
  if (permission !== 'usb') return undefined;
  return isTrustedOrigin(requestingOrigin, policy);
}

function deviceAllowed(device: Pick<USBDevice, 'vendorId' | 'productId'>, policy: UsbmsElectronPolicy): boolean {
  const list = policy.devices;
  if (!list || list.length === 0) return true;
  return list.some((d) => d.vendorId === device.vendorId && (d.productId === undefined || d.productId === device.productId));
}

/** For setDevicePermissionHandler: keep permission for USB devices the policy allows, for trusted origins only. */
export function allowDevicePermission(
  details: Pick<DevicePermissionHandlerHandlerDetails, 'deviceType' | 'origin' | 'device'>,
  policy: UsbmsElectronPolicy,
): boolean {
  if (details.deviceType !== 'usb') return false;
  if (!isTrustedOrigin(details.origin, policy)) return false;
  const device = details.device as Partial<USBDevice>;
  if (typeof device.vendorId !== 'number' || typeof device.productId !== 'number') return false;
  return deviceAllowed({ vendorId: device.vendorId, productId: device.productId }, policy);
}

/**
 * For 'select-usb-device': the device id to grant, or undefined to cancel
 * (the page's requestDevice() then rejects with NotFoundError). Chromium has
 * already applied the page's filters (class 0x08 etc.) to `deviceList`.
 */
export function chooseUsbDevice(
  details: { deviceList: readonly Pick<USBDevice, 'deviceId' | 'vendorId' | 'productId'>[]; frame: { origin: string } | null },
  policy: UsbmsElectronPolicy,
): string | undefined {
  if (!details.frame || !isTrustedOrigin(details.frame.origin, policy)) return undefined;
  return details.deviceList.find((d) => deviceAllowed(d, policy))?.deviceId;
}

/** Compile-time check that chooseUsbDevice accepts Electron's own details object. */
export type ChooseAcceptsElectronDetails = SelectUsbDeviceDetails extends Parameters<typeof chooseUsbDevice>[0] ? true : never;
