import { ParseError } from '../errors.js';
import { describeAsc } from './asc-table.js';
import type { SenseData, SenseDescriptor, SenseKeySpecific } from './types.js';

const SENSE_KEY_NAMES = [
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
  'EQUAL', // obsolete since SPC-3, still sent by old devices
  'VOLUME OVERFLOW',
  'MISCOMPARE',
  'COMPLETED',
] as const;

/** Sense key name as SPC-4 §4.5.6 writes it, e.g. 5 -> "ILLEGAL REQUEST". */
export function senseKeyName(key: number): string {
  return SENSE_KEY_NAMES[key & 0x0f] ?? 'UNKNOWN';
}

function u16(b: Uint8Array, o: number): number {
  return ((b[o] ?? 0) << 8) | (b[o + 1] ?? 0);
}

function u32(b: Uint8Array, o: number): number {
  return (b[o] ?? 0) * 0x100_0000 + (((b[o + 1] ?? 0) << 16) | ((b[o + 2] ?? 0) << 8) | (b[o + 3] ?? 0));
}

function u64(b: Uint8Array, o: number): number | undefined {
  const high = u32(b, o);
  if (high > 0x1f_ffff) return undefined;
  return high * 0x1_0000_0000 + u32(b, o + 4);
}

/**
 * Sense-key-specific field (SPC-4 §4.5.2.4): 3 bytes whose meaning depends on the
 * sense key. Returns undefined unless SKSV (bit 7 of the first byte) is set.
 */
export function decodeSenseKeySpecific(senseKey: number, bytes: Uint8Array): SenseKeySpecific | undefined {
  if (bytes.length < 3) return undefined;
  const b0 = bytes[0] ?? 0;
  if ((b0 & 0x80) === 0) return undefined;
  const value = u16(bytes, 1);
  switch (senseKey) {
    case 0x5: {
      // ILLEGAL REQUEST: field pointer (§4.5.2.4).
      const out: SenseKeySpecific = { kind: 'field-pointer', inCdb: (b0 & 0x40) !== 0, fieldPointer: value };
      if ((b0 & 0x08) !== 0) out.bitPointer = b0 & 0x07;
      return out;
    }
    case 0x1:
    case 0x3:
    case 0x4:
      // RECOVERED / MEDIUM / HARDWARE ERROR: actual retry count (§4.5.2.4).
      return { kind: 'actual-retry-count', count: value };
    case 0x0:
    case 0x2:
      // NO SENSE / NOT READY: progress indication (§4.5.2.4), e.g. during FORMAT UNIT.
      return { kind: 'progress', progress: value };
    case 0xa: {
      // COPY ABORTED: segment pointer (§4.5.2.4).
      const out: SenseKeySpecific = { kind: 'segment-pointer', segmentDescriptor: (b0 & 0x20) !== 0, fieldPointer: value };
      if ((b0 & 0x08) !== 0) out.bitPointer = b0 & 0x07;
      return out;
    }
    case 0x6:
      // UNIT ATTENTION: unit attention condition queue overflow (§4.5.2.4).
      return { kind: 'unit-attention-queue-overflow', overflow: (b0 & 0x01) !== 0 };
    default:
      return { kind: 'raw', bytes: bytes.slice(0, 3) };
  }
}

/**
 * Decodes sense data in fixed (0x70/0x71, SPC-4 §4.5.3) or descriptor
 * (0x72/0x73, §4.5.2) format. Everything is bounded by both the ADDITIONAL SENSE
 * LENGTH and the bytes received: many USB devices declare 10 additional bytes and
 * send 18, or send fewer than they declare. Fields not received read as zero.
 * Throws ParseError for an empty buffer or an unknown response code.
 */
export function decodeSense(bytes: Uint8Array): SenseData {
  if (bytes.length === 0) throw new ParseError('sense data', 'no bytes received');
  const responseCode = (bytes[0] ?? 0) & 0x7f;
  if (responseCode === 0x70 || responseCode === 0x71) return decodeFixed(bytes, responseCode);
  if (responseCode === 0x72 || responseCode === 0x73) return decodeDescriptor(bytes, responseCode);
  throw new ParseError(
    'sense data',
    `response code 0x${responseCode.toString(16).padStart(2, '0')} is neither fixed (0x70/0x71) nor descriptor (0x72/0x73) format`,
  );
}

function decodeFixed(bytes: Uint8Array, responseCode: number): SenseData {
  if (bytes.length < 3) {
    throw new ParseError('sense data', `fixed-format sense of ${bytes.length} bytes has no sense key (byte 2)`);
  }
  // Byte 7 is ADDITIONAL SENSE LENGTH; the sense data is 8 + that many bytes.
  const declared = bytes.length > 7 ? 8 + (bytes[7] ?? 0) : bytes.length;
  const raw = bytes.subarray(0, Math.min(bytes.length, declared));
  const b2 = raw[2] ?? 0;
  const senseKey = b2 & 0x0f;
  const asc = raw[12] ?? 0;
  const ascq = raw[13] ?? 0;
  const sense: SenseData = {
    responseCode,
    format: 'fixed',
    current: responseCode === 0x70,
    senseKey,
    asc,
    ascq,
    filemark: (b2 & 0x80) !== 0,
    endOfMedium: (b2 & 0x40) !== 0,
    incorrectLength: (b2 & 0x20) !== 0,
    senseKeyName: senseKeyName(senseKey),
    description: describeAsc(asc, ascq),
    raw,
  };
  // VALID bit (byte 0 bit 7) says the INFORMATION field (bytes 3-6) is meaningful.
  if (((raw[0] ?? 0) & 0x80) !== 0 && raw.length >= 7) sense.information = u32(raw, 3);
  if (raw.length >= 12) {
    const commandSpecific = u32(raw, 8);
    if (commandSpecific !== 0) sense.commandSpecific = commandSpecific;
  }
  if (raw.length >= 15 && (raw[14] ?? 0) !== 0) sense.fieldReplaceableUnit = raw[14] ?? 0;
  const sks = decodeSenseKeySpecific(senseKey, raw.subarray(15, 18));
  if (sks !== undefined) sense.senseKeySpecific = sks;
  return sense;
}

function decodeDescriptor(bytes: Uint8Array, responseCode: number): SenseData {
  if (bytes.length < 2) {
    throw new ParseError('sense data', `descriptor-format sense of ${bytes.length} byte has no sense key (byte 1)`);
  }
  const declared = bytes.length > 7 ? 8 + (bytes[7] ?? 0) : bytes.length;
  const raw = bytes.subarray(0, Math.min(bytes.length, declared));
  const senseKey = (raw[1] ?? 0) & 0x0f;
  const asc = raw[2] ?? 0;
  const ascq = raw[3] ?? 0;
  const sense: SenseData = {
    responseCode,
    format: 'descriptor',
    current: responseCode === 0x72,
    senseKey,
    asc,
    ascq,
    filemark: false,
    endOfMedium: false,
    incorrectLength: false,
    senseKeyName: senseKeyName(senseKey),
    description: describeAsc(asc, ascq),
    raw,
  };
  const descriptors: SenseDescriptor[] = [];
  // Each descriptor: type, ADDITIONAL LENGTH, then that many bytes (SPC-4 §4.5.2.1).
  let offset = 8;
  while (offset + 2 <= raw.length) {
    const type = raw[offset] ?? 0;
    const length = raw[offset + 1] ?? 0;
    const data = raw.subarray(offset + 2, Math.min(raw.length, offset + 2 + length));
    descriptors.push({ type, data });
    applyDescriptor(sense, type, data);
    offset += 2 + length;
  }
  sense.descriptors = descriptors;
  return sense;
}

/** Offsets below are within the descriptor's data, i.e. descriptor byte N is data[N - 2]. */
function applyDescriptor(sense: SenseData, type: number, data: Uint8Array): void {
  switch (type) {
    case 0x00: {
      // Information (§4.5.2.2): VALID bit in byte 2, 8-byte INFORMATION at bytes 4-11.
      if (data.length >= 10 && ((data[0] ?? 0) & 0x80) !== 0) {
        const information = u64(data, 2);
        if (information !== undefined) sense.information = information;
      }
      break;
    }
    case 0x01: {
      // Command-specific information (§4.5.2.3): bytes 4-11.
      if (data.length >= 10) {
        const value = u64(data, 2);
        if (value !== undefined && value !== 0) sense.commandSpecific = value;
      }
      break;
    }
    case 0x02: {
      // Sense key specific (§4.5.2.4): bytes 4-6, SKSV in byte 4.
      const sks = decodeSenseKeySpecific(sense.senseKey, data.subarray(2, 5));
      if (sks !== undefined) sense.senseKeySpecific = sks;
      break;
    }
    case 0x03: {
      // Field replaceable unit (§4.5.2.5): byte 3.
      const fru = data[1] ?? 0;
      if (fru !== 0) sense.fieldReplaceableUnit = fru;
      break;
    }
    case 0x04: {
      // Stream commands (SSC-4, stream commands sense data descriptor): FILEMARK, EOM, ILI in byte 3.
      const flags = data[1] ?? 0;
      sense.filemark = (flags & 0x80) !== 0;
      sense.endOfMedium = (flags & 0x40) !== 0;
      sense.incorrectLength = (flags & 0x20) !== 0;
      break;
    }
    case 0x05: {
      // Block commands (SBC-3, block commands sense data descriptor): ILI in byte 3.
      sense.incorrectLength = ((data[1] ?? 0) & 0x20) !== 0;
      break;
    }
    default:
      break;
  }
}
