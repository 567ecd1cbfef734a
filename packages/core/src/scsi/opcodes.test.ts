import { describe, expect, it } from 'vitest';
import { synchronizeCache10, synchronizeCache16, testUnitReady, write10, write16 } from './commands.js';
import { isWriteClassOpcode, opcodeName, ScsiOpcode, WRITE_CLASS_OPCODES } from './opcodes.js';

describe('write-class opcodes (read-only option)', () => {
  it.each([
    ['WRITE(6)', 0x0a],
    ['WRITE(10)', 0x2a],
    ['WRITE(12)', 0xaa],
    ['WRITE(16)', 0x8a],
    ['WRITE SAME(10)', 0x41],
    ['WRITE SAME(16)', 0x93],
    ['WRITE AND VERIFY(10)', 0x2e],
    ['WRITE AND VERIFY(16)', 0x8e],
    ['FORMAT UNIT', 0x04],
    ['UNMAP', 0x42],
    ['WRITE BUFFER', 0x3b],
    ['WRITE LONG(10)', 0x3f],
    ['COMPARE AND WRITE', 0x89],
    ['REASSIGN BLOCKS', 0x07],
    ['MODE SELECT(6)', 0x15],
    ['MODE SELECT(10)', 0x55],
  ])('%s is write-class', (_name, opcode) => {
    expect(isWriteClassOpcode(opcode)).toBe(true);
    expect(isWriteClassOpcode(Uint8Array.of(opcode, 0, 0, 0, 0, 0))).toBe(true);
  });

  it.each([
    ['TEST UNIT READY', 0x00],
    ['INQUIRY', 0x12],
    ['READ(10)', 0x28],
    ['READ(16)', 0x88],
    ['VERIFY(10)', 0x2f],
    ['SYNCHRONIZE CACHE(10)', 0x35],
    ['SYNCHRONIZE CACHE(16)', 0x91],
    ['MODE SENSE(6)', 0x1a],
    ['READ CAPACITY(10)', 0x25],
    ['START STOP UNIT', 0x1b],
    ['PREVENT ALLOW MEDIUM REMOVAL', 0x1e],
    ['REPORT LUNS', 0xa0],
    ['vendor 0xC0', 0xc0],
  ])('%s is not write-class', (_name, opcode) => {
    expect(isWriteClassOpcode(opcode)).toBe(false);
    expect(isWriteClassOpcode(Uint8Array.of(opcode, 0, 0, 0, 0, 0))).toBe(false);
  });

  it('service actions decide for SERVICE ACTION OUT(16) and variable-length CDBs', () => {
    const writeLong16 = new Uint8Array(16);
    writeLong16[0] = 0x9f;
    writeLong16[1] = 0x11;
    expect(isWriteClassOpcode(writeLong16)).toBe(true);
    const otherOut = writeLong16.slice();
    otherOut[1] = 0x1f;
    expect(isWriteClassOpcode(otherOut)).toBe(false);
    // READ CAPACITY(16) is SERVICE ACTION IN, never write-class.
    expect(isWriteClassOpcode(Uint8Array.of(0x9e, 0x10))).toBe(false);
    const write32 = new Uint8Array(32);
    write32[0] = 0x7f;
    write32[9] = 0x0b;
    expect(isWriteClassOpcode(write32)).toBe(true);
    const read32 = write32.slice();
    read32[9] = 0x09;
    expect(isWriteClassOpcode(read32)).toBe(false);
    // Too short to carry the service action: refused (the safe side).
    expect(isWriteClassOpcode(Uint8Array.of(0x7f, 0))).toBe(true);
    expect(isWriteClassOpcode(Uint8Array.of(0x9f))).toBe(true);
    expect(isWriteClassOpcode(new Uint8Array(0))).toBe(false);
  });

  it('agrees with the builders: writes are write-class and marked writesMedium; flushes are neither', () => {
    for (const c of [write10({ lba: 0, data: new Uint8Array(512), blockSize: 512 }), write16({ lba: 0, data: new Uint8Array(512), blockSize: 512 })]) {
      expect(isWriteClassOpcode(c.cdb)).toBe(true);
      expect(c.writesMedium).toBe(true);
    }
    for (const c of [synchronizeCache10(), synchronizeCache16(), testUnitReady()]) {
      expect(isWriteClassOpcode(c.cdb)).toBe(false);
      expect(c.writesMedium).toBeUndefined();
    }
    expect(WRITE_CLASS_OPCODES.has(ScsiOpcode.SynchronizeCache10)).toBe(false);
  });
});

describe('opcode names', () => {
  it('names known, vendor-specific and unknown opcodes', () => {
    expect(opcodeName(ScsiOpcode.Read10)).toBe('READ(10)');
    expect(opcodeName(0x9e)).toBe('SERVICE ACTION IN(16)');
    expect(opcodeName(0xc0)).toBe('VENDOR SPECIFIC (0xC0)');
    expect(opcodeName(0xff)).toBe('VENDOR SPECIFIC (0xFF)');
    expect(opcodeName(0x02)).toBe('OPCODE 0x02');
  });

  it('names opcodes by peripheral device type where the command sets differ (MMC)', () => {
    expect(opcodeName(0xa1)).toBe('ATA PASS-THROUGH(12)');
    expect(opcodeName(0xa1, 0x00)).toBe('ATA PASS-THROUGH(12)');
    expect(opcodeName(0xa1, 0x05)).toBe('BLANK');
    expect(opcodeName(0x51, 0x05)).toBe('READ DISC INFORMATION');
    expect(opcodeName(0x51, 0x00)).toBe('XPWRITE(10)');
    // Opcodes MMC shares with the other command sets keep their names.
    expect(opcodeName(0x28, 0x05)).toBe('READ(10)');
  });

  it('every opcode in the table has a name', () => {
    for (const [key, value] of Object.entries(ScsiOpcode)) expect(opcodeName(value), key).not.toMatch(/^OPCODE/);
  });
});
