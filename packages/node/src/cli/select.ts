/**
 * `--device`: which device a command talks to.
 *  - `VID:PID[:SERIAL]` (hex), as `usbms list` prints it;
 *  - an index from `usbms list` (0-999, no leading zeros);
 *  - on Linux, a block device node (`/dev/sdb`, `/dev/sdb1`, a `/dev/disk/by-id/...` link):
 *    the USB mass-storage interface whose SCSI host carries that disk.
 * An all-digit value that could also be a vendor ID (`0781`, `1234`) is refused as ambiguous.
 */
import { realpath } from 'node:fs/promises';
import { basename } from 'node:path';
import { NotFoundError } from '@usbms/core';
import type { MscDeviceInfo } from '../discovery.js';
import { usageError } from './exit.js';

export type DeviceChoice = { kind: 'index'; index: number } | { kind: 'id'; text: string } | { kind: 'block'; path: string };

export function parseDeviceChoice(text: string): DeviceChoice {
  const t = text.trim();
  if (t.startsWith('/dev/')) return { kind: 'block', path: t };
  if (/^\d+$/.test(t)) {
    if (t.length <= 3 && (t === '0' || !t.startsWith('0'))) return { kind: 'index', index: Number.parseInt(t, 10) };
    throw usageError(
      `--device ${t} is ambiguous: an index from \`usbms list\` or a vendor ID? Give VID:PID (e.g. ${t.padStart(4, '0').slice(-4)}:xxxx) or an index (0-999, no leading zeros)`,
    );
  }
  if (/^[0-9a-f]{1,4}:[0-9a-f]{1,4}(:.+)?$/i.test(t)) return { kind: 'id', text: t };
  throw usageError(`--device must be VID:PID[:SERIAL] (hex, e.g. 0781:5567), an index from \`usbms list\`, or a /dev/sdX node; got "${text}"`);
}

/** The disk name of a block device node: /dev/sdb1 -> sdb (partitions belong to their disk). */
export function diskName(path: string): string {
  const name = basename(path);
  const sd = /^(sd[a-z]+)\d*$/.exec(name);
  if (sd !== null) return sd[1] ?? name;
  const other = /^(.*\d)p\d+$/.exec(name); // e.g. mmcblk0p1, nvme0n1p2
  return other?.[1] ?? name;
}

/**
 * The device and interface carrying a block device, from the sysfs facts
 * `listDevices` gathered (interface -> SCSI host -> block devices).
 */
export function findBlockDevice(devices: readonly MscDeviceInfo[], path: string, resolvedPath = path): { device: MscDeviceInfo; interfaceNumber: number } {
  const disk = diskName(resolvedPath);
  for (const device of devices) {
    for (const i of device.interfaces) if (i.blockDevices?.includes(disk) === true) return { device, interfaceNumber: i.interfaceNumber };
  }
  const known = devices.flatMap((d) => d.interfaces.flatMap((i) => (i.blockDevices ?? []).map((b) => `/dev/${b} (${d.id})`)));
  throw new NotFoundError(
    `${path}${resolvedPath === path ? '' : ` (${resolvedPath})`} is not a disk of a USB mass-storage interface the kernel driver holds` +
      `${known.length > 0 ? `; USB disks: ${known.join(', ')}` : ''} (see \`usbms list\`; once usbms has detached the driver, use VID:PID)`,
  );
}

/** Follows /dev/disk/by-id/... links to the node they name. */
export async function resolveNode(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return path;
  }
}
