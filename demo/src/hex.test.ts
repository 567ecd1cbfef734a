import { describe, expect, it } from 'vitest';
import { formatBytes, hexDump, parseHex, toHex } from './hex.js';

describe('parseHex', () => {
  it('accepts spaced, packed, 0x-prefixed and comma-separated input', () => {
    expect([...parseHex('12 00 00 00 24 00')]).toEqual([0x12, 0, 0, 0, 0x24, 0]);
    expect([...parseHex('1200 00002400')]).toEqual([0x12, 0, 0, 0, 0x24, 0]);
    expect([...parseHex('0x12,0x0a\n0xFF')]).toEqual([0x12, 0x0a, 0xff]);
    expect([...parseHex('1 2 f')]).toEqual([1, 2, 15]);
    expect(parseHex('  ').length).toBe(0);
  });
  it('names the bad token', () => {
    expect(() => parseHex('12 zz', 'CDB')).toThrow('CDB: "zz" is not hexadecimal');
    expect(() => parseHex('123')).toThrow(/odd number/);
  });
});

describe('hexDump', () => {
  it('prints address, hex and ASCII columns', () => {
    const bytes = new TextEncoder().encode('USBMS disk\x00\x01');
    expect(hexDump(bytes, { baseAddress: 0x200 })).toBe('00000200  55 53 42 4d 53 20 64 69  73 6b 00 01              |USBMS disk..|');
    expect(toHex(Uint8Array.of(1, 0xab))).toBe('01 ab');
  });
  it('truncates long data and says so', () => {
    const text = hexDump(new Uint8Array(100), { maxBytes: 32 });
    expect(text.split('\n')).toHaveLength(3);
    expect(text).toContain('68 more bytes');
    expect(hexDump(new Uint8Array(0))).toBe('(no data)');
  });
});

describe('formatBytes', () => {
  it('uses binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(16 * 1024 * 1024)).toBe('16.0 MiB');
  });
});
