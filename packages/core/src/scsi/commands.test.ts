import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../errors.js';
import {
  inquiry,
  inquiryBlockDeviceCharacteristics,
  inquiryBlockLimits,
  inquiryDeviceIdentification,
  inquirySupportedVpdPages,
  inquiryUnitSerialNumber,
  inquiryVpd,
  modeSense6,
  modeSense10,
  PowerCondition,
  preventAllowMediumRemoval,
  read10,
  read16,
  readCapacity10,
  readCapacity16,
  readFormatCapacities,
  reportLuns,
  requestSense,
  startStopUnit,
  synchronizeCache10,
  synchronizeCache16,
  testUnitReady,
  verify10,
  withPaddedCdb,
  write10,
  write16,
} from './commands.js';

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

describe('golden CDB bytes (SPC-4 / SBC-3, big-endian fields)', () => {
  it('TEST UNIT READY: opcode 00, 6 bytes, no data', () => {
    const c = testUnitReady();
    expect(hex(c.cdb)).toBe('00 00 00 00 00 00');
    expect(c).toMatchObject({ name: 'TEST UNIT READY', direction: 'none', length: 0 });
    expect(c.writesMedium).toBeUndefined();
  });

  it('REQUEST SENSE: 03, DESC bit in byte 1, allocation length in byte 4', () => {
    // Matches the capture in device-responses.jsonl: 030000001200.
    expect(hex(requestSense().cdb)).toBe('03 00 00 00 12 00');
    const d = requestSense({ descriptor: true, allocationLength: 252 });
    expect(hex(d.cdb)).toBe('03 01 00 00 fc 00');
    expect(d).toMatchObject({ direction: 'in', length: 252 });
  });

  it('INQUIRY: 12, 2-byte allocation length in bytes 3-4, default 36', () => {
    expect(hex(inquiry().cdb)).toBe('12 00 00 00 24 00');
    expect(inquiry().length).toBe(36);
    // The captures asked for 0x60.
    expect(hex(inquiry({ allocationLength: 0x60 }).cdb)).toBe('12 00 00 00 60 00');
    expect(hex(inquiry({ allocationLength: 0x1234 }).cdb)).toBe('12 00 00 12 34 00');
  });

  it('INQUIRY VPD: EVPD bit, page code in byte 2, default allocation 0xFC', () => {
    expect(hex(inquirySupportedVpdPages().cdb)).toBe('12 01 00 00 fc 00');
    expect(hex(inquiryUnitSerialNumber().cdb)).toBe('12 01 80 00 fc 00');
    expect(hex(inquiryDeviceIdentification().cdb)).toBe('12 01 83 00 fc 00');
    expect(hex(inquiryBlockLimits().cdb)).toBe('12 01 b0 00 fc 00');
    expect(hex(inquiryBlockDeviceCharacteristics().cdb)).toBe('12 01 b1 00 fc 00');
    expect(hex(inquiryVpd(0x89, { allocationLength: 572 }).cdb)).toBe('12 01 89 02 3c 00');
    expect(hex(inquiryVpd({ page: 0xb2 }).cdb)).toBe('12 01 b2 00 fc 00');
    expect(inquiryVpd(0x89).name).toBe('INQUIRY VPD 0x89');
  });

  it('READ CAPACITY(10): 25 and nine zero bytes, 8 bytes in', () => {
    const c = readCapacity10();
    expect(hex(c.cdb)).toBe('25 00 00 00 00 00 00 00 00 00');
    expect(c).toMatchObject({ direction: 'in', length: 8 });
  });

  it('READ CAPACITY(16): 9E, service action 10, allocation length in bytes 10-13', () => {
    expect(hex(readCapacity16().cdb)).toBe('9e 10 00 00 00 00 00 00 00 00 00 00 00 20 00 00');
    expect(readCapacity16().length).toBe(32);
  });

  it('READ(10): 28, LBA in bytes 2-5, transfer length in 7-8; length in bytes from the block size', () => {
    const c = read10({ lba: 0x12345678, blocks: 0x0102, blockSize: 512 });
    expect(hex(c.cdb)).toBe('28 00 12 34 56 78 00 01 02 00');
    expect(c).toMatchObject({ name: 'READ(10)', direction: 'in', length: 0x0102 * 512 });
    expect(hex(read10({ lba: 0xffffffff, blocks: 0xffff, blockSize: 4096, fua: true, dpo: true }).cdb)).toBe('28 18 ff ff ff ff 00 ff ff 00');
  });

  it('READ(10) on 2048-byte CD blocks and 4096-byte blocks', () => {
    expect(read10({ lba: 16, blocks: 1, blockSize: 2048 }).length).toBe(2048);
    expect(read10({ lba: 0, blocks: 16, blockSize: 4096 }).length).toBe(65536);
  });

  it('READ(16): 88, 8-byte LBA in bytes 2-9, 4-byte length in 10-13', () => {
    const c = read16({ lba: 0x1_0000_0000, blocks: 0x10000, blockSize: 512 });
    expect(hex(c.cdb)).toBe('88 00 00 00 00 01 00 00 00 00 00 01 00 00 00 00');
    expect(hex(read16({ lba: Number.MAX_SAFE_INTEGER, blocks: 1, blockSize: 512 }).cdb)).toBe('88 00 00 1f ff ff ff ff ff ff 00 00 00 01 00 00');
  });

  it('WRITE(10) / WRITE(16): data out, writesMedium', () => {
    const data = new Uint8Array(1024);
    const w = write10({ lba: 0x100, data, blockSize: 512, fua: true });
    expect(hex(w.cdb)).toBe('2a 08 00 00 01 00 00 00 02 00');
    expect(w).toMatchObject({ name: 'WRITE(10)', direction: 'out', length: 1024, writesMedium: true });
    expect(w.data).toBe(data);
    const w16 = write16({ lba: 0xabcdef012, data: new Uint8Array(4096), blockSize: 4096 });
    expect(hex(w16.cdb)).toBe('8a 00 00 00 00 0a bc de f0 12 00 00 00 01 00 00');
    expect(w16).toMatchObject({ direction: 'out', length: 4096, writesMedium: true });
  });

  it('SYNCHRONIZE CACHE(10)/(16): no data, IMMED bit, not write-class', () => {
    const s = synchronizeCache10();
    expect(hex(s.cdb)).toBe('35 00 00 00 00 00 00 00 00 00');
    expect(s).toMatchObject({ direction: 'none', length: 0 });
    expect(s.writesMedium).toBeUndefined();
    expect(hex(synchronizeCache10({ lba: 1, blocks: 2, immediate: true }).cdb)).toBe('35 02 00 00 00 01 00 00 02 00');
    expect(hex(synchronizeCache16({ lba: 0x1_0000_0001, blocks: 3 }).cdb)).toBe('91 00 00 00 00 01 00 00 00 01 00 00 00 03 00 00');
  });

  it('VERIFY(10): 2F, BYTCHK 0, no data', () => {
    const v = verify10({ lba: 0x01020304, blocks: 8 });
    expect(hex(v.cdb)).toBe('2f 00 01 02 03 04 00 00 08 00');
    expect(v).toMatchObject({ direction: 'none', length: 0 });
  });

  it('MODE SENSE(6): page code and PC in byte 2, DBD in byte 1, default allocation 0xC0', () => {
    expect(hex(modeSense6().cdb)).toBe('1a 00 3f 00 c0 00');
    expect(hex(modeSense6({ page: 0x08, pageControl: 'changeable', disableBlockDescriptors: true, allocationLength: 0xff }).cdb)).toBe('1a 08 48 00 ff 00');
    expect(hex(modeSense6({ page: 0x1c, subpage: 0x01, pageControl: 'saved' }).cdb)).toBe('1a 00 dc 01 c0 00');
  });

  it('MODE SENSE(10): 5A, LLBAA, 2-byte allocation length in bytes 7-8', () => {
    expect(hex(modeSense10().cdb)).toBe('5a 00 3f 00 00 00 00 00 fc 00');
    expect(hex(modeSense10({ page: 0x08, longLba: true, pageControl: 'default', allocationLength: 0x1000 }).cdb)).toBe('5a 10 88 00 00 00 00 10 00 00');
  });

  it('START STOP UNIT: START/LOEJ/power condition in byte 4, IMMED in byte 1', () => {
    expect(hex(startStopUnit().cdb)).toBe('1b 00 00 00 00 00');
    expect(hex(startStopUnit({ start: true }).cdb)).toBe('1b 00 00 00 01 00');
    expect(hex(startStopUnit({ loadEject: true }).cdb)).toBe('1b 00 00 00 02 00'); // eject
    expect(hex(startStopUnit({ start: true, loadEject: true, immediate: true }).cdb)).toBe('1b 01 00 00 03 00'); // load
    expect(hex(startStopUnit({ powerCondition: PowerCondition.Standby, noFlush: true }).cdb)).toBe('1b 00 00 00 34 00');
  });

  it('PREVENT ALLOW MEDIUM REMOVAL: 1E, prevent in byte 4', () => {
    expect(hex(preventAllowMediumRemoval({ prevent: true }).cdb)).toBe('1e 00 00 00 01 00');
    expect(hex(preventAllowMediumRemoval({ prevent: false }).cdb)).toBe('1e 00 00 00 00 00');
  });

  it('REPORT LUNS: A0, 4-byte allocation length in bytes 6-9, 12-byte CDB', () => {
    expect(hex(reportLuns().cdb)).toBe('a0 00 00 00 00 00 00 00 00 40 00 00');
    expect(hex(reportLuns({ allocationLength: 0x01020304, selectReport: 2 }).cdb)).toBe('a0 00 02 00 00 00 01 02 03 04 00 00');
  });

  it('READ FORMAT CAPACITIES: 23, allocation length in bytes 7-8', () => {
    expect(hex(readFormatCapacities().cdb)).toBe('23 00 00 00 00 00 00 00 fc 00');
  });

  it('padCdbTo12 zero-pads 6- and 10-byte CDBs (quirk for UFI-style bridges)', () => {
    expect(hex(testUnitReady({ padCdbTo12: true }).cdb)).toBe('00 00 00 00 00 00 00 00 00 00 00 00');
    expect(hex(inquiry({ padCdbTo12: true }).cdb)).toBe('12 00 00 00 24 00 00 00 00 00 00 00');
    expect(hex(read10({ lba: 1, blocks: 1, blockSize: 512, padCdbTo12: true }).cdb)).toBe('28 00 00 00 00 01 00 00 01 00 00 00');
    expect(hex(readFormatCapacities({ padCdbTo12: true }).cdb)).toBe('23 00 00 00 00 00 00 00 fc 00 00 00');
    expect(hex(withPaddedCdb(readCapacity10()).cdb)).toBe('25 00 00 00 00 00 00 00 00 00 00 00');
    // Longer CDBs are left alone.
    expect(withPaddedCdb(readCapacity16()).cdb.length).toBe(16);
  });

  it('each call returns a fresh CDB (callers may not share mutable state)', () => {
    const a = testUnitReady();
    const b = testUnitReady();
    expect(a.cdb).not.toBe(b.cdb);
  });
});

describe('input validation happens before anything is built', () => {
  const bad: Array<[string, () => unknown]> = [
    ['negative LBA', () => read10({ lba: -1, blocks: 1, blockSize: 512 })],
    ['fractional LBA', () => read10({ lba: 1.5, blocks: 1, blockSize: 512 })],
    ['NaN LBA', () => read10({ lba: Number.NaN, blocks: 1, blockSize: 512 })],
    ['LBA beyond 32 bits in READ(10)', () => read10({ lba: 0x1_0000_0000, blocks: 1, blockSize: 512 })],
    ['unsafe LBA in READ(16)', () => read16({ lba: Number.MAX_SAFE_INTEGER + 1, blocks: 1, blockSize: 512 })],
    ['zero blocks', () => read10({ lba: 0, blocks: 0, blockSize: 512 })],
    ['too many blocks for READ(10)', () => read10({ lba: 0, blocks: 0x10000, blockSize: 512 })],
    ['zero block size', () => read10({ lba: 0, blocks: 1, blockSize: 0 })],
    ['transfer beyond 4 GiB', () => read16({ lba: 0, blocks: 0x10_0000, blockSize: 4096 })],
    ['string LBA', () => read16({ lba: '5' as unknown as number, blocks: 1, blockSize: 512 })],
    ['bigint LBA', () => read16({ lba: 5n as unknown as number, blocks: 1, blockSize: 512 })],
    ['write data not a block multiple', () => write10({ lba: 0, data: new Uint8Array(513), blockSize: 512 })],
    ['empty write', () => write10({ lba: 0, data: new Uint8Array(0), blockSize: 512 })],
    ['write data not a Uint8Array', () => write16({ lba: 0, data: [1, 2] as unknown as Uint8Array, blockSize: 512 })],
    ['too many blocks for WRITE(10)', () => write10({ lba: 0, data: new Uint8Array(0x10000 * 512), blockSize: 512 })],
    ['INQUIRY allocation too big', () => inquiry({ allocationLength: 0x10000 })],
    ['INQUIRY allocation below 5', () => inquiry({ allocationLength: 4 })],
    ['REQUEST SENSE allocation too big', () => requestSense({ allocationLength: 256 })],
    ['MODE SENSE(6) allocation too big', () => modeSense6({ allocationLength: 256 })],
    ['mode page out of range', () => modeSense10({ page: 0x40 })],
    ['bad page control', () => modeSense6({ pageControl: 'bogus' as 'current' })],
    ['VPD page out of range', () => inquiryVpd(0x100)],
    ['REPORT LUNS allocation below 16', () => reportLuns({ allocationLength: 8 })],
    ['power condition out of range', () => startStopUnit({ powerCondition: 16 })],
    ['prevent not boolean', () => preventAllowMediumRemoval({ prevent: 1 as unknown as boolean })],
    ['sync cache blocks beyond 16 bits', () => synchronizeCache10({ blocks: 0x10000 })],
    ['verify zero blocks', () => verify10({ lba: 0, blocks: 0 })],
    ['no options object (JavaScript caller)', () => read10(undefined as unknown as Parameters<typeof read10>[0])],
    ['null options (JavaScript caller)', () => write16(null as unknown as Parameters<typeof write16>[0])],
    ['no options for PREVENT ALLOW', () => preventAllowMediumRemoval(undefined as unknown as { prevent: boolean })],
  ];
  it.each(bad)('%s -> InvalidArgumentError', (_name, build) => {
    expect(build).toThrow(InvalidArgumentError);
  });

  it('messages say what is wrong and the limit', () => {
    expect(() => read10({ lba: 0x1_0000_0000, blocks: 1, blockSize: 512 })).toThrow(
      /READ\(10\) LBA 4294967296 is too large: the field holds at most 4294967295/,
    );
    expect(() => read16({ lba: 0, blocks: 0x10_0000, blockSize: 4096 })).toThrow(/split the request/);
  });
});

describe('properties of the builders', () => {
  const u32 = (b: Uint8Array, o: number): number => (b[o] ?? 0) * 0x100_0000 + (((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0));
  const u16 = (b: Uint8Array, o: number): number => ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);

  it('READ(10)/WRITE(10) fields read back big-endian as given', () => {
    fc.assert(
      fc.property(fc.nat(0xffff_ffff), fc.integer({ min: 1, max: 0xffff }), fc.constantFrom(512, 2048, 4096), (lba, blocks, blockSize) => {
        const r = read10({ lba, blocks, blockSize });
        expect([u32(r.cdb, 2), u16(r.cdb, 7), r.length]).toEqual([lba, blocks, blocks * blockSize]);
      }),
      { numRuns: 300, seed: 1 },
    );
  });

  it('READ(16)/SYNCHRONIZE CACHE(16) 8-byte LBAs read back for every safe integer', () => {
    fc.assert(
      fc.property(fc.maxSafeNat(), fc.integer({ min: 1, max: 0xffff_ffff }), (lba, blocks) => {
        const r = read16({ lba, blocks, blockSize: 1 });
        expect(u32(r.cdb, 2) * 0x1_0000_0000 + u32(r.cdb, 6)).toBe(lba);
        expect(u32(r.cdb, 10)).toBe(blocks);
        const s = synchronizeCache16({ lba, blocks });
        expect(u32(s.cdb, 2) * 0x1_0000_0000 + u32(s.cdb, 6)).toBe(lba);
      }),
      { numRuns: 300, seed: 2 },
    );
  });

  it('any input either builds or throws InvalidArgumentError, never anything else', () => {
    const builders: Array<(o: never) => unknown> = [
      read10,
      read16,
      write10,
      write16,
      verify10,
      synchronizeCache10,
      synchronizeCache16,
      inquiry,
      requestSense,
      modeSense6,
      modeSense10,
      reportLuns,
      readCapacity16,
      readFormatCapacities,
      startStopUnit,
      preventAllowMediumRemoval,
    ];
    const value = fc.oneof(fc.integer(), fc.double(), fc.boolean(), fc.string(), fc.constant(undefined), fc.bigInt(), fc.uint8Array({ maxLength: 64 }));
    const options = fc.record(
      { lba: value, blocks: value, blockSize: value, data: value, allocationLength: value, page: value, prevent: value, powerCondition: value },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.nat(builders.length - 1), options, (i, o) => {
        try {
          (builders[i] as (o: unknown) => unknown)(o);
        } catch (error) {
          if (!(error instanceof InvalidArgumentError)) throw error;
        }
      }),
      { numRuns: 2000, seed: 3 },
    );
  });
});
