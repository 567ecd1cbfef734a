/**
 * IDENTIFY DEVICE data (ACS-4 §7.12.7, 256 little-endian words). Word numbers
 * below are the ACS-4 table 45 numbers.
 */
import { ParseError } from '../errors.js';

/** Reads a little-endian 16-bit ATA word (0 past the end). */
export function ataWord(data: Uint8Array, word: number): number {
  return (data[word * 2] ?? 0) | ((data[word * 2 + 1] ?? 0) << 8);
}

/**
 * An ATA string (ACS-4 §3.4.9): each word holds two characters, the first in
 * bits 15:8. Trailing and leading spaces (and NULs) removed; other non-printable bytes shown as '?'.
 */
export function ataString(data: Uint8Array, firstWord: number, words: number): string {
  let text = '';
  for (let w = firstWord; w < firstWord + words; w++) {
    for (const b of [data[w * 2 + 1] ?? 0, data[w * 2] ?? 0]) text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : b === 0 ? ' ' : '?';
  }
  return text.trim();
}

/** A 16-bit word is meaningful only when it is neither 0000h nor FFFFh (ACS-4 §7.12.7.1). */
function valid(word: number): boolean {
  return word !== 0 && word !== 0xffff;
}

/** IDENTIFY DEVICE data decoded (ACS-3): identity, capacity, sector sizes and feature support. */
export interface AtaIdentify {
  model: string;
  serial: string;
  firmware: string;
  /** User addressable logical sectors: words 100-103 when 48-bit is supported, else words 60-61. */
  sectors: number;
  /** Logical sector size in bytes (word 106 bit 12, words 117-118); 512 unless the drive says otherwise. */
  logicalSectorSize: number;
  /** Physical sector size in bytes (word 106 bits 3:0). */
  physicalSectorSize: number;
  /** Capacity in bytes: sectors x logical sector size. */
  capacityBytes: number;
  /** Nominal media rotation rate (word 217): 'ssd' for 0001h, rpm, or undefined when not reported. */
  rotationRate?: number | 'ssd';
  /** World wide name (words 108-111) as 16 hex digits, when present. */
  wwn?: string;
  /** Highest ATA/ATAPI major version supported (word 80), e.g. "ACS-3". */
  ataMajorVersion?: string;
  features: {
    smart: { supported: boolean; enabled: boolean };
    security: { supported: boolean; enabled: boolean; locked: boolean; frozen: boolean; countExpired: boolean; enhancedErase: boolean };
    /** DATA SET MANAGEMENT TRIM (word 169 bit 0). */
    trim: boolean;
    /** NCQ (word 76 bit 8) and the queue depth (word 75). */
    ncq: { supported: boolean; depth?: number };
    /** 48-bit address feature set (word 83 bit 10 supported, word 86 bit 10 enabled). */
    lba48: boolean;
    /** SMART self-test supported (word 84 bit 1). */
    smartSelfTest: boolean;
    /** SMART error logging supported (word 84 bit 0). */
    smartErrorLog: boolean;
    /** General Purpose Logging (READ LOG EXT) supported (word 84 bit 5). */
    gpl: boolean;
  };
  /** Word 255 checksum: 'valid', 'invalid', or 'absent' (signature byte not A5h). */
  checksum: 'valid' | 'invalid' | 'absent';
  /** The 512 bytes as received. */
  raw: Uint8Array;
}

const MAJOR_VERSIONS: ReadonlyArray<[number, string]> = [
  [12, 'ACS-5'],
  [11, 'ACS-4'],
  [10, 'ACS-3'],
  [9, 'ACS-2'],
  [8, 'ATA8-ACS'],
  [7, 'ATA/ATAPI-7'],
  [6, 'ATA/ATAPI-6'],
  [5, 'ATA/ATAPI-5'],
  [4, 'ATA/ATAPI-4'],
];

/** Decodes IDENTIFY DEVICE data. Throws ParseError unless all 512 bytes arrived. */
export function decodeIdentifyDevice(data: Uint8Array): AtaIdentify {
  if (data.length < 512) throw new ParseError('IDENTIFY DEVICE data', `needs 512 bytes, got ${data.length}`);
  const raw = data.subarray(0, 512);
  const w = (n: number): number => ataWord(raw, n);
  // Word 0 bit 15: 1 = ATAPI (IDENTIFY PACKET DEVICE data), not an ATA device.
  if ((w(0) & 0x8000) !== 0 && w(0) !== 0x848a) {
    throw new ParseError('IDENTIFY DEVICE data', `word 0 is 0x${w(0).toString(16)}: the device is not an ATA device (ATAPI)`);
  }
  const w83 = w(83);
  const w86 = w(86);
  const lba48 = (w83 & 0xc000) === 0x4000 && (w83 & 0x0400) !== 0;
  const sectors28 = w(60) + w(61) * 0x1_0000;
  const sectors48 = w(100) + w(101) * 0x1_0000 + w(102) * 0x1_0000_0000 + (w(103) & 0x1f) * 0x1_0000_0000_0000;
  const sectors = lba48 && sectors48 !== 0 ? sectors48 : sectors28;

  // Word 106 (ACS-4 §7.12.7.40): valid when bit 14 = 1 and bit 15 = 0.
  const w106 = w(106);
  let logicalSectorSize = 512;
  let physicalSectorSize = 512;
  if ((w106 & 0xc000) === 0x4000) {
    if ((w106 & 0x1000) !== 0) {
      const words = w(117) + w(118) * 0x1_0000;
      if (words >= 256 && words <= 0x8000) logicalSectorSize = words * 2;
    }
    physicalSectorSize = logicalSectorSize * ((w106 & 0x2000) !== 0 ? 2 ** (w106 & 0x0f) : 1);
  }

  const w82 = w(82);
  const w84 = w(84);
  const w85 = w(85);
  const cmdSetValid = (w83 & 0xc000) === 0x4000;
  const w128 = w(128);
  const w76 = w(76);
  const ncqSupported = valid(w76) && (w76 & 0x0100) !== 0;
  const identify: AtaIdentify = {
    model: ataString(raw, 27, 20),
    serial: ataString(raw, 10, 10),
    firmware: ataString(raw, 23, 4),
    sectors,
    logicalSectorSize,
    physicalSectorSize,
    capacityBytes: sectors * logicalSectorSize,
    features: {
      smart: { supported: cmdSetValid && (w82 & 0x0001) !== 0, enabled: cmdSetValid && (w85 & 0x0001) !== 0 },
      security: {
        supported: (w128 & 0x0001) !== 0 || (cmdSetValid && (w82 & 0x0002) !== 0),
        enabled: (w128 & 0x0002) !== 0,
        locked: (w128 & 0x0004) !== 0,
        frozen: (w128 & 0x0008) !== 0,
        countExpired: (w128 & 0x0010) !== 0,
        enhancedErase: (w128 & 0x0020) !== 0,
      },
      trim: (w(169) & 0x0001) !== 0,
      ncq: ncqSupported ? { supported: true, depth: (w(75) & 0x1f) + 1 } : { supported: false },
      lba48: lba48 && (w86 & 0x0400) !== 0,
      smartSelfTest: (w84 & 0xc000) === 0x4000 && (w84 & 0x0002) !== 0,
      smartErrorLog: (w84 & 0xc000) === 0x4000 && (w84 & 0x0001) !== 0,
      gpl: (w84 & 0xc000) === 0x4000 && (w84 & 0x0020) !== 0,
    },
    checksum: 'absent',
    raw,
  };
  const rate = w(217);
  if (rate === 1) identify.rotationRate = 'ssd';
  else if (rate >= 0x0401 && rate <= 0xfffe) identify.rotationRate = rate;
  // Words 108-111: NAA 5 WWN, when word 84 bit 8 (WWN supported) or word 87 bit 8 says so.
  if ((w(108) & 0xf000) === 0x5000) {
    identify.wwn = [108, 109, 110, 111].map((n) => w(n).toString(16).padStart(4, '0')).join('');
  }
  const major = w(80);
  if (valid(major)) {
    const found = MAJOR_VERSIONS.find(([bit]) => (major & (1 << bit)) !== 0);
    if (found !== undefined) identify.ataMajorVersion = found[1];
  }
  // Word 255 (ACS-4 §7.12.7.92): bits 7:0 = A5h signature, bits 15:8 make the 512-byte sum 0 mod 256.
  if ((raw[510] ?? 0) === 0xa5) {
    let sum = 0;
    for (const b of raw) sum = (sum + b) & 0xff;
    identify.checksum = sum === 0 ? 'valid' : 'invalid';
  }
  return identify;
}
