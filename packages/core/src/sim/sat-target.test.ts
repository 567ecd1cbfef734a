/**
 * The simulated SAT target end to end: MscDevice -> BOT -> simulator -> SimAtaDrive, through the core's
 * typed ATA commands. Self-test progress, abort and READ LOG EXT are tested here because QEMU's IDE drive
 * (the integration suite's real ATA target) finishes self-tests at once and has no READ LOG EXT.
 */
import { describe, expect, it } from 'vitest';
import { MscDevice } from '../device.js';
import { ReadOnlyError, ScsiCheckConditionError } from '../errors.js';
import {
  AtaCommandError,
  checkPowerMode,
  executeAta,
  identifyDevice,
  readExtendedSelfTestLog,
  readGpLogDirectory,
  runAta,
  smartExecuteOfflineImmediate,
  smartReadData,
  smartReadErrorLog,
  smartReadLogDirectory,
  smartReadSelfTestLog,
  smartReadThresholds,
  smartReturnStatus,
} from '../sat/index.js';
import { SimulatedDevice } from './device.js';
import { SimAtaDrive, type SimAtaDriveOptions } from './sat-target.js';

async function open(options: SimAtaDriveOptions = {}, readOnly = false): Promise<{ drive: SimAtaDrive; device: MscDevice; sim: SimulatedDevice }> {
  const drive = new SimAtaDrive(options);
  const sim = new SimulatedDevice({ luns: [{ removable: false }], vendorCommand: drive.hook });
  const device = await MscDevice.open(sim.transport, { readOnly });
  return { drive, device, sim };
}

/** MODE SELECT(6) with the control mode page (SPC-4 §7.5.8), D_SENSE in byte 2 bit 2. */
async function setDescriptorSense(device: MscDevice, on: boolean): Promise<void> {
  const data = new Uint8Array(4 + 12);
  data[4] = 0x0a;
  data[5] = 10;
  data[6] = on ? 0x04 : 0x00;
  const r = await device.execute({ cdb: Uint8Array.of(0x15, 0x10, 0, 0, data.length, 0), direction: 'out', data });
  expect(r.status).toBe('good');
}

describe('SimAtaDrive through MscDevice and runAta', () => {
  it('IDENTIFY, SMART data with thresholds, health, power mode', async () => {
    const { device } = await open({ model: 'SIM SSD', serial: 'S123', firmware: 'F1', sectors: 500118192 });
    const id = await runAta(device, identifyDevice());
    expect(id).toMatchObject({ model: 'SIM SSD', serial: 'S123', firmware: 'F1', sectors: 500118192 });
    const thresholds = await runAta(device, smartReadThresholds());
    const smart = await runAta(device, smartReadData(thresholds));
    expect(smart.attributes.map((a) => [a.id, a.value, a.worst, a.threshold])).toEqual([
      [1, 100, 100, 6],
      [5, 100, 100, 36],
      [9, 99, 99, 0],
      [12, 100, 100, 20],
      [194, 64, 45, 0],
      [197, 100, 100, 0],
    ]);
    expect(await runAta(device, smartReturnStatus())).toBe('passed');
    expect(await runAta(device, checkPowerMode())).toEqual({ mode: 'active-or-idle', count: 0xff });
    await device.close();
  });

  it('both sense formats (D_SENSE off and on, set by MODE SELECT) give the same registers', async () => {
    const { device, drive } = await open();
    const fixed = await executeAta(device, smartReturnStatus());
    expect(fixed.sense?.format).toBe('fixed');
    await setDescriptorSense(device, true);
    expect(drive.descriptorSense).toBe(true);
    const descriptor = await executeAta(device, smartReturnStatus());
    expect(descriptor.sense?.format).toBe('descriptor');
    expect(descriptor.registers).toEqual({ ...fixed.registers, source: 'descriptor' });
    expect(descriptor.registers?.lba).toBe(0xc24f00);
    await setDescriptorSense(device, false);
    expect((await executeAta(device, checkPowerMode())).sense?.format).toBe('fixed');
  });

  it('a pre-failure attribute at its threshold: RETURN STATUS says failed, the attribute verdict says now', async () => {
    const { device } = await open({ attributes: [{ id: 5, flags: 0x33, value: 30, worst: 30, raw: 900, threshold: 36 }] });
    expect(await runAta(device, smartReturnStatus())).toBe('failed');
    const smart = await runAta(device, smartReadData(await runAta(device, smartReadThresholds())));
    expect(smart.attributes[0]).toMatchObject({ verdict: 'now', raw: 900 });
  });

  it('short self-test: progress in SMART READ DATA, then a log entry in both self-test logs', async () => {
    let now = 0;
    const { device } = await open({ now: () => now, selfTestMs: { short: 100_000 }, powerOnHours: 77 });
    await runAta(device, smartExecuteOfflineImmediate('short'));
    now = 25_000;
    let smart = await runAta(device, smartReadData());
    expect(smart.selfTest).toMatchObject({ inProgress: true, remainingPercent: 80, code: 15 });
    expect(smart.pollingMinutes.short).toBe(2);
    now = 100_000;
    smart = await runAta(device, smartReadData());
    expect(smart.selfTest).toMatchObject({ inProgress: false, code: 0, text: 'Completed without error' });
    const log = await runAta(device, smartReadSelfTestLog());
    expect(log.entries).toEqual([
      { number: 1, subcommand: 1, description: 'Short offline', status: expect.objectContaining({ code: 0 }), lifetimeHours: 77, checkpoint: 0 },
    ]);
    const ext = await runAta(device, readExtendedSelfTestLog());
    expect(ext.entries.map((e) => [e.description, e.status.code, e.lifetimeHours])).toEqual([['Short offline', 0, 77]]);
    expect(ext.checksumValid).toBe(true);
  });

  it('extended self-test aborted by the host (-X): status 1 in the log; a second start while running is an ATA abort', async () => {
    let now = 0;
    const { device } = await open({ now: () => now });
    await runAta(device, smartExecuteOfflineImmediate('extended'));
    await expect(runAta(device, smartExecuteOfflineImmediate('short'))).rejects.toBeInstanceOf(AtaCommandError);
    now = 60_000;
    await runAta(device, smartExecuteOfflineImmediate('abort'));
    const smart = await runAta(device, smartReadData());
    expect(smart.selfTest).toMatchObject({ code: 1, text: 'Aborted by host' });
    const log = await runAta(device, smartReadSelfTestLog());
    expect(log.entries[0]).toMatchObject({ description: 'Extended offline', status: { code: 1 } });
  });

  it('a self-test that hits a bad sector: read failure with the failing LBA in both logs', async () => {
    let now = 0;
    const { device } = await open({ now: () => now, selfTestMs: { short: 1000 }, selfTestFailure: { lba: 0x123456, atFraction: 0.5 } });
    await runAta(device, smartExecuteOfflineImmediate('short'));
    now = 600;
    const log = await runAta(device, smartReadSelfTestLog());
    expect(log.entries[0]).toMatchObject({ status: { code: 7, remainingPercent: 50 }, failingLba: 0x123456 });
    expect((await runAta(device, readExtendedSelfTestLog())).entries[0]?.failingLba).toBe(0x123456);
  });

  it('log directories and the summary error log', async () => {
    const { device } = await open({ errors: [{ error: 0x40, status: 0x51, lba: 0x1234, lifetimeHours: 10, command: 0x25 }] });
    expect([...(await runAta(device, smartReadLogDirectory())).pages.keys()]).toEqual([0x01, 0x06]);
    expect([...(await runAta(device, readGpLogDirectory({ dma: true }))).pages.keys()]).toEqual([0x07]);
    const errors = await runAta(device, smartReadErrorLog());
    expect(errors).toMatchObject({ errorCount: 1, checksumValid: true });
    expect(errors.entries[0]).toMatchObject({
      error: 0x40,
      status: 0x51,
      lba: 0x1234,
      lifetimeHours: 10,
      commands: [expect.objectContaining({ command: 0x25 })],
    });
  });

  it('an unsupported ATA command is an AtaCommandError with the registers (ABORTED COMMAND, ERR, ABRT)', async () => {
    const { device } = await open({ readLogExt: false });
    const error = await runAta(device, readExtendedSelfTestLog()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AtaCommandError);
    expect((error as AtaCommandError).registers).toMatchObject({ status: 0x51, error: 0x04 });
    expect((error as AtaCommandError).sense?.senseKey).toBe(0x0b);
  });
});

describe('SimAtaDrive faults', () => {
  it('ignores CK_COND: register answers fail with a clear error, data commands still work', async () => {
    const { device } = await open({ faults: { ignoresCheckCondition: true } });
    await expect(runAta(device, smartReturnStatus())).rejects.toThrow(/ignores CK_COND/);
    expect((await runAta(device, identifyDevice())).model).toBe('USBMS SIM ATA DRIVE');
  });

  it('answers only ATA PASS-THROUGH(12): 85h is an invalid opcode, A1h works', async () => {
    const { device, drive } = await open({ faults: { only12ByteCdb: true } });
    const error = await runAta(device, identifyDevice()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ScsiCheckConditionError);
    expect(error).not.toBeInstanceOf(AtaCommandError);
    expect((error as ScsiCheckConditionError).sense).toMatchObject({ senseKey: 5, asc: 0x20 });
    expect(await runAta(device, smartReturnStatus(), { cdbSize: 12 })).toBe('passed');
    expect(drive.log.at(-1)).toMatchObject({ cdbSize: 12, command: 0xb0, features: 0xda });
  });

  it('fixed-format sense only: D_SENSE on still gives fixed format, same answer', async () => {
    const { device } = await open({ faults: { fixedSenseOnly: true } });
    await setDescriptorSense(device, true);
    const r = await executeAta(device, smartReturnStatus());
    expect(r.sense?.format).toBe('fixed');
    expect(r.registers?.lba).toBe(0xc24f00);
  });
});

describe('read-only device: only ATA reads reach the drive', () => {
  it('refuses self-tests and other ATA commands before anything is sent; reads pass', async () => {
    const { device, drive, sim } = await open({}, true);
    const before = sim.log.length;
    for (const command of [smartExecuteOfflineImmediate('short'), smartExecuteOfflineImmediate('abort')]) {
      await expect(runAta(device, command)).rejects.toBeInstanceOf(ReadOnlyError);
    }
    // Raw SET FEATURES (non-data) through execute() is refused the same way.
    const setFeatures = Uint8Array.of(0x85, 0x06, 0x00, 0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xef, 0);
    await expect(device.execute({ cdb: setFeatures, direction: 'none' })).rejects.toBeInstanceOf(ReadOnlyError);
    expect(sim.log.length).toBe(before);
    expect(drive.log).toEqual([]);
    expect(await runAta(device, smartReturnStatus())).toBe('passed');
    await runAta(device, identifyDevice());
    await runAta(device, readExtendedSelfTestLog());
    expect(drive.log.map((c) => c.command)).toEqual([0xb0, 0xec, 0x2f]);
  });
});

describe('SimAtaDrive under arbitrary CDBs', () => {
  it('answers every CDB with a result, never a throw', async () => {
    const { default: fc } = await import('fast-check');
    const drive = new SimAtaDrive({ now: () => 0 });
    fc.assert(
      fc.property(
        fc.constantFrom(0x85, 0xa1, 0x15, 0x55),
        fc.uint8Array({ minLength: 0, maxLength: 15 }),
        fc.uint8Array({ maxLength: 40 }),
        (opcode, rest, data) => {
          const r = drive.hook(Uint8Array.from([opcode, ...rest]), data, 0, { hostDirection: 'none', hostLength: 0, tag: 1 });
          expect(r).toBeDefined();
        },
      ),
      { numRuns: 2000 },
    );
  });
});
