import { describe, expect, it } from 'vitest';
import { MscDevice } from '../device.js';
import { ReadOnlyError, UnsupportedError } from '../errors.js';
import {
  checkPowerMode,
  identifyDevice,
  readExtendedSelfTestLog,
  smartExecuteOfflineImmediate,
  smartReadData,
  smartReadThresholds,
  smartReturnStatus,
} from '../sat/commands.js';
import { runAta } from '../sat/run.js';
import { simAtaBridge } from '../sim/ata-bridges.js';
import { SimulatedDevice } from '../sim/device.js';
import { simNvmeBridge } from '../sim/nvme-bridges.js';
import { SimAtaDrive } from '../sim/sat-target.js';
import type { SimVendorHook } from '../sim/scsi-plan.js';
import {
  cypressAtaCdb,
  cypressReadRegistersCdb,
  decodeJmicronPort,
  jmicronAtaCdb,
  jmicronReadRegisterCdb,
  sunplusAtaCdbs,
  sunplusReadRegistersCdb,
} from './ata-bridges.js';
import { nvmeSmartHealthLog } from './nvme.js';
import { type BridgeKind, runAtaVia, selectBridge } from './route.js';
import { runNvme } from './run-nvme.js';

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

describe('SATA bridge CDBs (golden bytes, the conventions smartctl -d usbjmicron/usbcypress/usbsunplus uses)', () => {
  it('JMicron: DFh, 10h read, length BE16, FEATURES COUNT LBA, DEVICE | A0h (port 0) / B0h (port 1), COMMAND', () => {
    expect(hex(jmicronAtaCdb(identifyDevice()).cdb)).toBe('df 10 00 02 00 00 01 00 00 00 a0 ec');
    expect(hex(jmicronAtaCdb(smartReadData(), 1).cdb)).toBe('df 10 00 02 00 d0 01 00 4f c2 b0 b0');
    // SMART RETURN STATUS: one status byte in.
    const status = jmicronAtaCdb(smartReturnStatus());
    expect([hex(status.cdb), status.direction, status.length]).toEqual(['df 10 00 00 01 da 00 00 4f c2 a0 b0', 'in', 1]);
    // Register 720Fh read: the port probe.
    expect(hex(jmicronReadRegisterCdb(0x720f, 1).cdb)).toBe('df 10 00 00 01 00 72 0f 00 00 00 fd');
    expect([decodeJmicronPort(Uint8Array.of(0x04)), decodeJmicronPort(Uint8Array.of(0x40))]).toEqual([0, 1]);
    expect(() => decodeJmicronPort(Uint8Array.of(0x44))).toThrow(/both ports/);
    expect(() => decodeJmicronPort(Uint8Array.of(0x00))).toThrow(/no drive/);
    expect(() => jmicronAtaCdb(readExtendedSelfTestLog())).toThrow(UnsupportedError);
    expect(() => jmicronAtaCdb(checkPowerMode())).toThrow(/no ATA registers/);
  });
  it('Cypress ATACB: signature 24h, subcommand 24h, IdentifyPacketDevice flag, register select BEh', () => {
    expect(hex(cypressAtaCdb(identifyDevice()).cdb)).toBe('24 24 80 be 01 00 00 01 00 00 00 00 ec 00 00 00');
    expect(hex(cypressAtaCdb(smartReturnStatus()).cdb)).toBe('24 24 00 be 01 00 da 00 00 4f c2 00 b0 00 00 00');
    const read = cypressReadRegistersCdb(smartReturnStatus());
    expect([hex(read.cdb), read.direction, read.length]).toEqual(['24 24 01 be 01 00 da 00 00 4f c2 00 b0 00 00 00', 'in', 8]);
    expect(hex(cypressAtaCdb(smartReadData(), 0x52).cdb).slice(0, 2)).toBe('52');
    expect(() => cypressAtaCdb(readExtendedSelfTestLog())).toThrow(UnsupportedError);
  });
  it('Sunplus: F8h 00h 22h protocol blocks taskfile DEVICE | A0h COMMAND; 23h preset for 48-bit; 21h status', () => {
    expect(sunplusAtaCdbs(identifyDevice()).map((s) => hex(s.cdb))).toEqual(['f8 00 22 10 01 00 01 00 00 00 a0 ec']);
    expect(sunplusAtaCdbs(smartExecuteOfflineImmediate('short')).map((s) => hex(s.cdb))).toEqual(['f8 00 22 00 00 d4 00 01 4f c2 a0 b0']);
    expect(sunplusAtaCdbs(readExtendedSelfTestLog()).map((s) => hex(s.cdb))).toEqual([
      'f8 00 23 00 00 00 00 00 00 00 00 00',
      'f8 00 22 10 01 00 01 07 00 00 a0 2f',
    ]);
    expect(hex(sunplusReadRegistersCdb().cdb)).toBe('f8 00 21 00 00 00 00 00 00 00 00 00');
  });
});

const ATA_KINDS = ['jmicron', 'cypress', 'sunplus'] as const;

describe.each(ATA_KINDS)('through the simulated %s enclosure: the same decoded results as SAT', (kind) => {
  it('IDENTIFY, SMART data with thresholds and health equal the SAT path on the same drive', async () => {
    const drive = new SimAtaDrive({ model: 'SIM HDD 2TB', serial: 'WD-123' });
    const { options } = simAtaBridge(kind, drive);
    const device = await MscDevice.open(new SimulatedDevice(options).transport);
    const route = await selectBridge(device);
    expect([route.kind, route.how]).toEqual([kind, 'usb-id']);
    const sat = await MscDevice.open(new SimulatedDevice({ vendorCommand: drive.hook }).transport);
    const id = await runAtaVia(device, route, identifyDevice());
    expect(id).toEqual(await runAta(sat, identifyDevice()));
    expect([id.model, id.serial]).toEqual(['SIM HDD 2TB', 'WD-123']);
    const thresholds = await runAtaVia(device, route, smartReadThresholds());
    const data = await runAtaVia(device, route, smartReadData(thresholds));
    expect(data.attributes).toEqual((await runAta(sat, smartReadData(await runAta(sat, smartReadThresholds())))).attributes);
    expect(await runAtaVia(device, route, smartReturnStatus())).toBe('passed');
    await device.close();
  });
  it('a failing drive reports failed', async () => {
    const drive = new SimAtaDrive({ attributes: [{ id: 5, flags: 0x33, value: 10, worst: 10, raw: 900, threshold: 36 }] });
    const device = await MscDevice.open(new SimulatedDevice(simAtaBridge(kind, drive).options).transport);
    expect(await runAtaVia(device, await selectBridge(device), smartReturnStatus())).toBe('failed');
    await device.close();
  });
  it('self-test start through the bridge; read-only refuses it before anything is sent', async () => {
    const drive = new SimAtaDrive();
    const sim = new SimulatedDevice(simAtaBridge(kind, drive).options);
    const device = await MscDevice.open(sim.transport);
    const route = await selectBridge(device);
    await runAtaVia(device, route, smartExecuteOfflineImmediate('short'));
    expect((await runAtaVia(device, route, smartReadData())).selfTest.inProgress).toBe(true);
    await device.close();
    const ro = await MscDevice.open(new SimulatedDevice(simAtaBridge(kind, drive).options).transport, { readOnly: true });
    const before = drive.log.length;
    await expect(runAtaVia(ro, route, smartExecuteOfflineImmediate('abort'))).rejects.toThrow(ReadOnlyError);
    expect(drive.log.length).toBe(before);
    expect((await runAtaVia(ro, route, identifyDevice())).model).toBe(drive.model);
    await ro.close();
  });
});

describe('bridge selection', () => {
  /** A device that records every CDB it gets and knows no vendor command. */
  function recordingDevice(vendorCommand?: SimVendorHook): { sim: SimulatedDevice; opcodes: number[] } {
    const opcodes: number[] = [];
    const sim = new SimulatedDevice({
      info: { vendorId: 0x1234, productId: 0x5678 },
      vendorCommand: (cdb, data, lun, ctx) => {
        opcodes.push(cdb[0] ?? 0);
        return vendorCommand?.(cdb, data, lun, ctx);
      },
    });
    return { sim, opcodes };
  }
  const VENDOR_OPCODES = [0xdf, 0x24, 0xf8, 0xe6, 0xe4, 0xa1];

  it('auto never sends a vendor opcode to an unknown device, and says what it tried', async () => {
    const { sim, opcodes } = recordingDevice();
    const device = await MscDevice.open(sim.transport);
    const error = await selectBridge(device).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedError);
    expect((error as Error).message).toMatch(
      /^no ATA\/NVMe pass-through \(tried: USB ID 1234:5678 is not in the bridge table; SAT ATA PASS-THROUGH\(16\) IDENTIFY DEVICE: /,
    );
    // Everything the device saw: only the SAT probe (85h), never a vendor opcode.
    expect(opcodes).toEqual([0x85]);
    for (const cdb of sim.log.map((r) => r.cdb[0])) expect(VENDOR_OPCODES).not.toContain(cdb);
    await device.close();
  });
  it('auto finds SAT on an unknown device that answers ATA PASS-THROUGH', async () => {
    const drive = new SimAtaDrive();
    const { sim, opcodes } = recordingDevice(drive.hook);
    const device = await MscDevice.open(sim.transport);
    expect(await selectBridge(device)).toEqual({ kind: 'sat', family: 'ata', how: 'sat-probe' });
    expect(opcodes).toEqual([0x85]);
    await device.close();
  });
  it.each(['nvme-jmicron', 'nvme-asmedia', 'nvme-realtek'] as const)('auto picks %s by USB ID and sends only its convention', async (kind) => {
    const { options } = simNvmeBridge(kind);
    const sim = new SimulatedDevice(options);
    const device = await MscDevice.open(sim.transport);
    const route = await selectBridge(device);
    expect([route.kind, route.family, route.how]).toEqual([kind, 'nvme', 'usb-id']);
    await runNvme(device, kind, nvmeSmartHealthLog());
    await device.close();
  });
  it('explicit --bridge: the named kind; an unknown name is refused', async () => {
    const { options } = simNvmeBridge('nvme-realtek');
    const device = await MscDevice.open(new SimulatedDevice(options).transport);
    expect((await selectBridge(device, 'nvme-asmedia')).how).toBe('explicit');
    await expect(selectBridge(device, 'bogus' as BridgeKind)).rejects.toThrow(/unknown bridge "bogus"/);
    await device.close();
  });
  it('JMicron SATA: the port comes from register 720Fh', async () => {
    const drive = new SimAtaDrive();
    const { jmicronAtaHook } = await import('../sim/ata-bridges.js');
    const device = await MscDevice.open(new SimulatedDevice({ vendorCommand: jmicronAtaHook(drive, 1) }).transport);
    const route = await selectBridge(device, 'jmicron');
    expect(route.port).toBe(1);
    expect((await runAtaVia(device, route, identifyDevice())).model).toBe(drive.model);
    await device.close();
  });
});

describe('read-only and commands that vouch for themselves', () => {
  it('a data-out command declaring writesMedium: false passes a read-only device; a write-class opcode never does', async () => {
    const { defineCommand } = await import('../scsi/vendor.js');
    const seen: number[] = [];
    const sim = new SimulatedDevice({
      vendorCommand: (cdb) => {
        seen.push(cdb[0] ?? 0);
        return cdb[0] === 0xc5 ? { status: 'good' } : undefined;
      },
    });
    const device = await MscDevice.open(sim.transport, { readOnly: true });
    const sendKey = defineCommand({
      name: 'ACME SEND KEY',
      direction: 'out',
      data: () => Uint8Array.of(1, 2, 3, 4),
      cdb: () => [0xc5, 0, 0, 0, 4, 0],
      writesMedium: false,
    });
    await device.run(sendKey());
    const plain = defineCommand({ name: 'ACME STORE', direction: 'out', data: () => Uint8Array.of(1), cdb: () => [0xc5, 0, 0, 0, 1, 0] });
    await expect(device.run(plain())).rejects.toThrow(ReadOnlyError);
    const sneaky = defineCommand({
      name: 'WRITE(10)',
      direction: 'out',
      data: () => new Uint8Array(512),
      cdb: () => [0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0],
      writesMedium: false,
    });
    await expect(device.run(sneaky())).rejects.toThrow(ReadOnlyError);
    expect(seen).toEqual([0xc5]);
    await device.close();
  });
});
