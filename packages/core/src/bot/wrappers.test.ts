import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ParseError } from '../errors.js';
import { CBW_LENGTH, CBW_SIGNATURE, CSW_LENGTH, CSW_SIGNATURE, CswStatus, decodeCbw, decodeCsw, encodeCbw, encodeCsw } from './wrappers.js';

const hex = (s: string): Uint8Array =>
  Uint8Array.from(
    s
      .trim()
      .split(/\s+/)
      .map((b) => Number.parseInt(b, 16)),
  );

// READ(10) of 8 blocks at LBA 0x1000 on LUN 1 (SBC-3 §5.11).
const read10 = hex('28 00 00 00 10 00 00 00 08 00');

// BOT 1.0 §5.1, table 5.1: the CBW byte by byte.
const goldenCbw = hex(`
  55 53 42 43
  78 56 34 12
  00 10 00 00
  80
  01
  0a
  28 00 00 00 10 00 00 00 08 00 00 00 00 00 00 00
`);
// byte 0-3   dCBWSignature "USBC" = 0x43425355 little-endian
// byte 4-7   dCBWTag 0x12345678 little-endian
// byte 8-11  dCBWDataTransferLength 4096 (8 x 512) little-endian
// byte 12    bmCBWFlags: bit 7 set = data-in
// byte 13    bCBWLUN 1 (upper nibble reserved, 0)
// byte 14    bCBWCBLength 10 (upper 3 bits reserved, 0)
// byte 15-30 CBWCB: the 10 CDB bytes, then zero padding to 16

// BOT 1.0 §5.2, table 5.2: the CSW byte by byte.
const goldenCsw = hex(`
  55 53 42 53
  78 56 34 12
  00 02 00 00
  01
`);
// byte 0-3   dCSWSignature "USBS" = 0x53425355 little-endian
// byte 4-7   dCSWTag 0x12345678, echoing the CBW's tag
// byte 8-11  dCSWDataResidue 512 little-endian
// byte 12    bCSWStatus 1 = Command Failed

describe('CBW (BOT 1.0 §5.1)', () => {
  it('is 31 bytes with the documented signature', () => {
    expect(CBW_LENGTH).toBe(31);
    expect(CBW_SIGNATURE).toBe(0x43425355);
    expect(goldenCbw.length).toBe(31);
  });

  it('encodes golden bytes', () => {
    const bytes = encodeCbw({ tag: 0x12345678, dataTransferLength: 4096, direction: 'in', lun: 1, cdb: read10 });
    expect(Array.from(bytes)).toEqual(Array.from(goldenCbw));
  });

  it('encodes data-out with flags 0x00 and the max tag / length', () => {
    const cdb = hex('2a 00 00 00 00 00 00 00 01 00');
    const bytes = encodeCbw({ tag: 0xffffffff, dataTransferLength: 0xffffffff, direction: 'out', lun: 15, cdb });
    expect(Array.from(bytes.subarray(4, 15))).toEqual([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x0f, 0x0a]);
  });

  it('encodes a 16-byte CDB and a 1-byte CDB, clearing stale padding', () => {
    const out = new Uint8Array(CBW_LENGTH).fill(0xee);
    encodeCbw({ tag: 1, dataTransferLength: 0, direction: 'out', lun: 0, cdb: new Uint8Array(16).fill(0x11) }, out);
    expect(out[14]).toBe(16);
    expect(Array.from(out.subarray(15))).toEqual(new Array(16).fill(0x11));
    encodeCbw({ tag: 2, dataTransferLength: 0, direction: 'out', lun: 0, cdb: hex('00') }, out);
    expect(out[14]).toBe(1);
    expect(Array.from(out.subarray(15))).toEqual(new Array(16).fill(0));
  });

  it('writes into a sub-array at a byteOffset without touching neighbours', () => {
    const backing = new Uint8Array(40).fill(0xaa);
    const view = backing.subarray(5, 5 + CBW_LENGTH);
    const bytes = encodeCbw({ tag: 0x12345678, dataTransferLength: 4096, direction: 'in', lun: 1, cdb: read10 }, view);
    expect(Array.from(bytes)).toEqual(Array.from(goldenCbw));
    expect(Array.from(backing.subarray(0, 5))).toEqual([0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
    expect(Array.from(backing.subarray(36))).toEqual([0xaa, 0xaa, 0xaa, 0xaa]);
  });

  it('returns a 31-byte view of a larger output buffer', () => {
    const out = new Uint8Array(64);
    const bytes = encodeCbw({ tag: 0x12345678, dataTransferLength: 4096, direction: 'in', lun: 1, cdb: read10 }, out);
    expect(bytes.length).toBe(31);
    expect(bytes.buffer).toBe(out.buffer);
  });

  it.each([
    ['LUN 16', { lun: 16 }],
    ['LUN -1', { lun: -1 }],
    ['LUN 1.5', { lun: 1.5 }],
    ['empty CDB', { cdb: new Uint8Array(0) }],
    ['17-byte CDB', { cdb: new Uint8Array(17) }],
    ['negative tag', { tag: -1 }],
    ['tag above 32 bits', { tag: 0x1_0000_0000 }],
    ['fractional tag', { tag: 0.5 }],
    ['NaN tag', { tag: Number.NaN }],
    ['negative length', { dataTransferLength: -1 }],
    ['length above 32 bits', { dataTransferLength: 2 ** 32 }],
  ])('rejects %s with InvalidArgumentError', (_name, patch) => {
    const cbw = { tag: 1, dataTransferLength: 0, direction: 'out' as const, lun: 0, cdb: hex('00'), ...patch };
    expect(() => encodeCbw(cbw)).toThrow(InvalidArgumentError);
  });

  it('rejects an output buffer shorter than 31 bytes', () => {
    expect(() => encodeCbw({ tag: 1, dataTransferLength: 0, direction: 'out', lun: 0, cdb: hex('00') }, new Uint8Array(30))).toThrow(InvalidArgumentError);
  });

  it('decodes what it encodes', () => {
    const cbw = decodeCbw(goldenCbw);
    expect(cbw).toEqual({ tag: 0x12345678, dataTransferLength: 4096, direction: 'in', lun: 1, cdb: read10 });
  });

  it.each([
    ['30 bytes', goldenCbw.slice(0, 30)],
    ['bad signature', Uint8Array.from(goldenCbw, (b, i) => (i === 3 ? 0x44 : b))],
    ['reserved flag bits', Uint8Array.from(goldenCbw, (b, i) => (i === 12 ? 0x81 : b))],
    ['reserved LUN bits', Uint8Array.from(goldenCbw, (b, i) => (i === 13 ? 0x11 : b))],
    ['CB length 0', Uint8Array.from(goldenCbw, (b, i) => (i === 14 ? 0 : b))],
    ['CB length 17', Uint8Array.from(goldenCbw, (b, i) => (i === 14 ? 17 : b))],
  ])('decodeCbw rejects %s with ParseError', (_name, bytes) => {
    expect(() => decodeCbw(bytes)).toThrow(ParseError);
  });
});

describe('CSW (BOT 1.0 §5.2)', () => {
  it('is 13 bytes with the documented signature and status values', () => {
    expect(CSW_LENGTH).toBe(13);
    expect(CSW_SIGNATURE).toBe(0x53425355);
    expect(CswStatus).toEqual({ Passed: 0, Failed: 1, PhaseError: 2 });
  });

  it('decodes golden bytes', () => {
    expect(decodeCsw(goldenCsw)).toEqual({ signature: CSW_SIGNATURE, tag: 0x12345678, residue: 512, status: CswStatus.Failed });
  });

  it('encodes golden bytes', () => {
    const bytes = encodeCsw({ signature: CSW_SIGNATURE, tag: 0x12345678, residue: 512, status: 1 });
    expect(Array.from(bytes)).toEqual(Array.from(goldenCsw));
  });

  it('decodes from a sub-array at an odd byteOffset', () => {
    const backing = new Uint8Array(20);
    backing.set(goldenCsw, 3);
    expect(decodeCsw(backing.subarray(3, 16)).residue).toBe(512);
  });

  it('decodes full 32-bit fields as unsigned', () => {
    const bytes = hex('55 53 42 53 ff ff ff ff ff ff ff ff ff');
    expect(decodeCsw(bytes)).toEqual({ signature: CSW_SIGNATURE, tag: 0xffffffff, residue: 0xffffffff, status: 0xff });
  });

  it.each([0, 12, 14, 31])('decodeCsw rejects %i bytes with ParseError', (n) => {
    expect(() => decodeCsw(new Uint8Array(n))).toThrow(ParseError);
  });

  it('encodeCsw rejects a buffer shorter than 13 bytes with InvalidArgumentError', () => {
    expect(() => encodeCsw({ signature: CSW_SIGNATURE, tag: 1, residue: 0, status: 0 }, new Uint8Array(12))).toThrow(InvalidArgumentError);
  });

  it('encodeCsw returns a 13-byte view of a larger buffer', () => {
    const out = new Uint8Array(20);
    expect(encodeCsw({ signature: CSW_SIGNATURE, tag: 1, residue: 0, status: 0 }, out).length).toBe(13);
  });
});
