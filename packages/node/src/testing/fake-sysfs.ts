import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface FakeDisk {
  /** "sdb" */
  name: string;
  /** "8:16" */
  dev: string;
  partitions?: { name: string; dev: string; holders?: string[] }[];
}

export interface FakeLinuxTree {
  sysRoot: string;
  procRoot: string;
  cleanup(): Promise<void>;
}

/**
 * Builds the sysfs/procfs files the adapter reads for one interface
 * ("1-1:1.0" by default): the driver symlink, the SCSI host's block devices,
 * /sys/class/block entries, /proc/self/mountinfo and /proc/swaps.
 */
export async function makeLinuxTree(options: {
  interfaceName?: string;
  driver?: string;
  disks?: FakeDisk[];
  mounts?: { dev: string; mountPoint: string }[];
  swaps?: string[];
}): Promise<FakeLinuxTree> {
  const root = await mkdtemp(join(tmpdir(), 'usbms-sysfs-'));
  const sysRoot = join(root, 'sys');
  const procRoot = join(root, 'proc');
  const iface = join(sysRoot, 'bus/usb/devices', options.interfaceName ?? '1-1:1.0');
  await mkdir(iface, { recursive: true });
  if (options.driver !== undefined) {
    const driverDir = join(sysRoot, 'bus/usb/drivers', options.driver);
    await mkdir(driverDir, { recursive: true });
    await symlink(driverDir, join(iface, 'driver'));
  }
  for (const [i, disk] of (options.disks ?? []).entries()) {
    await mkdir(join(iface, 'host6/target6:0:0', `6:0:0:${i}`, 'block', disk.name), { recursive: true });
    const diskDir = join(sysRoot, 'class/block', disk.name);
    await mkdir(join(diskDir, 'holders'), { recursive: true });
    await writeFile(join(diskDir, 'dev'), `${disk.dev}\n`);
    for (const part of disk.partitions ?? []) {
      await mkdir(join(diskDir, part.name, 'holders'), { recursive: true });
      await writeFile(join(diskDir, part.name, 'dev'), `${part.dev}\n`);
      await writeFile(join(diskDir, part.name, 'partition'), '1\n');
      for (const holder of part.holders ?? []) await mkdir(join(diskDir, part.name, 'holders', holder));
    }
  }
  const mountinfo = [
    '22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw',
    ...(options.mounts ?? []).map((m, i) => `${40 + i} 22 ${m.dev} / ${m.mountPoint.replace(/ /g, '\\040')} rw,nosuid shared:9 - vfat /dev/x rw`),
  ].join('\n');
  await mkdir(join(procRoot, 'self'), { recursive: true });
  await writeFile(join(procRoot, 'self/mountinfo'), `${mountinfo}\n`);
  const swaps = ['Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority', ...(options.swaps ?? []).map((s) => `${s}  partition\t1048572\t0\t-2`)];
  await mkdir(dirname(join(procRoot, 'swaps')), { recursive: true });
  await writeFile(join(procRoot, 'swaps'), `${swaps.join('\n')}\n`);
  return { sysRoot, procRoot, cleanup: () => rm(root, { recursive: true, force: true }) };
}
