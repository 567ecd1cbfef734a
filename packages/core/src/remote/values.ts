import { RemoteProtocolError } from '../errors.js';

/*
 * A small tagged binary encoding for the structured parts of remote frames
 * (discovery, errors, trace events, announcements): undefined, null, booleans,
 * numbers, strings, Uint8Array, arrays and plain objects, like the subset of
 * structured clone that usbms values use. Little-endian lengths.
 * docs/remote-protocol.md §3 is the reference. Every read is bounds-checked and
 * every length is checked against the bytes left, so a hostile frame can neither
 * read past its end nor make the reader allocate more than the frame holds.
 */

export const ValueTag = {
  Undefined: 0,
  Null: 1,
  False: 2,
  True: 3,
  Float64: 4,
  String: 5,
  Bytes: 6,
  Array: 7,
  Object: 8,
} as const;
export type ValueTag = (typeof ValueTag)[keyof typeof ValueTag];

/** Deepest nesting accepted (trace events and errors nest 4-5 levels). */
export const MAX_VALUE_DEPTH = 16;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });
/** Keys that would reach Object.prototype when assigned: refused on decode. */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Growable byte writer; `finish()` returns a view of the bytes written. */
export class ByteWriter {
  #bytes: Uint8Array;
  #view: DataView;
  #length = 0;

  constructor(initial = 256) {
    this.#bytes = new Uint8Array(initial);
    this.#view = new DataView(this.#bytes.buffer);
  }

  get length(): number {
    return this.#length;
  }

  #reserve(n: number): number {
    const at = this.#length;
    if (at + n > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(this.#bytes.length * 2, at + n));
      grown.set(this.#bytes.subarray(0, at));
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#length = at + n;
    return at;
  }

  u8(value: number): void {
    const at = this.#reserve(1);
    this.#bytes[at] = value & 0xff;
  }

  u32(value: number): void {
    const at = this.#reserve(4);
    this.#view.setUint32(at, value >>> 0, true);
  }

  f64(value: number): void {
    const at = this.#reserve(8);
    this.#view.setFloat64(at, value, true);
  }

  bytes(data: Uint8Array): void {
    // Reserve first: it may replace #bytes with a larger buffer.
    const at = this.#reserve(data.length);
    this.#bytes.set(data, at);
  }

  finish(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }
}

/** Bounds-checked reader over a Uint8Array view (any byteOffset). */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset: number;
  readonly #what: string;

  constructor(bytes: Uint8Array, what: string, offset = 0) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#offset = offset;
    this.#what = what;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  fail(message: string): never {
    throw new RemoteProtocolError(`${this.#what}: ${message}`, { details: { what: this.#what, offset: this.#offset } });
  }

  #need(n: number): number {
    if (n > this.remaining) this.fail(`needs ${n} more bytes at offset ${this.#offset}, has ${this.remaining}`);
    const at = this.#offset;
    this.#offset += n;
    return at;
  }

  u8(): number {
    return this.#bytes[this.#need(1)] ?? 0;
  }

  u32(): number {
    return this.#view.getUint32(this.#need(4), true);
  }

  f64(): number {
    return this.#view.getFloat64(this.#need(8), true);
  }

  /** A view (no copy) of the next `n` bytes. */
  view(n: number): Uint8Array {
    const at = this.#need(n);
    return this.#bytes.subarray(at, at + n);
  }

  /** The rest of the bytes, as a view. */
  rest(): Uint8Array {
    return this.view(this.remaining);
  }

  end(): void {
    if (this.remaining !== 0) this.fail(`${this.remaining} unexpected trailing bytes`);
  }
}

/** Appends one value. Throws RemoteProtocolError for what the encoding cannot carry (functions, cycles, class instances other than Uint8Array/Error-free plain objects). */
export function writeValue(w: ByteWriter, value: unknown, depth = 0): void {
  if (depth > MAX_VALUE_DEPTH) throw new RemoteProtocolError(`value nested deeper than ${MAX_VALUE_DEPTH} levels`);
  if (value === undefined) {
    w.u8(ValueTag.Undefined);
    return;
  }
  if (value === null) {
    w.u8(ValueTag.Null);
    return;
  }
  if (value === false) {
    w.u8(ValueTag.False);
    return;
  }
  if (value === true) {
    w.u8(ValueTag.True);
    return;
  }
  if (typeof value === 'number') {
    w.u8(ValueTag.Float64);
    w.f64(value);
    return;
  }
  if (typeof value === 'string') {
    const bytes = textEncoder.encode(value);
    w.u8(ValueTag.String);
    w.u32(bytes.length);
    w.bytes(bytes);
    return;
  }
  if (value instanceof Uint8Array) {
    w.u8(ValueTag.Bytes);
    w.u32(value.length);
    w.bytes(value);
    return;
  }
  if (Array.isArray(value)) {
    w.u8(ValueTag.Array);
    w.u32(value.length);
    for (const item of value) writeValue(w, item, depth + 1);
    return;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => typeof v !== 'function');
    w.u8(ValueTag.Object);
    w.u32(entries.length);
    for (const [key, item] of entries) {
      writeValue(w, key, depth + 1);
      writeValue(w, item, depth + 1);
    }
    return;
  }
  throw new RemoteProtocolError(`a ${typeof value} cannot be sent`);
}

/** Reads one value; every length is checked against the bytes left (each element takes at least one byte). */
export function readValue(r: ByteReader, depth = 0): unknown {
  if (depth > MAX_VALUE_DEPTH) r.fail(`value nested deeper than ${MAX_VALUE_DEPTH} levels`);
  const tag = r.u8();
  switch (tag) {
    case ValueTag.Undefined:
      return undefined;
    case ValueTag.Null:
      return null;
    case ValueTag.False:
      return false;
    case ValueTag.True:
      return true;
    case ValueTag.Float64:
      return r.f64();
    case ValueTag.String:
      return readString(r);
    case ValueTag.Bytes: {
      const n = r.u32();
      // A copy: the value outlives the frame buffer it came in.
      return r.view(n).slice();
    }
    case ValueTag.Array: {
      const n = r.u32();
      if (n > r.remaining) r.fail(`array of ${n} items in ${r.remaining} bytes`);
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) out.push(readValue(r, depth + 1));
      return out;
    }
    case ValueTag.Object: {
      const n = r.u32();
      if (n * 2 > r.remaining) r.fail(`object of ${n} entries in ${r.remaining} bytes`);
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        if (r.u8() !== ValueTag.String) r.fail('object key is not a string');
        const key = readString(r);
        if (FORBIDDEN_KEYS.has(key)) r.fail(`object key "${key}" is not allowed`);
        out[key] = readValue(r, depth + 1);
      }
      return out;
    }
    default:
      return r.fail(`unknown value tag ${tag}`);
  }
}

function readString(r: ByteReader): string {
  const n = r.u32();
  const bytes = r.view(n);
  try {
    return textDecoder.decode(bytes);
  } catch {
    return r.fail('string is not valid UTF-8');
  }
}

/** Encodes one value on its own. */
export function encodeValue(value: unknown): Uint8Array {
  const w = new ByteWriter();
  writeValue(w, value);
  return w.finish();
}

/** Decodes a buffer that holds exactly one value. */
export function decodeValue(bytes: Uint8Array, what = 'value'): unknown {
  const r = new ByteReader(bytes, what);
  const value = readValue(r);
  r.end();
  return value;
}
