/** Hex helpers for the device tool: parsing what users type, and hex+ASCII dumps. */

/**
 * Parses hex bytes typed by a user: "12 00 00 00 24 00", "120000002400",
 * "0x12,0x00" and newlines all work. Throws a message naming the bad token.
 */
export function parseHex(text: string, what = 'hex'): Uint8Array {
  const cleaned = text
    .replace(/0x/gi, ' ')
    .replace(/[,;:\-_]/g, ' ')
    .trim();
  if (cleaned === '') return new Uint8Array(0);
  const out: number[] = [];
  for (const token of cleaned.split(/\s+/)) {
    if (!/^[0-9a-f]+$/i.test(token)) throw new Error(`${what}: "${token}" is not hexadecimal`);
    if (token.length % 2 !== 0 && token.length > 2) throw new Error(`${what}: "${token}" has an odd number of digits`);
    if (token.length <= 2) out.push(parseInt(token, 16));
    else for (let i = 0; i < token.length; i += 2) out.push(parseInt(token.slice(i, i + 2), 16));
  }
  return Uint8Array.from(out);
}

export function toHex(bytes: Uint8Array, separator = ' '): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0) s += separator;
    s += (bytes[i] as number).toString(16).padStart(2, '0');
  }
  return s;
}

function printable(b: number): string {
  return b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
}

export interface HexDumpOptions {
  /** Address printed for the first byte (e.g. lba * blockSize). */
  baseAddress?: number;
  /** Bytes per line, default 16. */
  width?: number;
  /** Stop after this many bytes and say how many were left out (keeps the DOM small). */
  maxBytes?: number;
}

/** Classic hex dump: "00000000  12 00 00 ... |text............|". */
export function hexDump(bytes: Uint8Array, options: HexDumpOptions = {}): string {
  const width = options.width ?? 16;
  const base = options.baseAddress ?? 0;
  const limit = Math.min(bytes.length, options.maxBytes ?? bytes.length);
  const digits = Math.max(8, (base + limit).toString(16).length);
  const lines: string[] = [];
  for (let off = 0; off < limit; off += width) {
    const row = bytes.subarray(off, Math.min(off + width, limit));
    let hex = '';
    let ascii = '';
    for (let i = 0; i < width; i++) {
      const b = row[i];
      hex += b === undefined ? '   ' : `${b.toString(16).padStart(2, '0')} `;
      if (i === 7) hex += ' ';
      if (b !== undefined) ascii += printable(b);
    }
    lines.push(`${(base + off).toString(16).padStart(digits, '0')}  ${hex} |${ascii}|`);
  }
  if (limit < bytes.length) lines.push(`… ${bytes.length - limit} more bytes not shown (save to a file to see them all)`);
  if (bytes.length === 0) lines.push('(no data)');
  return lines.join('\n');
}

/** "1.5 MiB", "512 B". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(v >= 100 ? 0 : v >= 10 ? 1 : 2)} ${units[u]}`;
}

export const hex2 = (n: number): string => `0x${n.toString(16).padStart(2, '0')}`;
export const hex4 = (n: number): string => n.toString(16).padStart(4, '0');
