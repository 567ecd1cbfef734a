/**
 * The adapter under the real core: `openDevice` -> NodeUsbTransport ->
 * MscDevice, over a fake node-usb device whose pipes are served by the core's
 * simulator and whose failures look exactly like node-usb 3.1's.
 */
import { DisconnectedError, ScsiCheckConditionError, SenseKey } from '@usbms/core';
import { SimulatedDevice } from '@usbms/core/sim';
import { describe, expect, it } from 'vitest';
import { openDevice } from './index.js';
import { FakeUsb } from './testing/fake-usb.js';
import { SimUsbDevice } from './testing/sim-usb-device.js';

function setup(sim = new SimulatedDevice({ luns: [{ blocks: 2048 }] })) {
  const device = new SimUsbDevice(sim, { vendorId: 0x1209, productId: 0x5553, serialNumber: 'E2E1' });
  const usb = new FakeUsb([device]);
  return { sim, device, usb };
}

describe('openDevice over node-usb (simulated)', () => {
  it('opens, identifies, writes, reads back, and closes cleanly', async () => {
    const { usb, device } = setup();
    const msc = await openDevice('1209:5553', { usb, platform: 'darwin' });
    expect(msc.maxLun).toBe(0);
    expect(msc.lun(0).inquiry?.vendor).toBe('USBMS');
    expect(device.setups[0]).toMatchObject({ requestType: 'class', recipient: 'interface', request: 0xfe, index: 0 });
    const data = new Uint8Array(4096).map((_, i) => (i * 7) & 0xff);
    await msc.lun(0).write(100, data);
    expect(await msc.lun(0).read(100, 8)).toEqual(data);
    await msc.close();
    expect(device.opened).toBe(false);
    expect(usb.listenerCount).toBe(0);
  });

  it('takes the MscDevice options flat, as @usbms/web does; the 0.1 nested form still works (deprecated)', async () => {
    const { usb } = setup();
    const flat = await openDevice('1209:5553', { usb, platform: 'darwin', readOnly: true, maxTransferBytes: 8192, earlyStatus: false });
    expect([flat.readOnly, flat.maxTransferBytes, flat.earlyStatus]).toEqual([true, 8192, false]);
    await flat.close();
    const nested = await openDevice('1209:5553', { usb, platform: 'darwin', transferTimeoutMs: 60_000, device: { maxTransferBytes: 4096 } });
    expect(nested.maxTransferBytes).toBe(4096);
    await nested.close();
  });

  it('a command the device fails comes back as decoded sense, through node-usb stalls', async () => {
    const { usb } = setup();
    const msc = await openDevice('1209:5553', { usb, platform: 'darwin' });
    // READ(10) beyond the last LBA: the simulator stalls the data-in and reports 05/21/00.
    const result = await msc.execute({ cdb: new Uint8Array([0x28, 0, 0, 0, 0x10, 0, 0, 0, 1, 0]), direction: 'in', length: 512 });
    expect(result.status).toBe('check-condition');
    expect(result.sense).toMatchObject({ senseKey: SenseKey.IllegalRequest, asc: 0x21, ascq: 0 });
    // The device is still usable afterwards.
    await msc.lun(0).testUnitReady();
    await msc.close();
  });

  it('an unplug mid-command rejects the in-flight and queued commands with DisconnectedError promptly', async () => {
    const { usb, device } = setup(new SimulatedDevice({ luns: [{ blocks: 2048 }], transferDelayMs: 50 }));
    const msc = await openDevice('1209:5553', { usb, platform: 'darwin', defaultTimeoutMs: 60_000 });
    const inFlight = msc.lun(0).read(0, 64);
    const queued = [msc.lun(0).testUnitReady(), msc.lun(0).readCapacity(), msc.lun(0).read(64, 1)];
    const all = [inFlight, ...queued].map((p) =>
      p.then(
        () => 'resolved',
        (e: unknown) => e,
      ),
    );
    await new Promise((r) => setTimeout(r, 20));
    const unplugged = performance.now();
    usb.remove(device);
    const outcomes = await Promise.all(all);
    // Bounded: far below the 60 s command timeout (generous bound for a busy machine).
    expect(performance.now() - unplugged).toBeLessThan(5_000);
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(DisconnectedError);
    await expect(msc.lun(0).testUnitReady()).rejects.toBeInstanceOf(DisconnectedError);
    await msc.close();
  });

  it('reports CHECK CONDITION from a LUN without medium as ScsiCheckConditionError', async () => {
    const { usb } = setup(new SimulatedDevice({ luns: [{ mediumPresent: false }] }));
    const msc = await openDevice('1209:5553', { usb, platform: 'darwin' });
    const error = await msc
      .lun(0)
      .testUnitReady()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiCheckConditionError);
    expect((error as ScsiCheckConditionError).sense).toMatchObject({ senseKey: SenseKey.NotReady, asc: 0x3a });
    await msc.close();
  });
});
