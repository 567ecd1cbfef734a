import { describe, expect, it } from 'vitest';
import { ascTableSize, describeAsc, lookupAsc } from './asc-table.js';
import { decodeSense } from './decode.js';

describe('the full SPC ASC/ASCQ table', () => {
  it('loads every assignment of the T10 list (2020-08) plus the ranges', () => {
    const size = ascTableSize();
    // The T10 list of 2020-08: 759 single assignments in this table (40/00, 41/00
    // and 42/00 included) and 3 ranges (40/80-FF, 4D/NN, 70/NN). A lost or merged
    // line changes the count.
    expect(size.entries).toBe(759);
    expect(size.ranges).toBe(3);
  });

  it.each([
    [0x00, 0x00, 'No additional sense information'],
    [0x00, 0x06, 'I/O process terminated'],
    [0x04, 0x00, 'Logical unit not ready, cause not reportable'],
    [0x04, 0x01, 'Logical unit is in process of becoming ready'],
    [0x04, 0x02, 'Logical unit not ready, initializing command required'],
    [0x04, 0x1b, 'Logical unit not ready, sanitize in progress'],
    [0x08, 0x03, 'Logical unit communication CRC error (Ultra-DMA/32)'],
    [0x0c, 0x00, 'Write error'],
    [0x10, 0x01, 'Logical block guard check failed'],
    [0x11, 0x00, 'Unrecovered read error'],
    [0x14, 0x01, 'Record not found'],
    [0x1a, 0x00, 'Parameter list length error'],
    [0x1d, 0x00, 'Miscompare during verify operation'],
    [0x20, 0x00, 'Invalid command operation code'],
    [0x21, 0x00, 'Logical block address out of range'],
    [0x24, 0x00, 'Invalid field in CDB'],
    [0x25, 0x00, 'Logical unit not supported'],
    [0x26, 0x00, 'Invalid field in parameter list'],
    [0x27, 0x00, 'Write protected'],
    [0x28, 0x00, 'Not ready to ready change, medium may have changed'],
    [0x29, 0x00, 'Power on, reset, or bus device reset occurred'],
    [0x29, 0x07, 'I_T nexus loss occurred'],
    [0x2a, 0x09, 'Capacity data has changed'],
    [0x30, 0x00, 'Incompatible medium installed'],
    [0x31, 0x00, 'Medium format corrupted'],
    [0x3a, 0x00, 'Medium not present'],
    [0x3a, 0x02, 'Medium not present - tray open'],
    [0x3e, 0x03, 'Logical unit failed self-test'],
    [0x3f, 0x0e, 'Reported LUNs data has changed'],
    [0x44, 0x00, 'Internal target failure'],
    [0x47, 0x7f, 'Some commands cleared by iSCSI protocol event'],
    [0x4b, 0x15, 'PCIe TLP prefix blocked'],
    [0x53, 0x02, 'Medium removal prevented'],
    [0x55, 0x11, 'Insufficient resources to bind'],
    [0x5d, 0x00, 'Failure prediction threshold exceeded'],
    [0x5d, 0x6c, 'Firmware impending failure drive calibration retry count'],
    [0x5d, 0xff, 'Failure prediction threshold exceeded (false)'],
    [0x5e, 0x47, 'Power state change to device control'],
    [0x6f, 0x0a, 'Drive-host pairing suspended'],
    [0x73, 0x17, 'RDZ is full'],
    [0x74, 0x79, 'Security conflict in translated device'],
  ])('%i/%i -> %s', (asc, ascq, text) => {
    expect(describeAsc(asc, ascq)).toBe(text);
    expect(lookupAsc(asc, ascq)).toBe(text);
  });

  it('ranges: 40/NN, 4D/NN, 70/NN', () => {
    expect(describeAsc(0x40, 0x00)).toBe('RAM failure (should use 40 NN)');
    expect(describeAsc(0x40, 0x80)).toBe('Diagnostic failure on component 80h');
    expect(describeAsc(0x40, 0xff)).toBe('Diagnostic failure on component FFh');
    expect(describeAsc(0x4d, 0x00)).toBe('Tagged overlapped commands (task tag 00h)');
    expect(describeAsc(0x4d, 0x2a)).toBe('Tagged overlapped commands (task tag 2Ah)');
    expect(describeAsc(0x70, 0x05)).toBe('Decompression exception short algorithm ID of 05h');
    expect(lookupAsc(0x4d, 0x2a)).toBeUndefined();
  });

  it('vendor-specific ASC (80-FF) and ASCQ (80-FF), unassigned codes', () => {
    expect(describeAsc(0x80, 0x00)).toBe('Vendor specific ASC 80h, ASCQ 00h');
    expect(describeAsc(0xff, 0xff)).toBe('Vendor specific ASC FFh, ASCQ FFh');
    expect(describeAsc(0x3a, 0x80)).toBe('Vendor specific ASCQ 80h of ASC 3Ah (Medium not present)');
    expect(describeAsc(0x56, 0x00)).toBe('Unknown ASC 56h, ASCQ 00h');
    expect(describeAsc(0x40, 0x01)).toBe('Unknown ASC 40h, ASCQ 01h');
  });

  it('decodeSense uses the table', () => {
    const s = decodeSense(Uint8Array.of(0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x2a, 0x09, 0, 0, 0, 0));
    expect(s.description).toBe('Capacity data has changed');
  });

  it('every line of the table parses to a valid code and a text; every pair has a description', () => {
    let hits = 0;
    for (let asc = 0; asc < 0x100; asc++) {
      for (let ascq = 0; ascq < 0x100; ascq++) {
        const exact = lookupAsc(asc, ascq);
        if (exact !== undefined) {
          hits++;
          expect(exact).toMatch(/^[A-Za-z]/);
        }
        const text = describeAsc(asc, ascq);
        expect(text.length).toBeGreaterThan(2);
        expect(text).not.toMatch(/NaN|undefined/);
      }
    }
    // Every parsed line maps to a distinct code in range (a mistyped code would collide or vanish).
    expect(hits).toBe(ascTableSize().entries);
  });
});
