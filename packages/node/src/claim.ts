// Claiming a mass-storage interface from Node, for both backends (node-usb and usbfs): which
// interface, the Linux kernel-driver handoff with its mount check, and the errors that say who holds
// the interface and what to do on this platform. The transfers live in transport.ts and usbfs/.
import { AccessDeniedError, DisconnectedError, NotFoundError, TimeoutError, UnsupportedError, type UsbmsError } from '@usbms/core';
import { hex4 } from '@usbms/core/internal';
import { type BotAlternate, describeInterfaces, type MscInterfaceInfo } from './discovery.js';
import { classifyUsbError, reasonOf, type UsbOperation } from './map-error.js';
import type { PlatformOptions } from './platform.js';
import { type BlockDeviceUse, findBlockDeviceUses, readLinuxInterfaceState, sysfsDeviceName, sysfsInterfaceName } from './sysfs.js';
import type { UsbConfigurationLike, UsbDeviceLike } from './usb-types.js';

/** How a Node backend picks, hands off and claims a mass-storage interface (both backends read these). */
export interface InterfaceClaimOptions extends PlatformOptions {
  /** Interface to claim. Default: the first mass-storage interface with a Bulk-Only alternate. */
  interfaceNumber?: number;
  /** Accept this vendor-class (0xFF) interface as Bulk-Only (some devices speak BOT there). */
  vendorClassInterface?: number;
  /**
   * Linux: detach the kernel driver (usb-storage/uas) that owns the interface.
   * Default true. With false, a bound driver makes open fail with AccessDeniedError.
   */
  detachKernelDriver?: boolean;
  /** Re-attach the kernel driver on close (the OS then sees the disk again). Default true. */
  reattachOnClose?: boolean;
  /**
   * Skip the "is a partition of this disk mounted / in use?" check before
   * detaching the kernel driver. Detaching a mounted disk loses its cached writes.
   */
  force?: boolean;
}

export async function ensureConfiguration(device: UsbDeviceLike, map: (e: unknown, op: UsbOperation) => UsbmsError): Promise<UsbConfigurationLike> {
  let active: UsbConfigurationLike | null | undefined;
  try {
    active = device.configuration;
  } catch {
    // node-usb throws for an unconfigured device ("device is not configured").
    active = undefined;
  }
  if (active) return active;
  // Only now select one: SET_CONFIGURATION while kernel drivers are bound
  // fails, and on composite devices it resets every function.
  const first = device.configurations[0];
  if (first === undefined) throw new UnsupportedError('The device has no configuration descriptor');
  try {
    await device.selectConfiguration(first.configurationValue);
  } catch (error) {
    throw map(error, 'select-configuration');
  }
  try {
    return device.configuration ?? first;
  } catch {
    return first;
  }
}

/**
 * The Bulk-Only interface to claim in `config` and its BOT alternate setting
 * (with both bulk endpoints); typed errors say why there is none.
 */
export function botInterfaceOf(config: UsbConfigurationLike, options: InterfaceClaimOptions, id: string): { iface: MscInterfaceInfo; alt: BotAlternate } {
  const iface = pickInterface(describeInterfaces(config, options.vendorClassInterface), options, id);
  const alt = iface.alternates.find((a) => a.alternateSetting === iface.botAlternate);
  if (alt?.bulkIn === undefined || alt.bulkOut === undefined) {
    throw new UnsupportedError(`Interface ${iface.interfaceNumber} of ${id} has no bulk IN/OUT endpoint pair`);
  }
  return { iface, alt: { ...alt, bulkIn: alt.bulkIn, bulkOut: alt.bulkOut } };
}

export function pickInterface(interfaces: MscInterfaceInfo[], options: InterfaceClaimOptions, id: string): MscInterfaceInfo {
  if (options.interfaceNumber !== undefined) {
    const named = interfaces.find((i) => i.interfaceNumber === options.interfaceNumber);
    if (named === undefined) {
      throw new NotFoundError(
        `Interface ${options.interfaceNumber} of ${id} is not a mass-storage interface` +
          (options.vendorClassInterface === undefined ? ' (for a vendor-class interface, pass vendorClassInterface)' : ''),
      );
    }
    return checkSupported(named, id);
  }
  const supported = interfaces.find((i) => i.supported);
  if (supported !== undefined) return supported;
  const first = interfaces[0];
  if (first === undefined) throw new NotFoundError(`${id} has no mass-storage interface`);
  return checkSupported(first, id);
}

function checkSupported(iface: MscInterfaceInfo, id: string): MscInterfaceInfo {
  if (iface.supported) return iface;
  if (iface.uasAlternate !== undefined) {
    throw new UnsupportedError(`UAS-only device, not supported yet (${id} interface ${iface.interfaceNumber} has no Bulk-Only alternate setting)`);
  }
  throw new UnsupportedError(`Interface ${iface.interfaceNumber} of ${id} is not usable: ${iface.note ?? 'not Bulk-Only'}`);
}

export function isNoDriverError(error: unknown): boolean {
  return reasonOf(classifyUsbError(error, { operation: 'detach-kernel-driver', disconnected: false })) === 'no-driver';
}

function describeUse(use: BlockDeviceUse): string {
  switch (use.use) {
    case 'mounted':
      return `/dev/${use.device} is mounted at ${use.where}`;
    case 'swap':
      return `/dev/${use.device} is in use as swap`;
    case 'holder':
      return `/dev/${use.device} is held by ${use.where} (device-mapper/md/LVM)`;
  }
}

/** What the Linux handoff check found: the bound driver (if sysfs could say) and whether sysfs was readable. */
export interface LinuxHandoff {
  /** The kernel driver to detach, or undefined when none is bound or it must not be detached. */
  driver: string | undefined;
  sysfsReadable: boolean;
}

/**
 * Linux, before claiming: find the driver bound to the interface; refuse when
 * another program holds it through usbfs, when detaching is off, or when any
 * partition of its disks is in use (unless `force`). Shared by both backends;
 * run again after a port reset, since the kernel may re-bind usb-storage and
 * something may mount the disk meanwhile.
 */
export async function checkLinuxHandoff(
  device: UsbDeviceLike,
  configurationValue: number,
  interfaceNumber: number,
  options: InterfaceClaimOptions,
  id: string,
): Promise<LinuxHandoff> {
  const deviceName = sysfsDeviceName(device.bus, device.ports);
  const state =
    deviceName === undefined
      ? { readable: false, driver: undefined, blockDevices: [] }
      : await readLinuxInterfaceState(sysfsInterfaceName(deviceName, configurationValue, interfaceNumber), options.linuxRoots);
  const result = (driver: string | undefined): LinuxHandoff => ({ driver, sysfsReadable: state.readable });
  if (!state.readable && options.force !== true) {
    // Without sysfs we cannot check for mounted partitions, so we do not
    // detach; if a driver holds the interface, the claim fails and says so.
    return result(undefined);
  }
  if (state.driver === 'usbfs') {
    throw new AccessDeniedError(
      `Interface ${interfaceNumber} of ${id} is claimed by another program through usbfs. Close that program (see: lsof /dev/bus/usb/*/*) and retry.`,
      { details: { driver: 'usbfs', interfaceNumber } },
    );
  }
  // Readable sysfs and no driver: nothing to detach. Unreadable (forced): try, and accept "no driver".
  if (state.driver === undefined && state.readable) return result(undefined);
  if (options.detachKernelDriver === false) {
    if (state.driver === undefined) return result(undefined);
    throw new AccessDeniedError(
      `Interface ${interfaceNumber} of ${id} is owned by the kernel driver "${state.driver}" and detachKernelDriver is off. ` +
        `Allow detaching it (the disk disappears from the OS while usbms holds it) or unbind it: ` +
        `echo -n '${deviceName ?? '<dev>'}:${configurationValue}.${interfaceNumber}' > /sys/bus/usb/drivers/${state.driver}/unbind`,
      { details: { driver: state.driver, interfaceNumber } },
    );
  }
  if (options.force !== true && state.blockDevices.length > 0) {
    const uses = await findBlockDeviceUses(state.blockDevices, options.linuxRoots);
    if (uses.length > 0) {
      const mounts = uses.filter((u) => u.use === 'mounted').map((u) => u.where);
      throw new AccessDeniedError(
        `Refusing to detach "${state.driver ?? 'the kernel driver'}" from ${id}: ${uses.map(describeUse).join('; ')}. ` +
          `Detaching a disk in use loses its cached writes. ` +
          (mounts.length > 0 ? `Unmount first (umount ${mounts.join(' ')}), ` : 'Release it first, ') +
          `or pass force (--force) if you know it is safe.`,
        { details: { driver: state.driver, interfaceNumber, uses } },
      );
    }
  }
  return result(state.driver ?? 'unknown');
}

/**
 * Linux: the handoff check, then detach the driver through node-usb.
 * Returns the detached driver.
 */
export async function handOffKernelDriver(
  device: UsbDeviceLike,
  config: UsbConfigurationLike,
  interfaceNumber: number,
  options: InterfaceClaimOptions,
  id: string,
  map: (e: unknown, op: UsbOperation) => UsbmsError,
): Promise<{ detached: string | undefined; sysfsReadable: boolean }> {
  const handoff = await checkLinuxHandoff(device, config.configurationValue, interfaceNumber, options, id);
  const result = (detached: string | undefined) => ({ detached, sysfsReadable: handoff.sysfsReadable });
  if (handoff.driver === undefined || device.detachKernelDriver === undefined) return result(undefined);
  try {
    await device.detachKernelDriver(interfaceNumber);
  } catch (error) {
    if (isNoDriverError(error)) return result(undefined);
    throw withAccessHint(map(error, 'detach-kernel-driver'), 'linux', {
      id,
      device,
      interfaceNumber,
      ...(handoff.driver === 'unknown' ? {} : { driver: handoff.driver }),
    });
  }
  return result(handoff.driver);
}

/** How often, and how far apart, re-attaching the kernel driver at close is tried while it answers busy. */
const REATTACH_RETRIES = 5;
const REATTACH_RETRY_MS = 100;

/**
 * Re-attaches the kernel driver at close (USBDEVFS_CONNECT, through either backend): the call answers
 * EBUSY while the release of our claim still trails it, so a busy answer is tried again briefly.
 * `attach` returns its failure, or undefined once attached; the last failure is returned (recorded by
 * the caller, not thrown: replugging the device re-binds the driver).
 */
export async function reattachKernelDriver<F>(attach: () => Promise<F | undefined>, busy: (failure: F) => boolean): Promise<F | undefined> {
  for (let attempt = 0; ; attempt++) {
    const failure = await attach();
    if (failure === undefined || !busy(failure) || attempt >= REATTACH_RETRIES) return failure;
    await new Promise((resolve) => setTimeout(resolve, REATTACH_RETRY_MS));
  }
}

/**
 * Rewrites an AccessDeniedError so it says who holds the interface and what
 * to do on this platform. Other errors pass through.
 */
export function withAccessHint(
  error: UsbmsError,
  platform: NodeJS.Platform,
  context: { id: string; device: UsbDeviceLike; interfaceNumber?: number; driver?: string; unverified?: boolean },
): UsbmsError {
  // On macOS and Windows the OS reports a driver-owned interface in various
  // ways (access denied, not supported, exclusive access): there, any failure
  // to open or claim gets the platform explanation. Disconnects stay as they are.
  const ownedElsewhere = (platform === 'darwin' || platform === 'win32') && !(error instanceof DisconnectedError) && !(error instanceof TimeoutError);
  if (!(error instanceof AccessDeniedError) && !ownedElsewhere) return error;
  const reason = error.details?.reason;
  const what = context.interfaceNumber === undefined ? context.id : `interface ${context.interfaceNumber} of ${context.id}`;
  let hint: string;
  if (platform === 'linux') {
    hint =
      reason === 'busy'
        ? `${what} is held by ${context.driver === undefined ? 'a kernel driver or another program' : `the "${context.driver}" driver`}; ` +
          (context.unverified === true
            ? `usbms did not detach the kernel driver because it could not read /sys to check that no partition is mounted; unmount the disk and retry with --force (force: true), or close other programs using it.`
            : `close other programs using it, or let usbms detach the kernel driver (the default).`)
        : `No permission to access ${context.id}. Run as root, or install a udev rule such as ` +
          `/etc/udev/rules.d/70-usbms.rules: SUBSYSTEM=="usb", ATTR{idVendor}=="${hex4(context.device.vendorId)}", ` +
          `ATTR{idProduct}=="${hex4(context.device.productId)}", MODE="0660", GROUP="plugdev" ` +
          `(then: udevadm control --reload && udevadm trigger, and replug).`;
  } else if (platform === 'darwin') {
    hint =
      `macOS: the OS mass-storage driver owns ${what}, and node-usb 3.x cannot detach it. ` +
      `usbms can only use an interface the OS driver does not own (e.g. a vendor-class interface); ` +
      `capturing the device needs root or the com.apple.vm.device-access entitlement and unmounts every volume on it.`;
  } else if (platform === 'win32') {
    hint =
      `Windows: ${what} needs the WinUSB driver. Install it with Zadig (https://zadig.akeo.ie); ` +
      `it replaces USBSTOR for this device while installed, so Windows no longer shows the disk until the original driver is restored.`;
  } else {
    hint = `${what} is held by the OS or needs more permissions.`;
  }
  return new AccessDeniedError(`${hint} [${error.message}]`, {
    cause: error instanceof AccessDeniedError ? (error.cause ?? error) : error,
    details: { ...error.details, platform, ...(context.driver === undefined ? {} : { driver: context.driver }) },
  });
}

/** An interface claimed through node-usb, and how to give it back if opening fails later. */
export interface NodeUsbClaim {
  iface: MscInterfaceInfo;
  alt: BotAlternate;
  /** Linux: the kernel driver detached (to re-attach on close), if any. */
  detachedDriver: string | undefined;
  /** Releases the interface, re-attaches the driver and closes the device if this call opened it. Never throws. */
  undo: () => Promise<void>;
}

/**
 * node-usb: opens `device` if needed, selects a configuration only if none is
 * active, on Linux runs the handoff check and detaches the kernel driver, claims
 * the interface and selects the BOT alternate setting. On failure, undoes what it
 * did (in reverse order) and throws the original error.
 */
export async function claimWithNodeUsb(
  device: UsbDeviceLike,
  options: InterfaceClaimOptions,
  platform: NodeJS.Platform,
  id: string,
  map: (e: unknown, op: UsbOperation) => UsbmsError,
): Promise<NodeUsbClaim> {
  let openedHere = false;
  if (!device.opened) {
    try {
      await device.open();
      openedHere = true;
    } catch (error) {
      throw withAccessHint(map(error, 'open'), platform, { id, device });
    }
  }
  let detachedDriver: string | undefined;
  let claimed = false;
  let interfaceNumber: number | undefined;
  const undo = async (): Promise<void> => {
    if (claimed && interfaceNumber !== undefined) await device.releaseInterface(interfaceNumber).catch(() => undefined);
    if (detachedDriver !== undefined && interfaceNumber !== undefined) {
      await device.attachKernelDriver?.(interfaceNumber).catch(() => undefined);
    }
    if (openedHere) await device.close().catch(() => undefined);
  };
  try {
    const config = await ensureConfiguration(device, map);
    const { iface, alt } = botInterfaceOf(config, options, id);
    interfaceNumber = iface.interfaceNumber;
    let sysfsUnreadable = false;
    if (platform === 'linux') {
      const handoff = await handOffKernelDriver(device, config, iface.interfaceNumber, options, id, map);
      detachedDriver = handoff.detached;
      sysfsUnreadable = !handoff.sysfsReadable;
    }
    try {
      await device.claimInterface(iface.interfaceNumber);
      claimed = true;
    } catch (error) {
      throw withAccessHint(map(error, 'claim'), platform, {
        id,
        device,
        interfaceNumber: iface.interfaceNumber,
        ...(sysfsUnreadable && options.force !== true ? { unverified: true } : {}),
      });
    }
    // UAS devices commonly expose BOT at alt 0 and UAS at alt 1 (USB UAS 1.0
    // §4.3); the OS may have left alt 1 selected. Devices with a single
    // alternate are left alone: some stall SET_INTERFACE.
    if (iface.alternates.length > 1) {
      try {
        await device.selectAlternateInterface(iface.interfaceNumber, alt.alternateSetting);
      } catch (error) {
        throw map(error, 'select-alternate');
      }
    }
    return { iface, alt, detachedDriver, undo };
  } catch (error) {
    // Undo in reverse order; the original error is what the user needs.
    await undo();
    throw error;
  }
}
