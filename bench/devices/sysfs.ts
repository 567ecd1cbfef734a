// The guest's view of a HIL device in sysfs, shared by the guest-side benchmarks (guest.ts, backends.ts, hops.ts, big-call.ts).
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The sysfs directory (real path) of the mass-storage interface (class 08h) of the device with this serial. */
export function interfaceSysfs(serial: string): string {
  const root = '/sys/bus/usb/devices';
  for (const name of fs.readdirSync(root)) {
    if (!name.includes(':')) continue;
    const dir = path.join(root, name);
    try {
      if (fs.readFileSync(path.join(dir, 'bInterfaceClass'), 'utf8').trim() !== '08') continue;
      const found = fs.readFileSync(path.join(path.dirname(fs.realpathSync(dir)), 'serial'), 'utf8').trim();
      if (found === serial) return fs.realpathSync(dir);
    } catch {
      // not ours
    }
  }
  throw new Error(`no mass-storage interface with serial ${serial}`);
}

/** LUN 0's block device and SCSI generic device under the interface, once the kernel has them (again). */
export async function kernelDevices(serial: string, timeoutMs: number): Promise<{ disk: string; sg: string }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const iface = interfaceSysfs(serial);
    for (const name of fs.readdirSync('/sys/block')) {
      if (!name.startsWith('sd')) continue;
      const target = fs.realpathSync(path.join('/sys/block', name));
      if (!target.startsWith(`${iface}/`) || !/\/\d+:\d+:\d+:0\/block\//.test(target)) continue;
      if (Number(fs.readFileSync(path.join('/sys/block', name, 'size'), 'utf8')) === 0) continue;
      const sgDir = path.join('/sys/block', name, 'device', 'scsi_generic');
      const sg = fs.existsSync(sgDir) ? fs.readdirSync(sgDir)[0] : undefined;
      if (sg && fs.existsSync(`/dev/${sg}`) && fs.existsSync(`/dev/${name}`)) return { disk: name, sg };
    }
    if (Date.now() > deadline) throw new Error(`the kernel did not bring LUN 0 of ${serial} back within ${timeoutMs} ms`);
    await sleep(100);
  }
}
