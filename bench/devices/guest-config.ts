// What every guest-side benchmark script reads first: the device profile this boot runs, its units, and
// numbers from the environment (BENCH_*, HOPS_*: set on the host, passed on by the runners).
import type { MscDevice } from '../../packages/core/src/index.js';
import { listDevices, openDevice } from '../../packages/node/src/index.js';
import { hilProfile } from '../../test/hil/guest/host.js';
import { getProfile } from '../../test/hil/profiles.js';
import { kernelDevices } from './sysfs.js';

export const profile = getProfile(hilProfile());
export const expected = profile.expect;
/** The Linux gadget moves data several times slower than QEMU's devices (all of it is emulated guest kernel code). */
export const isGadget = profile.implementation === 'linux-gadget';
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const BLOCK = 512;

/** A number from the environment; unset or empty: `fallback`. */
export function env(name: string, fallback: number): number {
  const v = process.env[name];
  return v === undefined || v === '' ? fallback : Number(v);
}

/**
 * The profile's device, opened as shipped (no options), once the kernel has bound its driver again
 * (a process before this one closed it, and usbfs re-attaches the driver at close).
 */
export async function openAsShipped(): Promise<MscDevice> {
  await kernelDevices(expected.serial, 30_000);
  const [info] = await listDevices({ serialNumber: expected.serial });
  if (!info) throw new Error(`listDevices() did not find ${expected.serial}`);
  return openDevice(info);
}
