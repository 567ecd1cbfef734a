import type { LinuxRoots } from './sysfs.js';
import type { UsbLike } from './usb-types.js';

/**
 * Options shared by every entry point that touches the platform. All of them
 * are for tests and unusual setups; the defaults use node-usb and the real OS.
 */
export interface PlatformOptions {
  /** A WebUSB-shaped `usb` object with node-usb's native extensions. Default: node-usb's `usb`. */
  usb?: UsbLike;
  /** Default: `process.platform`. Decides kernel-driver handling and error hints. */
  platform?: NodeJS.Platform;
  /** Linux sysfs/procfs roots (tests point them at a fake tree). */
  linuxRoots?: LinuxRoots;
}

let defaultUsb: Promise<UsbLike> | undefined;

/**
 * node-usb's `usb` object, loaded on first use so that importing this package
 * (e.g. for `--sim`) never loads the native binding.
 */
export function getUsb(options: PlatformOptions = {}): Promise<UsbLike> {
  if (options.usb !== undefined) return Promise.resolve(options.usb);
  defaultUsb ??= import('usb').then((mod) => {
    // node-usb's `UsbDevice` declares the WebUSB members through the global
    // w3c-web-usb types and the native ones on a class; our structural
    // `UsbLike` is the subset we call. One cast, here only.
    const usb: unknown = mod.usb;
    return usb as UsbLike;
  });
  return defaultUsb;
}

export function platformOf(options: PlatformOptions): NodeJS.Platform {
  return options.platform ?? process.platform;
}
