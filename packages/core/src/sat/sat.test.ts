import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ParseError } from '../errors.js';
import { decodeSense } from '../sense/decode.js';
import { SimAtaDrive } from '../sim/sat-target.js';
import {
  checkPowerMode,
  identifyDevice,
  readLogExt,
  smartExecuteOfflineImmediate,
  smartReadData,
  smartReadLog,
  smartReadThresholds,
  smartReturnStatus,
} from './commands.js';
import { decodeIdentifyDevice } from './identify.js';
import { AtaProtocol, ataPassThrough, parseAtaPassThrough } from './pass-through.js';
import { ataReadOnlyRefusal, isAtaPassThroughAllowedReadOnly } from './read-only.js';
import { ataRegistersFromSense, decodeFixedAtaReturn } from './registers.js';
import { decodeSelfTestLog, decodeSmartData, decodeSmartThresholds, formatSmartRaw, smartHealthFromLba } from './smart.js';
import { decodeAtaInformationVpd } from './vpd.js';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const cdbOf = (command: { passThrough: Parameters<typeof ataPassThrough>[0] }, cdbSize: 12 | 16 = 16): Uint8Array =>
  ataPassThrough({ ...command.passThrough, cdbSize }).cdb;

describe('ATA PASS-THROUGH CDBs (SAT-4 §12.2.2, §12.2.3)', () => {
  it('IDENTIFY DEVICE: PIO data-in, T_DIR=1 BYT_BLOK=1 T_LENGTH=2 (the CDB smartctl -d sat sends)', () => {
    // byte 1: PROTOCOL 4 << 1; byte 2: T_DIR 08 | BYT_BLOK 04 | T_LENGTH 02; COUNT 1; COMMAND ECh.
    expect(hex(cdbOf(identifyDevice()))).toBe('85 08 0e 00 00 00 01 00 00 00 00 00 00 00 ec 00');
    expect(hex(cdbOf(identifyDevice(), 12))).toBe('a1 08 0e 00 01 00 00 00 00 ec 00 00');
  });

  it('SMART READ DATA and RETURN STATUS: key 4Fh/C2h in LBA mid/high, CK_COND for the register answer', () => {
    expect(hex(cdbOf(smartReadData()))).toBe('85 08 0e 00 d0 00 01 00 00 00 4f 00 c2 00 b0 00');
    // READ THRESHOLDS: LBA(7:0) = 01h, as smartctl 7.3 sends it (byte 8).
    expect(hex(cdbOf(smartReadThresholds()))).toBe('85 08 0e 00 d1 00 01 00 01 00 4f 00 c2 00 b0 00');
    expect(hex(cdbOf(smartReadThresholds(), 12))).toBe('a1 08 0e d1 01 01 4f c2 00 b0 00 00');
    // Non-data: PROTOCOL 3, CK_COND 20h, T_LENGTH 0 with T_DIR and BYT_BLOK set (0Ch) as smartctl sends them.
    expect(hex(cdbOf(smartReturnStatus()))).toBe('85 06 2c 00 da 00 00 00 00 00 4f 00 c2 00 b0 00');
    expect(hex(cdbOf(smartReturnStatus(), 12))).toBe('a1 06 2c da 00 00 4f c2 00 b0 00 00');
    expect(hex(cdbOf(smartExecuteOfflineImmediate('short')))).toBe('85 06 0c 00 d4 00 00 00 01 00 4f 00 c2 00 b0 00');
    expect(hex(cdbOf(checkPowerMode()))).toBe('85 06 2c 00 00 00 00 00 00 00 00 00 00 00 e5 00');
  });

  it('READ LOG EXT is 48-bit: EXTEND, 16-bit count, page number in LBA(15:8) and LBA(47:40)', () => {
    const cdb = cdbOf(readLogExt(0x07, { page: 0x0102, pages: 2 }));
    expect(hex(cdb)).toBe('85 09 0e 00 00 00 02 00 07 00 02 01 00 00 2f 00');
    expect(parseAtaPassThrough(cdb)).toMatchObject({ extend: true, count: 2, lba: 0x0100_0000_0207, command: 0x2f, protocol: 4 });
    expect(() => cdbOf(readLogExt(0x07), 12)).toThrow(InvalidArgumentError);
    expect(hex(cdbOf(readLogExt(0x00, { dma: true })))).toBe('85 0d 0e 00 00 00 01 00 00 00 00 00 00 00 47 00');
  });

  it('DMA data-out and T_LENGTH in FEATURES', () => {
    const out = ataPassThrough({
      protocol: AtaProtocol.Dma,
      direction: 'out',
      command: 0x06,
      features: 1,
      lengthIn: 'features',
      transferBytes: 512,
      extend: true,
    });
    expect(out.direction).toBe('out');
    expect(out.cdb[2]).toBe(0x05); // T_DIR 0, BYT_BLOK 1, T_LENGTH 1
    expect(out.cdb[1]).toBe(0x0d);
  });

  it('refuses inconsistent requests before building anything', () => {
    expect(() => ataPassThrough({ protocol: AtaProtocol.PioDataIn, command: 0xec, count: 2, transferBytes: 512 })).toThrow(/count 2 does not match/);
    expect(() => ataPassThrough({ protocol: AtaProtocol.NonData, command: 0xe5, transferBytes: 512 })).toThrow(/no data stage/);
    expect(() => ataPassThrough({ protocol: AtaProtocol.PioDataIn, command: 0xec, count: 1, transferBytes: 100 })).toThrow(/multiple of 512/);
    expect(() => ataPassThrough({ protocol: AtaProtocol.PioDataIn, command: 0xec, count: 1, transferBytes: 512, direction: 'out' })).toThrow(
      /implies direction/,
    );
    expect(() => ataPassThrough({ protocol: AtaProtocol.NonData, command: 0x100 })).toThrow(InvalidArgumentError);
    expect(() => ataPassThrough({ protocol: AtaProtocol.NonData, command: 0xe5, lba: 0x100_0000 })).toThrow(/LBA/);
  });

  it('never builds ATA PASS-THROUGH(12) for an MMC logical unit (A1h is BLANK there)', () => {
    expect(() => ataPassThrough({ protocol: AtaProtocol.NonData, command: 0xe5, cdbSize: 12, peripheralDeviceType: 0x05 })).toThrow(/BLANK/);
    expect(ataPassThrough({ protocol: AtaProtocol.NonData, command: 0xe5, cdbSize: 16, peripheralDeviceType: 0x05 }).cdb[0]).toBe(0x85);
  });

  it('parse is the inverse of build for both sizes', () => {
    for (const size of [12, 16] as const) {
      const built = ataPassThrough({ protocol: AtaProtocol.NonData, command: 0xb0, features: 0xd4, lba: 0xc24f01, checkCondition: true, cdbSize: size });
      expect(parseAtaPassThrough(built.cdb)).toMatchObject({ cdbSize: size, protocol: 3, checkCondition: true, features: 0xd4, lba: 0xc24f01, command: 0xb0 });
    }
    expect(parseAtaPassThrough(Uint8Array.of(0x85, 0, 0))).toBeUndefined();
    expect(parseAtaPassThrough(new Uint8Array(16))).toBeUndefined();
  });
});

describe('ATA return registers from sense data (SAT-4 §12.2.2.6, §12.2.2.7)', () => {
  const descriptorSense = Uint8Array.from([
    0x72, 0x01, 0x00, 0x1d, 0, 0, 0, 14,
    // ATA Status Return: EXTEND 0, ERROR 00, COUNT 00 01, LBA (31:24)00 (7:0)01 (39:32)00 (15:8)4f (47:40)00 (23:16)c2, DEVICE a0, STATUS 50
    0x09, 0x0c, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x4f, 0x00, 0xc2, 0xa0, 0x50,
  ]);
  // The same registers in fixed format: VALID, INFORMATION = ERROR STATUS DEVICE COUNT, CSI = flags LBA low/mid/high, 00/1D.
  const fixedSense = Uint8Array.from([0xf0, 0, 0x01, 0x00, 0x50, 0xa0, 0x01, 10, 0x00, 0x01, 0x4f, 0xc2, 0x00, 0x1d, 0, 0, 0, 0]);

  it('both sense formats decode to the same ATA registers', () => {
    const a = ataRegistersFromSense(decodeSense(descriptorSense));
    const b = ataRegistersFromSense(decodeSense(fixedSense));
    expect(a).toEqual({ error: 0, status: 0x50, device: 0xa0, count: 1, lba: 0xc24f01, extend: false, source: 'descriptor' });
    expect({ ...b, source: 'descriptor' }).toEqual(a);
    expect(smartHealthFromLba(a?.lba ?? 0)).toBe('passed');
  });

  it('48-bit registers: the descriptor carries all 48 bits, fixed format flags what it lost', () => {
    const d = Uint8Array.from([0x72, 0x01, 0x00, 0x1d, 0, 0, 0, 14, 0x09, 0x0c, 0x01, 0x00, 0x12, 0x34, 0xaa, 0x01, 0xbb, 0x02, 0xcc, 0x03, 0x40, 0x50]);
    expect(ataRegistersFromSense(decodeSense(d))).toMatchObject({ extend: true, count: 0x1234, lba: 0xccbbaa030201 });
    const f = Uint8Array.from([0xf0, 0, 0x01, 0x00, 0x50, 0x40, 0x34, 10, 0xe0, 0x01, 0x02, 0x03, 0x00, 0x1d, 0, 0, 0, 0]);
    expect(decodeFixedAtaReturn(decodeSense(f).raw)).toMatchObject({ extend: true, count: 0x34, lba: 0x030201, upperBytesLost: true });
  });

  it('sense without ATA registers gives undefined; short fixed sense too', () => {
    expect(ataRegistersFromSense(decodeSense(Uint8Array.from([0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0])))).toBeUndefined();
    expect(ataRegistersFromSense(decodeSense(Uint8Array.from([0x72, 0x05, 0x20, 0, 0, 0, 0, 0])))).toBeUndefined();
    expect(ataRegistersFromSense(decodeSense(Uint8Array.from([0x70, 0, 0x01, 0, 0x50, 0, 0, 2, 0, 0])))).toBeUndefined();
    // A truncated ATA descriptor is a ParseError, not garbage registers.
    expect(() => ataRegistersFromSense(decodeSense(descriptorSense.subarray(0, 18)))).toThrow(ParseError);
  });
});

describe('IDENTIFY DEVICE, SMART and VPD 89h decoders', () => {
  const drive = new SimAtaDrive({
    model: 'ACME SSD 1TB',
    serial: 'SN12345',
    firmware: 'FW1.2',
    sectors: 1953525168,
    logicalSectorSize: 512,
    physicalSectorSize: 4096,
  });

  it('IDENTIFY: strings are byte-swapped words, capacity from words 100-103, sector sizes from word 106', () => {
    const id = decodeIdentifyDevice(drive.identifyData());
    expect(id).toMatchObject({
      model: 'ACME SSD 1TB',
      serial: 'SN12345',
      firmware: 'FW1.2',
      sectors: 1953525168,
      logicalSectorSize: 512,
      physicalSectorSize: 4096,
    });
    expect(id.capacityBytes).toBe(1953525168 * 512);
    expect(id.features).toMatchObject({ smart: { supported: true, enabled: true }, trim: true, lba48: true, ncq: { supported: true, depth: 32 } });
    expect(id.features.security).toMatchObject({ supported: true, enabled: false, frozen: false });
    expect(id.rotationRate).toBe('ssd');
    expect(id.checksum).toBe('valid');
    expect(id.ataMajorVersion).toBe('ACS-3');
    const corrupted = drive.identifyData();
    corrupted[100] = (corrupted[100] ?? 0) ^ 1;
    expect(decodeIdentifyDevice(corrupted).checksum).toBe('invalid');
    expect(() => decodeIdentifyDevice(new Uint8Array(511))).toThrow(ParseError);
  });

  it('4Kn: logical sector size from words 117-118', () => {
    const id = decodeIdentifyDevice(new SimAtaDrive({ sectors: 1000, logicalSectorSize: 4096 }).identifyData());
    expect(id).toMatchObject({ logicalSectorSize: 4096, physicalSectorSize: 4096, capacityBytes: 4096000 });
  });

  it('SMART attributes: names, flags, raw formats, verdicts against thresholds', () => {
    const d = new SimAtaDrive({
      attributes: [
        { id: 5, flags: 0x33, value: 100, worst: 100, raw: 3, threshold: 36 },
        { id: 9, flags: 0x32, value: 90, worst: 90, rawBytes: [0x10, 0x27, 0, 0x1e, 0, 0] },
        { id: 190, flags: 0x03, value: 0x45, worst: 0x45, rawBytes: [0x1f, 0, 0x1f, 0x1f, 0, 0], threshold: 0x32 },
        { id: 1, flags: 0x0b, value: 5, worst: 5, raw: 0x123456789a, threshold: 6 },
        { id: 3, flags: 0x27, value: 50, worst: 20, raw: 0, threshold: 21 },
        { id: 250, flags: 0x00, value: 1, worst: 1, raw: 7, threshold: 0 },
        { id: 170, flags: 0x00, value: 100, worst: 100, raw: 1 },
      ],
    });
    const smart = decodeSmartData(d.smartData(), decodeSmartThresholds(d.smartThresholds()));
    const byId = new Map(smart.attributes.map((a) => [a.id, a]));
    expect(byId.get(5)).toMatchObject({ name: 'Reallocated_Sector_Ct', preFailure: true, online: true, raw: 3, rawText: '3', threshold: 36, verdict: 'ok' });
    expect(byId.get(9)).toMatchObject({ name: 'Power_On_Hours', preFailure: false, rawText: '10000 (0 0 30)' });
    expect(byId.get(190)).toMatchObject({ name: 'Airflow_Temperature_Cel', rawText: '31 (Min/Max 31/31)', verdict: 'ok' });
    expect(byId.get(1)).toMatchObject({ raw: 0x123456789a, rawText: String(0x123456789a), verdict: 'now' });
    expect(byId.get(3)).toMatchObject({ verdict: 'past' });
    expect(byId.get(250)).toMatchObject({ verdict: 'ok' }); // threshold 0: always passing
    expect(byId.get(170)).toMatchObject({ name: 'Unknown_Attribute', threshold: 0 });
    expect(smart.checksumValid).toBe(true);
    expect(d.thresholdExceeded()).toBe(true);
    expect(decodeSmartData(d.smartData()).attributes[0]?.verdict).toBe('no-threshold');
  });

  it('raw formats', () => {
    expect(formatSmartRaw([5, 0, 1, 0, 2, 0], 'raw16(raw16)')).toBe('5 (2 1)');
    expect(formatSmartRaw([200, 0, 150, 0, 0, 0], 'raw16(avg16)')).toBe('200 (Average 150)');
    expect(formatSmartRaw([36, 0, 18, 0, 55, 0], 'tempminmax')).toBe('36 (Min/Max 18/55)');
    expect(formatSmartRaw([40, 0, 0, 0, 0, 0], 'tempminmax')).toBe('40');
    expect(formatSmartRaw([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 'raw48')).toBe(String(2 ** 48 - 1));
  });

  it('SMART RETURN STATUS verdict comes from LBA mid/high only', () => {
    expect(smartHealthFromLba(0xc24f00)).toBe('passed');
    expect(smartHealthFromLba(0x2cf400)).toBe('failed');
    expect(() => smartHealthFromLba(0)).toThrow(ParseError);
  });

  it('self-test log: circular buffer, most recent first', () => {
    const log = new Uint8Array(512);
    // Entries in slots 20 and 0 (wrapped), latest index 1.
    log.set([0x02, 0x00, 0x10, 0x00], 2 + 20 * 24);
    log.set([0x01, 0x73, 0x11, 0x00, 0, 0x78, 0x56, 0x34, 0x12], 2);
    log[508] = 1;
    const decoded = decodeSelfTestLog(log);
    expect(decoded.entries.map((e) => [e.description, e.status.code, e.lifetimeHours, e.failingLba])).toEqual([
      ['Short offline', 7, 17, 0x12345678],
      ['Extended offline', 0, 16, undefined],
    ]);
    log[508] = 22;
    expect(() => decodeSelfTestLog(log)).toThrow(ParseError);
  });

  it('VPD 89h: SATL identity, signature, IDENTIFY data', () => {
    const vpd = decodeAtaInformationVpd(drive.ataInformationVpd());
    expect(vpd).toMatchObject({ satVendor: 'USBMS', satProduct: 'SIM SATL', satRevision: '1.0', signatureType: 'ata', commandCode: 0xec });
    expect(vpd.identify?.model).toBe('ACME SSD 1TB');
    expect(() => decodeAtaInformationVpd(drive.ataInformationVpd().subarray(0, 40))).toThrow(ParseError);
    const wrong = drive.ataInformationVpd();
    wrong[1] = 0x80;
    expect(() => decodeAtaInformationVpd(wrong)).toThrow(/page code/);
    // A page cut short after the fixed fields still decodes, without IDENTIFY.
    const short = decodeAtaInformationVpd(drive.ataInformationVpd().subarray(0, 100));
    expect(short.identify).toBeUndefined();
    expect(short.identifyRaw.length).toBe(40);
  });
});

describe('read-only allowlist for ATA PASS-THROUGH', () => {
  const allowed = [
    identifyDevice(),
    smartReadData(),
    smartReadLog(0x06),
    smartReturnStatus(),
    readLogExt(0x07),
    readLogExt(0x00, { dma: true }),
    checkPowerMode(),
  ];
  it('lets the ATA reads through, in both CDB sizes', () => {
    for (const c of allowed) {
      expect(isAtaPassThroughAllowedReadOnly(cdbOf(c)), c.name).toBe(true);
      if (!c.passThrough.extend) expect(isAtaPassThroughAllowedReadOnly(cdbOf(c, 12)), c.name).toBe(true);
    }
  });

  it('refuses every other ATA command whatever its direction: self-tests, SET FEATURES, SANITIZE, SET MAX, SECURITY, writes', () => {
    const refused: Array<[string, Uint8Array]> = [
      ['self-test', cdbOf(smartExecuteOfflineImmediate('short'))],
      ['abort self-test', cdbOf(smartExecuteOfflineImmediate('abort'))],
      ['SMART ENABLE', ataPassThrough({ protocol: AtaProtocol.NonData, command: 0xb0, features: 0xd8, lba: 0xc24f00 }).cdb],
      ['SET FEATURES', ataPassThrough({ protocol: AtaProtocol.NonData, command: 0xef, features: 0x02 }).cdb],
      ['SANITIZE', ataPassThrough({ protocol: AtaProtocol.NonData, command: 0xb4, features: 0x12, extend: true }).cdb],
      ['SET MAX', ataPassThrough({ protocol: AtaProtocol.NonData, command: 0xf9 }).cdb],
      ['SECURITY ERASE UNIT', ataPassThrough({ protocol: AtaProtocol.PioDataOut, command: 0xf4, count: 1, transferBytes: 512 }).cdb],
      ['WRITE DMA EXT', ataPassThrough({ protocol: AtaProtocol.Dma, direction: 'out', command: 0x35, count: 1, transferBytes: 512, extend: true }).cdb],
      ['IDENTIFY as PIO out', ataPassThrough({ protocol: AtaProtocol.PioDataOut, command: 0xec, count: 1, transferBytes: 512 }).cdb],
      ['IDENTIFY with T_DIR out', ataPassThrough({ protocol: AtaProtocol.Dma, direction: 'out', command: 0xec, count: 1, transferBytes: 512 }).cdb],
      ['hard reset', ataPassThrough({ protocol: AtaProtocol.HardReset, command: 0xec }).cdb],
      [
        'SMART READ DATA with 16-bit features',
        ataPassThrough({ protocol: AtaProtocol.PioDataIn, command: 0xb0, features: 0x01d0, lba: 0xc24f00, count: 1, transferBytes: 512, extend: true }).cdb,
      ],
      ['truncated', Uint8Array.of(0x85, 0x08, 0x0e)],
    ];
    for (const [name, cdb] of refused) expect(ataReadOnlyRefusal(cdb), name).toBeDefined();
    expect(ataReadOnlyRefusal(Uint8Array.of(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0))).toBeUndefined();
  });
});
