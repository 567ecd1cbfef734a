import { ParseError } from '../errors.js';
import { getU16, getU24, getU32, getU64Safe } from './bytes.js';

/** Capacity of a logical unit. */
export interface Capacity {
  /** LBA of the last logical block. */
  lastLba: number;
  /** Logical block length in bytes. */
  blockSize: number;
  /** Number of logical blocks (lastLba + 1). */
  blocks: number;
  /** Capacity in bytes. */
  bytes: number;
}

/** READ CAPACITY(10) parameter data (SBC-3 §5.15). */
export interface ReadCapacity10Data extends Capacity {
  /**
   * True when RETURNED LOGICAL BLOCK ADDRESS is 0xFFFFFFFF: the capacity does not
   * fit and READ CAPACITY(16) must be used (SBC-3 §5.15).
   */
  needsReadCapacity16: boolean;
}

function capacity(what: string, lastLba: number, blockSize: number): Capacity {
  if (blockSize === 0) {
    throw new ParseError(what, 'the device reported a logical block length of 0');
  }
  const blocks = lastLba + 1;
  const bytes = blocks * blockSize;
  if (!Number.isSafeInteger(bytes)) {
    throw new ParseError(what, `capacity of ${blocks} blocks of ${blockSize} bytes exceeds Number.MAX_SAFE_INTEGER`);
  }
  return { lastLba, blockSize, blocks, bytes };
}

/** Decodes READ CAPACITY(10) parameter data (SBC-3 §5.15); throws ParseError when shorter than 8 bytes. */
export function decodeReadCapacity10(data: Uint8Array): ReadCapacity10Data {
  if (data.length < 8) {
    throw new ParseError('READ CAPACITY(10) data', `${data.length} bytes received, 8 are needed (SBC-3 §5.15)`);
  }
  const lastLba = getU32(data, 0);
  const blockSize = getU32(data, 4);
  return { ...capacity('READ CAPACITY(10) data', lastLba, blockSize), needsReadCapacity16: lastLba === 0xffff_ffff };
}

/** READ CAPACITY(16) parameter data (SBC-3 §5.16). */
export interface ReadCapacity16Data extends Capacity {
  /** PROT_EN and P_TYPE (protection information), when returned. */
  protectionEnabled: boolean;
  protectionType: number;
  /** Logical blocks per physical block = 2^exponent (e.g. 3 for 512e drives with 4096-byte sectors). */
  logicalBlocksPerPhysicalBlockExponent: number;
  /** Physical block size in bytes, derived from the exponent. */
  physicalBlockSize: number;
  /** LBPME: logical block provisioning (thin provisioning/UNMAP) enabled. */
  provisioningEnabled: boolean;
  /** LBPRZ: unmapped blocks read as zeros. */
  provisioningReadsZeros: boolean;
  lowestAlignedLba: number;
}

/**
 * Only the first 12 bytes are mandatory here: some devices (Linux's f_mass_storage
 * gadget among them) return just LBA and block length; the rest then reads as zero.
 */
export function decodeReadCapacity16(data: Uint8Array): ReadCapacity16Data {
  const what = 'READ CAPACITY(16) data';
  if (data.length < 12) {
    throw new ParseError(what, `${data.length} bytes received, at least 12 are needed (SBC-3 §5.16)`);
  }
  const lastLba = getU64Safe(data, 0, what, 'RETURNED LOGICAL BLOCK ADDRESS');
  const base = capacity(what, lastLba, getU32(data, 8));
  const b12 = data[12] ?? 0;
  const exponent = (data[13] ?? 0) & 0x0f;
  const b14 = getU16(data, 14);
  return {
    ...base,
    protectionEnabled: (b12 & 0x01) !== 0,
    protectionType: (b12 >> 1) & 0x07,
    logicalBlocksPerPhysicalBlockExponent: exponent,
    physicalBlockSize: base.blockSize * 2 ** exponent,
    provisioningEnabled: (b14 & 0x8000) !== 0,
    provisioningReadsZeros: (b14 & 0x4000) !== 0,
    lowestAlignedLba: b14 & 0x3fff,
  };
}

/** Descriptor types of READ FORMAT CAPACITIES (USB UFI 1.0, MMC). */
export type FormatCapacityDescriptorType = 'unformatted' | 'formatted' | 'no-medium' | 'reserved';
const DESCRIPTOR_TYPES: readonly FormatCapacityDescriptorType[] = ['reserved', 'unformatted', 'formatted', 'no-medium'];

/** One capacity descriptor of READ FORMAT CAPACITIES (SFF-8070i / UFI). */
export interface FormatCapacityDescriptor {
  blocks: number;
  /** Only meaningful for the current/maximum descriptor (the first one). */
  type: FormatCapacityDescriptorType;
  blockSize: number;
}

/** Decoded READ FORMAT CAPACITIES data: the current/maximum capacity and the formattable ones. */
export interface FormatCapacities {
  /** Current/maximum capacity descriptor. */
  current: FormatCapacityDescriptor;
  /** Formattable capacity descriptors that follow it. */
  formattable: FormatCapacityDescriptor[];
  truncated: boolean;
}

/**
 * READ FORMAT CAPACITIES (opcode 0x23, USB UFI 1.0; used by Windows on USB sticks).
 * Header: 3 reserved bytes and CAPACITY LIST LENGTH; 8-byte descriptors follow.
 */
export function decodeReadFormatCapacities(data: Uint8Array): FormatCapacities {
  const what = 'READ FORMAT CAPACITIES data';
  if (data.length < 12) {
    throw new ParseError(what, `${data.length} bytes received, at least 12 are needed (header and one descriptor)`);
  }
  const listLength = data[3] ?? 0;
  if (listLength < 8) {
    throw new ParseError(what, `capacity list length ${listLength} holds no descriptor`);
  }
  const end = Math.min(data.length, 4 + listLength);
  const descriptor = (offset: number): FormatCapacityDescriptor => ({
    blocks: getU32(data, offset),
    type: DESCRIPTOR_TYPES[(data[offset + 4] ?? 0) & 0x03] ?? 'reserved',
    blockSize: getU24(data, offset + 5),
  });
  const formattable: FormatCapacityDescriptor[] = [];
  for (let offset = 12; offset + 8 <= end; offset += 8) formattable.push(descriptor(offset));
  return { current: descriptor(4), formattable, truncated: data.length < 4 + listLength || listLength % 8 !== 0 };
}
