import { describe, expect, it } from 'vitest';
import { ParseError, ScsiCheckConditionError } from '../errors.js';
import { decodeSense, decodeSenseKeySpecific, senseKeyName } from './decode.js';
import { checkConditionError, checkConditionMessage, formatSense, senseHint } from './format.js';
import { SenseKey } from './types.js';

const bytes = (h: string): Uint8Array => Uint8Array.from(h.replace(/\s+/g, '').match(/../g) ?? [], (x) => Number.parseInt(x, 16));

describe('fixed-format sense (SPC-4 §4.5.3)', () => {
  it('MEDIUM ERROR with a valid INFORMATION field (failing LBA) and actual retry count', () => {
    //            VALID|70  key 3   info=12345   len  cmd-specific ASC ASCQ FRU SKSV retries=5
    const s = decodeSense(bytes('f0 00 03 00003039 0a 00000000 11 00 00 80 0005'));
    expect(s).toMatchObject({
      responseCode: 0x70,
      format: 'fixed',
      current: true,
      senseKey: SenseKey.MediumError,
      asc: 0x11,
      ascq: 0x00,
      information: 12345,
      senseKeyName: 'MEDIUM ERROR',
      description: 'Unrecovered read error',
      senseKeySpecific: { kind: 'actual-retry-count', count: 5 },
    });
    expect(s.commandSpecific).toBeUndefined();
    expect(formatSense(s)).toBe('MEDIUM ERROR: Unrecovered read error (03/11/00) at LBA 12345; 5 retries');
  });

  it('INFORMATION is ignored when VALID is clear', () => {
    expect(decodeSense(bytes('70 00 03 00003039 0a 00000000 11 00 00 000000')).information).toBeUndefined();
  });

  it('deferred error (0x71)', () => {
    const s = decodeSense(bytes('71 00 04 00000000 0a 00000000 44 00 00 000000'));
    expect(s).toMatchObject({ responseCode: 0x71, current: false, description: 'Internal target failure' });
    expect(formatSense(s)).toBe('deferred error: HARDWARE ERROR: Internal target failure (04/44/00)');
  });

  it('ILLEGAL REQUEST field pointer: CDB byte 2 bit 5', () => {
    const s = decodeSense(bytes('70 00 05 00000000 0a 00000000 24 00 00 cd 0002'));
    expect(s.senseKeySpecific).toEqual({ kind: 'field-pointer', inCdb: true, bitPointer: 5, fieldPointer: 2 });
    expect(formatSense(s)).toBe('ILLEGAL REQUEST: Invalid field in CDB (05/24/00); invalid CDB byte 2 bit 5');
  });

  it('NOT READY with progress indication (format in progress)', () => {
    const s = decodeSense(bytes('70 00 02 00000000 0a 00000000 04 04 00 80 8000'));
    expect(s.senseKeySpecific).toEqual({ kind: 'progress', progress: 0x8000 });
    expect(formatSense(s)).toBe('NOT READY: Logical unit not ready, format in progress (02/04/04); progress 50.0%');
  });

  it('UNIT ATTENTION queue overflow, COPY ABORTED segment pointer, other keys raw', () => {
    expect(decodeSenseKeySpecific(0x6, bytes('81 0000'))).toEqual({ kind: 'unit-attention-queue-overflow', overflow: true });
    expect(decodeSenseKeySpecific(0xa, bytes('a9 0010'))).toEqual({ kind: 'segment-pointer', segmentDescriptor: true, bitPointer: 1, fieldPointer: 16 });
    expect(decodeSenseKeySpecific(0x7, bytes('80 1234'))).toEqual({ kind: 'raw', bytes: bytes('80 1234') });
    expect(decodeSenseKeySpecific(0x5, bytes('00 1234'))).toBeUndefined();
    expect(decodeSenseKeySpecific(0x5, bytes('80 12'))).toBeUndefined();
  });

  it('FILEMARK / EOM / ILI bits of byte 2, command-specific information, FRU', () => {
    const s = decodeSense(bytes('70 00 e8 00000000 0a 01020304 00 00 07 000000'));
    expect(s).toMatchObject({ filemark: true, endOfMedium: true, incorrectLength: true, senseKey: 8, commandSpecific: 0x01020304, fieldReplaceableUnit: 7 });
    expect(formatSense(s)).toContain('; filemark; end of medium; incorrect length');
  });

  it('bounded by ADDITIONAL SENSE LENGTH: bytes after it are ignored', () => {
    // Declares 0 additional bytes; the ASC byte that follows must not be read.
    const s = decodeSense(bytes('70 00 06 00000000 00 00000000 29 00 00 000000'));
    expect(s).toMatchObject({ senseKey: 6, asc: 0, ascq: 0 });
    expect(s.raw.length).toBe(8);
  });

  it('bounded by the bytes received: a 14-byte sense declaring 10 additional bytes still yields ASC/ASCQ', () => {
    const s = decodeSense(bytes('70 00 02 00000000 0a 00000000 3a 01'));
    expect(s).toMatchObject({ senseKey: 2, asc: 0x3a, ascq: 0x01, description: 'Medium not present - tray closed' });
    expect(s.senseKeySpecific).toBeUndefined();
  });

  it('a 3-byte sense has a key but no ASC; 1-2 bytes is a ParseError', () => {
    expect(decodeSense(bytes('70 00 06'))).toMatchObject({ senseKey: 6, asc: 0, ascq: 0 });
    expect(() => decodeSense(bytes('70 00'))).toThrow(ParseError);
    expect(() => decodeSense(new Uint8Array(0))).toThrow(ParseError);
  });

  it('unknown response codes (0x00 zero fill, 0x7F vendor) are ParseErrors naming the code', () => {
    expect(() => decodeSense(new Uint8Array(18))).toThrow(/response code 0x00/);
    expect(() => decodeSense(bytes('7f 00 05'))).toThrow(/response code 0x7f/);
  });
});

describe('descriptor-format sense (SPC-4 §4.5.2)', () => {
  it('information (64-bit LBA), command-specific, sense key specific, FRU, block commands ILI', () => {
    const s = decodeSense(
      bytes(
        '72 03 11 00 00 00 00 2c' +
          ' 00 0a 80 00 0000000123456789' + // information, VALID
          ' 01 0a 00 00 00000000000000ff' + // command-specific
          ' 02 06 00 00 80 0003 00' + // sense key specific: retry count 3
          ' 03 02 00 09' + // FRU 9
          ' 05 02 00 20', // block commands: ILI
      ),
    );
    expect(s).toMatchObject({
      responseCode: 0x72,
      format: 'descriptor',
      current: true,
      senseKey: 3,
      asc: 0x11,
      ascq: 0,
      information: 0x123456789,
      commandSpecific: 0xff,
      senseKeySpecific: { kind: 'actual-retry-count', count: 3 },
      fieldReplaceableUnit: 9,
      incorrectLength: true,
    });
    expect(s.descriptors?.map((d) => d.type)).toEqual([0, 1, 2, 3, 5]);
    expect(formatSense(s)).toBe('MEDIUM ERROR: Unrecovered read error (03/11/00) at LBA 4886718345; 3 retries; incorrect length');
  });

  it('stream commands descriptor sets FILEMARK/EOM/ILI (SSC)', () => {
    const s = decodeSense(bytes('72 00 00 01 00 00 00 04 04 02 00 c0'));
    expect(s).toMatchObject({ filemark: true, endOfMedium: true, incorrectLength: false, description: 'Filemark detected' });
  });

  it('deferred descriptor sense (0x73); information without VALID is ignored', () => {
    const s = decodeSense(bytes('73 04 44 00 00 00 00 0c 00 0a 00 00 0000000000000010'));
    expect(s.current).toBe(false);
    expect(s.information).toBeUndefined();
  });

  it('information above 2^53 is left out rather than rounded', () => {
    const s = decodeSense(bytes('72 03 11 00 00 00 00 0c 00 0a 80 00 ffffffffffffffff'));
    expect(s.information).toBeUndefined();
  });

  it('a descriptor running past the data is kept short, never read beyond', () => {
    const s = decodeSense(bytes('72 05 24 00 00 00 00 20 02 06 00 00 c0 00'));
    expect(s.descriptors).toHaveLength(1);
    expect(s.descriptors?.[0]?.data.length).toBe(4);
    // SKS needs bytes 4-6 of the descriptor; only 4-5 arrived.
    expect(s.senseKeySpecific).toBeUndefined();
    expect(s.raw.length).toBe(14);
  });

  it('an 8-byte descriptor sense with no descriptors (ADDITIONAL SENSE LENGTH 0)', () => {
    const s = decodeSense(bytes('72 02 04 01 00 00 00 00'));
    expect(s).toMatchObject({ senseKey: 2, asc: 4, ascq: 1, description: 'Logical unit is in process of becoming ready', descriptors: [] });
  });
});

describe('names, messages and errors', () => {
  it('sense key names (SPC-4 table 49)', () => {
    expect([...Array(16).keys()].map(senseKeyName)).toEqual([
      'NO SENSE',
      'RECOVERED ERROR',
      'NOT READY',
      'MEDIUM ERROR',
      'HARDWARE ERROR',
      'ILLEGAL REQUEST',
      'UNIT ATTENTION',
      'DATA PROTECT',
      'BLANK CHECK',
      'VENDOR SPECIFIC',
      'COPY ABORTED',
      'ABORTED COMMAND',
      'EQUAL',
      'VOLUME OVERFLOW',
      'MISCOMPARE',
      'COMPLETED',
    ]);
  });

  it('the issue example reads exactly as specified', () => {
    const s = decodeSense(bytes('f0 00 03 00003039 0a 00000000 11 00 00 000000'));
    expect(formatSense(s)).toBe('MEDIUM ERROR: Unrecovered read error (03/11/00) at LBA 12345');
  });

  it('INFORMATION of an ILLEGAL REQUEST is not called an LBA', () => {
    const s = decodeSense(bytes('f0 00 05 00000010 0a 00000000 20 00 00 000000'));
    expect(formatSense(s)).toBe('ILLEGAL REQUEST: Invalid command operation code (05/20/00) (information 16)');
  });

  it('check-condition message and error carry the sense and a hint', () => {
    const s = decodeSense(bytes('70 00 02 00000000 0a 00000000 3a 00 00 000000'));
    expect(senseHint(s)).toMatch(/Insert a medium/);
    const error = checkConditionError('READ CAPACITY(10)', s);
    expect(error).toBeInstanceOf(ScsiCheckConditionError);
    expect(error.code).toBe('CHECK_CONDITION');
    expect(error.sense).toBe(s);
    expect(error.message).toBe('READ CAPACITY(10) failed: NOT READY: Medium not present (02/3A/00). Insert a medium (card, disc) and try again.');
    expect(checkConditionMessage('INQUIRY', undefined)).toMatch(/no usable sense data/);
  });

  it('write protect hint', () => {
    const s = decodeSense(bytes('70 00 07 00000000 0a 00000000 27 00 00 000000'));
    expect(checkConditionMessage('WRITE(10)', s)).toBe(
      'WRITE(10) failed: DATA PROTECT: Write protected (07/27/00). The medium is write-protected: check the lock switch on the card or device.',
    );
  });
});

describe('cross-check against the simulator’s independent sense encoder', () => {
  it('fixed and descriptor encodings of the same condition decode to the same fields', async () => {
    const { encodeDescriptorSense, encodeFixedSense, Sense } = await import('../sim/sense.js');
    const conditions = [
      Sense.unrecoveredReadError(12345),
      Sense.invalidFieldInCdb(2, 5),
      Sense.invalidOpcode(),
      Sense.mediumNotPresent(),
      Sense.powerOnReset(),
      Sense.writeProtected(),
      Sense.lbaOutOfRange(0xfffffff0),
    ];
    for (const c of conditions) {
      const fixed = decodeSense(encodeFixedSense(c));
      const descriptor = decodeSense(encodeDescriptorSense(c));
      for (const s of [fixed, descriptor]) {
        expect([s.senseKey, s.asc, s.ascq]).toEqual([c.key, c.asc, c.ascq]);
        expect(s.information).toBe(c.information);
        if (c.fieldPointer !== undefined) {
          expect(s.senseKeySpecific).toMatchObject({ kind: 'field-pointer', inCdb: c.fieldPointer.inCdb, fieldPointer: c.fieldPointer.byte });
        }
      }
      expect(fixed.format).toBe('fixed');
      expect(descriptor.format).toBe('descriptor');
      expect(formatSense(descriptor)).toBe(formatSense(fixed));
    }
  });
});
