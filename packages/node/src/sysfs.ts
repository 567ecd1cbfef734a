import { readdir, readFile, readlink } from 'node:fs/promises';
import { basename, join } from 'node:path';

/**
 * Linux only: what the kernel has bound to a USB interface and which block
 * devices hang off it, read from sysfs and /proc. Everything here is
 * best-effort: an unreadable file yields "unknown", never an exception.
 * Roots are injectable so tests can build a fake tree in a temp directory.
 */
export interface LinuxRoots {
  /** Default "/sys". */
  sysRoot?: string;
  /** Default "/proc". */
  procRoot?: string;
}

/**
 * sysfs name of a USB device: "<busnum>-<port>.<port>...", e.g. "1-1.4"
 * (drivers/usb/core/usb.c names devices this way). node-usb's `bus` may be
 * zero-padded ("001").
 */
export function sysfsDeviceName(bus: string | undefined, ports: readonly number[] | undefined): string | undefined {
  if (bus === undefined || ports === undefined || ports.length === 0) return undefined;
  const busNumber = Number.parseInt(bus, 10);
  if (!Number.isFinite(busNumber)) return undefined;
  return `${busNumber}-${ports.join('.')}`;
}

/** sysfs name of an interface: "<device>:<bConfigurationValue>.<bInterfaceNumber>". */
export function sysfsInterfaceName(device: string, configurationValue: number, interfaceNumber: number): string {
  return `${device}:${configurationValue}.${interfaceNumber}`;
}

async function safeReaddir(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch {
    return [];
  }
}

async function safeRead(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
}

/** Linux usbfs's default memory limit for all transfers in flight, in MiB (drivers/usb/core/devio.c). */
const USBFS_DEFAULT_MEMORY_MB = 16;

/**
 * Linux: the largest single transfer usbfs will take, from its memory limit
 * (module parameter usbcore.usbfs_memory_mb, default 16 MiB for all transfers
 * in flight; 0 means no limit). 1 MiB is left for the other transfers of a BOT
 * exchange and the URB bookkeeping. Undefined when there is no limit.
 */
export async function usbfsTransferLimit(roots: LinuxRoots = {}): Promise<number | undefined> {
  const text = await safeRead(join(roots.sysRoot ?? '/sys', 'module/usbcore/parameters/usbfs_memory_mb'));
  const mb = text === undefined || !/^\d+$/.test(text) ? USBFS_DEFAULT_MEMORY_MB : Number(text);
  if (mb === 0) return undefined;
  return Math.max(1, mb - 1) * 1024 * 1024;
}

/** Linux: what the kernel has bound to one USB interface, read from sysfs by {@link readLinuxInterfaceState}. */
export interface LinuxInterfaceState {
  /** False when the interface's sysfs directory could not be read (no sysfs, container, permissions). */
  readable: boolean;
  /** Name of the bound kernel driver ("usb-storage", "uas", "usbfs" when a program claimed it), if any. */
  driver: string | undefined;
  /** Block devices (e.g. ["sdb"]) the SCSI hosts of this interface expose, one per LUN. */
  blockDevices: string[];
}

/** Reads the bound driver and block devices of one interface. */
export async function readLinuxInterfaceState(interfaceName: string, roots: LinuxRoots = {}): Promise<LinuxInterfaceState> {
  const sys = roots.sysRoot ?? '/sys';
  const dir = join(sys, 'bus/usb/devices', interfaceName);
  let readable = true;
  try {
    await readdir(dir);
  } catch {
    readable = false;
  }
  let driver: string | undefined;
  try {
    driver = basename(await readlink(join(dir, 'driver')));
  } catch {
    driver = undefined;
  }
  // usb-storage/uas register a SCSI host per interface:
  // <iface>/host<N>/target<N:0:0>/<N:0:0:L>/block/<sdX>
  const blockDevices: string[] = [];
  for (const host of await safeReaddir(dir)) {
    if (!/^host\d+$/.test(host)) continue;
    for (const target of await safeReaddir(join(dir, host))) {
      if (!/^target\d+:\d+:\d+$/.test(target)) continue;
      for (const lun of await safeReaddir(join(dir, host, target))) {
        if (!/^\d+:\d+:\d+:\d+$/.test(lun)) continue;
        for (const block of await safeReaddir(join(dir, host, target, lun, 'block'))) blockDevices.push(block);
      }
    }
  }
  blockDevices.sort();
  return { readable, driver, blockDevices };
}

/**
 * Linux: one use of a disk or partition that makes detaching its kernel
 * driver unsafe, as {@link findBlockDeviceUses} reports it.
 */
export interface BlockDeviceUse {
  /** "sdb1" */
  device: string;
  /** How it is used: mounted at a path, active swap, or held by dm/md/LVM. */
  use: 'mounted' | 'swap' | 'holder';
  /** Mount point, swap path or holder name. */
  where: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo (proc(5)). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}

/**
 * Lists every use of the given disks and their partitions that makes detaching
 * the kernel driver unsafe: a mounted filesystem (cached writes would be lost),
 * active swap, or a device-mapper/md holder.
 */
export async function findBlockDeviceUses(disks: readonly string[], roots: LinuxRoots = {}): Promise<BlockDeviceUse[]> {
  if (disks.length === 0) return [];
  const sys = roots.sysRoot ?? '/sys';
  const proc = roots.procRoot ?? '/proc';
  const byDevNumber = new Map<string, string>();
  const names: string[] = [];
  const uses: BlockDeviceUse[] = [];
  for (const disk of disks) {
    const diskDir = join(sys, 'class/block', disk);
    const members = [{ name: disk, dir: diskDir }];
    for (const entry of await safeReaddir(diskDir)) {
      if (!entry.startsWith(disk)) continue;
      if ((await safeRead(join(diskDir, entry, 'partition'))) !== undefined) members.push({ name: entry, dir: join(diskDir, entry) });
    }
    for (const member of members) {
      names.push(member.name);
      const dev = await safeRead(join(member.dir, 'dev'));
      if (dev !== undefined) byDevNumber.set(dev, member.name);
      for (const holder of await safeReaddir(join(member.dir, 'holders'))) uses.push({ device: member.name, use: 'holder', where: holder });
    }
  }
  const mountinfo = await safeRead(join(proc, 'self/mountinfo'));
  for (const line of mountinfo?.split('\n') ?? []) {
    // "36 35 8:17 / /media/usb rw,nosuid - vfat /dev/sdb1 rw"
    const fields = line.split(' ');
    const devNumber = fields[2];
    const mountPoint = fields[4];
    if (devNumber === undefined || mountPoint === undefined) continue;
    const device = byDevNumber.get(devNumber);
    if (device !== undefined) uses.push({ device, use: 'mounted', where: unescapeMountPath(mountPoint) });
  }
  const swaps = await safeRead(join(proc, 'swaps'));
  for (const line of swaps?.split('\n').slice(1) ?? []) {
    const path = line.split(/\s+/)[0];
    if (path === undefined || path === '') continue;
    const device = basename(path);
    if (names.includes(device)) uses.push({ device, use: 'swap', where: path });
  }
  return uses;
}
