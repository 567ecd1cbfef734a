// Smoke test of the HIL pipeline without the usbms adapter: boot each device profile and let node-usb
// (`usb` 3.1) list the mass-storage interfaces inside the guest (guest/smoke.mjs). Proves QEMU, the guest
// kernel's USB stack, the 9p-shared checkout and node-usb work together, and that each profile presents
// the device the scenario tests expect.
import { describe, expect, it } from 'vitest';
import { recordMetric } from './metrics.js';
import { PROFILE_NAMES, PROFILES } from './profiles.js';
import { type GuestResult, readJobJson, runInGuest } from './runner.js';

interface SmokeInterface {
  vendorId: number;
  productId: number;
  serialNumber: string | null;
  speed: string | null;
  interfaceClass: number;
  interfaceSubclass: number;
  interfaceProtocol: number;
  endpoints: { endpointNumber: number; direction: 'in' | 'out'; type: string; packetSize: number }[];
}
interface SmokeResult {
  interfaces: SmokeInterface[];
  kernel: { interface: string; driver: string | null }[];
  disks: string[];
}

describe.each(PROFILE_NAMES)('%s smoke', (name) => {
  const profile = PROFILES[name];
  const expected = profile.expect;
  let result: GuestResult | undefined;
  let smoke: SmokeResult | undefined;
  const booted = (): SmokeResult => {
    if (!smoke) throw new Error(`the ${name} guest did not boot (see the first test of this block)`);
    return smoke;
  };

  it('boots the guest and runs node-usb in it', async ({ task }) => {
    result = await runInGuest({ profile: name, command: ['node', 'test/hil/guest/smoke.mjs'], timeoutMs: 180_000 });
    expect(result.exitCode, `guest stderr:\n${result.stderr}`).toBe(0);
    smoke = readJobJson<SmokeResult>(result, 'smoke.json');
    recordMetric(task.meta, 'smoke_boot_s', result.bootSeconds ?? -1);
    recordMetric(task.meta, 'smoke_wall_s', Number((result.durationMs / 1000).toFixed(1)));
  });

  it('lists exactly one mass-storage interface with the expected VID/PID, serial and speed', () => {
    const { interfaces } = booted();
    expect(interfaces).toHaveLength(1);
    expect(interfaces[0]).toMatchObject({
      vendorId: expected.vendorId,
      productId: expected.productId,
      serialNumber: expected.serial,
      speed: expected.speed,
    });
  });

  it('reports the interface class/subclass/protocol and bulk endpoints', () => {
    const iface = booted().interfaces[0];
    expect(iface).toMatchObject({
      interfaceClass: expected.interfaceClass,
      interfaceSubclass: expected.interfaceSubclass,
      interfaceProtocol: expected.interfaceProtocol,
    });
    const bulk = iface?.endpoints.filter((e) => e.type === 'bulk') ?? [];
    // BOT: one bulk IN + one bulk OUT; UAS: two of each (command/status/data-in/data-out pipes).
    const pairs = profile.transport === 'uas' ? 2 : 1;
    expect(bulk.filter((e) => e.direction === 'in')).toHaveLength(pairs);
    expect(bulk.filter((e) => e.direction === 'out')).toHaveLength(pairs);
    for (const e of bulk) expect(e.packetSize).toBe(expected.bulkPacketSize);
  });

  it('has the kernel driver bound and its SCSI disks present', () => {
    const { kernel, disks } = booted();
    expect(kernel).toEqual([{ interface: expect.any(String), driver: profile.transport === 'uas' ? 'uas' : 'usb-storage' }]);
    expect(disks).toHaveLength(expected.luns);
  });
});
