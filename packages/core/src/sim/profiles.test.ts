import { describe, expect, it } from 'vitest';
import { SimulatedDevice } from './device.js';
import { SimProfiles } from './profiles.js';
import { hex, run, senseOf } from './test-util.js';

// Expected bytes below are the captured responses in packages/core/src/scsi/fixtures/device-responses.jsonl
// (trimmed to the length the device itself declared).

describe('SimProfiles reproduce the captured devices', () => {
  it('QEMU usb-storage disk (RIGEHCI001)', async () => {
    const sim = new SimulatedDevice(SimProfiles.qemuDisk());
    const inquiry = await run(sim, [0x12, 0, 0, 0, 0x60, 0], { in: 0x60 });
    expect(hex(inquiry.data)).toBe(`000005125b00001051454d552020202051454d5520484152444449534b202020322e352b${'00'.repeat(60)}`);
    expect(hex((await run(sim, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { in: 8 })).data)).toBe('0001ffff00000200');
    expect(hex((await run(sim, [0x03, 0, 0, 0, 0x12, 0], { in: 0x12 })).data)).toBe('700000000000000a00000000000000000000');
    expect(hex((await run(sim, [0x12, 1, 0x80, 0, 0xfc, 0], { in: 0xfc })).data)).toBe('0080000a52494745484349303031');
    expect(hex((await run(sim, [0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0], { in: 0x40 })).data)).toBe('00000008000000000000000000000000');
    expect((await run(sim, [0x23, 0, 0, 0, 0, 0, 0, 0, 0xfc, 0], { in: 0xfc })).status).toBe(1);
    expect(hex((await senseOf(sim)).raw)).toBe('700005000000000a00000000200000000000');
    const ms = await run(sim, [0x1a, 0, 0x3f, 0, 0xc0, 0], { in: 0xc0 });
    // Block descriptor and Read-Write Error Recovery page as captured.
    expect(hex(ms.data.subarray(4, 24))).toBe('0002000000000200' + '010a80000000000000000000');
  });

  it('QEMU read-only disk sets the MODE SENSE WP bit (RIGRO00001)', async () => {
    const sim = new SimulatedDevice(SimProfiles.qemuDisk({ writeProtected: true }));
    const ms = await run(sim, [0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 0xfc, 0], { in: 0xfc });
    expect((ms.data[3] ?? 0) & 0x80).toBe(0x80);
  });

  it('QEMU CD-ROM with and without a medium (RIGCD00001, RIGCDE0001)', async () => {
    const cd = new SimulatedDevice(SimProfiles.qemuCdrom());
    expect(hex((await run(cd, [0x12, 0, 0, 0, 0x60, 0], { in: 0x60 })).data.subarray(0, 36))).toBe(
      '058005125b00001051454d552020202051454d552043442d524f4d2020202020322e352b',
    );
    expect(hex((await run(cd, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { in: 8 })).data)).toBe('000003ff00000800');
    expect(hex((await run(cd, [0x12, 1, 0, 0, 0xfc, 0], { in: 0xfc })).data)).toBe('05000003008083');
    expect((await run(cd, [0x12, 1, 0xb0, 0, 0xfc, 0], { in: 0xfc })).status).toBe(1);
    expect(await senseOf(cd)).toMatchObject({ key: 5, asc: 0x24, ascq: 0 });

    const empty = new SimulatedDevice(SimProfiles.qemuCdrom({ mediumPresent: false }));
    expect((await run(empty, [0, 0, 0, 0, 0, 0])).status).toBe(1);
    expect(hex((await senseOf(empty)).raw)).toBe('700002000000000a000000003a0000000000');
    expect((await run(empty, [0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], { in: 8 })).status).toBe(1);
    expect(hex((await senseOf(empty)).raw)).toBe('700002000000000a000000003a0000000000');
    expect((await run(empty, [0x1a, 0, 0x3f, 0, 0xc0, 0], { in: 0xc0 })).status).toBe(0);
  });

  it('Linux f_mass_storage gadget (RIG-g0-0001)', async () => {
    const sim = new SimulatedDevice(SimProfiles.fileStorGadget());
    expect(sim.transport.info).toMatchObject({ vendorId: 0x0525, productId: 0xa4a5 });
    expect(hex((await run(sim, [0x12, 0, 0, 0, 0x60, 0], { in: 0x60 })).data)).toBe('000002021f0000004c696e757820202046696c652d53746f722047616467657430363031');
    for (const page of [0x00, 0x80, 0x83, 0xb0, 0xb1]) {
      expect((await run(sim, [0x12, 1, page, 0, 0xfc, 0], { in: 0xfc })).status).toBe(1);
      expect(await senseOf(sim)).toMatchObject({ key: 5, asc: 0x24, ascq: 0 });
    }
    expect((await run(sim, [0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0, 0], { in: 0x40 })).status).toBe(1);
    expect(hex((await senseOf(sim)).raw)).toBe('700005000000000a00000000200000000000');
    expect(hex((await run(sim, [0x23, 0, 0, 0, 0, 0, 0, 0, 0xfc, 0], { in: 0xfc })).data)).toBe('000000080002000002000200');
    expect(hex((await run(sim, [0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0], { in: 0x20 })).data)).toBe(
      `000000000001ffff00000200${'00'.repeat(20)}`,
    );
    sim.assertClean();
  });
});
