// The guest's view of a HIL device in sysfs, shared by the guest-side benchmarks (guest.ts, backends.ts, hops.ts).
import fs from 'node:fs';
import path from 'node:path';

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
