import { describe, expect, it } from 'vitest';
import { MscDevice } from '../device.js';
import { InvalidArgumentError, NvmeStatusError, ParseError, UnsupportedError } from '../errors.js';
import { SimulatedDevice } from '../sim/device.js';
import { simNvmeBridge } from '../sim/nvme-bridges.js';
import { SimNvmeDrive } from '../sim/nvme-drive.js';
import {
  decodeNvmeErrorLog,
  decodeNvmeIdentifyController,
  decodeNvmeIdentifyNamespace,
  decodeNvmeSmartHealth,
  nvmeErrorLog,
  nvmeGetLogPage,
  nvmeIdentifyController,
  nvmeIdentifyNamespace,
  nvmeReadOnlyRefusal,
  nvmeSmartHealthLog,
} from './nvme.js';
import { asmediaNvmeCdb, decodeJmicronNvmeResponse, jmicronNvmeCdbs, type NvmeBridgeKind, realtekNvmeCdb } from './nvme-bridges.js';
import { runNvme } from './run-nvme.js';

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');

describe('NVMe admin commands (NVMe Base 2.0 §5.16, §5.17)', () => {
  it('Identify Controller: CNS 01h, NSID 0, 4096 bytes', () => {
    const c = nvmeIdentifyController();
    expect([c.opcode, c.nsid, c.cdw10, c.dataLength]).toEqual([0x06, 0, 0x01, 4096]);
  });
  it('Identify Namespace: CNS 00h for the NSID', () => {
    const c = nvmeIdentifyNamespace(1);
    expect([c.opcode, c.nsid, c.cdw10]).toEqual([0x06, 1, 0x00]);
    expect(() => nvmeIdentifyNamespace(0)).toThrow(InvalidArgumentError);
    expect(() => nvmeIdentifyNamespace(0xffffffff)).toThrow(InvalidArgumentError);
  });
  it('Get Log Page: CDW10 = NUMDL (0-based dwords) << 16 | LID; CDW12 = offset', () => {
    const smart = nvmeSmartHealthLog();
    expect([smart.opcode, smart.nsid, smart.cdw10, smart.dataLength]).toEqual([0x02, 0xffffffff, 0x007f0002, 512]);
    const err = nvmeErrorLog(16);
    expect([err.cdw10, err.dataLength]).toEqual([0x00ff0001, 1024]);
    const page = nvmeGetLogPage({ logId: 0xc0, length: 4096, offset: 8, nsid: 1 });
    expect([page.cdw10, page.cdw12, page.nsid]).toEqual([0x03ff00c0, 8, 1]);
    expect(() => nvmeGetLogPage({ logId: 2, length: 6 })).toThrow(InvalidArgumentError);
    expect(() => nvmeGetLogPage({ logId: 2, length: 8192 })).toThrow(InvalidArgumentError);
    expect(() => nvmeGetLogPage({ logId: 2, length: 8, offset: 2 })).toThrow(InvalidArgumentError);
    expect(() => nvmeGetLogPage({ logId: 256, length: 8 })).toThrow(InvalidArgumentError);
  });
  it('read-only allowlist: Identify and Get Log Page only', () => {
    expect(nvmeReadOnlyRefusal(nvmeIdentifyController())).toBeUndefined();
    expect(nvmeReadOnlyRefusal(nvmeSmartHealthLog())).toBeUndefined();
    for (const opcode of [0x00, 0x01, 0x04, 0x05, 0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x10, 0x11, 0x14, 0x80, 0x84, 0xc0]) {
      expect(nvmeReadOnlyRefusal({ opcode }), `opcode ${opcode}`).toMatch(/only Identify and Get Log Page/);
    }
  });
});

describe('bridge CDBs (golden bytes, the conventions smartctl -d snt* uses)', () => {
  it('Realtek RTL9210: E4h, length LE16, opcode, CDW10[7:0]', () => {
    // E4 | length 0x1000 little-endian | Identify | CNS 1 | zero to byte 15
    expect(hex(realtekNvmeCdb(nvmeIdentifyController()).cdb)).toBe('e4 00 10 06 01 00 00 00 00 00 00 00 00 00 00 00');
    expect(hex(realtekNvmeCdb(nvmeIdentifyNamespace(1)).cdb)).toBe('e4 00 10 06 00 00 00 00 00 00 00 00 00 00 00 00');
    // E4 | 512 bytes | Get Log Page | LID 02h
    expect(hex(realtekNvmeCdb(nvmeSmartHealthLog()).cdb)).toBe('e4 00 02 02 02 00 00 00 00 00 00 00 00 00 00 00');
    expect(realtekNvmeCdb(nvmeSmartHealthLog()).direction).toBe('in');
  });
  it('Realtek refuses what it would mangle: NSID != 1, logs > 512 bytes, offsets', () => {
    expect(() => realtekNvmeCdb(nvmeIdentifyNamespace(2))).toThrow(UnsupportedError);
    expect(() => realtekNvmeCdb(nvmeErrorLog(16))).toThrow(/stale data past 512/);
    expect(() => realtekNvmeCdb(nvmeGetLogPage({ logId: 2, length: 512, offset: 4 }))).toThrow(UnsupportedError);
    expect(() => realtekNvmeCdb(nvmeGetLogPage({ logId: 2, length: 512, nsid: 3 }))).toThrow(UnsupportedError);
    expect(() => realtekNvmeCdb({ ...nvmeIdentifyController(), opcode: 0x80 })).toThrow(UnsupportedError);
  });
  it('ASMedia ASM236x: E6h, opcode, CDW10[7:0], NUMDL, CDW13, CDW12', () => {
    expect(hex(asmediaNvmeCdb(nvmeIdentifyController()).cdb)).toBe('e6 06 00 01 00 00 00 00 00 00 00 00 00 00 00 00');
    // SMART log: LID 02h, NUMDL 007Fh (512 bytes)
    expect(hex(asmediaNvmeCdb(nvmeSmartHealthLog()).cdb)).toBe('e6 02 00 02 00 00 00 7f 00 00 00 00 00 00 00 00');
    // 4096 bytes at offset 0x10: NUMDL 03FFh, CDW12 = 0x10
    expect(hex(asmediaNvmeCdb(nvmeGetLogPage({ logId: 1, length: 4096, offset: 16 })).cdb)).toBe('e6 02 00 01 00 00 03 ff 00 00 00 00 00 00 00 10');
    expect(() => asmediaNvmeCdb(nvmeIdentifyNamespace(2))).toThrow(UnsupportedError);
  });
  it('JMicron JMS583: command block, data and response CDBs (A1h, admin bit)', () => {
    const steps = jmicronNvmeCdbs(nvmeIdentifyController());
    expect(hex(steps.command.cdb)).toBe('a1 80 00 00 02 00 00 00 00 00 00 00');
    expect(steps.command.direction).toBe('out');
    const block = steps.command.data ?? new Uint8Array();
    expect(block.length).toBe(512);
    // "NVME" | reserved | opcode 06h | NSID 0 | ... | CDW10 = 1 at dword 12
    expect(hex(block.subarray(0, 16))).toBe('4e 56 4d 45 00 00 00 00 06 00 00 00 00 00 00 00');
    expect(hex(block.subarray(48, 52))).toBe('01 00 00 00');
    expect(block.subarray(52).every((b) => b === 0)).toBe(true);
    expect(hex(steps.data.cdb)).toBe('a1 82 00 00 10 00 00 00 00 00 00 00');
    expect(hex(steps.response.cdb)).toBe('a1 8f 00 00 02 00 00 00 00 00 00 00');
    const smart = jmicronNvmeCdbs(nvmeSmartHealthLog());
    expect(hex((smart.command.data ?? new Uint8Array()).subarray(8, 16))).toBe('02 00 00 00 ff ff ff ff');
    expect(hex((smart.command.data ?? new Uint8Array()).subarray(48, 52))).toBe('02 00 7f 00');
    expect(hex(smart.data.cdb)).toBe('a1 82 00 00 02 00 00 00 00 00 00 00');
  });
  it('JMicron response: signature checked, status = dword 5 >> 17', () => {
    const reply = new Uint8Array(512);
    new DataView(reply.buffer).setUint32(0, 0x454d564e, true);
    new DataView(reply.buffer).setUint32(8, 0x1234, true);
    new DataView(reply.buffer).setUint32(20, 0x0b << 17, true);
    expect(decodeJmicronNvmeResponse(reply)).toEqual({ result: 0x1234, status: 0x0b });
    expect(() => decodeJmicronNvmeResponse(new Uint8Array(512))).toThrow(ParseError);
    expect(() => decodeJmicronNvmeResponse(reply.subarray(0, 20))).toThrow(ParseError);
  });
});

describe('decoders', () => {
  const drive = new SimNvmeDrive({ model: 'Acme NVMe 1TB', serial: 'S1234', firmware: 'FW9', criticalWarning: 0, temperatureK: 310, powerOnHours: 4242 });
  it('Identify Controller', () => {
    const id = decodeNvmeIdentifyController(drive.identifyController());
    expect(id).toMatchObject({
      model: 'Acme NVMe 1TB',
      serial: 'S1234',
      firmware: 'FW9',
      pciVendorId: 0x1e4b,
      ieeeOui: 0x002538,
      controllerId: 1,
      version: '1.4',
      errorLogEntries: 8,
      powerStates: 3,
      namespaces: 1,
      logPageOffsetSupported: true,
      warningTemperatureK: 358,
      criticalTemperatureK: 368,
      extendedSelfTestMinutes: 30,
    });
    expect(id.optionalAdminCommands).toEqual({ security: true, format: true, firmwareDownload: true, namespaceManagement: false, selfTest: true, raw: 0x17 });
    expect(id.totalCapacity).toBe(1_000_215_216n * 512n);
    expect(id.powerStateDescriptors.map((p) => p.maxPowerWatts)).toEqual([9, 4.6, 0.05]);
    expect(id.powerStateDescriptors[2]?.nonOperational).toBe(true);
    expect(() => decodeNvmeIdentifyController(new Uint8Array(539))).toThrow(ParseError);
    // VER 0: a controller before NVMe 1.2; tertiary version shown when set.
    const raw = drive.identifyController();
    raw.set([0, 0, 0, 0], 80);
    expect(decodeNvmeIdentifyController(raw).version).toBeUndefined();
    raw.set([1, 0, 2, 0], 80);
    expect(decodeNvmeIdentifyController(raw).version).toBe('2.0.1');
  });
  it('Identify Namespace', () => {
    const ns = decodeNvmeIdentifyNamespace(drive.identifyNamespace());
    expect(ns).toMatchObject({
      active: true,
      size: 1_000_215_216,
      capacity: 1_000_215_216,
      formattedLbaIndex: 0,
      logicalBlockSize: 512,
      eui64: '7856341258382500',
    });
    expect(ns.sizeBytes).toBe(1_000_215_216 * 512);
    expect(ns.lbaFormats).toEqual([
      { metadataSize: 0, dataSize: 512, relativePerformance: 2 },
      { metadataSize: 0, dataSize: 4096, relativePerformance: 0 },
    ]);
    const big = decodeNvmeIdentifyNamespace(new SimNvmeDrive({ blockSize: 4096, blocks: 1000 }).identifyNamespace());
    expect([big.logicalBlockSize, big.sizeBytes]).toEqual([4096, 4_096_000]);
    expect(decodeNvmeIdentifyNamespace(new Uint8Array(4096))).toMatchObject({ active: false, size: 0 });
    const bad = drive.identifyNamespace();
    bad[26] = 5; // FLBAS beyond NLBAF
    expect(() => decodeNvmeIdentifyNamespace(bad)).toThrow(/FLBAS/);
    const tiny = drive.identifyNamespace();
    tiny[130] = 3; // LBADS 3: 8-byte blocks
    expect(() => decodeNvmeIdentifyNamespace(tiny)).toThrow(/LBADS/);
    const huge = drive.identifyNamespace();
    huge.fill(0xff, 0, 8);
    expect(() => decodeNvmeIdentifyNamespace(huge)).toThrow(/NSZE/);
    expect(() => decodeNvmeIdentifyNamespace(new Uint8Array(191))).toThrow(ParseError);
  });
  it('SMART / Health Information', () => {
    const s = decodeNvmeSmartHealth(drive.smartLog());
    expect(s).toMatchObject({
      criticalWarning: 0,
      health: 'passed',
      temperatureK: 310,
      temperatureC: 37,
      availableSpare: 100,
      availableSpareThreshold: 10,
      percentageUsed: 3,
    });
    expect([s.powerOnHours, s.powerCycles, s.unsafeShutdowns, s.dataUnitsRead]).toEqual([4242n, 321n, 17n, 12_345_678n]);
    expect(s.temperatureSensorsK.slice(0, 3)).toEqual([310, 316, 0]);
    const failing = decodeNvmeSmartHealth(new SimNvmeDrive({ criticalWarning: 0x05 }).smartLog());
    expect(failing.health).toBe('failed');
    expect(failing.warnings).toMatchObject({ spareBelowThreshold: true, temperature: false, reliabilityDegraded: true });
    // 128-bit counters beyond 2^64 are exact.
    const wide = drive.smartLog();
    wide.fill(0xff, 32, 48);
    expect(decodeNvmeSmartHealth(wide).dataUnitsRead).toBe(2n ** 128n - 1n);
    const cold = drive.smartLog();
    cold[1] = 0;
    cold[2] = 0;
    expect(decodeNvmeSmartHealth(cold).temperatureK).toBeUndefined();
    expect(() => decodeNvmeSmartHealth(new Uint8Array(231))).toThrow(ParseError);
  });
  it('Error Information log', () => {
    const log = decodeNvmeErrorLog(new SimNvmeDrive({ errors: [{ statusField: 0x0281, commandId: 7, lba: 99 }] }).errorLog());
    expect(log).toHaveLength(8);
    expect(log[0]).toMatchObject({ errorCount: 1n, submissionQueueId: 0, commandId: 7, statusField: 0x0502, lba: 99n, nsid: 1 });
    expect(log[1]?.errorCount).toBe(0n);
    expect(() => decodeNvmeErrorLog(new Uint8Array(63))).toThrow(ParseError);
  });
});

describe.each<NvmeBridgeKind>(['nvme-jmicron', 'nvme-asmedia', 'nvme-realtek'])('through the simulated %s enclosure', (kind) => {
  async function open(readOnly = false) {
    const { options, drive } = simNvmeBridge(kind, { model: 'Sim 2TB', serial: 'SN-42', powerOnHours: 77, criticalWarning: 0x02 });
    const sim = new SimulatedDevice(options);
    return { sim, drive, device: await MscDevice.open(sim.transport, { readOnly }) };
  }
  it('Identify Controller, Identify Namespace 1 and the SMART log decode to what the drive holds', async () => {
    const { sim, device, drive } = await open();
    const id = await runNvme(device, kind, nvmeIdentifyController());
    expect([id.model, id.serial, id.namespaces]).toEqual(['Sim 2TB', 'SN-42', 1]);
    const ns = await runNvme(device, kind, nvmeIdentifyNamespace(1));
    expect(ns.size).toBe(drive.options.blocks);
    const smart = await runNvme(device, kind, nvmeSmartHealthLog());
    expect([smart.powerOnHours, smart.health, smart.warnings.temperature]).toEqual([77n, 'failed', true]);
    const errors = await runNvme(device, kind, nvmeErrorLog(8));
    expect(errors).toHaveLength(8);
    expect(drive.log.map((c) => c.opcode)).toEqual([0x06, 0x06, 0x02, 0x02]);
    sim.assertClean();
    await device.close();
  });
  it('on a device opened read-only, refuses non-read admin commands before sending anything', async () => {
    const { sim, device } = await open(true);
    expect((await runNvme(device, kind, nvmeSmartHealthLog())).powerOnHours).toBe(77n);
    const before = sim.log.length;
    await expect(runNvme(device, kind, { ...nvmeIdentifyController(), opcode: 0x80, name: 'FORMAT NVM' })).rejects.toThrow(/only Identify and Get Log Page/);
    expect(sim.log.length).toBe(before);
    await device.close();
  });
});

describe('bridge quirks', () => {
  it('JMicron: an NVMe error status becomes NvmeStatusError (Invalid Log Page)', async () => {
    const { options } = simNvmeBridge('nvme-jmicron');
    const device = await MscDevice.open(new SimulatedDevice(options).transport);
    const error = await runNvme(device, 'nvme-jmicron', nvmeGetLogPage({ logId: 0x7f, length: 64 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NvmeStatusError);
    expect((error as NvmeStatusError).details).toMatchObject({ status: 0x109, sct: 1, sc: 0x09 });
    expect((error as Error).message).toMatch(/Invalid Log Page/);
    // JMicron carries the NSID: namespace 2 does not exist.
    await expect(runNvme(device, 'nvme-jmicron', nvmeIdentifyNamespace(2))).resolves.toMatchObject({ active: false });
    await device.close();
  });
  it('Realtek: the emulated bridge returns stale bytes past 512 of a log, which is why the builder refuses it', async () => {
    const { options } = simNvmeBridge('nvme-realtek', { errors: [{ statusField: 1, commandId: 1 }], errorLogEntries: 16 });
    const device = await MscDevice.open(new SimulatedDevice(options).transport);
    await runNvme(device, 'nvme-realtek', nvmeIdentifyController());
    const raw = await device.execute({ cdb: Uint8Array.of(0xe4, 0x00, 0x04, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), direction: 'in', length: 1024 });
    // Bytes 512-1023 are Identify Controller bytes 512-1023 (SQES 66h at 512), not error log entries 8-15.
    expect(raw.data[512]).toBe(0x66);
    await expect(runNvme(device, 'nvme-realtek', nvmeErrorLog(16))).rejects.toThrow(UnsupportedError);
    await device.close();
  });
  it('JMicron: a data CDB without a command block is refused by the bridge', async () => {
    const { options } = simNvmeBridge('nvme-jmicron');
    const device = await MscDevice.open(new SimulatedDevice(options).transport);
    const r = await device.execute({ cdb: jmicronNvmeCdbs(nvmeIdentifyController()).data.cdb, direction: 'in', length: 4096 });
    expect(r.status).toBe('check-condition');
    expect([r.sense?.senseKey, r.sense?.asc]).toEqual([0x05, 0x24]);
    await device.close();
  });
});
