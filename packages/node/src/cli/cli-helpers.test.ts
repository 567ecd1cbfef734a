import { AbortError, DisconnectedError, decodeSense, ScsiCheckConditionError, VerifyMismatchError, WriteProtectedError } from '@usbms/core';
import { describe, expect, it } from 'vitest';
import { parseSize } from './context.js';
import { ExitCode, exitCodeFor } from './exit.js';
import { formatBytes, hexDump, parseCount, parseHexBytes } from './format.js';
import { normalizeArgs } from './main.js';

const sense = (key: number, asc: number, ascq = 0) => decodeSense(new Uint8Array([0x70, 0, key, 0, 0, 0, 0, 10, 0, 0, 0, 0, asc, ascq, 0, 0, 0, 0]));

describe('exit codes (sg3_utils categories)', () => {
  it.each([
    [0x2, 0x3a, ExitCode.NotReady],
    [0x3, 0x11, ExitCode.MediumHard],
    [0x4, 0x44, ExitCode.MediumHard],
    [0x5, 0x20, ExitCode.IllegalRequest],
    [0x6, 0x28, ExitCode.UnitAttention],
    [0x7, 0x27, ExitCode.DataProtect],
    [0xb, 0x47, ExitCode.AbortedCommand],
    [0xe, 0x1d, ExitCode.Miscompare],
    [0x1, 0x17, ExitCode.Other],
  ])('sense key 0x%s -> %s', (key, asc, code) => {
    expect(exitCodeFor(new ScsiCheckConditionError('failed', sense(key, asc)))).toBe(code);
  });

  it('maps non-SCSI errors', () => {
    expect(exitCodeFor(new AbortError())).toBe(ExitCode.Interrupted);
    expect(exitCodeFor(new WriteProtectedError())).toBe(ExitCode.DataProtect);
    expect(exitCodeFor(new VerifyMismatchError('differs'))).toBe(ExitCode.Miscompare);
    expect(exitCodeFor(new DisconnectedError())).toBe(ExitCode.Other);
    expect(exitCodeFor(new Error('boom'))).toBe(ExitCode.Other);
  });

  it('finds sense data through the cause chain', () => {
    const inner = new ScsiCheckConditionError('inner', sense(0x2, 0x04, 0x02));
    expect(exitCodeFor(new WriteProtectedError('outer', { cause: inner }))).toBe(ExitCode.DataProtect);
    expect(exitCodeFor(new DisconnectedError('outer', { cause: inner }))).toBe(ExitCode.NotReady);
  });
});

describe('CLI parsing and formatting helpers', () => {
  it('parses CDB hex in several spellings and rejects garbage', () => {
    expect(parseHexBytes('12 00 00 00 24 00')).toEqual(new Uint8Array([0x12, 0, 0, 0, 0x24, 0]));
    expect(parseHexBytes('0x12,0x00:24')).toEqual(new Uint8Array([0x12, 0, 0x24]));
    expect(parseHexBytes('123')).toBeUndefined();
    expect(parseHexBytes('zz')).toBeUndefined();
    expect(parseHexBytes('')).toBeUndefined();
  });

  it('parses counts and sizes', () => {
    expect(parseCount('0x10')).toBe(16);
    expect(parseCount('42')).toBe(42);
    expect(parseCount('-1')).toBeUndefined();
    expect(parseCount('1e3')).toBeUndefined();
    expect(parseSize('64M')).toBe(64 * 1024 * 1024);
    expect(parseSize('8KiB')).toBe(8192);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('lots')).toBeUndefined();
  });

  it('dumps hex with offsets and ASCII', () => {
    const text = hexDump(new TextEncoder().encode('USBMS disk\x00\x01'), { offset: 0x200 });
    expect(text).toBe('00000200  55 53 42 4d 53 20 64 69  73 6b 00 01              |USBMS disk..|');
    expect(hexDump(new Uint8Array(40), { maxBytes: 16 }).split('\n')).toHaveLength(2);
  });

  it('formats byte counts', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(64 * 1024 * 1024)).toBe('64.0 MiB');
  });

  it('rewrites --sim=FILE so the subcommand is never taken as its value', () => {
    expect(normalizeArgs(['node', 'usbms', '--sim=disk.img', 'tur'])).toEqual(['node', 'usbms', '--sim', '--sim-image', 'disk.img', 'tur']);
    expect(normalizeArgs(['node', 'usbms', '--sim', 'tur'])).toEqual(['node', 'usbms', '--sim', 'tur']);
  });
});
