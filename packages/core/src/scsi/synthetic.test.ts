/**
 * Synthetic responses modelled on published device behaviour: short INQUIRY
 * data (Linux's scsi_scan.c accepts 5 bytes and warns), VPD pages cut short by
 * the allocation length, 4096-byte-sector drives, 512e drives, CD media, long
 * LBA mode block descriptors, huge capacities.
 */
import { describe, expect, it } from 'vitest';
import { ParseError } from '../errors.js';
import { decodeReadCapacity10, decodeReadCapacity16, decodeReadFormatCapacities } from './capacity.js';
import { inquiryDeviceIdentification, inquiryVpd } from './commands.js';
import {
  decodeBlockDeviceCharacteristics,
  decodeBlockLimits,
  decodeDeviceIdentification,
  decodeInquiry,
  decodeSupportedVpdPages,
  decodeUnitSerialNumber,
  decodeVpdPage,
  peripheralDeviceTypeName,
} from './inquiry.js';
import { decodeModeSense6, decodeModeSense10 } from './mode-sense.js';
import { decodeReportLuns, reportedLunNumbers } from './report-luns.js';

const b = (...parts: Array<number | string | number[]>): Uint8Array => {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') for (const ch of p) out.push(ch.charCodeAt(0));
    else out.push(...p);
  }
  return Uint8Array.from(out);
};

describe('short and odd INQUIRY data', () => {
  it('5-byte INQUIRY: header only, strings empty, flagged truncated', () => {
    const d = decodeInquiry(b(0x00, 0x80, 0x02, 0x02, 0x1f));
    expect(d).toMatchObject({ peripheralDeviceType: 0, removable: true, version: 2, vendor: '', product: '', revision: '', truncated: true });
    expect(d.raw.length).toBe(5);
  });

  it('fewer than 5 bytes is a ParseError', () => {
    expect(() => decodeInquiry(b(0, 0, 0, 0))).toThrow(ParseError);
    expect(() => decodeInquiry(new Uint8Array(0))).toThrow(/0 bytes received/);
  });

  it('ADDITIONAL LENGTH smaller than the data: strings cut at the declared end', () => {
    // Declares 15 additional bytes (20 total): vendor complete, product cut after 4 chars.
    const d = decodeInquiry(b(0, 0, 5, 2, 15, 0, 0, 0, 'ACME    ', 'DISKDRIVE       ', '1.00'));
    expect(d).toMatchObject({ vendor: 'ACME', product: 'DISK', revision: '', truncated: true });
  });

  it('NUL-padded strings and non-ASCII bytes never throw', () => {
    const d = decodeInquiry(b(0, 0, 6, 2, 31, 0, 0, 2, 'Ven', [0, 0, 0, 0, 0], 'Pr', [0xff, 0x01], 'd', [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], '1', [0, 0, 0]));
    expect(d).toMatchObject({ vendor: 'Ven', product: 'Pr??d', revision: '1', commandQueueing: true, version: 6 });
  });

  it('peripheral qualifier 3: no logical unit at this LUN', () => {
    const d = decodeInquiry(b(0x7f, 0, 0, 0, 0));
    expect(d).toMatchObject({ peripheralQualifier: 3, peripheralDeviceType: 0x1f, deviceTypeName: 'unknown or no device type' });
    expect(peripheralDeviceTypeName(0x15)).toMatch(/reserved/);
  });
});

describe('truncated and malformed VPD pages', () => {
  it('supported pages cut short by the allocation length', () => {
    // Declares 6 pages, 3 arrived.
    const data = b(0, 0, 0, 6, 0x00, 0x80, 0x83);
    expect(decodeSupportedVpdPages(data)).toEqual([0x00, 0x80, 0x83]);
    expect(decodeVpdPage(data, 0).truncated).toBe(true);
  });

  it('a header shorter than 4 bytes is a ParseError', () => {
    expect(() => decodeVpdPage(b(0, 0x80, 0))).toThrow(ParseError);
  });

  it('a PAGE LENGTH of 65535 with 10 bytes received reads only what arrived', () => {
    const data = b(0, 0x80, 0xff, 0xff, 'ABCDEF');
    expect(decodeUnitSerialNumber(data)).toBe('ABCDEF');
    expect(decodeVpdPage(data, 0x80)).toMatchObject({ pageLength: 0xffff, truncated: true });
    expect(inquiryVpd(0x80).decode(data).length).toBe(10);
  });

  it('serial number padded with spaces on both sides (common on USB bridges)', () => {
    expect(decodeUnitSerialNumber(b(0, 0x80, 0, 12, '  0123456789'))).toBe('0123456789');
  });

  it('device identification with several designators: NAA binary, T10 ASCII, target port with PIV', () => {
    const naa = [0x01, 0x03, 0x00, 0x08, 0x50, 0x00, 0xc5, 0x00, 0x12, 0x34, 0x56, 0x78];
    const t10 = [0x02, 0x01, 0x00, 0x0c, ...Array.from('ACME    DISK', (c) => c.charCodeAt(0))];
    // PIV=1, association 01 (target port), type 4 relative target port, protocol 6 (SAS).
    const port = [0x61, 0x94, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01];
    const body = [...naa, ...t10, ...port];
    const ids = decodeDeviceIdentification(b(0, 0x83, 0, body.length, body));
    expect(ids.map((d) => [d.designatorTypeName, d.association, d.text])).toEqual([
      ['naa', 'logical-unit', '5000c50012345678'],
      ['t10-vendor-id', 'logical-unit', 'ACME    DISK'],
      ['relative-target-port', 'target-port', '00000001'],
    ]);
    expect(ids[2]?.protocolIdentifier).toBe(6);
    expect(ids[0]?.protocolIdentifier).toBeUndefined();
  });

  it('device identification whose last designator is cut short keeps the complete ones', () => {
    const body = [0x02, 0x00, 0x00, 0x03, 0x41, 0x42, 0x43, 0x01, 0x03, 0x00, 0x08, 0x50, 0x00];
    const ids = inquiryDeviceIdentification().decode(b(0, 0x83, 0, 0x20, body));
    expect(ids).toHaveLength(1);
    expect(ids[0]?.text).toBe('ABC');
  });

  it('block limits cut after the maximum transfer length: later fields undefined', () => {
    const page = b(0, 0xb0, 0, 0x3c, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x01, 0x00);
    expect(decodeBlockLimits(page)).toEqual({
      truncated: true,
      writeSameNonZero: false,
      maximumCompareAndWriteLength: 0,
      optimalTransferLengthGranularity: 8,
      maximumTransferLength: 256,
    });
  });

  it('block limits with UGAVALID decodes the unmap granularity alignment', () => {
    const p = new Uint8Array(64);
    p.set([0, 0xb0, 0, 0x3c]);
    p.set([0x80, 0, 0, 0x07], 32);
    expect(decodeBlockLimits(p).unmapGranularityAlignment).toBe(7);
  });

  it('block device characteristics: SSD, 7200 rpm 3.5", reserved form factor', () => {
    expect(decodeBlockDeviceCharacteristics(b(0, 0xb1, 0, 0x3c, 0x00, 0x01, 0x00, 0x03))).toMatchObject({
      mediumRotationRate: 1,
      rotation: 'solid-state',
      nominalFormFactor: '2.5in',
      truncated: true,
    });
    expect(decodeBlockDeviceCharacteristics(b(0, 0xb1, 0, 5, 0x1c, 0x20, 0x00, 0x02, 0x02))).toMatchObject({
      rotation: { rpm: 7200 },
      nominalFormFactor: '3.5in',
      forceUnitAccessBehavior: true,
      truncated: false,
    });
    expect(decodeBlockDeviceCharacteristics(b(0, 0xb1, 0, 4, 0x00, 0x00, 0x00, 0x0e)).nominalFormFactor).toBe('reserved');
  });
});

describe('capacity: 4096-byte blocks, 512e, CD media, huge and broken values', () => {
  it('4Kn drive: READ CAPACITY(10) with 4096-byte blocks', () => {
    expect(decodeReadCapacity10(b(0x0e, 0x8e, 0x08, 0x6f, 0x00, 0x00, 0x10, 0x00))).toEqual({
      lastLba: 0x0e8e086f,
      blockSize: 4096,
      blocks: 0x0e8e0870,
      bytes: 0x0e8e0870 * 4096,
      needsReadCapacity16: false,
    });
  });

  it('2 TiB+ drive: READ CAPACITY(10) says 0xFFFFFFFF, (16) gives the real size; 512e with 8 logical per physical', () => {
    expect(decodeReadCapacity10(b(0xff, 0xff, 0xff, 0xff, 0, 0, 2, 0)).needsReadCapacity16).toBe(true);
    const c16 = decodeReadCapacity16(b([0, 0, 0, 1, 0xd1, 0xc0, 0xbe, 0xaf], [0, 0, 2, 0], 0x00, 0x03, 0x80, 0x00, new Array(16).fill(0)));
    expect(c16).toMatchObject({
      lastLba: 0x1d1c0beaf,
      blockSize: 512,
      logicalBlocksPerPhysicalBlockExponent: 3,
      physicalBlockSize: 4096,
      provisioningEnabled: true,
    });
    expect(c16.bytes).toBe((0x1d1c0beaf + 1) * 512);
  });

  it('CD medium: 2048-byte blocks', () => {
    expect(decodeReadCapacity10(b(0, 0x04, 0x5f, 0xff, 0, 0, 0x08, 0)).blockSize).toBe(2048);
  });

  it('short data, zero block size, unsafe capacity are ParseErrors', () => {
    expect(() => decodeReadCapacity10(b(0, 0, 0, 1, 0, 0, 2))).toThrow(/7 bytes received, 8 are needed/);
    expect(() => decodeReadCapacity10(b(0, 0, 0, 1, 0, 0, 0, 0))).toThrow(/logical block length of 0/);
    expect(() => decodeReadCapacity16(b([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe], [0, 0, 2, 0]))).toThrow(ParseError);
    expect(() => decodeReadCapacity16(b([0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], [0, 0, 2, 0]))).toThrow(/exceeds Number.MAX_SAFE_INTEGER/);
  });

  it('READ FORMAT CAPACITIES: unformatted/no-medium descriptor types and formattable list', () => {
    const data = b(0, 0, 0, 24, [0, 0, 0x0b, 0x40, 0x03, 0, 0x02, 0], [0, 0, 0x0b, 0x40, 0x00, 0, 0x02, 0], [0, 0, 0x05, 0xa0, 0x00, 0, 0x02, 0]);
    expect(decodeReadFormatCapacities(data)).toEqual({
      current: { blocks: 2880, type: 'no-medium', blockSize: 512 },
      formattable: [
        { blocks: 2880, type: 'reserved', blockSize: 512 },
        { blocks: 1440, type: 'reserved', blockSize: 512 },
      ],
      truncated: false,
    });
    expect(() => decodeReadFormatCapacities(b(0, 0, 0, 0, [0, 0, 0, 0, 0, 0, 0, 0]))).toThrow(/holds no descriptor/);
    expect(() => decodeReadFormatCapacities(b(0, 0, 0, 8))).toThrow(ParseError);
  });
});

describe('MODE SENSE structures', () => {
  it('MODE SENSE(10) with a long LBA block descriptor (LONGLBA) for a 4096-byte-block drive', () => {
    const data = b(0, 22, 0x00, 0x90, 0x01, 0, 0, 16, [0, 0, 0, 1, 0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0x10, 0]);
    const m = decodeModeSense10(data);
    expect(m).toMatchObject({ writeProtected: true, dpoFua: true, pages: [], truncated: false });
    expect(m.blockDescriptors).toEqual([{ densityCode: 0, blocks: 0x1_0000_0000, blockLength: 4096 }]);
  });

  it('sub_page format pages (SPF) use a 2-byte page length', () => {
    const data = b(14, 0, 0, 0, [0x5c, 0x01, 0x00, 0x04, 1, 2, 3, 4], [0x08, 0x01, 0x01]);
    const m = decodeModeSense6(data);
    expect(m.pages.map((p) => [p.pageCode, p.subpageCode, p.data.length])).toEqual([
      [0x1c, 0x01, 4],
      [0x08, 0, 1],
    ]);
    expect(m.caching).toEqual({ writeCacheEnabled: false, readCacheDisabled: true });
  });

  it('a page running past the data is cut and flagged', () => {
    const m = decodeModeSense6(b(40, 0, 0, 0, 0x08, 0x12, 0x04, 0x00));
    expect(m.truncated).toBe(true);
    expect(m.pages[0]).toMatchObject({ pageCode: 8, truncated: true });
    expect(m.caching?.writeCacheEnabled).toBe(true);
  });

  it('a block descriptor length beyond the data yields no half descriptors', () => {
    const m = decodeModeSense6(b(11, 0, 0, 16, 0, 0, 0, 1, 0, 0, 2, 0));
    expect(m.blockDescriptors).toEqual([{ densityCode: 0, blocks: 1, blockLength: 512 }]);
  });

  it('headers shorter than 4 / 8 bytes are ParseErrors', () => {
    expect(() => decodeModeSense6(b(3, 0, 0))).toThrow(ParseError);
    expect(() => decodeModeSense10(b(0, 6, 0, 0, 0, 0, 0))).toThrow(ParseError);
  });
});

describe('REPORT LUNS structures', () => {
  it('flat-space and other address methods', () => {
    const data = b(0, 0, 0, 24, 0, 0, 0, 0, [0, 3, 0, 0, 0, 0, 0, 0], [0x40, 0x10, 0, 0, 0, 0, 0, 0], [0xc1, 0, 0, 0, 0, 0, 0, 0]);
    const r = decodeReportLuns(data);
    expect(r.luns.map((l) => l.lun)).toEqual([3, 0x10, undefined]);
    expect(reportedLunNumbers(data)).toEqual([3, 0x10]);
  });

  it('a list longer than the allocation length: entries that arrived, truncated flag', () => {
    const r = decodeReportLuns(b(0, 0, 0x10, 0, 0, 0, 0, 0, [0, 1, 0, 0, 0, 0, 0, 0]));
    expect(r).toMatchObject({ listLength: 0x1000, truncated: true });
    expect(r.luns).toHaveLength(1);
  });

  it('a list length that is not a multiple of 8 is a ParseError', () => {
    expect(() => decodeReportLuns(b(0, 0, 0, 7, 0, 0, 0, 0))).toThrow(ParseError);
  });
});
