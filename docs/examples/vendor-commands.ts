/**
 * Example (compiled and typechecked by `pnpm typecheck` and `pnpm docs`, exercised
 * by the core unit tests): two vendor commands defined with `defineCommand`, as a user would write them
 * for a device's documented (or reverse-engineered) vendor protocol. The "ACME"
 * bridge is fictional but the shapes are typical: vendor-specific opcodes live in
 * 0xC0-0xFF (SPC-4 §4.2, vendor-specific operation codes), a sub-command byte follows, lengths are big-endian.
 *
 * @example
 * import { acmeReadFirmwareVersion, acmeWriteConfigPage } from './vendor-commands.js';
 * const fw = await lu.run(acmeReadFirmwareVersion());
 * console.log(`${fw.major}.${fw.minor} build ${fw.build} (${fw.date})`);
 * await lu.run(acmeWriteConfigPage({ page: 2, data: new Uint8Array([0x01, 0x00, 0x10, 0x00]) }));
 */
import { defineCommand, expectLength, InvalidArgumentError, ParseError } from '@usbms/core';

/** A big-endian 16-bit field (SCSI byte order, SPC-4 §3.5). */
function u16(data: Uint8Array, offset: number): number {
  return ((data[offset] ?? 0) << 8) | (data[offset + 1] ?? 0);
}

/** An ASCII field: leading and trailing spaces and NULs removed, other non-printable bytes shown as "?". */
function ascii(data: Uint8Array): string {
  return Array.from(data, (b) => (b === 0 ? ' ' : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?'))
    .join('')
    .trim();
}

/** Opcode of the example vendor read command (vendor-specific range C0h-FFh, SPC-4 §4.3). */
export const ACME_VENDOR_OPCODE_IN = 0xc0;
/** Opcode of the example vendor write command. */
export const ACME_VENDOR_OPCODE_OUT = 0xc1;

/** Decoded answer of the example firmware-version command. */
export interface AcmeFirmwareVersion {
  major: number;
  minor: number;
  build: number;
  /** Build date as the device reports it, e.g. "2024-05-17" ("" if not sent). */
  date: string;
}

/**
 * ACME READ FIRMWARE VERSION: IN, CDB `C0 01 00 00 00 <alloc>`. Response: major,
 * minor, build (2 bytes BE), a length byte, then that many ASCII date bytes.
 */
export const acmeReadFirmwareVersion = defineCommand({
  name: 'ACME READ FIRMWARE VERSION',
  direction: 'in',
  length: 32,
  timeoutMs: 2_000,
  cdb: () => [ACME_VENDOR_OPCODE_IN, 0x01, 0x00, 0x00, 0x00, 32],
  decode: (data): AcmeFirmwareVersion => {
    const what = 'ACME firmware version';
    expectLength(data, 5, what);
    const dateLength = data[4] ?? 0;
    // The date is bounded by the bytes received, never by the length byte alone.
    if (5 + dateLength > data.length) {
      throw new ParseError(what, `date of ${dateLength} bytes declared but only ${data.length - 5} received`);
    }
    return { major: data[0] ?? 0, minor: data[1] ?? 0, build: u16(data, 2), date: ascii(data.subarray(5, 5 + dateLength)) };
  },
});

/** Options of the example configuration-page write command. */
export interface AcmeConfigPageOptions {
  /** Configuration page number, 0-15. */
  page: number;
  /** Page content, 1-512 bytes, a multiple of 4 (the bridge stores 32-bit words). */
  data: Uint8Array;
}

/**
 * ACME WRITE CONFIG PAGE: OUT, CDB `C1 02 <page> <length:2> 00`, the page content as
 * data-out. It changes the bridge's settings; like every data-out command defined
 * with `defineCommand` it counts as writing, so a read-only device refuses it.
 */
export const acmeWriteConfigPage = defineCommand({
  name: 'ACME WRITE CONFIG PAGE',
  direction: 'out',
  timeoutMs: 5_000,
  validate: (o: AcmeConfigPageOptions) => {
    if (!Number.isInteger(o.page) || o.page < 0 || o.page > 15) throw new InvalidArgumentError(`config page must be 0-15, got ${o.page}`);
    if (!(o.data instanceof Uint8Array) || o.data.length === 0 || o.data.length > 512 || o.data.length % 4 !== 0) {
      throw new InvalidArgumentError('config page data must be 1-512 bytes, a multiple of 4');
    }
  },
  cdb: (o: AcmeConfigPageOptions) => [ACME_VENDOR_OPCODE_OUT, 0x02, o.page, o.data.length >> 8, o.data.length & 0xff, 0x00],
  data: (o: AcmeConfigPageOptions) => o.data,
});
