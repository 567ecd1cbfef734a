import { InvalidArgumentError, ParseError } from '../errors.js';

/*
 * Byte helpers for SCSI structures. SCSI CDB and parameter data fields are
 * big-endian (SPC-4 conventions). Reads go through index access on the Uint8Array
 * itself, so sub-array views with a non-zero byteOffset are always safe.
 */

const TWO_POW_32 = 0x1_0000_0000;

/** Throws InvalidArgumentError unless `value` is a safe integer in [min, max]. */
export function checkInteger(name: string, value: unknown, max: number, min = 0): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(`${name} must be a safe integer, got ${describe(value)}`);
  }
  if (value < min) {
    throw new InvalidArgumentError(`${name} must be at least ${min}, got ${value}`);
  }
  if (value > max) {
    throw new InvalidArgumentError(`${name} ${value} is too large: the field holds at most ${max}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return `${value}n (a bigint; pass a number)`;
  return typeof value;
}

/** Writes a 2-byte big-endian field (SCSI CDB and parameter data byte order). */
export function putU16(target: Uint8Array, offset: number, value: number): void {
  target[offset] = (value >>> 8) & 0xff;
  target[offset + 1] = value & 0xff;
}

/** Writes a 3-byte big-endian field. */
export function putU24(target: Uint8Array, offset: number, value: number): void {
  target[offset] = (value >>> 16) & 0xff;
  target[offset + 1] = (value >>> 8) & 0xff;
  target[offset + 2] = value & 0xff;
}

/** Writes a 4-byte big-endian field. */
export function putU32(target: Uint8Array, offset: number, value: number): void {
  target[offset] = (value >>> 24) & 0xff;
  target[offset + 1] = (value >>> 16) & 0xff;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
}

/** Writes a safe non-negative integer as an 8-byte big-endian field. */
export function putU64(target: Uint8Array, offset: number, value: number): void {
  putU32(target, offset, Math.floor(value / TWO_POW_32));
  putU32(target, offset + 4, value % TWO_POW_32);
}

/* Readers return 0 for bytes beyond the end; callers check lengths first. */

/** Reads a 2-byte big-endian field (0 for bytes past the end). */
export function getU16(source: Uint8Array, offset: number): number {
  return ((source[offset] ?? 0) << 8) | (source[offset + 1] ?? 0);
}

/** Reads a 3-byte big-endian field (0 for bytes past the end). */
export function getU24(source: Uint8Array, offset: number): number {
  return ((source[offset] ?? 0) << 16) | ((source[offset + 1] ?? 0) << 8) | (source[offset + 2] ?? 0);
}

/** Reads a 4-byte big-endian field as an unsigned number (0 for bytes past the end). */
export function getU32(source: Uint8Array, offset: number): number {
  return (source[offset] ?? 0) * 0x100_0000 + (((source[offset + 1] ?? 0) << 16) | ((source[offset + 2] ?? 0) << 8) | (source[offset + 3] ?? 0));
}

/** 8-byte big-endian field as a number, or undefined when above Number.MAX_SAFE_INTEGER. */
export function getU64(source: Uint8Array, offset: number): number | undefined {
  const high = getU32(source, offset);
  const low = getU32(source, offset + 4);
  // 2^53 - 1 has high word 0x1FFFFF.
  if (high > 0x1f_ffff) return undefined;
  return high * TWO_POW_32 + low;
}

/** Like getU64, but throws ParseError when the value is not a safe integer. */
export function getU64Safe(source: Uint8Array, offset: number, what: string, field: string): number {
  const value = getU64(source, offset);
  if (value === undefined) {
    throw new ParseError(what, `${field} 0x${hex(source.subarray(offset, offset + 8))} exceeds Number.MAX_SAFE_INTEGER`);
  }
  return value;
}

/**
 * An ASCII field (SPC-4 §4.4.1): trailing spaces and NULs removed (devices pad
 * with either), other non-printable bytes shown as '?', never thrown on.
 */
export function asciiField(source: Uint8Array, start: number, end: number): string {
  const stop = Math.min(end, source.length);
  let last = stop;
  while (last > start && (source[last - 1] === 0x20 || source[last - 1] === 0x00)) last--;
  let first = start;
  while (first < last && (source[first] === 0x20 || source[first] === 0x00)) first++;
  let out = '';
  for (let i = first; i < last; i++) {
    const b = source[i] ?? 0;
    out += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?';
  }
  return out;
}

export function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

export function hexByte(value: number): string {
  return value.toString(16).toUpperCase().padStart(2, '0');
}

/** Copies a CDB into a zero-filled buffer of `size` bytes (quirk padCdbTo12). */
export function padCdb(cdb: Uint8Array, size: number): Uint8Array {
  if (cdb.length >= size) return cdb;
  const out = new Uint8Array(size);
  out.set(cdb);
  return out;
}
