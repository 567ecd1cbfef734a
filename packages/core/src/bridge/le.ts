/*
 * Little-endian field readers for NVMe data structures (NVMe Base 2.0 §1.5: "all
 * data structures are little endian" unless stated). Like scsi/bytes.ts, reads go
 * through index access on the Uint8Array, so sub-array views are safe; bytes past
 * the end read as 0, and callers check lengths first.
 */
import { ParseError } from '../errors.js';

export function leU16(source: Uint8Array, offset: number): number {
  return (source[offset] ?? 0) | ((source[offset + 1] ?? 0) << 8);
}

export function leU32(source: Uint8Array, offset: number): number {
  return ((source[offset] ?? 0) | ((source[offset + 1] ?? 0) << 8) | ((source[offset + 2] ?? 0) << 16)) + (source[offset + 3] ?? 0) * 0x100_0000;
}

/** An unsigned little-endian field of `size` bytes as a bigint (the 128-bit NVMe counters). */
export function leBig(source: Uint8Array, offset: number, size: number): bigint {
  let value = 0n;
  for (let i = size - 1; i >= 0; i--) value = (value << 8n) | BigInt(source[offset + i] ?? 0);
  return value;
}

/** An 8-byte little-endian field as a number; ParseError above Number.MAX_SAFE_INTEGER. */
export function leU64Safe(source: Uint8Array, offset: number, what: string, field: string): number {
  const low = leU32(source, offset);
  const high = leU32(source, offset + 4);
  if (high > 0x1f_ffff) throw new ParseError(what, `${field} exceeds Number.MAX_SAFE_INTEGER`);
  return high * 0x1_0000_0000 + low;
}

export function putLeU32(target: Uint8Array, offset: number, value: number): void {
  target[offset] = value & 0xff;
  target[offset + 1] = (value >>> 8) & 0xff;
  target[offset + 2] = (value >>> 16) & 0xff;
  target[offset + 3] = (value >>> 24) & 0xff;
}
